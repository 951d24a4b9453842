package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Predicate;

/**
 * Block-volume helpers over a {@link BraidCluster}: create and start a volume, read
 * {@code volume status}/{@code heal info}/{@code verify} as JSON, find the primary, and wait
 * (with deadlines, never fixed sleeps) for roles and states.
 */
final class Blocks {
    private final BraidCluster c;

    Blocks(BraidCluster c) {
        this.c = c;
    }

    /** Starts n servers in one pool for a test class, on a private copy of the classpath, keeping logs on failure. */
    static BraidCluster startPool(Class<?> testClass, int n) throws IOException, InterruptedException {
        StableClasspath.install();
        BraidCluster c = BraidCluster.startPool(n);
        KeepLogsOnFailure.watch(testClass, c);
        return c;
    }

    String nbdUri(int server, String volume) {
        return "nbd://" + c.host(server) + ":" + NbdClient.PORT + "/" + volume;
    }

    NbdClient connect(int server, String volume) throws IOException {
        return NbdClient.connect(c.host(server), volume);
    }

    /** A server that is running and not paused by the test, to ask the CLI through. */
    int live() {
        for (int i = 0; i < c.size(); i++) if (c.server(i).isRunning() && !paused(i)) return i;
        throw new IllegalStateException("no server is running");
    }

    private final java.util.Set<Integer> paused = java.util.concurrent.ConcurrentHashMap.newKeySet();

    void pause(int server) throws Exception {
        paused.add(server);
        c.server(server).pause();
    }

    void resume(int server) throws Exception {
        c.server(server).resume();
        paused.remove(server);
    }

    boolean paused(int server) {
        return paused.contains(server);
    }

    /** Creates a block volume with one brick on each given server, starts it, sets ping-timeout 2, waits until in sync. */
    void createStarted(String volume, String size, int... servers) throws InterruptedException {
        List<String> words = new ArrayList<>(List.of("volume", "create", volume, "replica", String.valueOf(servers.length),
                "type", "block", "size", size));
        for (int s : servers) words.add(c.brick(s, volume));
        Cli.assertOk(c.cli(0, words.toArray(String[]::new)));
        Cli.assertOk(c.cli(0, "volume", "start", volume));
        Cli.assertOk(c.cli(0, "volume", "set", volume, "network.ping-timeout", "2"));
        awaitAllUpToDate(volume, 60_000);
    }

    void set(String volume, String key, String value) throws InterruptedException {
        Cli.assertOk(c.cliUntilOk(live(), 20_000, "volume", "set", volume, key, value));
    }

    static JsonObject json(CliResult r) {
        if (!r.ok()) throw new AssertionError("command failed: " + r);
        try {
            return JsonParser.parseString(r.out()).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new AssertionError("not JSON: " + r, e);
        }
    }

    /** {@code volume status VOL [detail] --json}, the volume's entry. */
    JsonObject status(String volume, boolean detail) {
        CliResult r = detail ? c.cli(live(), "--json", "volume", "status", volume, "detail")
                : c.cli(live(), "--json", "volume", "status", volume);
        return json(r).getAsJsonArray("volumes").get(0).getAsJsonObject();
    }

    static List<JsonObject> bricks(JsonObject volumeOrHeal) {
        List<JsonObject> out = new ArrayList<>();
        for (JsonElement e : volumeOrHeal.getAsJsonArray("bricks")) out.add(e.getAsJsonObject());
        return out;
    }

    /** The server index a brick name HOST:PATH lives on. */
    int serverOf(String brickName) {
        for (int i = 0; i < c.size(); i++) if (brickName.startsWith(c.host(i) + ":")) return i;
        throw new IllegalArgumentException("no server for brick " + brickName);
    }

    String brickName(int server, String volume) {
        return c.brick(server, volume);
    }

    /** The brick of this server in a status or heal-info object. */
    JsonObject brickOf(JsonObject volumeOrHeal, int server) {
        for (JsonObject b : bricks(volumeOrHeal)) if (serverOf(b.get("name").getAsString()) == server) return b;
        throw new AssertionError("no brick on server " + server + " in " + volumeOrHeal);
    }

    /** The server whose brick every answering server agrees is primary, or -1. */
    int primary(String volume) {
        JsonObject st = status(volume, false);
        int found = -1;
        for (JsonObject b : bricks(st)) {
            if (b.get("online").getAsBoolean() && "primary".equals(b.get("role").getAsString())) {
                if (found >= 0) return -1; // two bricks claim it: not settled
                found = serverOf(b.get("name").getAsString());
            }
        }
        return found;
    }

    /** Waits until exactly one online brick is primary; returns its server. */
    int awaitPrimary(String volume, long timeoutMs) throws InterruptedException {
        return awaitPrimary(volume, timeoutMs, -1);
    }

    /** Waits until exactly one online brick is primary and it is not on server {@code not}. */
    int awaitPrimary(String volume, long timeoutMs, int not) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            int p = primary(volume);
            if (p >= 0 && p != not) return p;
            if (System.currentTimeMillis() > deadline) {
                fail("no new primary within " + timeoutMs + " ms: " + status(volume, true));
            }
            Thread.sleep(200);
        }
    }

    /** Waits until every brick is online, one is primary and every one is UpToDate; returns the status. */
    JsonObject awaitAllUpToDate(String volume, long timeoutMs) throws InterruptedException {
        return awaitStatus(volume, timeoutMs, "every brick online and UpToDate with one primary", st -> {
            int primaries = 0;
            for (JsonObject b : bricks(st)) {
                if (!b.get("online").getAsBoolean() || !"UpToDate".equals(b.get("state").getAsString())) return false;
                if ("primary".equals(b.get("role").getAsString())) primaries++;
            }
            return primaries == 1;
        });
    }

    /** Polls {@code volume status VOL detail --json} until the predicate holds; fails with the last status. */
    JsonObject awaitStatus(String volume, long timeoutMs, String what, Predicate<JsonObject> ok) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        JsonObject st = null;
        while (true) {
            try {
                st = status(volume, true);
                if (ok.test(st)) return st;
            } catch (AssertionError | RuntimeException e) {
                // a server in the middle of a restart: ask again
                st = null;
            }
            if (System.currentTimeMillis() > deadline) {
                fail("not within " + timeoutMs + " ms: " + what + "; last status: " + st);
            }
            Thread.sleep(200);
        }
    }

    /** Waits until server's brick is UpToDate and its lastResync differs from {@code before}; returns lastResync. */
    JsonObject awaitNewResync(String volume, int server, JsonElement before, long timeoutMs) throws InterruptedException {
        JsonObject st = awaitStatus(volume, timeoutMs, "a new resync into the brick on server " + server + " (was " + before + ")",
                s -> {
                    JsonObject b = brickOf(s, server);
                    JsonElement lr = b.get("lastResync");
                    return b.get("online").getAsBoolean() && "UpToDate".equals(b.get("state").getAsString())
                            && lr != null && !lr.isJsonNull() && !lr.equals(before);
                });
        return brickOf(st, server).getAsJsonObject("lastResync");
    }

    static JsonElement lastResync(JsonObject status, Blocks b, int server) {
        JsonElement e = b.brickOf(status, server).get("lastResync");
        return e == null ? com.google.gson.JsonNull.INSTANCE : e;
    }

    JsonObject healInfo(String volume, boolean summary) {
        CliResult r = summary ? c.cli(live(), "--json", "volume", "heal", volume, "info", "summary")
                : c.cli(live(), "--json", "volume", "heal", volume, "info");
        return json(r);
    }

    JsonObject verify(String volume, boolean repair) {
        CliResult r = repair ? c.cli(live(), "--json", "volume", "verify", volume, "repair")
                : c.cli(live(), "--json", "volume", "verify", volume);
        return json(r);
    }

    /** verify --json reports no differing block, and compared the whole volume. */
    void assertVerifyClean(String volume, long size) {
        JsonObject v = verify(volume, false);
        JsonArray d = v.getAsJsonArray("differing");
        assertEquals(0, d.size(), () -> "verify found differences: " + v);
        assertEquals(size, v.get("bytesCompared").getAsLong(), () -> "verify compared: " + v);
    }

    /** Every brick's backing image of the volume is byte-identical to the first's. */
    void assertImagesIdentical(String volume, int... servers) throws IOException {
        Path first = c.brickPath(servers[0], volume).resolve("block.img");
        for (int i = 1; i < servers.length; i++) {
            Path other = c.brickPath(servers[i], volume).resolve("block.img");
            long at = Files.mismatch(first, other);
            assertEquals(-1L, at, "block.img of server " + servers[0] + " and server " + servers[i] + " differ at byte " + at);
        }
    }

    /** n distinct 4 KiB-aligned blocks spread over [from, to), each with its own random content, by offset. */
    static java.util.TreeMap<Long, byte[]> scatteredBlocks(long from, long to, int n, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        java.util.TreeMap<Long, byte[]> out = new java.util.TreeMap<>();
        long blocks = (to - from) / 4096;
        while (out.size() < n) {
            long off = from + r.nextLong(blocks) * 4096;
            if (out.containsKey(off)) continue;
            out.put(off, randomBytes(r, 4096));
        }
        return out;
    }

    static byte[] randomBytes(java.util.SplittableRandom r, int n) {
        byte[] b = new byte[n];
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b);
        while (bb.remaining() >= 8) bb.putLong(r.nextLong());
        while (bb.hasRemaining()) bb.put((byte) r.nextInt());
        return b;
    }

    /** Writes every block through one NBD connection; every write must be acknowledged. */
    static void writeAll(NbdClient nbd, java.util.Map<Long, byte[]> blocks) throws IOException {
        for (java.util.Map.Entry<Long, byte[]> e : blocks.entrySet()) nbd.write(e.getKey(), e.getValue());
    }

    /** Reads every block back through one NBD connection and compares. */
    static void assertReads(NbdClient nbd, java.util.Map<Long, byte[]> blocks) throws IOException {
        for (java.util.Map.Entry<Long, byte[]> e : blocks.entrySet()) {
            byte[] got = nbd.read(e.getKey(), e.getValue().length);
            if (!java.util.Arrays.equals(e.getValue(), got)) {
                throw new AssertionError(nbd.where() + ": block at " + e.getKey() + " reads back different data");
            }
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The last lines of every server's log, for failure messages. */
    String logTails(int lines) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            try {
                List<String> all = Files.readAllLines(c.server(i).output(), StandardCharsets.UTF_8);
                sb.append("==== server ").append(i).append(" (").append(c.host(i)).append(") ====\n");
                for (String l : all.subList(Math.max(0, all.size() - lines), all.size())) sb.append(l).append('\n');
            } catch (IOException e) {
                sb.append("(no log for server ").append(i).append(")\n");
            }
        }
        return sb.toString();
    }
}
