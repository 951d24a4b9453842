package io.braid.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real filesystem on a Braid block volume: {@code nbdfuse DIR/disk URI} exposes the export as a
 * file, {@code losetup} makes it a block device, then mkfs/mount/e2fsck on that. {@link #close}
 * undoes whatever was done (unmount, detach the loop device, unmount and stop nbdfuse), also
 * after a failure, and kills nbdfuse by its pid if it does not go by itself.
 */
final class NbdMount implements AutoCloseable {
    private final Path fuseDir;
    private final Path disk;
    private final Path mountPoint;
    private final Path log;
    private Process nbdfuse;
    private String loop;
    private boolean mounted;

    private NbdMount(Path work, String name) throws IOException {
        this.fuseDir = Files.createDirectories(work.resolve(name + "-fuse"));
        this.disk = fuseDir.resolve("disk");
        this.mountPoint = Files.createDirectories(work.resolve(name + "-mnt"));
        this.log = work.resolve(name + "-nbdfuse.log");
    }

    /** Starts nbdfuse on the URI and attaches a loop device to its file. */
    static NbdMount attach(Path work, String name, String uri) throws IOException, InterruptedException {
        NbdMount m = new NbdMount(work, name);
        try {
            m.start(uri);
            return m;
        } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
            m.close();
            throw e;
        }
    }

    private void start(String uri) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("nbdfuse", disk.toString(), uri);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        nbdfuse = pb.start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (!Files.exists(disk)) {
            if (!nbdfuse.isAlive()) throw new IOException("nbdfuse exited with " + nbdfuse.exitValue() + ": " + Files.readString(log));
            if (System.currentTimeMillis() > deadline) throw new IOException("nbdfuse did not show " + disk + " within 30 s");
            Thread.sleep(100);
        }
        loop = Exec.ok(30, "losetup", "-f", "--show", disk.toString()).strip();
        if (!loop.startsWith("/dev/loop")) throw new IOException("losetup printed " + loop);
    }

    Path mountPoint() {
        return mountPoint;
    }

    String loopDevice() {
        return loop;
    }

    void mkfs() {
        Exec.ok(180, "mkfs.ext4", "-q", "-F", loop);
    }

    void mount() {
        Exec.ok(60, "mount", loop, mountPoint.toString());
        mounted = true;
    }

    void umount() {
        Exec.ok(180, "umount", mountPoint.toString());
        mounted = false;
    }

    /** {@code e2fsck -f -n}: 0 when the filesystem is clean. */
    Exec.Result fsck() {
        return Exec.run(180, "e2fsck", "-f", "-n", loop);
    }

    /** sync(1) bounded in time; the filesystem's data reaches the NBD server. */
    static void sync() {
        Exec.ok(180, "sync");
    }

    @Override
    public void close() {
        if (mounted) {
            Exec.Result r = Exec.run(60, "umount", mountPoint.toString());
            if (!r.ok()) {
                // The device under it may be stuck: end nbdfuse so the kernel fails its I/O, then detach lazily.
                Exec.kill(nbdfuse);
                Exec.run(30, "umount", "-l", mountPoint.toString());
            }
            mounted = false;
        }
        if (loop != null) {
            Exec.Result r = Exec.run(30, "losetup", "-d", loop);
            if (!r.ok()) System.out.println("[NbdMount] " + r);
            loop = null;
        }
        if (nbdfuse != null) {
            Exec.run(30, "fusermount", "-u", fuseDir.toString());
            try {
                if (!nbdfuse.waitFor(10, TimeUnit.SECONDS)) Exec.kill(nbdfuse);
            } catch (InterruptedException e) {
                Exec.kill(nbdfuse);
                Thread.currentThread().interrupt();
            }
            // a killed nbdfuse leaves its mount behind: take it away lazily
            if (isMounted(fuseDir)) Exec.run(30, "fusermount", "-u", "-z", fuseDir.toString());
            nbdfuse = null;
        }
    }

    private static boolean isMounted(Path dir) {
        try {
            return Files.readString(Path.of("/proc/self/mounts")).contains(" " + dir + " ");
        } catch (IOException e) {
            return false;
        }
    }
}
