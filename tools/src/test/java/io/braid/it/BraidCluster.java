package io.braid.it;

import io.braid.cli.Braid;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Real braidd processes on 127.0.X.Y, each with its own data directory, that a test can kill,
 * restart and pause. Every cluster gets addresses no other cluster of this run used, so a killed
 * server's sockets never get in the way of the next test.
 */
public final class BraidCluster implements AutoCloseable {
    private static final AtomicInteger NEXT = new AtomicInteger(10);
    private static final int THIRD_OCTET = 100 + (int) (ProcessHandle.current().pid() % 100);

    private final Path root;
    private final List<ServerProcess> servers = new ArrayList<>();

    private BraidCluster(Path root) {
        this.root = root;
    }

    /** Starts n servers, each a pool of its own: nothing probed yet. */
    public static BraidCluster start(int n) throws IOException, InterruptedException {
        Path root = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "braid-it-");
        BraidCluster c = new BraidCluster(root);
        try {
            for (int i = 0; i < n; i++) c.add();
            for (ServerProcess s : c.servers) s.launch();
            for (ServerProcess s : c.servers) s.awaitReady();
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Starts n servers and probes them all into one pool from the first. */
    public static BraidCluster startPool(int n) throws IOException, InterruptedException {
        BraidCluster c = start(n);
        for (int i = 1; i < n; i++) {
            CliResult r = c.cli(0, "peer", "probe", c.host(i));
            if (!r.ok()) {
                c.close();
                throw new IOException("probe failed: " + r);
            }
        }
        // a pool is formed once its first server sees every other one connected (a volume create
        // right after the probes, on a loaded machine, could otherwise find a peer's hello not yet answered)
        if (n > 1 && c.awaitConnectedPeers(0, n - 1) != n - 1) {
            c.close();
            throw new IOException("the pool's peers did not all show connected within 15 s");
        }
        return c;
    }

    private ServerProcess add() {
        int n = NEXT.getAndIncrement();
        if (n > 250) throw new IllegalStateException("out of test addresses");
        String address = "127.0." + THIRD_OCTET + "." + n;
        int index = servers.size() + 1;
        ServerProcess s = new ServerProcess(address, root.resolve("server" + index), root.resolve("server" + index + ".out"));
        servers.add(s);
        return s;
    }

    /** A server that is not yet started and not in the pool. */
    public ServerProcess addServer() {
        return add();
    }

    public ServerProcess server(int i) {
        return servers.get(i);
    }

    public int size() {
        return servers.size();
    }

    public String host(int i) {
        return servers.get(i).address();
    }

    public Path root() {
        return root;
    }

    /** A brick directory path under this cluster's root for server i. */
    public String brick(int i, String name) {
        return host(i) + ":" + root.resolve("bricks").resolve("s" + (i + 1)).resolve(name);
    }

    public Path brickPath(int i, String name) {
        return root.resolve("bricks").resolve("s" + (i + 1)).resolve(name);
    }

    /** Runs braid against server i, in script mode, with the given words. */
    public CliResult cli(int i, String... words) {
        List<String> args = new ArrayList<>();
        args.add("--remote-host");
        args.add(host(i));
        args.add("--mode=script");
        args.addAll(List.of(words));
        return run(args.toArray(String[]::new), "");
    }

    /** Runs braid with exactly these arguments and this standard input. */
    public static CliResult run(String[] args, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            rc = Braid.run(args, o, e, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        }
        return new CliResult(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs the command until it succeeds or the time is up; returns the last result. */
    public CliResult cliUntilOk(int i, long timeoutMs, String... words) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        CliResult r = cli(i, words);
        while (!r.ok() && System.currentTimeMillis() < deadline) {
            Thread.sleep(250);
            r = cli(i, words);
        }
        return r;
    }

    /** Waits up to 15 s until server i's peer status shows n connected peers; returns how many it shows. */
    public int awaitConnectedPeers(int i, int n) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15_000;
        int seen = Cli.connectedPeers(cli(i, "peer", "status"));
        while (seen != n && System.currentTimeMillis() < deadline) {
            Thread.sleep(250);
            seen = Cli.connectedPeers(cli(i, "peer", "status"));
        }
        return seen;
    }

    @Override
    public void close() {
        for (ServerProcess s : servers) {
            try {
                s.kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (Boolean.getBoolean("braid.it.keep")) return;
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: the directory is under the temp dir
        }
    }
}
