package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Mounting as a user does it, with the built launchers: {@code bin/braid mount} backgrounds itself
 * and returns once the directory is mounted, and {@code umount DIR} ends that background process
 * cleanly; {@code mount -t braid} (through {@code /usr/sbin/mount.braid}, which
 * scripts/install-deps links to {@code bin/mount.braid}) with {@code ro}, and {@code mount -f}
 * (fake: nothing mounted); and an fstab line of
 * type braid with {@code _netdev}, mounted by {@code mount -a -O _netdev} from that fstab.
 */
@Timeout(300)
@ExtendWith(KeepLogsOnFailure.class)
class FileMountCommandIT {
    static final String VOL = "docs";
    static final Path BIN = Path.of(System.getProperty("user.dir")).getParent().resolve("bin");
    static final Pattern MOUNT_PID = Pattern.compile("mounting \\S+ at (\\S+) \\(pid (\\d+),");

    static BraidCluster c;
    /** Directories this class mounted, unmounted (lazily if need be) at the end even after a failure. */
    static final List<Path> dirs = new ArrayList<>();
    /** The background mount processes started through the launchers, by pid. */
    static final List<Long> pids = new ArrayList<>();

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileMountCommandIT.class, 3, VOL);
    }

    @AfterAll
    static void down() throws Exception {
        try {
            for (Path d : dirs) {
                if (FuseMount.isMounted(d)) Exec.run(30, "umount", "-l", d.toString());
            }
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(p -> {
                    p.destroyForcibly();
                    p.onExit().join();
                });
            }
        } finally {
            if (c != null) c.close();
        }
    }

    private static Path mountPoint(String name) throws IOException {
        Path d = Files.createDirectories(c.root().resolve(name));
        dirs.add(d);
        return d;
    }

    /**
     * The pid of the background process serving dir, from the line it logs when it mounts
     * ({@code mounting HOST:/VOL at DIR (pid N, ...)}); it is recorded for the cleanup.
     */
    private static long servingPid(Path log, Path dir) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(log)) {
                Matcher m = MOUNT_PID.matcher(Files.readString(log));
                while (m.find()) {
                    if (m.group(1).equals(dir.toRealPath().toString())) {
                        long pid = Long.parseLong(m.group(2));
                        pids.add(pid);
                        return pid;
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no 'mounting ... at " + dir + " (pid N' line in " + log + ":\n" + read(log));
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "(no " + p + ")";
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** umount DIR must end the process serving it, without an error in its log. */
    private static void umountEnds(Path dir, long pid, Path log) throws Exception {
        Exec.Result u = Exec.run(60, "umount", dir.toString());
        assertTrue(u.ok(), u::toString);
        assertFalse(FuseMount.isMounted(dir), dir + " is still mounted after umount");
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (p.isPresent()) {
            assertTrue(p.get().onExit().completeOnTimeout(null, 30, java.util.concurrent.TimeUnit.SECONDS)
                    .join() != null, "the mount process " + pid + " still runs 30 s after umount");
        }
        String text = read(log);
        assertTrue(text.contains(dir.toRealPath() + " unmounted"), () -> "no clean unmount in the log:\n" + text);
        assertFalse(text.contains(" ERROR ") || text.contains("Exception") || text.contains("A fatal error"),
                () -> "the mount logged an error:\n" + text);
    }

    /** The mount(8) options of dir's line in /proc/self/mountinfo (field 6). */
    private static List<String> mountOptions(Path dir) throws IOException {
        String want = " " + dir.toRealPath() + " ";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(want) && line.contains(" - fuse")) return List.of(line.split(" ")[5].split(","));
        }
        throw new AssertionError(dir + " is not in /proc/self/mountinfo");
    }

    @Test
    void braidMountBackgroundsItselfAndUmountEndsIt() throws Exception {
        Path dir = mountPoint("bg");
        Path log = c.root().resolve("bg.mount.log");
        String spec = c.host(0) + ":/" + VOL;
        Exec.Result r = Exec.run(120, BIN.resolve("braid").toString(), "mount", "-o",
                "backup-servers=" + c.host(1) + ":" + c.host(2) + ",log-file=" + log, spec, dir.toString());
        // it returned (the launcher's own process has exited) and the directory is already mounted
        assertTrue(r.ok(), r::toString);
        assertEquals("", r.out() + r.err(), "a successful mount prints nothing");
        assertTrue(FuseMount.isMounted(dir), dir + " is not mounted when braid mount returns");
        long pid = servingPid(log, dir);
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the background mount is not running");

        assertTrue(read(Path.of("/proc/self/mountinfo")).contains(spec + " "), "the mount table does not name " + spec);
        Files.writeString(dir.resolve("index.html"), "<h1>docs</h1>\n", StandardCharsets.UTF_8);
        Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(dir.resolve("a/b/page.html"), "page\n", StandardCharsets.UTF_8);
        FileVolumes.awaitBricksEqual(c, VOL, 30_000);
        assertEquals("page\n", Files.readString(c.brickPath(2, VOL).resolve("a/b/page.html")));

        // a second mount on the same directory is refused with one line, and the first one goes on
        Exec.Result again = Exec.run(120, BIN.resolve("braid").toString(), "mount", spec, dir.toString());
        assertEquals(1, again.exit(), again::toString);
        assertEquals("mount: failed: " + dir.toRealPath() + " is already a Braid mount", again.err().strip());
        assertEquals("<h1>docs</h1>\n", Files.readString(dir.resolve("index.html")));

        umountEnds(dir, pid, log);
        assertFalse(Files.exists(dir.resolve("index.html")), "the file shows in the unmounted directory");
        assertTrue(Files.exists(c.brickPath(0, VOL).resolve("index.html")), "the file is gone from the brick");
    }

    /**
     * The server named in the spec is down (nothing listens on its address): without
     * backup-servers= the mount fails with one line and mounts nothing; with it, the mount asks
     * the backups for the volume and works.
     */
    @Test
    void backupServersAreAskedWhenTheNamedServerIsDown() throws Exception {
        String h0 = c.host(0);
        String dead = h0.substring(0, h0.lastIndexOf('.')) + ".249";
        Path dir = mountPoint("backup");
        Path log = c.root().resolve("backup.mount.log");
        Exec.Result no = Exec.run(120, BIN.resolve("braid").toString(), "mount", dead + ":/" + VOL, dir.toString());
        assertEquals(1, no.exit(), no::toString);
        assertEquals(1, no.err().strip().lines().count(), no::toString);
        assertTrue(no.err().startsWith("mount: failed: "), no::toString);
        assertFalse(FuseMount.isMounted(dir), dir + " was mounted although no server answered");

        Exec.Result r = Exec.run(120, BIN.resolve("braid").toString(), "mount", "-o",
                "backup-servers=" + c.host(1) + ":" + c.host(2) + ",log-file=" + log, dead + ":/" + VOL, dir.toString());
        assertTrue(r.ok(), r::toString);
        long pid = servingPid(log, dir);
        Files.writeString(dir.resolve("via-backup.txt"), "reached through a backup server\n", StandardCharsets.UTF_8);
        FileVolumes.awaitBricksEqual(c, VOL, 30_000);
        assertEquals("reached through a backup server\n", Files.readString(c.brickPath(0, VOL).resolve("via-backup.txt")));
        umountEnds(dir, pid, log);
    }

    /**
     * attr-timeout= and entry-timeout= are how long the kernel trusts what it was told: a mount
     * with 30 s keeps showing a file's size and a name it has seen for that long after another
     * client changed them (as a GlusterFS mount with attribute-timeout does), while a mount with
     * 0 sees each change at once.
     */
    @Test
    void attrAndEntryTimeoutsSetHowLongTheKernelCaches() throws Exception {
        try (FuseMount cached = FuseMount.mount(c.host(0), VOL, mountPoint("cached"), "attr-timeout=30,entry-timeout=30");
             FuseMount fresh = FuseMount.mount(c.host(1), VOL, mountPoint("fresh"), "attr-timeout=0,entry-timeout=0")) {
            Files.writeString(fresh.path("timeouts.txt"), "abc", StandardCharsets.UTF_8);
            Files.writeString(fresh.path("renamed-away.txt"), "x", StandardCharsets.UTF_8);
            assertEquals(3, Files.size(cached.path("timeouts.txt")));
            assertTrue(Files.exists(cached.path("renamed-away.txt")));

            Files.writeString(fresh.path("timeouts.txt"), "abcdefghij", StandardCharsets.UTF_8);
            Files.move(fresh.path("renamed-away.txt"), fresh.path("renamed-to.txt"));
            assertEquals(10, Files.size(fresh.path("timeouts.txt")), "attr-timeout=0 sees the new size");
            assertFalse(Files.exists(fresh.path("renamed-away.txt")), "entry-timeout=0 sees the rename");
            assertEquals(3, (long) (Long) Files.getAttribute(cached.path("timeouts.txt"), "size"),
                    "attr-timeout=30 still shows the size it was told");
            assertTrue(Files.exists(cached.path("renamed-away.txt")), "entry-timeout=30 still knows the old name");
        }
    }

    @Test
    void mountTypeBraidReadOnlyAndAnFstabLineWithNetdev() throws Exception {
        Path helper = Path.of("/usr/sbin/mount.braid");
        assertTrue(Files.exists(helper) && helper.toRealPath().equals(BIN.resolve("mount.braid").toRealPath()),
                () -> helper + " must link to " + BIN.resolve("mount.braid") + " (scripts/install-deps makes it)");

        // content written through a foreground mount (-f, as FuseMount runs it)
        try (FuseMount rw = FuseMount.mount(c.host(2), VOL, mountPoint("rw"), "")) {
            Files.writeString(rw.path("ro-check.txt"), "served read-only\n", StandardCharsets.UTF_8);
            assertTrue(rw.alive(), "the foreground mount process returned");
        }

        // mount -f (mount(8)'s fake mount) runs the helper with -f: nothing is mounted, nothing started
        Path fake = mountPoint("fake");
        Exec.Result f = Exec.run(60, "mount", "-f", "-t", "braid", c.host(0) + ":/" + VOL, fake.toString());
        Exec.run(30, "umount", "--fake", fake.toString()); // drops the entry mount -f records in utab
        assertTrue(f.ok(), f::toString);
        assertFalse(FuseMount.isMounted(fake), "mount -f mounted " + fake);

        // mount -t braid -o ro
        Path ro = mountPoint("ro");
        Path roLog = c.root().resolve("ro.mount.log");
        Exec.Result m = Exec.run(120, "mount", "-t", "braid", "-o", "ro,attr-timeout=0,log-file=" + roLog,
                c.host(1) + ":/" + VOL, ro.toString());
        assertTrue(m.ok(), m::toString);
        assertTrue(FuseMount.isMounted(ro), ro + " is not mounted after mount -t braid");
        long roPid = servingPid(roLog, ro);
        List<String> roOptions = mountOptions(ro);
        assertTrue(roOptions.contains("ro"), () -> "not read-only in the mount table: " + roOptions);
        assertEquals("served read-only\n", Files.readString(ro.resolve("ro-check.txt")));
        FileSystemException w = assertThrows(FileSystemException.class,
                () -> Files.writeString(ro.resolve("ro-check.txt"), "changed\n", StandardCharsets.UTF_8));
        assertTrue(String.valueOf(w.getReason()).contains("Read-only file system"), w::toString);
        FileSystemException d = assertThrows(FileSystemException.class, () -> Files.createDirectory(ro.resolve("new")));
        assertTrue(String.valueOf(d.getReason()).contains("Read-only file system"), d::toString);
        assertEquals("served read-only\n", Files.readString(c.brickPath(0, VOL).resolve("ro-check.txt")));
        assertFalse(Files.exists(c.brickPath(0, VOL).resolve("new")));
        umountEnds(ro, roPid, roLog);

        // an fstab line of type braid, as /etc/fstab would have it, mounted at boot's network stage
        Path net = mountPoint("net");
        Path netLog = c.root().resolve("net.mount.log");
        Path fstab = c.root().resolve("fstab");
        Files.writeString(fstab, "# a Braid volume, mounted once the network is up\n"
                + c.host(0) + ":/" + VOL + "  " + net + "  braid  defaults,_netdev,backup-servers=" + c.host(1)
                + ":" + c.host(2) + ",log-file=" + netLog + "  0 0\n", StandardCharsets.UTF_8);
        Exec.Result a = Exec.run(120, "mount", "-a", "-T", fstab.toString(), "-O", "_netdev");
        assertTrue(a.ok(), a::toString);
        assertTrue(FuseMount.isMounted(net), () -> net + " is not mounted after mount -a -O _netdev: " + a);
        long netPid = servingPid(netLog, net);
        assertEquals("served read-only\n", Files.readString(net.resolve("ro-check.txt")));
        Files.writeString(net.resolve("from-fstab.txt"), "rw\n", StandardCharsets.UTF_8);
        FileVolumes.awaitBricksEqual(c, VOL, 30_000);
        // mount -a again mounts nothing twice
        Exec.Result twice = Exec.run(120, "mount", "-a", "-T", fstab.toString(), "-O", "_netdev");
        assertTrue(twice.ok(), twice::toString);
        String netReal = " " + net.toRealPath() + " ";
        assertEquals(1, Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.contains(netReal)).count(), "mounted twice");
        umountEnds(net, netPid, netLog);
    }
}
