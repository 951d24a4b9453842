package io.braid.daemon;

import io.braid.util.HostPort;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code braidd --address HOST[:PORT] --data-dir DIR}: runs in the foreground until SIGTERM. */
@Command(name = "braidd", mixinStandardHelpOptions = true, version = "braidd 0.1.0",
        description = "The Braid storage server: pool membership, configuration and bricks.")
public final class Braidd implements Callable<Integer> {
    @Option(names = "--address", required = true, paramLabel = "HOST[:PORT]",
            description = "Address to serve on (default port ${DEFAULT-VALUE}); the pool knows this server by it.")
    String address;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "Where all of this server's state lives.")
    Path dataDir;

    @Option(names = "--nbd-port", paramLabel = "PORT", defaultValue = "10809",
            description = "Port of the NBD server on the same address (default ${DEFAULT-VALUE}); 0 turns it off.")
    int nbdPort;

    public static void main(String[] args) {
        quietNettyLeakDetector();
        CommandLine cl = new CommandLine(new Braidd());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("braidd: " + ex.getMessage() + " (see braidd --help)");
            return 2;
        });
        int rc = cl.execute(args);
        if (rc != 0) System.exit(rc);
    }

    @Override
    public Integer call() {
        HostPort hp;
        try {
            hp = HostPort.parse(address);
        } catch (IllegalArgumentException e) {
            System.err.println("braidd: " + e.getMessage());
            return 2;
        }
        Path dir = dataDir.toAbsolutePath().normalize();
        DataDir held;
        try {
            held = DataDir.acquire(dir); // before logging, so a refused daemon never writes to the holder's log
            // before anything creates a temporary file: the JDK reads this property once
            System.setProperty("java.io.tmpdir", held.scratch().toString());
        } catch (java.io.IOException e) {
            System.err.println("braidd: " + e.getMessage());
            return 1;
        }
        DaemonLogging.configure(dir.resolve("log"));
        BraidDaemon daemon = new BraidDaemon(hp, held).nbdPort(nbdPort);
        try {
            daemon.start();
        } catch (Exception e) {
            org.slf4j.LoggerFactory.getLogger(Braidd.class).error("braidd failed to start: {}", e.getMessage());
            System.err.println("braidd: " + e.getMessage());
            DaemonLogging.stop();
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            DaemonLogging.stop();
            stopped.countDown();
        }, "braidd-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /**
     * Netty's leak detector samples one buffer in 128 and records a stack trace for each: a few
     * hundred traces a second on the data path. A daemon runs without it unless
     * -Dio.netty.leakDetection.level asks for it.
     */
    static void quietNettyLeakDetector() {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
    }
}
