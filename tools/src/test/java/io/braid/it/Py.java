package io.braid.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Small python3 scripts run against a mount, so that a test makes the exact system calls a user
 * program makes (open flags, pread/pwrite, fcntl locks) and checks the exact errno
 * ({@code errno.errorcode}). Every script gets {@link #PRELUDE}: {@code B} (the extra arguments,
 * usually the same directory on each brick), {@code err(f, ...)} (the errno name a call fails
 * with, or {@code 'OK'}), {@code rd}/{@code wr} and {@code eq(got, want, what)}.
 */
final class Py {
    /** The system python (readable by any uid, unlike a per-user pyenv). */
    static final String PYTHON = "/usr/bin/python3";

    static final String PRELUDE = """
            import os, sys, errno, stat, time, hashlib, fcntl, struct, atexit
            B = sys.argv[1:]
            FAILS = []
            def _report():
                if FAILS:
                    sys.stdout.flush()
                    print('FAILED CHECKS:\\n' + '\\n'.join(FAILS), file=sys.stderr)
                    sys.stderr.flush()
                    os._exit(1)
            atexit.register(_report)
            def err(f, *a, **k):
                try:
                    f(*a, **k)
                except OSError as e:
                    return errno.errorcode.get(e.errno, str(e.errno))
                return 'OK'
            def rd(p):
                with open(p, 'rb') as f:
                    return f.read()
            def wr(p, b, mode=0o644):
                fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
                try:
                    n = 0
                    while n < len(b):
                        n += os.write(fd, b[n:])
                finally:
                    os.close(fd)
            def short(v):
                r = repr(v)
                return r if len(r) <= 300 else r[:300] + '...(%d chars)' % len(r)
            def eq(got, want, what=''):
                # a failed check is recorded and the script goes on, so one run reports every deviation
                if got != want:
                    FAILS.append('line %d: %s: got %s, want %s' % (sys._getframe(1).f_lineno, what, short(got), short(want)))
                    return False
                return True
            def check(cond, what):
                if not cond:
                    FAILS.append('line %d: %s' % (sys._getframe(1).f_lineno, what))
                return cond
            def on_bricks(rel):
                return [os.path.join(b, rel) for b in B]
            """;

    private Py() {
    }

    static List<String> command(List<String> prefix, String body, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(PYTHON);
        cmd.add("-c");
        cmd.add(PRELUDE + body);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs a script in cwd as root; returns its result. */
    static Exec.Result run(long timeoutSeconds, Path cwd, String body, String... args) {
        return Exec.run(timeoutSeconds, cwd, command(List.of(), body, args));
    }

    /** Runs a script in cwd as root and asserts it exited 0 (its assertions held); returns stdout. */
    static String ok(Path cwd, String body, String... args) {
        return checked(Exec.run(120, cwd, command(List.of(), body, args)), "python script in " + cwd);
    }

    private static String checked(Exec.Result r, String what) {
        if (!r.ok()) {
            throw new AssertionError(what + (r.timedOut() ? " timed out" : " exited " + r.exit()) + "\n--- stdout\n"
                    + r.out() + "--- stderr\n" + r.err());
        }
        return r.out();
    }

    /** Runs a script in cwd as uid:gid without supplementary groups and asserts it exited 0. */
    static String okAs(int uid, int gid, Path cwd, String body, String... args) {
        return checked(Exec.run(120, cwd, command(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid,
                "--clear-groups"), body, args)), "python script as " + uid + ":" + gid + " in " + cwd);
    }

    /**
     * A long-running program the test owns (a lock holder, a blocked waiter): its output lines are
     * collected as they come, its stdin is a pipe the test writes to, and {@link #close()} kills it
     * and its children by pid.
     */
    static final class Bg implements AutoCloseable {
        final Process process;
        final List<String> command;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuilder all = new StringBuilder();

        private Bg(List<String> command, Path cwd) throws IOException {
            this.command = command;
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            if (cwd != null) pb.directory(cwd.toFile());
            process = pb.start();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        synchronized (all) {
                            all.append(l).append('\n');
                        }
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // the process is gone
                }
            }, "bg-output");
            t.setDaemon(true);
            t.start();
        }

        static Bg start(Path cwd, String... command) throws IOException {
            return new Bg(List.of(command), cwd);
        }

        static Bg python(Path cwd, String body, String... args) throws IOException {
            return new Bg(command(List.of(), body, args), cwd);
        }

        /** Waits for the next output line and asserts it equals want. */
        void expect(String want, long timeoutSeconds) throws InterruptedException {
            String got = lines.poll(timeoutSeconds, TimeUnit.SECONDS);
            if (!want.equals(got)) {
                throw new AssertionError("expected line '" + want + "' within " + timeoutSeconds + " s from "
                        + String.join(" ", command).replace('\n', ' ') + ", got " + (got == null ? "nothing" : "'" + got + "'")
                        + "; alive " + process.isAlive() + "; output so far:\n" + output());
            }
        }

        /** The next output line if one comes within the time, else null. */
        String poll(long timeoutMs) throws InterruptedException {
            return lines.poll(timeoutMs, TimeUnit.MILLISECONDS);
        }

        void send(String line) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        String output() {
            synchronized (all) {
                return all.toString();
            }
        }

        /** Waits for the process to exit; returns its status, or -1 if it is still running at the bound. */
        int await(long timeoutSeconds) throws InterruptedException {
            return process.waitFor(timeoutSeconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
        }

        @Override
        public void close() {
            Exec.kill(process);
        }
    }
}
