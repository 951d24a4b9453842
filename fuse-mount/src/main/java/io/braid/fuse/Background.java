package io.braid.fuse;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code mount} without {@code -f}: starts the mount as a detached child JVM (new session, stdin
 * from /dev/null, stdout and stderr appended to the log file) and waits until the kernel shows the
 * directory as a fuse.braid mount, or the child exits (its last error line becomes this one's).
 */
final class Background {
    static final long WAIT_MS = 60_000;
    static final Path LOG_DIR = Path.of("/var/log/braid");

    private Background() {
    }

    /**
     * @return 0 once mounted
     * @throws MountException if the child failed or did not mount within a minute
     */
    static int start(MountOptions options, Path dir) {
        Path log = options.logFile() != null ? options.logFile() : defaultLog(dir);
        MountOptions child = new MountOptions(options.server(), options.volume(), dir.toString(), true,
                options.backups(), options.readOnly(), options.attrTimeout(), options.entryTimeout(), log,
                options.kernelFlags());
        long from;
        try {
            Path parent = log.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            from = Files.exists(log) ? Files.size(log) : 0;
        } catch (IOException e) {
            throw MountException.failure("cannot write the log file " + log + ": " + e.getMessage());
        }
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(child.toArgs(true), true))
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw MountException.failure("cannot start the mount process: " + e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        try {
            while (System.nanoTime() - deadline < 0) {
                if (MountTable.isBraidMount(dir)) {
                    return 0;
                }
                if (p.waitFor(100, TimeUnit.MILLISECONDS)) {
                    if (MountTable.isBraidMount(dir)) {
                        return 0; // mounted and already unmounted again: still a success
                    }
                    throw MountException.failure(lastError(log, from,
                            "the mount process exited with status " + p.exitValue() + " (see " + log + ")"));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        p.destroy();
        throw MountException.failure("timed out after " + WAIT_MS / 1000 + " s waiting for " + dir
                + " to be mounted (see " + log + ")");
    }

    /** /var/log/braid/mount-DIR.log, or the same name in /tmp when /var/log/braid is not writable. */
    static Path defaultLog(Path dir) {
        String name = "mount-" + escape(dir) + ".log";
        try {
            Files.createDirectories(LOG_DIR);
            if (Files.isWritable(LOG_DIR)) {
                return LOG_DIR.resolve(name);
            }
        } catch (IOException | SecurityException e) {
            // fall through
        }
        return Path.of(System.getProperty("java.io.tmpdir", "/tmp"), "braid-" + name);
    }

    /** "/mnt/web data" → "mnt-web_data"; "/" → "root". */
    static String escape(Path dir) {
        String s = dir.toString().replaceAll("^/+|/+$", "");
        if (s.isEmpty()) {
            return "root";
        }
        return s.replace('/', '-').replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /** The child's last "mount: " line written to the log after offset from, without the prefix. */
    static String lastError(Path log, long from, String otherwise) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long start = Math.max(from, len - (1 << 16));
            byte[] tail = new byte[(int) (len - start)];
            f.seek(start);
            f.readFully(tail);
            List<String> lines = new String(tail, StandardCharsets.UTF_8).lines().toList();
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith(MountMain.PREFIX)) {
                    return lines.get(i).substring(MountMain.PREFIX.length());
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return otherwise;
    }
}
