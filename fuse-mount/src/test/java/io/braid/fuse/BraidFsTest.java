package io.braid.fuse;

import static io.braid.fuse.TestMount.sh;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import io.braid.proto.file.FileRequest;

/**
 * The file system through a real FUSE mount (the machine runs as root and has /dev/fuse): a
 * read-write mount and a read-only mount, two clients of one fake server, exercised with
 * java.nio and the usual shell tools.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BraidFsTest {
    Path tmp;
    FakeFileServer server;
    TestMount rw;
    TestMount ro;
    Path brick;

    @BeforeAll
    void mount() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        assumeTrue(TestMount.run("sh", "-c", "command -v fusermount").exit() == 0, "no fusermount");
        tmp = Files.createTempDirectory("braidfs");
        server = FakeFileServer.start(tmp.resolve("server"), "web", 1);
        brick = server.bricks.get(0);
        try {
            rw = TestMount.of(server, Files.createDirectories(tmp.resolve("rw")), false);
            ro = TestMount.of(server, Files.createDirectories(tmp.resolve("ro")), true);
        } catch (IOException | RuntimeException e) {
            unmount();
            throw e;
        }
    }

    @AfterAll
    void unmount() {
        try {
            if (ro != null) {
                ro.close();
            }
        } finally {
            try {
                if (rw != null) {
                    rw.close();
                }
            } finally {
                if (server != null) {
                    server.close();
                }
                if (tmp != null) {
                    sh("rm -rf " + tmp);
                }
            }
        }
    }

    @Test
    void mountTableShowsTheVolume() {
        String line = sh("grep ' " + rw.dir + " ' /proc/self/mounts").ok().out();
        assertTrue(line.startsWith("127.0.0.1:/web " + rw.dir + " fuse.braid rw,"), line);
        assertTrue(sh("grep ' " + ro.dir + " ' /proc/self/mounts").ok().out().contains(" fuse.braid ro,"));
    }

    @Test
    void createWriteReadAppendTruncate() throws IOException {
        Path f = rw.path("data.txt");
        Files.writeString(f, "hello");
        assertEquals("hello", Files.readString(f));
        Files.writeString(f, " world", StandardOpenOption.APPEND);
        assertEquals("hello world", Files.readString(f));
        assertEquals(11, Files.size(f));
        sh("truncate -s 5 " + f).ok();
        assertEquals("hello", Files.readString(f));
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(2);
        }
        assertEquals("he", Files.readString(f));
        sh("truncate -s 100000 " + f).ok();
        assertEquals(100000, Files.size(f));
        Files.writeString(f, "new", StandardOpenOption.TRUNCATE_EXISTING);
        assertEquals("new", Files.readString(f));
        assertEquals("new", Files.readString(brick.resolve("data.txt")));
        // The new file belongs to the caller (root here) with the mode asked, less the umask.
        sh("umask 027; touch " + rw.path("masked")).ok();
        assertEquals("640 0:0", sh("stat -c '%a %u:%g' " + rw.path("masked")).ok().out().strip());
    }

    @Test
    void bigFileWrittenBehindIsWholeOnCloseForAnotherClient() throws IOException {
        byte[] data = new byte[3 * 1024 * 1024 + 12345];
        new Random(7).nextBytes(data);
        Path f = rw.path("big.bin");
        server.resetCounts();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b.slice(b.position(), Math.min(b.remaining(), 1 << 20)));
                b.position(b.position() + Math.min(b.remaining(), 1 << 20));
            }
        }
        // close() returned: the server has every byte, and another client that opens it reads all of it.
        assertArrayEquals(data, Files.readAllBytes(brick.resolve("big.bin")));
        assertArrayEquals(data, Files.readAllBytes(ro.path("big.bin")));
        // 128 KiB per FUSE write (big_writes, max_write), gathered up to 1 MiB per request while earlier ones are in
        // flight; the kernel's capability check costs one getxattr, not one per write.
        int writes = server.count(FileRequest.OpCase.WRITE);
        assertTrue(writes >= 4 && writes <= 25, server.counts.toString());
        assertTrue(server.count(FileRequest.OpCase.GETXATTR) <= 2, server.counts.toString());
        // Small odd-sized writes through the shell, then compare through the mount.
        sh("dd if=" + f + " of=" + rw.path("copy.bin") + " bs=7777 count=100 status=none").ok();
        sh("cmp -n 777700 " + f + " " + rw.path("copy.bin")).ok();
        // Overwrites in place, overlapping each other, land in order.
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 50; i++) {
                byte[] b = new byte[4096];
                java.util.Arrays.fill(b, (byte) i);
                ch.write(ByteBuffer.wrap(b), 1000 + i * 100L);
                System.arraycopy(b, 0, data, 1000 + i * 100, 4096);
            }
        }
        assertArrayEquals(data, Files.readAllBytes(ro.path("big.bin")));
    }

    @Test
    void sequentialWritesBehindAnUnansweredOneAreGatheredIntoFewRequests() throws IOException {
        byte[] data = new byte[2 << 20];
        new Random(9).nextBytes(data);
        Path f = rw.path("gathered.bin");
        Files.createFile(f);
        server.resetCounts();
        server.gate = new java.util.concurrent.CountDownLatch(1);
        server.held = r -> r.getOpCase() == FileRequest.OpCase.WRITE;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(data)); // 16 FUSE writes of 128 KiB, each answered at once (write-behind)
            server.gate.countDown();
        } finally {
            server.held = r -> false;
            server.gate.countDown();
        }
        assertArrayEquals(data, Files.readAllBytes(brick.resolve("gathered.bin")));
        // The first goes alone and waits at the server; the next eight fill one 1 MiB request, which leaves at
        // once; the last seven leave together when the path goes idle (or at close).
        assertEquals(3, server.count(FileRequest.OpCase.WRITE), server.counts.toString());
    }

    @Test
    void attributeChangesOfAFileBeingWrittenGoBehindItsWritesAsOneRequest() throws Exception {
        assumeTrue(sh("command -v python3").exit() == 0, "no python3");
        Path f = rw.path("extracted");
        server.resetCounts();
        server.gate = new java.util.concurrent.CountDownLatch(1);
        server.held = r -> r.getOpCase() == FileRequest.OpCase.WRITE;
        // What tar does for each file (as root): create, write, futimens, fchown, fchmod, close. The write
        // waits at the server, the three changes are answered meanwhile (fstat sees them) and the close
        // waits for all of it. Then chmod 4755 and a chown: chown drops set-user-ID, as chown(2) does.
        String script = String.join("\n",
                "import os, sys",
                "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)",
                "os.write(fd, b'tar member')",
                "os.utime(fd, ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_000))",
                "os.fchown(fd, 1234, 5678)",
                "os.fchmod(fd, 0o640)",
                "st = os.fstat(fd)",
                "print(oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size)",
                "os.fchmod(fd, 0o4755)",
                "os.fchown(fd, 4321, -1)",
                "st = os.fstat(fd)",
                "print(oct(st.st_mode & 0o7777), st.st_uid, st.st_gid)",
                "sys.stdout.flush()",
                "os.close(fd)",
                "");
        Path py = tmp.resolve("tar-like.py");
        Files.writeString(py, script);
        Process p = new ProcessBuilder("python3", py.toString(), f.toString()).redirectErrorStream(true).start();
        java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        java.util.concurrent.BlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try {
                for (String x; (x = out.readLine()) != null; ) {
                    lines.add(x);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            // both fstat lines come while the write waits at the server: the changes were answered here
            assertEquals("0o640 1234 5678 1500000000000000000 10", lines.poll(20, TimeUnit.SECONDS));
            assertEquals("0o755 4321 5678", lines.poll(20, TimeUnit.SECONDS));
            assertTrue(p.isAlive());
            // nothing went out ahead of the write: only python's close may have sent the gathered change yet,
            // and it names the write
            assertTrue(server.received.stream()
                    .filter(r -> r.getOpCase() == FileRequest.OpCase.SETATTR && r.getSetattr().getPath().endsWith("/extracted"))
                    .allMatch(r -> r.getAfterCount() == 1), server.counts.toString());
            Thread.sleep(300); // python may, or may not yet, have reached its close: both are fine
        } finally {
            server.held = r -> false;
            server.gate.countDown();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        assertEquals(0, p.exitValue(), String.join("\n", lines));
        assertEquals("755 4321 5678 1500000000 10", sh("stat -c '%a %u %g %Y %s' " + brick.resolve("extracted")).ok().out().strip());
        assertEquals("tar member", Files.readString(brick.resolve("extracted")));
        // one request for the five changes made while the write was out: sent once the write was answered, or
        // sent by the close naming the write, answered EAGAIN while the write was held (as a primary that has not
        // applied it does), then again once it was answered
        List<Integer> setattrs = server.received.stream()
                .filter(r -> r.getOpCase() == FileRequest.OpCase.SETATTR && r.getSetattr().getPath().endsWith("/extracted"))
                .map(FileRequest::getAfterCount).toList();
        assertTrue(setattrs.equals(List.of(0)) || setattrs.equals(List.of(1, 0)), setattrs.toString());
        assertEquals(0, server.count(FileRequest.OpCase.CHMOD) + server.count(FileRequest.OpCase.CHOWN)
                + server.count(FileRequest.OpCase.UTIMENS), server.counts.toString());
        assertEquals("755 4321 5678 1500000000 10", sh("stat -c '%a %u %g %Y %s' " + ro.path("extracted")).ok().out().strip());
    }

    @Test
    void directories() throws IOException {
        Path d = rw.path("dir");
        Files.createDirectory(d);
        for (String n : List.of("a", "b", "c")) {
            Files.writeString(d.resolve(n), n);
        }
        Files.createDirectory(d.resolve("sub"));
        Set<String> names = new TreeSet<>();
        try (var s = Files.list(d)) {
            s.forEach(p -> names.add(p.getFileName().toString()));
        }
        assertEquals(Set.of("a", "b", "c", "sub"), names);
        assertEquals(".\n..\na\nb\nc\nsub\n", sh("ls -a1 " + d).ok().out());
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(d));
        Files.delete(d.resolve("sub"));
        for (String n : List.of("a", "b", "c")) {
            Files.delete(d.resolve(n));
        }
        Files.delete(d);
        assertFalse(Files.exists(d));
        assertFalse(Files.exists(brick.resolve("dir")));
        // Non-ASCII names survive the trip.
        Path u = rw.path("données-日本");
        Files.writeString(u, "x");
        assertTrue(Files.exists(brick.resolve("données-日本")));
        assertTrue(sh("ls " + rw.dir).ok().out().contains("données-日本"));
    }

    @Test
    void renameOverAnExistingFile() throws IOException {
        Files.writeString(rw.path("r1"), "first");
        Files.writeString(rw.path("r2"), "second");
        sh("mv " + rw.path("r1") + " " + rw.path("r2")).ok();
        assertFalse(Files.exists(rw.path("r1")));
        assertEquals("first", Files.readString(rw.path("r2")));
        Files.createDirectory(rw.path("rdir"));
        Files.move(rw.path("rdir"), rw.path("rdir2"));
        assertTrue(Files.isDirectory(rw.path("rdir2")));
    }

    @Test
    void hardLinksShareAnInode() throws IOException {
        Files.writeString(rw.path("h1"), "linked");
        sh("ln " + rw.path("h1") + " " + rw.path("h2")).ok();
        assertEquals("linked", Files.readString(rw.path("h2")));
        String[] a = sh("stat -c '%i %h' " + rw.path("h1") + " " + rw.path("h2")).ok().out().split("\n");
        assertEquals(a[0].split(" ")[0], a[1].split(" ")[0]); // use_ino: one inode number
        assertTrue(a[1].endsWith(" 2"), a[1]);
        Files.writeString(rw.path("h2"), "changed");
        assertEquals("changed", Files.readString(rw.path("h1")));
    }

    @Test
    void symlinks() throws IOException {
        Files.writeString(rw.path("target"), "pointed at");
        sh("ln -s target " + rw.path("sym")).ok();
        assertEquals("target", sh("readlink " + rw.path("sym")).ok().out().strip());
        assertEquals("pointed at", Files.readString(rw.path("sym")));
        assertTrue(Files.isSymbolicLink(brick.resolve("sym")));
        sh("ln -s /nowhere/at/all " + rw.path("dangling")).ok();
        assertEquals("/nowhere/at/all", Files.readSymbolicLink(rw.path("dangling")).toString());
    }

    @Test
    void chmodChownUtimens() throws IOException {
        Path f = rw.path("attrs");
        Files.writeString(f, "x");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        sh("chown 1234:5678 " + f).ok();
        assertEquals("640 1234 5678", sh("stat -c '%a %u %g' " + f).ok().out().strip());
        sh("chown :42 " + f).ok();
        assertEquals("1234 42", sh("stat -c '%u %g' " + f).ok().out().strip());
        Files.setLastModifiedTime(f, FileTime.fromMillis(1_000_000_000_123L));
        assertEquals(1_000_000_000_123L, Files.getLastModifiedTime(f).toMillis());
        // touch -a changes atime only (UTIME_OMIT for mtime).
        sh("touch -a -d @1500000000 " + f).ok();
        assertEquals("1500000000 1000000000", sh("stat -c '%X %Y' " + f).ok().out().strip());
        assertEquals("1500000000 1000000000", sh("stat -c '%X %Y' " + brick.resolve("attrs")).ok().out().strip());
        Files.createDirectory(rw.path("adir"));
        sh("chmod 750 " + rw.path("adir")).ok();
        assertEquals("750", sh("stat -c '%a' " + rw.path("adir")).ok().out().strip());
    }

    @Test
    void extendedAttributes() throws IOException {
        Path f = rw.path("x");
        Files.writeString(f, "x");
        sh("setfattr -n user.color -v blue " + f).ok();
        sh("setfattr -n user.size -v 0x" + "ab".repeat(300) + " " + f).ok();
        assertEquals("blue", sh("getfattr --only-values -n user.color " + f).ok().out());
        String list = sh("getfattr -d -m - " + f).ok().out();
        assertTrue(list.contains("user.color=\"blue\""), list);
        assertTrue(list.contains("user.size="), list);
        sh("setfattr -x user.color " + f).ok();
        sh("getfattr -n user.color " + f).fails("No such attribute");
        sh("setfattr -x user.nothing " + f).fails("No such attribute");
        var view = Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        assertEquals(List.of("size"), view.list());
        assertEquals(300, view.size("size"));
    }

    @Test
    void statfs() {
        String[] f = sh("stat -f -c '%b %f %a %l' " + rw.dir).ok().out().strip().split(" ");
        assertTrue(Long.parseLong(f[0]) > 0);
        assertTrue(Long.parseLong(f[1]) > 0);
        assertEquals("255", f[3]);
        assertTrue(sh("df -P " + rw.dir).ok().out().contains("127.0.0.1:/web"));
    }

    @Test
    void errnos() throws IOException {
        Files.writeString(rw.path("plain"), "x");
        Files.createDirectories(rw.path("edir/full"));
        Files.writeString(rw.path("edir/full/f"), "x");
        assertThrows(NoSuchFileException.class, () -> Files.readString(rw.path("missing")));
        sh("cat " + rw.path("missing")).fails("No such file or directory");
        sh("mkdir " + rw.path("edir")).fails("File exists");
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(rw.path("plain")));
        sh("rmdir " + rw.path("edir/full")).fails("Directory not empty");
        sh("echo x > " + rw.path("edir")).fails("Is a directory");
        sh("ls " + rw.path("plain/x")).fails("Not a directory");
        sh("touch " + rw.path("n".repeat(256))).fails("File name too long");
        sh("mv " + rw.path("plain") + " " + rw.path("n".repeat(300))).fails("File name too long");
        // EACCES: the kernel checks the mode bits (default_permissions) for an ordinary user.
        Files.writeString(rw.path("secret"), "s");
        sh("chmod 600 " + rw.path("secret")).ok();
        sh("setpriv --reuid=65534 --regid=65534 --clear-groups cat " + rw.path("secret")).fails("Permission denied");
        sh("setpriv --reuid=65534 --regid=65534 --clear-groups touch " + rw.path("edir/nobody")).fails("Permission denied");
        // EROFS on the read-only mount, for every kind of change.
        sh("touch " + ro.path("new")).fails("Read-only file system");
        sh("echo x >> " + ro.path("plain")).fails("Read-only file system");
        sh("mkdir " + ro.path("d")).fails("Read-only file system");
        sh("rm " + ro.path("plain")).fails("Read-only file system");
        assertEquals("x", Files.readString(ro.path("plain")));
        // EIO: a file the server cannot serve (split-brain).
        Files.writeString(rw.path("broken"), "b");
        server.splitBrain.add("broken");
        try {
            sh("cat " + rw.path("broken")).fails("Input/output error");
        } finally {
            server.splitBrain.remove("broken");
        }
    }

    @Test
    void fcntlLocksExcludeOtherProcesses() throws IOException, InterruptedException {
        assumeTrue(sh("command -v python3").exit() == 0, "no python3");
        Path f = rw.path("locked");
        Files.writeString(f, "l");
        String tryLock = "python3 -c 'import fcntl,sys; f=open(sys.argv[1],\"r+\"); "
                + "fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB, 10, 0)' ";
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            try (FileLock lock = ch.lock(0, 10, false)) {
                sh(tryLock + f).fails("Resource temporarily unavailable");
                // The other client (the read-only mount) sees the lock too: the server holds it.
                String getLock = "python3 -c 'import fcntl,struct,sys; f=open(sys.argv[1]); "
                        + "r=fcntl.fcntl(f, fcntl.F_GETLK, struct.pack(\"hhqqi\", fcntl.F_RDLCK, 0, 0, 0, 0)); "
                        + "print(struct.unpack(\"hhqqi\", r[:struct.calcsize(\"hhqqi\")])[0])' ";
                assertEquals(String.valueOf(1 /* F_WRLCK */), sh(getLock + ro.path("locked")).ok().out().strip());
            }
            sh(tryLock + f).ok();
        }
    }

    @Test
    void flockExcludesOtherOpenFiles() throws Exception {
        Path f = rw.path("flocked");
        Files.writeString(f, "l");
        Path held = tmp.resolve("held");
        // flock -o: the lock stays with flock(1) itself, not with the sleep it runs.
        Process holder = new ProcessBuilder("sh", "-c", "exec flock -x -o " + f + " sh -c 'echo $$ > " + held
                + ".pid; touch " + held + "; exec sleep 30'").start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(held) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(held));
            assertEquals(1, sh("flock -n " + f + " true").exit());
            assertEquals(1, sh("flock -n -s " + ro.path("flocked") + " true").exit());
        } finally {
            holder.destroy();
            holder.waitFor();
            if (Files.exists(Path.of(held + ".pid"))) {
                sh("kill " + Files.readString(Path.of(held + ".pid")).strip()).exit();
            }
        }
        // The holder's flock is released with its file (on release), so it can be taken again.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sh("flock -n " + f + " true").exit() != 0) {
            assertTrue(System.nanoTime() < deadline, "flock never released");
            Thread.sleep(50);
        }
    }

    @Test
    void fsyncAndFallocate() throws IOException {
        Path f = rw.path("synced");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("abc".getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        assertEquals("abc", Files.readString(brick.resolve("synced")));
        sh("fallocate -l 65536 " + rw.path("alloc")).ok();
        assertEquals(65536, Files.size(rw.path("alloc")));
        sh("sync " + f).ok();
    }

    @Test
    void anFsyncLeavesWithTheWritesItCoversAndGoesAgainIfOneWasNotAppliedYet() throws Exception {
        Path f = rw.path("pipelined");
        Files.writeString(f, "");
        server.received.clear();
        server.gate = new java.util.concurrent.CountDownLatch(1);
        server.held = r -> r.getOpCase() == FileRequest.OpCase.WRITE;
        java.util.concurrent.CompletableFuture<Void> synced = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("data".getBytes(StandardCharsets.UTF_8)));
                ch.force(false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            long deadline = System.nanoTime() + 20_000_000_000L;
            // both calls are out; the fake server runs each on a thread of its pool, so either may be recorded first
            while (server.received.stream().noneMatch(r -> r.getOpCase() == FileRequest.OpCase.FSYNC)
                    || server.received.stream().noneMatch(r -> r.getOpCase() == FileRequest.OpCase.WRITE)) {
                assertTrue(System.nanoTime() < deadline, "no fsync sent while its write was held");
                Thread.sleep(10);
            }
            FileRequest write = server.received.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.WRITE)
                    .findFirst().orElseThrow();
            FileRequest first = server.received.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.FSYNC)
                    .findFirst().orElseThrow();
            assertEquals(java.util.List.of(write.getId()), first.getFsync().getAfterList(), "the fsync names the write in flight");
            Thread.sleep(200);
            assertFalse(synced.isDone(), "fsync returned before its write was applied");
        } finally {
            server.held = r -> false;
            server.gate.countDown();
        }
        synced.get(30, java.util.concurrent.TimeUnit.SECONDS);
        java.util.List<FileRequest> fsyncs = server.received.stream()
                .filter(r -> r.getOpCase() == FileRequest.OpCase.FSYNC).toList();
        assertEquals(2, fsyncs.size(), "refused once (EAGAIN: the write was not applied), then sent again");
        assertEquals(0, fsyncs.get(1).getFsync().getAfterCount());
        assertEquals("data", Files.readString(brick.resolve("pipelined")));
    }

    @Test
    void aWriteBehindsErrorComesBackFromCloseAndFsyncWhichWaitForItsAnswer() throws Exception {
        Path f = rw.path("full");
        Files.writeString(f, "");
        byte[] data = "data".getBytes(StandardCharsets.UTF_8);
        server.failing = r -> r.getOpCase() == FileRequest.OpCase.WRITE ? Errno.ENOSPC : 0;
        try {
            server.gate = new java.util.concurrent.CountDownLatch(1);
            server.held = r -> r.getOpCase() == FileRequest.OpCase.WRITE;
            java.util.concurrent.CompletableFuture<String> closed = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                FileChannel ch;
                try {
                    ch = FileChannel.open(f, StandardOpenOption.WRITE);
                    ch.write(ByteBuffer.wrap(data)); // behind: returns before the server answers
                } catch (IOException e) {
                    return "open or write failed: " + e.getMessage();
                }
                try {
                    ch.close();
                    return "closed without an error";
                } catch (IOException e) {
                    return e.getMessage();
                }
            });
            try {
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (server.received.stream().noneMatch(r -> r.getOpCase() == FileRequest.OpCase.WRITE && r.getWrite().getPath().endsWith("full"))) {
                    assertTrue(System.nanoTime() < deadline, "the write never reached the server");
                    Thread.sleep(10);
                }
                Thread.sleep(200);
                assertFalse(closed.isDone(), "close returned before its write was answered: " + (closed.isDone() ? closed.get() : ""));
            } finally {
                server.held = r -> false;
                server.gate.countDown();
            }
            assertTrue(closed.get(30, java.util.concurrent.TimeUnit.SECONDS).contains("No space left"), closed.get());
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(data));
                IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> ch.force(false));
                assertTrue(String.valueOf(e.getMessage()).contains("No space left"), e.toString());
            }
        } finally {
            server.failing = r -> 0;
        }
        // the next close after a reported error is clean again
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(data));
        }
        assertEquals("data", Files.readString(brick.resolve("full")));
    }

    @Test
    void aSmallFileOpenedByNameComesWithItsLookupAndAStatBeforeTheOpenDoesNot() throws IOException {
        assumeTrue(OpenProbe.forThisMachine().usable(), "no readable /proc/TID/syscall here");
        // files the mount's kernel has never seen, so that the kernel looks them up
        Files.writeString(brick.resolve("quick"), "served with the lookup");
        Files.writeString(brick.resolve("slow"), "stat first");
        server.resetCounts();
        server.received.clear();
        assertEquals("served with the lookup", sh("cat " + rw.path("quick")).out());
        assertEquals(0, server.count(FileRequest.OpCase.OPEN), "the open was answered from the lookup");
        // (the kernel may look the name up twice in one open: again when it revalidates the entry)
        assertTrue(server.received.stream().anyMatch(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPrefetch() > 0 && r.getGetattr().getPath().endsWith("quick")), server.received::toString);

        // a stat, then an open by another syscall: the stat's lookup did not happen in the open,
        // so the open asks the server (close-to-open: something may have changed in between)
        server.resetCounts();
        server.received.clear();
        sh("stat " + rw.path("slow") + " >/dev/null").ok();
        assertEquals("stat first", Files.readString(rw.path("slow")));
        assertEquals(1, server.count(FileRequest.OpCase.OPEN));
        assertEquals(0, server.received.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPrefetch() > 0).count(), "a stat's lookup fetches no content");
        // and what changed after the stat is what the open finds
        sh("stat " + rw.path("slow") + " >/dev/null").ok();
        Files.writeString(brick.resolve("slow"), "changed after the stat");
        assertEquals("changed after the stat", Files.readString(rw.path("slow")));
    }

    @Test
    void oneSetCostsOneCallPerOperation() throws IOException {
        Files.writeString(rw.path("counted"), "c");
        Files.createDirectory(rw.path("cdir"));
        server.resetCounts();
        server.received.clear();
        sh("stat " + rw.path("counted") + " >/dev/null; ls " + rw.path("cdir") + " >/dev/null; "
                + "mkdir " + rw.path("cdir/new") + "; chmod 700 " + rw.path("cdir/new")).ok();
        assertEquals(1, server.count(FileRequest.OpCase.READDIR));
        assertEquals(1, server.count(FileRequest.OpCase.MKDIR));
        assertEquals(1, server.count(FileRequest.OpCase.CHMOD));
        assertEquals(0, server.count(FileRequest.OpCase.STATFS));
        // stat: one lookup; mkdir: one negative lookup (the attributes after mkdir and chmod come from their
        // replies); the kernel revalidates cdir after mkdir changed it, and maybe the root.
        assertEquals(1, server.received.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPath().equals("/cdir/new")).count(), server.received.toString());
        assertTrue(server.count(FileRequest.OpCase.GETATTR) <= 4, server.counts.toString());
        // A small new file: a negative lookup, create, one write; no capability check, no lock calls.
        server.resetCounts();
        sh("echo small > " + rw.path("cdir/small")).ok();
        assertEquals(1, server.count(FileRequest.OpCase.CREATE), server.counts.toString());
        assertEquals(1, server.count(FileRequest.OpCase.WRITE), server.counts.toString());
        assertEquals(0, server.count(FileRequest.OpCase.GETXATTR), server.counts.toString());
        // an unlock at close may still go out when the kernel reuses a lock owner an earlier test locked with
        assertEquals(3, server.total() - server.count(FileRequest.OpCase.LOCK), server.counts.toString());
        // Reading it back: the open brings the small file's content, no read call (plus the getattr of
        // attributes the write made stale).
        server.resetCounts();
        assertEquals("small\n", sh("cat " + rw.path("cdir/small")).ok().out());
        assertEquals(1, server.count(FileRequest.OpCase.OPEN), server.counts.toString());
        assertEquals(0, server.count(FileRequest.OpCase.READ), server.counts.toString());
        assertTrue(server.total() <= 5, server.counts.toString());
        // Every request of this mount named set 0.
        assertTrue(server.received.stream().allMatch(r -> r.getSet() == 0));
    }

    @Test
    void sessionIsOpenWhileMounted() {
        assertTrue(server.sessions.contains(rw.client.clientId()));
        assertTrue(server.sessions.contains(ro.client.clientId()));
    }
}
