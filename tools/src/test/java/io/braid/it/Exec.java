package io.braid.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * External programs (NBD clients, mkfs, mount...) run with a time bound. A program that outlives
 * its bound is killed by its own pid (and its children), never by name.
 */
final class Exec {
    private Exec() {
    }

    /** What one external program printed and returned; {@code timedOut} when it was killed at its bound. */
    record Result(List<String> command, int exit, String out, String err, boolean timedOut) {
        boolean ok() {
            return exit == 0 && !timedOut;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " -> " + (timedOut ? "TIMED OUT" : "exit " + exit)
                    + "\n--- stdout\n" + tail(out) + "--- stderr\n" + tail(err);
        }

        private static String tail(String s) {
            return s.length() <= 4000 ? s : "...\n" + s.substring(s.length() - 4000);
        }
    }

    static Result run(long timeoutSeconds, String... command) {
        return run(timeoutSeconds, null, List.of(command));
    }

    static Result run(long timeoutSeconds, Path dir, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (dir != null) pb.directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        }
        Drain out = new Drain(p.getInputStream());
        Drain err = new Drain(p.getErrorStream());
        out.start();
        err.start();
        boolean done;
        try {
            done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
        if (!done) kill(p);
        out.await(5000);
        err.await(5000);
        return new Result(command, done ? p.exitValue() : -1, out.text(), err.text(), !done);
    }

    /** Runs and asserts success; returns stdout. */
    static String ok(long timeoutSeconds, String... command) {
        Result r = run(timeoutSeconds, command);
        if (!r.ok()) throw new AssertionError("command failed: " + r);
        return r.out();
    }

    /** Kills a process we started, and its descendants, by pid; waits for it to be gone. */
    static void kill(Process p) {
        if (p == null) return;
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads a stream to the end on its own thread, so a chatty program never blocks on a full pipe. */
    private static final class Drain extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        Drain(InputStream in) {
            this.in = in;
            setDaemon(true);
        }

        @Override
        public void run() {
            byte[] b = new byte[8192];
            try {
                int n;
                while ((n = in.read(b)) >= 0) {
                    synchronized (buf) {
                        buf.write(b, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
        }

        void await(long ms) {
            try {
                join(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
