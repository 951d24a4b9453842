package io.braid.fuse;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * {@code mount [-o OPTIONS] [-f] HOST[:PORT]:/NAME DIR}: mounts a file volume with FUSE. Checks
 * the volume first (reachable, exists, a started file volume) and fails with one line if not.
 * Without {@code -f} it starts itself in the background and returns once DIR is mounted; with
 * {@code -f} it serves the mount until DIR is unmounted ({@code umount DIR}, {@code fusermount -u
 * DIR}, or SIGTERM, which unmounts).
 */
public final class MountMain {
    private static final Logger LOG = LoggerFactory.getLogger(MountMain.class);
    /** Every failure line starts with this; the background parent looks for it in the child's log. */
    static final String PREFIX = "mount: ";

    private MountMain() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.err));
    }

    /**
     * Runs one mount command line and prints a failure as one line on err.
     *
     * @return the exit status: 0 mounted (or, with -f, unmounted cleanly), 1 failure, 2 usage error
     */
    public static int run(List<String> args, PrintStream err) {
        try {
            return execute(args);
        } catch (MountException e) {
            err.println(PREFIX + e.getMessage());
            err.flush();
            return e.exitCode();
        }
    }

    /**
     * Like {@link #run} but a failure is thrown.
     *
     * @throws MountException with the one-line reason and exit status
     */
    public static int execute(List<String> args) {
        // Netty's leak detector records a stack trace for one buffer in 128: hundreds a second on
        // the data path. Off unless -Dio.netty.leakDetection.level asks for it.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        MountOptions options = MountOptions.parse(args);
        Path dir = mountPoint(options.dir());
        if (MountTable.isBraidMount(dir)) {
            throw MountException.failure(dir + " is already a Braid mount");
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            throw MountException.failure("/dev/fuse is missing (is the fuse kernel module loaded?)");
        }
        if (!options.foreground()) {
            try (VolumeClient probe = new VolumeClient(options.volume(), options.layoutServers(),
                    VolumeClient.Timing.DEFAULT)) {
                probe.connect();
            }
            return Background.start(options, dir);
        }
        if (!StandardCharsets.UTF_8.equals(Charset.defaultCharset())) {
            return relaunchInUtf8(args);
        }
        return foreground(options, dir);
    }

    /** The mount point, resolved; it must be an existing directory. */
    static Path mountPoint(String dir) {
        Path p = Path.of(dir).toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw MountException.failure("mount point " + dir + " does not exist");
        }
        if (!Files.isDirectory(p)) {
            throw MountException.failure("mount point " + dir + " is not a directory");
        }
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw MountException.failure("mount point " + dir + ": " + e.getMessage()
                    + " (a stale mount? umount " + dir + " first)");
        }
    }

    private static int foreground(MountOptions options, Path dir) {
        MountLogging.configure(options.logFile());
        VolumeClient client = new VolumeClient(options.volume(), options.layoutServers(), VolumeClient.Timing.DEFAULT);
        CountDownLatch finished = new CountDownLatch(1);
        try {
            client.connect();
            BraidFs fs = new BraidFs(client, options);
            LowLevelFs lowLevel = new LowLevelFs(fs, options.attrTimeout(), options.entryTimeout());
            Thread hook = new Thread(() -> {
                LOG.info("{}: terminating: unmounting {}", options.volume(), dir);
                lowLevel.umount();
                awaitUnmounted(dir, 5_000);
                try {
                    finished.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                client.close();
            }, "braid-unmount");
            Runtime.getRuntime().addShutdownHook(hook);
            String[] fuseOptions = FuseOptions.of(options).toArray(new String[0]);
            LOG.info("{}: mounting {} at {} (pid {}, client {}, options {})", options.volume(), options.source(), dir,
                    ProcessHandle.current().pid(), client.clientId(), String.join(" ", fuseOptions));
            lowLevel.mount(dir, List.of(fuseOptions));
            LOG.info("{}: {} unmounted", options.volume(), dir);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook waits for us
            }
            return 0;
        } catch (MountException e) {
            LOG.error("{}: {}", options.volume(), e.getMessage());
            throw e;
        } finally {
            client.close();
            finished.countDown();
        }
    }

    /** Waits until dir is no longer a Braid mount. */
    static boolean awaitUnmounted(Path dir, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (MountTable.isBraidMount(dir)) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /**
     * This JVM decodes file names with a charset other than UTF-8 (no UTF-8 locale): serve the
     * mount from a JVM that uses UTF-8, in the foreground, passing its output through and its
     * failure line back as this one's.
     */
    private static int relaunchInUtf8(List<String> args) {
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(args, false))
                .redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw MountException.failure("cannot start the mount process: " + e.getMessage());
        }
        Thread hook = new Thread(() -> {
            p.destroy();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        String failure = null;
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith(PREFIX)) {
                    failure = line.substring(PREFIX.length());
                } else {
                    System.err.println(line);
                    lines.add(line);
                }
            }
            int code = p.waitFor();
            if (code == 0) {
                return 0;
            }
            throw new MountException(failure != null ? failure : "the mount process exited with status " + code,
                    code == MountException.USAGE ? MountException.USAGE : MountException.FAILURE);
        } catch (IOException e) {
            throw MountException.failure("lost the mount process: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MountException.failure("interrupted");
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down
            }
        }
    }
}
