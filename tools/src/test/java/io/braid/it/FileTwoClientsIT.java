package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two clients of one replica 3 file volume, mounted through different servers: what one writes,
 * renames or deletes the other sees, in both directions (m0 has the default attribute and entry
 * caches, m1 none); flock and fcntl locks exclude each other across the two, and stay with their
 * file when the other client renames it or links it under another name; the locks of a
 * client whose mount process dies are released so the other client can take them; and the locks
 * survive the death of the primary's server (those of a client that died with it go a while later).
 */
@Timeout(240)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FileTwoClientsIT {
    static final String VOL = "shared";
    /** How long a mount with the default caches (1 s) may show a stale name or attribute. */
    static final long CACHED_MS = 5_000;

    static BraidCluster c;
    /** Default options: attributes and names cached for 1 s. */
    static FuseMount m0;
    /** attr-timeout=0,entry-timeout=0: every lookup and getattr goes to the server. */
    static FuseMount m1;
    /** The client that is killed in theLocksOfAKilledClientAreReleased. */
    static FuseMount m2;
    /** The client that dies with the primary's server in the last test. */
    static FuseMount m3;
    /** Set once m2 was killed while it held locks and an unlinked open file. */
    static volatile boolean killed;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileTwoClientsIT.class, 3, VOL);
        m0 = FuseMount.mount(c.host(0), VOL, c.root().resolve("mnt0"), "");
        m1 = FuseMount.mount(c.host(1), VOL, c.root().resolve("mnt1"), "attr-timeout=0,entry-timeout=0");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            for (FuseMount m : new FuseMount[] {m3, m2, m0, m1}) {
                try {
                    if (m != null) m.close();
                } catch (RuntimeException | InterruptedException e) {
                    System.out.println("unmount failed: " + e);
                }
            }
        } finally {
            if (c != null) c.close();
        }
    }

    static String name(FuseMount m) {
        return m == m0 ? "m0" : m == m1 ? "m1" : "m2";
    }

    /**
     * What the reader sees: at once on the mount without caches; within {@link #CACHED_MS} on the
     * mount with the default 1 s caches. Prints how long it took there.
     */
    static void seen(FuseMount reader, String what, Callable<Boolean> check) throws Exception {
        long t0 = System.nanoTime();
        long deadline = System.currentTimeMillis() + (reader == m1 ? 0 : CACHED_MS);
        int tries = 1;
        while (!check.call()) {
            tries++;
            if (System.currentTimeMillis() >= deadline) {
                throw new AssertionError(name(reader) + (reader == m1 ? " (no caches) does not see at once: "
                        : " does not see within " + CACHED_MS + " ms: ") + what);
            }
            Thread.sleep(50);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (tries > 1) System.out.printf("%s saw after %d ms: %s%n", name(reader), ms, what);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    @Order(1)
    void whatOneClientWritesTheOtherReads() throws Exception {
        filesFromTo(m0, m1);
        filesFromTo(m1, m0);
    }

    void filesFromTo(FuseMount a, FuseMount b) throws Exception {
        String dir = "files-" + name(a) + "-to-" + name(b);
        Files.createDirectory(a.path(dir));
        Path fa = a.path(dir + "/f");
        Path fb = b.path(dir + "/f");
        // write + close on A: B opens and reads the whole file
        byte[] d1 = random(3 << 20, 1);
        Files.write(fa, d1);
        assertArrayEquals(d1, Files.readAllBytes(fb), "B reads what A wrote and closed");
        // append on A, seen by B after reopening
        byte[] tail = random(1000, 2);
        Files.write(fa, tail, StandardOpenOption.APPEND);
        byte[] d2 = concat(d1, tail);
        assertArrayEquals(d2, Files.readAllBytes(fb), "B reads the append after reopening");
        seen(b, "size after the append", () -> Files.size(fb) == d2.length);
        // an overwrite in the middle (B's pages of the file must not be served again)
        byte[] patch = random(100, 3);
        try (FileChannel ch = FileChannel.open(fa, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(patch), 4096);
        }
        System.arraycopy(patch, 0, d2, 4096, patch.length);
        assertArrayEquals(d2, Files.readAllBytes(fb), "B reads an overwrite after reopening");
        // a truncate
        try (FileChannel ch = FileChannel.open(fa, StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        byte[] d3 = java.util.Arrays.copyOf(d2, 100);
        assertArrayEquals(d3, Files.readAllBytes(fb), "B reads the truncated file");
        seen(b, "size after the truncate", () -> Files.size(fb) == 100);
        // fsync without close: B sees the synced data while A still has the file open
        byte[] d4 = random(200_000, 4);
        try (FileChannel ch = FileChannel.open(a.path(dir + "/synced"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(d4));
            ch.force(true);
            assertArrayEquals(d4, Files.readAllBytes(b.path(dir + "/synced")), "B reads what A fsynced but did not close");
        }
        // two clients write different halves of one file, each then reads all of it
        Path sa = a.path(dir + "/halves");
        Path sb = b.path(dir + "/halves");
        Files.createFile(sa);
        byte[] h1 = random(1 << 20, 5);
        byte[] h2 = random(1 << 20, 6);
        try (FileChannel ca = FileChannel.open(sa, StandardOpenOption.WRITE);
                FileChannel cb = FileChannel.open(sb, StandardOpenOption.WRITE)) {
            for (int off = 0; off < h1.length; off += 128 * 1024) {
                ca.write(ByteBuffer.wrap(h1, off, 128 * 1024), off);
                cb.write(ByteBuffer.wrap(h2, off, 128 * 1024), h1.length + off);
            }
        }
        byte[] both = concat(h1, h2);
        assertArrayEquals(both, Files.readAllBytes(sa), "A reads both halves");
        assertArrayEquals(both, Files.readAllBytes(sb), "B reads both halves");
        // O_CREAT|O_EXCL on B of a name A just created
        Files.writeString(a.path(dir + "/excl"), "A was first");
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(b.path(dir + "/excl")));
        assertEquals("A was first", Files.readString(b.path(dir + "/excl")));
        // xattrs set on A read on B
        UserDefinedFileAttributeView va = Files.getFileAttributeView(fa, UserDefinedFileAttributeView.class);
        va.write("origin", StandardCharsets.UTF_8.encode(name(a)));
        UserDefinedFileAttributeView vb = Files.getFileAttributeView(fb, UserDefinedFileAttributeView.class);
        ByteBuffer got = ByteBuffer.allocate(16);
        vb.read("origin", got);
        assertEquals(name(a), new String(got.array(), 0, got.position(), StandardCharsets.UTF_8), "xattr set on A, read on B");
        // metadata changed on A
        Files.setPosixFilePermissions(fa, PosixFilePermissions.fromString("rw-------"));
        Files.setAttribute(fa, "unix:uid", 1234);
        Files.setAttribute(fa, "unix:gid", 5678);
        FileTime mtime = FileTime.from(java.time.Instant.parse("2022-02-02T02:02:02.123456789Z"));
        Files.setLastModifiedTime(fa, mtime);
        seen(b, "mode, owner and mtime set on A", () -> "rw-------".equals(PosixFilePermissions.toString(
                Files.getPosixFilePermissions(fb))) && (int) Files.getAttribute(fb, "unix:uid") == 1234
                && (int) Files.getAttribute(fb, "unix:gid") == 5678 && mtime.equals(Files.getLastModifiedTime(fb)));
        // a hard link made on A
        Files.createLink(a.path(dir + "/f-link"), fa);
        seen(b, "nlink 2 after A made a hard link", () -> (int) Files.getAttribute(fb, "unix:nlink") == 2);
        assertArrayEquals(d3, Files.readAllBytes(b.path(dir + "/f-link")));
    }

    @Test
    @Order(2)
    void renamesDeletesAndDirectoriesAreSeenByTheOtherClient() throws Exception {
        namesFromTo(m0, m1);
        namesFromTo(m1, m0);
    }

    void namesFromTo(FuseMount a, FuseMount b) throws Exception {
        String dir = "names-" + name(a) + "-to-" + name(b);
        Files.createDirectory(a.path(dir));
        Path da = a.path(dir);
        Path db = b.path(dir);
        // B has looked at the old name before A renames it
        Files.writeString(da.resolve("old"), "renamed by A");
        assertEquals("renamed by A", Files.readString(db.resolve("old")));
        Files.move(da.resolve("old"), da.resolve("new"));
        assertEquals("renamed by A", Files.readString(db.resolve("new")), "B reads the new name at once");
        assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(db.resolve("old")), "B opens the old name");
        seen(b, "the old name is gone", () -> !Files.exists(db.resolve("old")));
        assertEquals(new TreeSet<>(List.of("new")), list(db), "B's readdir after the rename");
        // a rename over an existing file B has read
        Files.writeString(da.resolve("a"), "the longer content of a");
        Files.writeString(da.resolve("b"), "b");
        assertEquals("b", Files.readString(db.resolve("b")));
        Files.move(da.resolve("a"), da.resolve("b"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertEquals("the longer content of a", Files.readString(db.resolve("b")), "B reads the file renamed over b");
        seen(b, "a is gone", () -> !Files.exists(db.resolve("a")));
        // deletes
        Files.delete(da.resolve("new"));
        assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(db.resolve("new")), "B opens a deleted file");
        seen(b, "the deleted file is gone", () -> !Files.exists(db.resolve("new")));
        assertEquals(new TreeSet<>(List.of("b")), list(db), "B's readdir after the delete");
        // directories
        Path sub = Files.createDirectories(da.resolve("d1/inner"));
        for (int i = 0; i < 20; i++) Files.writeString(da.resolve("d1/f" + i), "file " + i);
        Files.writeString(sub.resolve("deep"), "deep");
        TreeSet<String> want = new TreeSet<>();
        for (int i = 0; i < 20; i++) want.add("f" + i);
        want.add("inner");
        assertEquals(want, list(db.resolve("d1")), "B lists a directory A filled");
        assertEquals("deep", Files.readString(db.resolve("d1/inner/deep")));
        Files.writeString(db.resolve("d1/from-b"), "B wrote this");
        assertEquals("B wrote this", Files.readString(da.resolve("d1/from-b")), "A reads what B created");
        Files.move(da.resolve("d1"), da.resolve("d2"));
        assertEquals("deep", Files.readString(db.resolve("d2/inner/deep")), "B reads under a directory A renamed");
        seen(b, "the old directory name is gone", () -> !Files.exists(db.resolve("d1")));
        Exec.Result rm = Exec.run(60, "rm", "-rf", da.resolve("d2").toString());
        assertTrue(rm.ok(), rm::toString);
        seen(b, "listing a directory A removed fails with ENOENT", () -> listFailsWithEnoent(db.resolve("d2")));
        seen(b, "the removed directory is gone", () -> !Files.exists(db.resolve("d2")));
        // B removes what A made, A sees it
        Files.createDirectory(da.resolve("e"));
        Files.delete(db.resolve("e"));
        seen(a, "listing a directory B removed fails with ENOENT", () -> listFailsWithEnoent(da.resolve("e")));
    }

    /** Whether listing dir fails with ENOENT, at opendir or at readdir. */
    static boolean listFailsWithEnoent(Path dir) throws IOException {
        try {
            list(dir);
            return false;
        } catch (NoSuchFileException e) {
            return true;
        } catch (java.io.UncheckedIOException | java.nio.file.DirectoryIteratorException e) {
            if (e.getCause() instanceof NoSuchFileException) return true;
            throw e;
        }
    }

    static TreeSet<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    /**
     * A file one client has open stays its file whatever the other client does to its names, as
     * with a local file system (and GlusterFS): writes, fsync, ftruncate and fstat go on through
     * renames of it and of its directory; a reader of a file the other client replaces (a deploy's
     * rename over it) reads the old file to its end; a file the other client unlinks is still read
     * and written until it is closed, and then gone from every brick.
     */
    @Test
    @Order(3)
    void anOpenFileStaysItsFileThroughTheOtherClientsRenamesAndUnlinks() throws Exception {
        Files.createDirectories(m0.path("open/d"));
        try (FileChannel f = FileChannel.open(m0.path("open/d/log"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(bytes("one\n")), 0);
            Files.move(m1.path("open/d/log"), m1.path("open/d/log.1")); // logrotate
            Files.move(m1.path("open/d"), m1.path("open/e"));
            f.write(ByteBuffer.wrap(bytes("two\n")), 4);
            f.force(true);
            assertEquals(8, f.size(), "fstat through the handle");
            f.truncate(6);
            assertEquals("one\ntw", readAll(f, 6));
        }
        for (int i = 0; i < 3; i++) {
            assertEquals("one\ntw", Files.readString(c.brickPath(i, VOL).resolve("open/e/log.1")), "brick " + i);
        }
        seen(m1, "what m0 wrote after the renames", () -> Files.readString(m1.path("open/e/log.1")).equals("one\ntw"));

        byte[] old = random(3 << 20, 31);
        byte[] neu = random(3 << 20, 32);
        Files.write(m1.path("open/page"), old);
        seen(m0, "the page m1 wrote", () -> Files.exists(m0.path("open/page")) && Files.size(m0.path("open/page")) == old.length);
        try (FileChannel r = FileChannel.open(m0.path("open/page"), StandardOpenOption.READ)) {
            ByteBuffer first = ByteBuffer.allocate(1 << 20);
            r.read(first, 0);
            Files.write(m1.path("open/page.new"), neu);
            Files.move(m1.path("open/page.new"), m1.path("open/page"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            ByteBuffer all = ByteBuffer.allocate(old.length);
            all.put(first.flip());
            while (all.hasRemaining() && r.read(all, all.position()) > 0) { }
            assertArrayEquals(old, all.array(), "what an open reader of the replaced page read");
        }
        assertArrayEquals(neu, Files.readAllBytes(m1.path("open/page")));
        seen(m0, "the new page", () -> java.util.Arrays.equals(neu, Files.readAllBytes(m0.path("open/page"))));

        try (FileChannel f = FileChannel.open(m0.path("open/tmp"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(bytes("abc")), 0);
            f.force(true);
            Files.delete(m1.path("open/tmp"));
            f.write(ByteBuffer.wrap(bytes("def")), 3);
            f.force(true);
            assertEquals(6, f.size());
            assertEquals("abcdef", readAll(f, 6));
        }
        assertFalse(Files.exists(m1.path("open/tmp")));
        seen(m0, "the unlinked file gone", () -> !Files.exists(m0.path("open/tmp")));
        // kept under .braid-unlinked while it was open; removed once m0 said it closed it
        long deadline = System.currentTimeMillis() + 15_000;
        for (int i = 0; i < 3; i++) {
            Path kept = c.brickPath(i, VOL).resolve(".braid-unlinked");
            while (Files.exists(kept) && !list(kept).isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(100);
            assertTrue(!Files.exists(kept) || list(kept).isEmpty(), "left in .braid-unlinked on brick " + i + ": "
                    + (Files.exists(kept) ? list(kept) : ""));
            assertEquals(new TreeSet<>(List.of("e", "page")), list(c.brickPath(i, VOL).resolve("open")), "brick " + i);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String readAll(FileChannel f, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && f.read(b, b.position()) > 0) { }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    @Test
    @Order(4)
    void flockExcludesAcrossClients() throws Exception {
        Files.createDirectory(m0.path("flock"));
        Path la = m0.path("flock/lk");
        Path lb = m1.path("flock/lk");
        Files.createFile(la);
        Path flag = c.root().resolve("release-flock");
        String hold = "echo locked; while [ ! -e " + flag + " ]; do sleep 0.05; done";
        try (Py.Bg holder = Py.Bg.start(null, "flock", la.toString(), "sh", "-c", hold)) {
            holder.expect("locked", 30);
            assertEquals(1, Exec.run(30, "flock", "-n", lb.toString(), "true").exit(), "flock -n on B while A holds it");
            assertEquals(1, Exec.run(30, "flock", "-n", "-s", lb.toString(), "true").exit(), "shared flock -n on B");
            try (Py.Bg waiter = Py.Bg.start(null, "flock", "-w", "60", lb.toString(), "sh", "-c", "echo got")) {
                assertNull(waiter.poll(2000), "B's blocking flock was granted while A holds the lock");
                Files.createFile(flag);
                assertEquals(0, holder.await(30), "A's flock ends");
                waiter.expect("got", 30);
                assertEquals(0, waiter.await(30), "B's blocking flock");
            }
        } finally {
            Files.deleteIfExists(flag);
        }
        awaitExit(0, 10_000, "flock -n on B after A released", "flock", "-n", lb.toString(), "true");
        // shared locks share; an exclusive one is refused
        try (Py.Bg holder = Py.Bg.start(null, "flock", "-s", la.toString(), "sh", "-c", hold)) {
            holder.expect("locked", 30);
            assertEquals(0, Exec.run(30, "flock", "-n", "-s", lb.toString(), "true").exit(), "shared flock on B beside A's");
            assertEquals(1, Exec.run(30, "flock", "-n", lb.toString(), "true").exit(), "exclusive flock on B beside A's shared");
            Files.createFile(flag);
            assertEquals(0, holder.await(30));
        } finally {
            Files.deleteIfExists(flag);
        }
        // the other way round: B holds, A is refused
        try (Py.Bg holder = Py.Bg.start(null, "flock", lb.toString(), "sh", "-c", hold)) {
            holder.expect("locked", 30);
            assertEquals(1, Exec.run(30, "flock", "-n", la.toString(), "true").exit(), "flock -n on A while B holds it");
            Files.createFile(flag);
            assertEquals(0, holder.await(30));
        } finally {
            Files.deleteIfExists(flag);
        }
        awaitExit(0, 10_000, "flock -n on A after B released", "flock", "-n", la.toString(), "true");
    }

    /** Runs a command until it exits with the wanted status, within a bound. */
    static void awaitExit(int want, long timeoutMs, String what, String... cmd) throws InterruptedException {
        long t0 = System.currentTimeMillis();
        Exec.Result r;
        while ((r = Exec.run(30, cmd)).exit() != want) {
            if (System.currentTimeMillis() - t0 > timeoutMs) throw new AssertionError(what + ": " + r);
            Thread.sleep(100);
        }
        long ms = System.currentTimeMillis() - t0;
        if (ms > 200) System.out.printf("%s: after %d ms%n", what, ms);
    }

    @Test
    @Order(5)
    void fcntlByteRangeLocksExcludeAcrossClients() throws Exception {
        Files.createDirectory(m0.path("fcntl"));
        Files.write(m0.path("fcntl/rl"), new byte[4096]);
        // A: an exclusive lock on 0-99 and a shared one on 200-299, released on request
        try (Py.Bg a = Py.Bg.python(m0.path("fcntl"), """
                fd = os.open('rl', os.O_RDWR)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 100, 200)
                print('locked', flush=True)
                sys.stdin.readline()
                fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
                print('unlocked', flush=True)
                sys.stdin.readline()
                print(err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0), flush=True)
                sys.stdin.readline()
                """)) {
            a.expect("locked", 30);
            Py.ok(m1.path("fcntl"), """
                    fd = os.open('rl', os.O_RDWR)
                    r = err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 50)
                    check(r in ('EAGAIN', 'EACCES'), 'exclusive lock on 50-149 while A holds 0-99: ' + r)
                    r = err(fcntl.lockf, fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 99)
                    check(r in ('EAGAIN', 'EACCES'), 'shared lock on byte 99 while A holds 0-99 exclusively: ' + r)
                    eq(err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 100), 'OK', 'exclusive lock on 100-199')
                    eq(err(fcntl.lockf, fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 100, 200), 'OK', 'shared lock on 200-299 beside A\\'s')
                    r = err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 250)
                    check(r in ('EAGAIN', 'EACCES'), 'exclusive lock on 250-259 while A shares 200-299: ' + r)
                    got = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 100, 0))
                    t, w, start, length, pid = struct.unpack('hhqqi', got)
                    eq((t, start, length), (fcntl.F_WRLCK, 0, 100), 'F_GETLK over 0-99 shows A\\'s lock')
                    got = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 100, 100, 0))
                    eq(struct.unpack('hhqqi', got)[0], fcntl.F_UNLCK, 'F_GETLK over 100-199 (B\\'s own lock)')
                    """);
            // B's blocking lock on 0-99 waits for A's unlock
            try (Py.Bg waiter = Py.Bg.python(m1.path("fcntl"), """
                    fd = os.open('rl', os.O_RDWR)
                    print('waiting', flush=True)
                    fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)
                    print('granted', flush=True)
                    sys.stdin.readline()
                    """)) {
                waiter.expect("waiting", 30);
                assertNull(waiter.poll(2000), "B's blocking lock was granted while A holds 0-99");
                a.send("");
                a.expect("unlocked", 30);
                waiter.expect("granted", 30);
                // now B holds 0-99: A is refused
                a.send("");
                String r = a.poll(30_000);
                assertTrue("EAGAIN".equals(r) || "EACCES".equals(r), "A's lock on 0-99 while B holds it: " + r + "\n" + a.output());
                waiter.send("");
                assertEquals(0, waiter.await(30), waiter::output);
            }
            a.send("");
            assertEquals(0, a.await(30), a::output);
        }
        // every lock was released with its process: A takes the whole file
        Py.ok(m0.path("fcntl"), """
                fd = os.open('rl', os.O_RDWR)
                eq(err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0), 'OK', 'the whole file once everyone closed')
                """);
    }

    @Test
    @Order(6)
    void aLockStaysWithItsFileThroughTheOtherClientsRenamesAndLinks() throws Exception {
        Files.createDirectory(m0.path("lkmv"));
        Files.writeString(m0.path("lkmv/f"), "x");
        Files.writeString(m0.path("lkmv/ro"), "small"); // opened read-only: the whole file comes with the open
        try (Py.Bg a = Py.Bg.python(m0.path("lkmv"), """
                fd = os.open('f', os.O_RDWR)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
                ro = os.open('ro', os.O_RDONLY)
                fcntl.flock(ro, fcntl.LOCK_EX | fcntl.LOCK_NB)
                print('locked', flush=True)
                sys.stdin.readline()
                fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
                fcntl.flock(ro, fcntl.LOCK_UN)
                print('unlocked', flush=True)
                sys.stdin.readline()
                """)) {
            a.expect("locked", 30);
            // B renames both files (one into a new directory) and gives f a second name: the locks
            // are on the files, whatever name B reaches them by
            Py.ok(m1.path("lkmv"), """
                    os.rename('f', 'g')
                    os.link('g', 'h')
                    os.mkdir('sub')
                    os.rename('ro', 'sub/ro2')
                    for name in ('g', 'h'):
                        r = err(fcntl.lockf, os.open(name, os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
                        check(r in ('EAGAIN', 'EACCES'), 'fcntl lock on ' + name + ' while A holds f: ' + r)
                    eq(err(fcntl.flock, os.open('sub/ro2', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB), 'EAGAIN',
                       'flock on sub/ro2 while A holds ro')
                    """);
            // A unlocks through the descriptors it opened under the old names
            a.send("");
            a.expect("unlocked", 30);
            Py.ok(m1.path("lkmv"), """
                    eq(err(fcntl.lockf, os.open('h', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0), 'OK', 'fcntl lock on h once A unlocked')
                    eq(err(fcntl.flock, os.open('sub/ro2', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB), 'OK',
                       'flock on sub/ro2 once A unlocked')
                    """);
            a.send("");
            assertEquals(0, a.await(30), a::output);
        }
    }

    @Test
    @Order(7)
    void theLocksOfAKilledClientAreReleased() throws Exception {
        m2 = FuseMount.mount(c.host(2), VOL, c.root().resolve("mnt2"), "");
        Files.createDirectory(m2.path("dead"));
        Files.writeString(m2.path("dead/fcntl"), "x");
        Files.writeString(m2.path("dead/flock"), "x");
        Py.Bg holder = Py.Bg.python(m2.path("dead"), """
                f1 = os.open('fcntl', os.O_RDWR)
                fcntl.lockf(f1, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
                f2 = os.open('flock', os.O_RDONLY)
                fcntl.flock(f2, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # and a scratch file it unlinked while keeping it open (as tmpfile() does)
                f3 = os.open('scratch', os.O_CREAT | os.O_RDWR, 0o600)
                os.write(f3, b'scratch data')
                os.unlink('scratch')
                print('locked', flush=True)
                sys.stdin.readline()
                """);
        try {
            holder.expect("locked", 30);
            Py.ok(m0.path("dead"), """
                    r = err(fcntl.lockf, os.open('fcntl', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
                    check(r in ('EAGAIN', 'EACCES'), 'fcntl lock while the other client holds it: ' + r)
                    eq(err(fcntl.flock, os.open('flock', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB), 'EAGAIN', 'flock while the other client holds it')
                    """);
            killMount(m2);
            String out = Py.ok(m0.path("dead"), """
                    f1 = os.open('fcntl', os.O_RDWR)
                    f2 = os.open('flock', os.O_RDONLY)
                    t0 = time.time()
                    got_fcntl = got_flock = None
                    while time.time() - t0 < 60 and (got_fcntl is None or got_flock is None):
                        if got_fcntl is None and err(fcntl.lockf, f1, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0) == 'OK':
                            got_fcntl = time.time() - t0
                        if got_flock is None and err(fcntl.flock, f2, fcntl.LOCK_EX | fcntl.LOCK_NB) == 'OK':
                            got_flock = time.time() - t0
                        time.sleep(0.1)
                    print('fcntl lock taken after %s s, flock after %s s' % (got_fcntl, got_flock))
                    check(got_fcntl is not None, 'the fcntl lock of the killed client was not released within 60 s')
                    check(got_flock is not None, 'the flock of the killed client was not released within 60 s')
                    """);
            System.out.print("after kill -9 of the holder's mount: " + out);
            killed = true;
        } finally {
            holder.close();
        }
        assertTrue(m0.alive() && m1.alive(), "a surviving mount died");
    }

    @Test
    @Order(8)
    void aKilledClientLeavesNoHiddenFilesBehind() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(killed, "the client was not killed");
        // on a local disk, an unlinked file disappears when its last holder dies
        TreeSet<String> left = list(m0.path("dead"));
        assertEquals(new TreeSet<>(List.of("fcntl", "flock")), left, "names left in the directory of the killed client");
        // the file it unlinked while open was kept aside for it; the servers remove it once its
        // session has been gone for a while
        long deadline = System.currentTimeMillis() + 60_000;
        for (int i = 0; i < 3; i++) {
            assertEquals(new TreeSet<>(List.of("fcntl", "flock")), list(c.brickPath(i, VOL).resolve("dead")), "brick " + i);
            Path kept = c.brickPath(i, VOL).resolve(".braid-unlinked");
            while (Files.exists(kept) && !list(kept).isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(200);
            assertTrue(!Files.exists(kept) || list(kept).isEmpty(), "left in .braid-unlinked on brick " + i + ": "
                    + (Files.exists(kept) ? list(kept) : ""));
        }
        assertFalse(list(m0.dir()).contains(".braid-unlinked"), "the mount lists its own directory");
    }

    static void killMount(FuseMount m) throws InterruptedException {
        long pid = m.pid();
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> Exec.run(10, "kill", "-9", String.valueOf(d.pid()))));
        Exec.Result k = Exec.run(10, "kill", "-9", String.valueOf(pid));
        assertTrue(k.ok(), k::toString);
        long deadline = System.currentTimeMillis() + 20_000;
        while (m.alive() && System.currentTimeMillis() < deadline) Thread.sleep(50);
        assertFalse(m.alive(), "the mount process outlived kill -9");
    }

    @Test
    @Order(9)
    void locksOutliveThePrimarysServer() throws Exception {
        Blocks v = new Blocks(c);
        int p = v.awaitPrimary(VOL, 30_000);
        int q = (p + 1) % 3;
        m3 = FuseMount.mount(c.host(q), VOL, c.root().resolve("mnt3"), "");
        Files.createDirectory(m0.path("failover"));
        for (String f : List.of("fl", "fc", "gone")) Files.writeString(m0.path("failover/" + f), "x");
        String holdScript = """
                fl = os.open('fl', os.O_RDWR)
                fcntl.flock(fl, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fc = os.open('fc', os.O_RDWR)
                fcntl.lockf(fc, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
                print('locked', flush=True)
                sys.stdin.readline()
                fcntl.flock(fl, fcntl.LOCK_UN)
                fcntl.lockf(fc, fcntl.LOCK_UN, 100, 0)
                print('unlocked', flush=True)
                sys.stdin.readline()
                """;
        String refused = """
                eq(err(fcntl.flock, os.open('fl', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB), 'EAGAIN', 'flock on fl ' + when)
                r = err(fcntl.lockf, os.open('fc', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50)
                check(r in ('EAGAIN', 'EACCES'), 'fcntl lock on fc 50-59 ' + when + ': ' + r)
                """;
        boolean serverDown = false;
        try (Py.Bg a = Py.Bg.python(m0.path("failover"), holdScript);
                Py.Bg dying = Py.Bg.python(m3.path("failover"), """
                        g = os.open('gone', os.O_RDWR)
                        fcntl.flock(g, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        print('locked', flush=True)
                        sys.stdin.readline()
                        """)) {
            a.expect("locked", 30);
            dying.expect("locked", 30);
            Py.ok(m1.path("failover"), "when = 'while A holds it'\n" + refused);

            // the primary's server stops answering, a client that held a lock dies (its sessions with
            // the other servers end while neither is primary yet, and the stopped one never hears of
            // it), and once another is primary the stopped one is killed
            v.pause(p);
            serverDown = true;
            killMount(m3);
            int next = v.awaitPrimary(VOL, 60_000, p);
            c.server(p).kill();
            System.out.printf("primary moved from server %d to %d%n", p, next);
            Py.ok(m1.path("failover"), "when = 'after the failover, A holding it'\n" + refused);

            // the dead client's lock goes once it has had no session with the new primary for a while
            // (or at once, should the promotion have come before its sessions ended); the live
            // one's stays all that time
            String out = Py.ok(m1.path("failover"), """
                    g = os.open('gone', os.O_RDWR)
                    t0 = time.time()
                    while err(fcntl.flock, g, fcntl.LOCK_EX | fcntl.LOCK_NB) != 'OK':
                        check(time.time() - t0 < 90, 'the dead client still holds gone after 90 s')
                        time.sleep(0.2)
                    print('%.1f' % (time.time() - t0))
                    """);
            System.out.printf("the dead client's lock went after %s s%n", out.strip());
            Py.ok(m1.path("failover"), "when = 'after the dead client lost its lock, A holding it'\n" + refused);

            a.send("");
            a.expect("unlocked", 30);
            Py.ok(m1.path("failover"), """
                    eq(err(fcntl.flock, os.open('fl', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB), 'OK', 'flock on fl once A unlocked')
                    eq(err(fcntl.lockf, os.open('fc', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0), 'OK', 'fcntl lock on fc once A unlocked')
                    """);
            a.send("");
            assertEquals(0, a.await(30), a::output);
        } finally {
            if (serverDown) c.server(p).start();
        }
        v.awaitAllUpToDate(VOL, 120_000);
    }
}
