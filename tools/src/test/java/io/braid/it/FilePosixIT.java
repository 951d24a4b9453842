package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
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
 * The POSIX behaviour users expect from a local disk, through real system calls on a real FUSE
 * mount of a replica 3 file volume: every operation, the exact errno of each usual failure,
 * permissions checked by the kernel for a non-root user, odd names that never escape a brick,
 * and after all of it three identical bricks holding what was written.
 *
 * <p>Each test works in its own directory of the volume, so one failure does not hide the others.
 */
@Timeout(240)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FilePosixIT {
    static final String VOL = "posix";
    static final int UID = 1234;
    static final int GID = 5678;

    static BraidCluster c;
    static FuseMount m;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FilePosixIT.class, 3, VOL);
        Blocks v = new Blocks(c);
        // a non-root user must be able to reach the mount point (the cluster's directory is 0700)
        Files.setPosixFilePermissions(c.root(), PosixFilePermissions.fromString("rwxr-xr-x"));
        m = FuseMount.mount(c.host(0), VOL, c.root().resolve("mnt"), "");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m != null) m.close();
        } finally {
            if (c != null) c.close();
        }
    }

    /** A fresh directory of the volume for one test (made through the mount), as a path on the mount. */
    static Path dir(String name) throws IOException {
        return Files.createDirectories(m.path(name));
    }

    /** The same directory on each brick, as python's B. */
    static String[] bricks(String name) {
        String[] out = new String[3];
        for (int i = 0; i < 3; i++) out[i] = c.brickPath(i, VOL).resolve(name).toString();
        return out;
    }

    static String py(String name, String body) throws IOException {
        String out = Py.ok(dir(name), body, bricks(name));
        if (!out.isEmpty()) System.out.print("[" + name + "] " + out);
        return out;
    }

    static void awaitBricksEqual(long timeoutMs) throws InterruptedException {
        // special files (compared by the test that made them) are not something diff can compare
        FileVolumes.awaitBricksEqual(c, VOL, timeoutMs, "fifo", "null");
    }

    @Test
    @Order(1)
    void createReadWriteAndAppend() throws Exception {
        py("rw", """
                fd = os.open('a.txt', os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
                eq(os.write(fd, b'hello '), 6, 'write')
                os.close(fd)
                eq(rd('a.txt'), b'hello ', 'read back')
                # O_APPEND: every write goes to the end, whatever the file offset
                fd = os.open('a.txt', os.O_WRONLY | os.O_APPEND)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, b'world')
                os.lseek(fd, 2, os.SEEK_SET)
                os.write(fd, b'!\\n')
                os.close(fd)
                eq(rd('a.txt'), b'hello world!\\n', 'after appends')
                # two appending fds on one file, interleaved
                f1 = os.open('log', os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
                f2 = os.open('log', os.O_WRONLY | os.O_APPEND)
                for i in range(50):
                    os.write(f1, b'a%02d\\n' % i)
                    os.write(f2, b'b%02d\\n' % i)
                os.close(f1); os.close(f2)
                want = b''.join(b'a%02d\\nb%02d\\n' % (i, i) for i in range(50))
                eq(rd('log'), want, 'two appenders')
                # read what was just written through the same fd, before any close
                fd = os.open('rw.bin', os.O_CREAT | os.O_RDWR, 0o644)
                os.write(fd, b'x' * 70000)
                eq(os.pread(fd, 70000, 0), b'x' * 70000, 'read after write, same fd')
                os.lseek(fd, 10, os.SEEK_SET)
                os.write(fd, b'YY')
                eq(os.pread(fd, 14, 0), b'x' * 10 + b'YY' + b'xx', 'overwrite then read')
                eq(os.fstat(fd).st_size, 70000, 'fstat size')
                os.close(fd)
                # a second fd sees the first fd's writes once they returned
                w = os.open('two-fds', os.O_CREAT | os.O_WRONLY, 0o644)
                r = os.open('two-fds', os.O_RDONLY)
                os.write(w, b'abc' * 1000)
                eq(os.pread(r, 3000, 0), b'abc' * 1000, 'read through another fd')
                os.close(w); os.close(r)
                for p in on_bricks('a.txt'):
                    eq(rd(p), b'hello world!\\n', p)
                for p in on_bricks('log'):
                    eq(rd(p), want, p)
                """);
    }

    @Test
    @Order(2)
    void preadPwriteAndSparseFiles() throws Exception {
        py("sparse", """
                MiB = 1 << 20
                fd = os.open('p.bin', os.O_CREAT | os.O_RDWR, 0o644)
                os.pwrite(fd, b'A' * 4096, 0)
                os.pwrite(fd, b'B' * 100, 10000)
                eq(os.fstat(fd).st_size, 10100, 'size after a write beyond EOF')
                eq(os.pread(fd, 20000, 0), b'A' * 4096 + b'\\0' * (10000 - 4096) + b'B' * 100, 'hole reads as zeros')
                os.pwrite(fd, b'C' * 10, 4090)
                eq(os.pread(fd, 20, 4085), b'A' * 5 + b'C' * 10 + b'\\0' * 5, 'write across a page boundary')
                os.pwrite(fd, b'Z', 100 * MiB)
                eq(os.fstat(fd).st_size, 100 * MiB + 1, 'size after a far write')
                eq(os.pread(fd, 8192, 50 * MiB), b'\\0' * 8192, 'far hole')
                eq(os.pread(fd, 10, 100 * MiB - 4), b'\\0' * 4 + b'Z', 'last byte')
                eq(os.pread(fd, 10, 100 * MiB + 1), b'', 'read at EOF')
                eq(os.pread(fd, 10, 200 * MiB), b'', 'read past EOF')
                os.close(fd)
                st = os.stat('p.bin')
                assert st.st_blocks * 512 < 4 * MiB, 'a 100 MiB sparse file uses %d bytes on the mount' % (st.st_blocks * 512)
                for p in on_bricks('p.bin'):
                    s = os.stat(p)
                    eq(s.st_size, 100 * MiB + 1, p)
                    assert s.st_blocks * 512 < 4 * MiB, '%s: a sparse file takes %d bytes on the brick' % (p, s.st_blocks * 512)
                    with open(p, 'rb') as f:
                        eq(f.read(10100), b'A' * 4090 + b'C' * 10 + b'\\0' * (10000 - 4100) + b'B' * 100, p)
                        f.seek(100 * MiB)
                        eq(f.read(), b'Z', p)
                # lseek SEEK_END / SEEK_DATA-free usage
                fd = os.open('p.bin', os.O_RDONLY)
                eq(os.lseek(fd, 0, os.SEEK_END), 100 * MiB + 1, 'SEEK_END')
                os.close(fd)
                """);
    }

    @Test
    @Order(3)
    void truncateGrowShrinkAndFtruncate() throws Exception {
        py("trunc", """
                wr('t', b'x' * 1000)
                os.truncate('t', 5000)
                eq(rd('t'), b'x' * 1000 + b'\\0' * 4000, 'grown')
                os.truncate('t', 10)
                eq(rd('t'), b'x' * 10, 'shrunk')
                eq(os.stat('t').st_size, 10, 'stat after shrink')
                fd = os.open('t', os.O_RDWR)
                os.ftruncate(fd, 3)
                eq(os.fstat(fd).st_size, 3, 'fstat after ftruncate')
                eq(os.pread(fd, 100, 0), b'xxx', 'read after ftruncate')
                os.ftruncate(fd, 8192)
                eq(os.pread(fd, 9000, 0), b'xxx' + b'\\0' * 8189, 'ftruncate grow')
                os.close(fd)
                # shrink then grow again: the old bytes must not come back
                wr('t3', b'y' * 8192)
                os.truncate('t3', 100)
                os.truncate('t3', 8192)
                eq(rd('t3'), b'y' * 100 + b'\\0' * 8092, 'no stale bytes after shrink+grow')
                # O_TRUNC
                wr('t2', b'abc')
                os.close(os.open('t2', os.O_WRONLY | os.O_TRUNC))
                eq(os.stat('t2').st_size, 0, 'O_TRUNC')
                # write after a truncate through the same fd
                fd = os.open('t4', os.O_CREAT | os.O_RDWR, 0o644)
                os.write(fd, b'q' * 5000)
                os.ftruncate(fd, 0)
                os.pwrite(fd, b'end', 10)
                eq(os.pread(fd, 100, 0), b'\\0' * 10 + b'end', 'write after ftruncate 0')
                os.close(fd)
                for p in on_bricks('t'):
                    eq(rd(p), b'xxx' + b'\\0' * 8189, p)
                for p in on_bricks('t3'):
                    eq(rd(p), b'y' * 100 + b'\\0' * 8092, p)
                for p in on_bricks('t4'):
                    eq(rd(p), b'\\0' * 10 + b'end', p)
                """);
    }

    @Test
    @Order(4)
    void mkdirReaddirUnlinkRmdir() throws Exception {
        py("dirs", """
                os.mkdir('d', 0o755)
                names = ['f%03d' % i for i in range(300)]
                for n in names:
                    wr('d/' + n, n.encode())
                os.mkdir('d/sub')
                eq(sorted(os.listdir('d')), sorted(names + ['sub']), 'readdir of 301 entries')
                kinds = {e.name: (e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)) for e in os.scandir('d')}
                eq(kinds['sub'], (True, False), 'd_type of a directory')
                eq(kinds['f000'], (False, True), 'd_type of a file')
                eq(os.stat('d').st_nlink, 3, 'nlink of a directory with one subdirectory')
                eq(rd('d/f123'), b'f123', 'content')
                for n in names:
                    os.unlink('d/' + n)
                eq(os.listdir('d'), ['sub'], 'after unlinking every file')
                os.rmdir('d/sub')
                eq(os.listdir('d'), [], 'empty')
                os.rmdir('d')
                assert not os.path.exists('d'), 'd still exists'
                eq(os.listdir('.'), [], 'test directory empty')
                # mkdir -p of a deep path and rm -r of it
                os.makedirs('x/y/z/w')
                wr('x/y/z/w/leaf', b'leaf')
                for root, dirs, files in os.walk('x', topdown=False):
                    for f in files: os.unlink(os.path.join(root, f))
                    for d in dirs: os.rmdir(os.path.join(root, d))
                os.rmdir('x')
                for b in B:
                    eq(os.listdir(b), [], b)
                """);
    }

    @Test
    @Order(5)
    void anOpenFileThatIsUnlinkedStaysReadableAndLeavesNothingBehind() throws Exception {
        AssertionError failed = null;
        try {
            unlinkOpenScript();
        } catch (AssertionError e) {
            failed = e;
        }
        awaitBricksEqual(10_000);
        for (String b : bricks("unlink-open")) {
            try (Stream<Path> s = Files.list(Path.of(b))) {
                assertEquals(List.of(), s.map(p -> p.getFileName().toString()).toList(), "left on brick " + b);
            }
        }
        if (failed != null) throw failed;
    }

    private static void unlinkOpenScript() throws IOException {
        py("unlink-open", """
                os.mkdir('d')
                wr('d/u', b'keep me')
                fd = os.open('d/u', os.O_RDWR)
                os.unlink('d/u')
                check(not os.path.exists('d/u'), 'the unlinked name still exists')
                eq(os.pread(fd, 100, 0), b'keep me', 'read through the fd of an unlinked file')
                os.pwrite(fd, b'K', 0)
                eq(os.pread(fd, 100, 0), b'Keep me', 'write through the fd of an unlinked file')
                os.pwrite(fd, b'!', 20)
                eq(os.fstat(fd).st_size, 21, 'fstat of an unlinked file after a write that extends it')
                eq(os.fstat(fd).st_nlink, 0, 'nlink of an unlinked open file')
                eq(os.listdir('d'), [], 'readdir of its directory while the unlinked file is open')
                eq(err(os.rmdir, 'd'), 'OK', 'rmdir of its (empty) directory while the unlinked file is open')
                os.close(fd)
                deadline = time.time() + 10
                while os.path.exists('d') and err(os.rmdir, 'd') != 'OK' and time.time() < deadline:
                    time.sleep(0.1)
                check(not os.path.exists('d'), 'the directory cannot be removed even after the close: %s' % (os.listdir('d') if os.path.exists('d') else ''))
                """);
    }

    @Test
    @Order(6)
    void renames() throws Exception {
        py("rename", """
                wr('src', b'new'); wr('dst', b'old')
                ino = os.stat('src').st_ino
                os.rename('src', 'dst')
                eq(rd('dst'), b'new', 'rename over an existing file')
                assert not os.path.exists('src'), 'src still exists'
                eq(os.stat('dst').st_ino, ino, 'the renamed file keeps its inode number')
                # the replaced file stays readable through an fd opened before
                wr('t1', b'the old content'); wr('n1', b'replacement')
                fd = os.open('t1', os.O_RDONLY)
                os.rename('n1', 't1')
                eq(os.pread(fd, 100, 0), b'the old content', 'replaced file through an old fd')
                eq(os.fstat(fd).st_size, 15, 'fstat of the replaced file through an old fd')
                eq(os.fstat(fd).st_nlink, 0, 'nlink of the replaced file through an old fd')
                eq(os.stat('t1').st_size, 11, 'stat of the new t1')
                os.close(fd)
                eq(rd('t1'), b'replacement', 'the new t1')
                # a directory with contents
                os.makedirs('dir1/inner'); wr('dir1/inner/f', b'deep')
                os.rename('dir1', 'dir2')
                eq(rd('dir2/inner/f'), b'deep', 'file under a renamed directory')
                assert not os.path.exists('dir1'), 'dir1 still exists'
                # a directory over an empty directory
                os.mkdir('e1'); wr('e1/in', b'e'); os.mkdir('e2')
                os.rename('e1', 'e2')
                eq(rd('e2/in'), b'e', 'directory over an empty directory')
                assert not os.path.exists('e1')
                os.mkdir('ne'); wr('ne/x', b'')
                eq(err(os.rename, 'dir2', 'ne'), 'ENOTEMPTY', 'directory over a non-empty directory')
                eq(err(os.rename, 'dst', 'ne'), 'EISDIR', 'file over a directory')
                eq(err(os.rename, 'e2', 'dst'), 'ENOTDIR', 'directory over a file')
                eq(err(os.rename, 'missing', 'x'), 'ENOENT', 'missing source')
                eq(err(os.rename, 'dir2', 'dir2/inner/x'), 'EINVAL', 'directory into itself')
                eq(err(os.rename, 'dst', '/tmp/braid-posix-exdev'), 'EXDEV', 'out of the mount')
                # a file that is open: read and write through the old fd after the rename
                wr('open1', b'0123456789')
                fd = os.open('open1', os.O_RDWR)
                os.rename('open1', 'moved1')
                eq(os.pread(fd, 10, 0), b'0123456789', 'read through the fd of a renamed file')
                os.pwrite(fd, b'AB', 10)
                os.fsync(fd)
                eq(rd('moved1'), b'0123456789AB', 'a write through the old fd lands in the new name')
                os.close(fd)
                assert not os.path.exists('open1')
                # across directories, and onto itself
                os.rename('moved1', 'dir2/inner/moved1')
                eq(rd('dir2/inner/moved1'), b'0123456789AB', 'across directories')
                os.rename('dst', 'dst')
                eq(rd('dst'), b'new', 'rename onto itself')
                # two hard links of one file: rename of one onto the other is a no-op
                os.link('dst', 'dst-link')
                os.rename('dst', 'dst-link')
                assert os.path.exists('dst') and os.path.exists('dst-link'), 'rename between hard links of one file'
                final = sorted(os.listdir('.'))
                eq(final, ['dir2', 'dst', 'dst-link', 'e2', 'ne', 't1'], 'names after the renames')
                for b in B:
                    eq(sorted(os.listdir(b)), final, b)
                    eq(rd(os.path.join(b, 'dir2/inner/moved1')), b'0123456789AB', b)
                    eq(rd(os.path.join(b, 't1')), b'replacement', b)
                """);
    }

    /** race(opener, name): a reader thread calls opener(name) in a loop while 149 new versions are renamed over name. */
    private static final String RENAME_RACE = """
                import threading
                def race(opener, name):
                    wr(name, b'v0000' * 200)
                    stop = [False]
                    errs = []
                    seen = set()
                    def reader():
                        while not stop[0]:
                            try:
                                d = opener(name)
                            except OSError as e:
                                errs.append(errno.errorcode.get(e.errno, e.errno))
                                continue
                            if d is not None:
                                if len(d) != 1000 or d != d[:5] * 200:
                                    errs.append('torn read %r' % d[:20])
                                seen.add(d[:5])
                    t = threading.Thread(target=reader)
                    t.start()
                    for i in range(1, 150):
                        wr('tmp', b'v%04d' % i * 200)
                        os.rename('tmp', name)
                    stop[0] = True
                    t.join()
                    eq(rd(name), b'v0149' * 200, name + ': last version')
                    return errs, seen
                """;

    @Test
    @Order(7)
    void aFileRenamedOverStaysReadableThroughItsOpenFd() throws Exception {
        py("atomic", """
                # a reader that keeps the old file open: it reads the old content to the end
                wr('held', b'old!' * 250)
                fd = os.open('held', os.O_RDONLY)
                wr('tmp', b'new!' * 250)
                os.rename('tmp', 'held')
                eq(os.pread(fd, 1000, 0), b'old!' * 250, 'read through the fd of a file renamed over')
                os.close(fd)
                eq(rd('held'), b'new!' * 250, 'the name has the new file')
                check(not [n for n in os.listdir('.') if n.startswith('.fuse_hidden')], 'left behind: %s' % os.listdir('.'))
                """);
    }

    @Test
    @Order(7)
    void renameOverAFileIsAtomicForReaders() throws Exception {
        // a reader that looks the name up or opens it in a loop never misses it while a writer renames new versions over it
        py("atomic-open", RENAME_RACE + """
                # a reader that only looks the name up: the rename itself is atomic on the server
                errs, _ = race(lambda n: os.stat(n) and None, 'stat-only')
                eq(errs[:5], [], 'stat of a name renamed over, again and again (%d errors)' % len(errs))
                # a reader that opens and reads it: the name must never be missing either
                errs, seen = race(rd, 'cur')
                eq(errs[:5], [], 'open+read of a name renamed over, again and again (%d errors)' % len(errs))
                check(len(seen) > 1, 'the reader saw only %s' % seen)
                """);
    }

    @Test
    @Order(8)
    void hardLinks() throws Exception {
        py("links", """
                wr('h1', b'data')
                os.link('h1', 'h2')
                eq(os.stat('h1').st_nlink, 2, 'nlink of h1')
                eq(os.stat('h2').st_nlink, 2, 'nlink of h2')
                eq(os.stat('h2').st_ino, os.stat('h1').st_ino, 'one inode number')
                with open('h2', 'r+b') as f:
                    f.write(b'DA')
                eq(rd('h1'), b'DAta', 'written through h2, read through h1')
                # a write through one name is seen through the other once it returned, before any close
                wr('w1', b'')
                os.link('w1', 'w2')
                w = os.open('w2', os.O_WRONLY)
                r = os.open('w1', os.O_RDONLY)
                stale = stale_fresh = stale_synced = 0
                for i in range(20):
                    data = bytes([65 + i]) * (512 * 1024)
                    os.pwrite(w, data, 0)
                    if os.pread(r, len(data), 0) != data:
                        stale += 1
                    # a fresh open of the other name (no page cache of an earlier read to serve)
                    data = bytes([97 + i]) * (512 * 1024)
                    os.pwrite(w, data, 0)
                    r2 = os.open('w1', os.O_RDONLY)
                    if os.pread(r2, len(data), 0) != data:
                        stale_fresh += 1
                    os.close(r2)
                    # the same once the writer's fd was fsynced (its writes reached the bricks)
                    data = bytes([48 + i]) * (512 * 1024)
                    os.pwrite(w, data, 0)
                    os.fsync(w)
                    r2 = os.open('w1', os.O_RDONLY)
                    if os.pread(r2, len(data), 0) != data:
                        stale_synced += 1
                    os.close(r2)
                print('stale reads through w1 of writes through w2, of 20: open fd %d, fresh open %d, fresh open after fsync %d'
                      % (stale, stale_fresh, stale_synced))
                eq(stale_synced, 0, 'reads through a fresh open of w1 that missed a write through w2 fsynced before (of 20)')
                eq(stale, 0, 'reads through an open fd of w1 that missed the write just made through w2 (of 20)')
                eq(stale_fresh, 0, 'reads through a fresh open of w1 that missed the write just made through w2 (of 20)')
                os.close(w); os.close(r)
                w = os.open('h2', os.O_WRONLY)
                os.pwrite(w, b'XY', 2)
                os.close(w)
                os.link('h1', 'h3')
                eq(os.stat('h3').st_nlink, 3, 'nlink after a third link')
                os.unlink('h1')
                ok2 = eq(os.stat('h2').st_nlink, 2, 'nlink of h2 after unlinking h1')
                ok3 = eq(os.stat('h3').st_nlink, 2, 'nlink of h3 after unlinking h1')
                if not (ok2 and ok3):
                    time.sleep(1.5)
                    print('nlink of h2, h3 1.5 s later (past the 1 s attr-timeout):', os.stat('h2').st_nlink, os.stat('h3').st_nlink)
                eq(rd('h3'), b'DAXY', 'content after unlinking h1')
                eq(err(os.link, 'h2', 'h3'), 'EEXIST', 'link onto an existing name')
                eq(err(os.link, 'missing', 'h9'), 'ENOENT', 'link of a missing file')
                os.mkdir('hd')
                eq(err(os.link, 'hd', 'hd2'), 'EPERM', 'hard link of a directory')
                for b in B:
                    s2, s3 = os.stat(os.path.join(b, 'h2')), os.stat(os.path.join(b, 'h3'))
                    eq(s2.st_nlink, 2, b)
                    eq(s2.st_ino, s3.st_ino, b + ': h2 and h3 are one file')
                    eq(rd(os.path.join(b, 'h3')), b'DAXY', b)
                    assert not os.path.exists(os.path.join(b, 'h1')), b
                """);
    }

    @Test
    @Order(9)
    void symlinks() throws Exception {
        // a file outside every brick, which a symlink on the brick points at
        Path sentinel = c.root().resolve("sentinel");
        Files.writeString(sentinel, "outside\n");
        Map<String, Object> before = Files.readAttributes(sentinel, "unix:*", LinkOption.NOFOLLOW_LINKS);
        py("symlinks", """
                wr('target', b'T' * 10)
                os.symlink('target', 'ln')
                eq(os.readlink('ln'), 'target', 'readlink')
                l = os.lstat('ln')
                assert stat.S_ISLNK(l.st_mode), 'lstat is not a symlink: %o' % l.st_mode
                eq(l.st_size, len('target'), 'symlink size')
                s = os.stat('ln')
                assert stat.S_ISREG(s.st_mode), 'stat does not follow'
                eq(s.st_size, 10, 'stat size through the link')
                eq(rd('ln'), b'T' * 10, 'read through the link')
                os.symlink('nowhere', 'dangling')
                eq(err(os.stat, 'dangling'), 'ENOENT', 'stat of a dangling link')
                assert stat.S_ISLNK(os.lstat('dangling').st_mode)
                eq(err(os.readlink, 'target'), 'EINVAL', 'readlink of a file')
                eq(err(os.symlink, 'x', 'ln'), 'EEXIST', 'symlink onto an existing name')
                long = 'a/' * 500 + 'b'
                os.symlink(long, 'long')
                eq(os.readlink('long'), long, 'a 1001-byte target')
                os.mkdir('sd'); wr('sd/f', b'f')
                os.symlink('sd', 'sdl')
                eq(rd('sdl/f'), b'f', 'through a link to a directory')
                eq(os.listdir('sdl'), ['f'], 'readdir through a link')
                os.symlink('/etc/hostname', 'abs')
                eq(os.readlink('abs'), '/etc/hostname', 'absolute target')
                os.unlink('ln')
                assert os.path.exists('target'), 'unlinking a link removed its target'
                # a link whose target leads out of the brick (relative to the brick directory):
                # changing the link itself must never touch what it points at on the server
                os.symlink('../../../../sentinel', 'esc')
                os.chown('esc', 1234, 5678, follow_symlinks=False)
                eq((os.lstat('esc').st_uid, os.lstat('esc').st_gid), (1234, 5678), 'lchown')
                os.utime('esc', ns=(1_000_000_000, 2_000_000_000), follow_symlinks=False)
                eq(os.lstat('esc').st_mtime_ns, 2_000_000_000, 'lutimes')
                os.link('esc', 'esc-hard', follow_symlinks=False)
                assert stat.S_ISLNK(os.lstat('esc-hard').st_mode), 'a hard link of a symlink is a symlink'
                for b in B:
                    eq(os.readlink(os.path.join(b, 'long')), long, b)
                    eq(os.readlink(os.path.join(b, 'esc')), '../../../../sentinel', b)
                    eq(os.lstat(os.path.join(b, 'esc')).st_uid, 1234, b)
                    assert not os.path.lexists(os.path.join(b, 'ln')), b
                    eq(rd(os.path.join(b, 'sd/f')), b'f', b)
                """);
        Map<String, Object> after = Files.readAttributes(sentinel, "unix:*", LinkOption.NOFOLLOW_LINKS);
        for (String k : List.of("uid", "gid", "nlink", "mode", "lastModifiedTime", "size")) {
            assertEquals(before.get(k), after.get(k), "the file outside the bricks changed: " + k);
        }
        assertEquals("outside\n", Files.readString(sentinel));
        // the brick's link really leads to the sentinel (so the test above means something)
        assertEquals(sentinel.toRealPath(), c.brickPath(0, VOL).resolve("symlinks/esc").toRealPath());
    }

    @Test
    @Order(10)
    void chmodAndChown() throws Exception {
        py("modes", """
                os.umask(0o022)
                wr('m', b'x', 0o666)
                eq(stat.S_IMODE(os.stat('m').st_mode), 0o644, 'create mode under umask 022')
                os.chmod('m', 0o640)
                eq(stat.S_IMODE(os.stat('m').st_mode), 0o640, 'chmod 640')
                os.chown('m', 1234, 5678)
                s = os.stat('m')
                eq((s.st_uid, s.st_gid), (1234, 5678), 'chown')
                os.chown('m', -1, 42)
                s = os.stat('m')
                eq((s.st_uid, s.st_gid), (1234, 42), 'chown -1:42')
                os.chmod('m', 0o4755)
                eq(stat.S_IMODE(os.stat('m').st_mode), 0o4755, 'setuid')
                os.mkdir('sticky', 0o777)
                os.chmod('sticky', 0o1777)
                eq(stat.S_IMODE(os.stat('sticky').st_mode), 0o1777, 'sticky directory')
                os.mkdir('sg')
                os.chown('sg', 0, 5678)
                os.chmod('sg', 0o2775)
                wr('sg/inherits', b'')
                eq(os.stat('sg/inherits').st_gid, 5678, 'a file in a setgid directory takes its group')
                os.mkdir('sg/subdir')
                eq(os.stat('sg/subdir').st_gid, 5678, 'a directory in a setgid directory takes its group')
                assert os.stat('sg/subdir').st_mode & stat.S_ISGID, 'a directory in a setgid directory is setgid'
                c0 = os.stat('m').st_ctime_ns
                time.sleep(0.02)
                os.chmod('m', 0o600)
                assert os.stat('m').st_ctime_ns > c0, 'chmod did not change ctime'
                for b in B:
                    s = os.stat(os.path.join(b, 'm'))
                    eq((stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid), (0o600, 1234, 42), b)
                    eq(stat.S_IMODE(os.stat(os.path.join(b, 'sticky')).st_mode), 0o1777, b)
                    eq(os.stat(os.path.join(b, 'sg/inherits')).st_gid, 5678, b)
                """);
    }

    @Test
    @Order(10)
    void tarExtractKeepsOwnersModesAndTimesOnEveryBrick() throws Exception {
        // tar sets each file's times, owner and mode through its descriptor before closing it: the mount
        // sends those behind the file's writes, as one request; every brick must end up as tar meant
        Path src = Files.createTempDirectory(c.root(), "tarsrc");
        Exec.Result made = Exec.run(30, "python3", "-c", String.join("\n",
                "import os, sys",
                "d = sys.argv[1]",
                "os.makedirs(d + '/sub')",
                "for i, (mode, uid, gid) in enumerate([(0o644, 0, 0), (0o600, 1234, 5678), (0o4755, 1234, 42), (0o2750, 0, 5678), (0o444, 99, 99)]):",
                "    p = d + '/sub/f%d' % i",
                "    with open(p, 'wb') as f: f.write(os.urandom(1000 * (i + 1)))",
                "    os.chown(p, uid, gid); os.chmod(p, mode)",
                "    os.utime(p, ns=(1_600_000_000_000_000_000 + i, 1_500_000_000_000_000_000 + i * 1_000_000_000))",
                "os.utime(d + '/sub', ns=(1_400_000_000_000_000_000, 1_400_000_000_000_000_000))",
                ""), src.toString());
        assertTrue(made.ok(), made::toString);
        Path tarball = c.root().resolve("posix-test.tar");
        Exec.Result packed = Exec.run(30, "tar", "-C", src.toString(), "-cf", tarball.toString(), "sub");
        assertTrue(packed.ok(), packed::toString);
        Path d = dir("untarred");
        Exec.Result x = Exec.run(60, "tar", "-C", d.toString(), "-xpf", tarball.toString());
        assertTrue(x.ok(), x::toString);
        py("untarred", """
                src = 'SRC'
                def attrs(p):
                    s = os.stat(p)
                    return (oct(s.st_mode), s.st_uid, s.st_gid, s.st_size, s.st_mtime_ns)
                for b in ['.'] + B:
                    for i in range(5):
                        p = os.path.join(b, 'sub/f%d' % i)
                        eq(attrs(p), attrs(os.path.join(src, 'sub/f%d' % i)), p)
                        eq(open(p, 'rb').read(), open(os.path.join(src, 'sub/f%d' % i), 'rb').read(), p)
                    eq(os.stat(os.path.join(b, 'sub')).st_mtime_ns, 1_400_000_000_000_000_000, b + '/sub')
                # a chmod 4755 then a chown through one descriptor: chown drops set-user-ID, as chown(2) does
                fd = os.open('suid', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.write(fd, b'x' * 5000)
                os.fchmod(fd, 0o4755)
                os.fchown(fd, 1234, -1)
                eq((oct(os.fstat(fd).st_mode), os.fstat(fd).st_uid, os.fstat(fd).st_size), (oct(0o100755), 1234, 5000), 'fstat')
                os.close(fd)
                for b in ['.'] + B:
                    s = os.stat(os.path.join(b, 'suid'))
                    eq((oct(s.st_mode), s.st_uid, s.st_size), (oct(0o100755), 1234, 5000), b)
                """.replace("SRC", src.toString()));
    }

    @Test
    @Order(11)
    void utimensWithNanoseconds() throws Exception {
        Path d = dir("times");
        Exec.Result t = Exec.run(30, "touch", "-d", "2021-03-04 05:06:07.123456789 UTC", d.resolve("f").toString());
        assertTrue(t.ok(), t::toString);
        py("times", """
                eq(os.stat('f').st_mtime_ns, 1614834367123456789, 'touch -d with nanoseconds: mtime')
                eq(os.stat('f').st_atime_ns, 1614834367123456789, 'touch -d with nanoseconds: atime')
                os.utime('f', ns=(1_000_000_001_000_000_123, 1_100_000_002_000_000_456))
                s = os.stat('f')
                eq((s.st_atime_ns, s.st_mtime_ns), (1_000_000_001_000_000_123, 1_100_000_002_000_000_456), 'utime ns')
                # only one of the two (UTIME_OMIT for the other)
                r = os.system("touch -a -d '2000-01-01 00:00:00.5 UTC' f")
                eq(r, 0, 'touch -a')
                s = os.stat('f')
                eq((s.st_atime_ns, s.st_mtime_ns), (946684800500000000, 1_100_000_002_000_000_456), 'touch -a keeps mtime')
                r = os.system("touch -m -d '2001-01-01 00:00:00.25 UTC' f")
                s = os.stat('f')
                eq((s.st_atime_ns, s.st_mtime_ns), (946684800500000000, 978307200250000000), 'touch -m keeps atime')
                # now
                os.utime('f')
                assert abs(os.stat('f').st_mtime - time.time()) < 120, 'utime(now)'
                # a write moves mtime to now
                os.utime('f', ns=(0, 0))
                with open('f', 'ab') as fh:
                    fh.write(b'x')
                assert abs(os.stat('f').st_mtime - time.time()) < 120, 'mtime after a write: %r' % os.stat('f').st_mtime
                os.utime('f', ns=(1_500_000_000_111_111_111, 1_600_000_000_999_999_999))
                for b in B:
                    s = os.stat(os.path.join(b, 'f'))
                    eq((s.st_atime_ns, s.st_mtime_ns), (1_500_000_000_111_111_111, 1_600_000_000_999_999_999), b)
                # a directory
                os.mkdir('dd')
                os.utime('dd', ns=(5, 1_234_567_890_123_456_789))
                eq(os.stat('dd').st_mtime_ns, 1_234_567_890_123_456_789, 'directory mtime')
                for b in B:
                    eq(os.stat(os.path.join(b, 'dd')).st_mtime_ns, 1_234_567_890_123_456_789, b)
                """);
    }

    @Test
    @Order(12)
    void statfs() throws Exception {
        Exec.Result df = Exec.run(30, "df", "-P", "-B1", m.dir().toString());
        assertTrue(df.ok(), df::toString);
        String[] cols = df.out().strip().split("\n")[1].trim().split("\\s+");
        long total = Long.parseLong(cols[1]);
        assertTrue(total > 0, df::toString);
        py("statfs", """
                v = os.statvfs('.')
                assert v.f_blocks > 0 and v.f_bsize > 0 and v.f_frsize > 0, v
                assert 0 <= v.f_bavail <= v.f_bfree <= v.f_blocks, v
                eq(v.f_namemax, 255, 'f_namemax')
                # replica 3 over bricks on one file system: the volume is as large as one brick
                bv = os.statvfs(B[0])
                mine, theirs = v.f_blocks * v.f_frsize, bv.f_blocks * bv.f_frsize
                assert abs(mine - theirs) <= theirs // 100, 'volume size %d, brick file system %d' % (mine, theirs)
                assert v.f_files > 0, v
                """);
    }

    @Test
    @Order(13)
    void extendedAttributes() throws Exception {
        Path d = dir("xattrs");
        Path f = Files.writeString(d.resolve("f"), "x");
        UserDefinedFileAttributeView view = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        view.write("color", StandardCharsets.UTF_8.encode("blue"));
        byte[] big = new byte[4000];
        new SplittableRandom(3).nextBytes(big);
        view.write("big", ByteBuffer.wrap(big));
        assertEquals(new TreeSet<>(List.of("big", "color")), new TreeSet<>(view.list()));
        ByteBuffer got = ByteBuffer.allocate(view.size("color"));
        view.read("color", got);
        assertEquals("blue", new String(got.array(), StandardCharsets.UTF_8));
        ByteBuffer gotBig = ByteBuffer.allocate(view.size("big"));
        view.read("big", gotBig);
        assertArrayEquals(big, gotBig.array());
        view.delete("big");
        assertEquals(List.of("color"), view.list());
        FileSystemException missing = null;
        try {
            view.read("big", ByteBuffer.allocate(10));
        } catch (FileSystemException e) {
            missing = e;
        }
        assertTrue(missing != null && String.valueOf(missing.getReason()).contains("No data available"),
                "reading a removed xattr: " + missing);
        py("xattrs", """
                eq(os.getxattr('f', 'user.color'), b'blue', 'getxattr')
                eq(err(os.getxattr, 'f', 'user.none'), 'ENODATA', 'getxattr of a missing name')
                eq(err(os.removexattr, 'f', 'user.none'), 'ENODATA', 'removexattr of a missing name')
                eq(err(os.setxattr, 'f', 'user.color', b'red', os.XATTR_CREATE), 'EEXIST', 'XATTR_CREATE of an existing name')
                eq(err(os.setxattr, 'f', 'user.none', b'red', os.XATTR_REPLACE), 'ENODATA', 'XATTR_REPLACE of a missing name')
                os.setxattr('f', 'user.color', b'red', os.XATTR_REPLACE)
                os.setxattr('f', 'user.bin', b'\\0\\1\\2\\0')
                eq(os.getxattr('f', 'user.bin'), b'\\0\\1\\2\\0', 'binary value')
                os.setxattr('f', 'user.empty', b'')
                eq(os.getxattr('f', 'user.empty'), b'', 'empty value')
                eq(sorted(os.listxattr('f')), ['user.bin', 'user.color', 'user.empty'], 'listxattr')
                os.setxattr('.', 'user.dir', b'on a directory')
                eq(os.getxattr('.', 'user.dir'), b'on a directory', 'xattr of a directory')
                # Braid's own names are neither visible nor writable
                eq(err(os.setxattr, 'f', 'trusted.braid.x', b'1'), 'EPERM', 'setxattr trusted.braid.*')
                assert not [n for n in os.listxattr('f') if n.startswith('trusted.braid')], os.listxattr('f')
                for b in B:
                    p = os.path.join(b, 'f')
                    eq(os.getxattr(p, 'user.color'), b'red', p)
                    eq(os.getxattr(p, 'user.bin'), b'\\0\\1\\2\\0', p)
                    eq(err(os.getxattr, p, 'user.big'), 'ENODATA', p)
                    eq(os.getxattr(b, 'user.dir'), b'on a directory', b)
                """);
        Exec.Result g = Exec.run(30, "getfattr", "-d", "-m", "user\\.", f.toString());
        assertTrue(g.ok() && g.out().contains("user.color=\"red\""), g::toString);
    }

    @Test
    @Order(14)
    void fsyncFdatasyncAndOSync() throws Exception {
        py("sync", """
                fd = os.open('s', os.O_CREAT | os.O_RDWR, 0o644)
                os.write(fd, b'x' * 300000)
                os.fsync(fd)
                for p in on_bricks('s'):
                    eq(rd(p), b'x' * 300000, p + ' after fsync, before close')
                os.pwrite(fd, b'y' * 10, 5)
                os.fdatasync(fd)
                for p in on_bricks('s'):
                    eq(rd(p)[:20], b'xxxxx' + b'y' * 10 + b'xxxxx', p + ' after fdatasync')
                os.close(fd)
                fd = os.open('o', os.O_CREAT | os.O_WRONLY | os.O_SYNC, 0o644)
                os.write(fd, b'synchronous')
                for p in on_bricks('o'):
                    eq(rd(p), b'synchronous', p + ' after an O_SYNC write, before close')
                os.close(fd)
                d = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(d)
                os.close(d)
                os.sync()
                """);
    }

    @Test
    @Order(15)
    void fallocate() throws Exception {
        Path d = dir("falloc");
        sh("set -e; cd " + d + "; fallocate -l 1M full; head -c 10 /dev/zero | tr '\\0' 'k' > keep;"
                + " fallocate -n -o 0 -l 1M keep; head -c 65536 /dev/zero | tr '\\0' 'p' > punch;"
                + " fallocate -p -o 4096 -l 8192 punch; head -c 65536 /dev/zero | tr '\\0' 'z' > zero;"
                + " fallocate -z -o 100 -l 100 zero");
        py("falloc", """
                MiB = 1 << 20
                eq(os.stat('full').st_size, MiB, 'fallocate -l 1M: size')
                eq(rd('full'), b'\\0' * MiB, 'fallocate -l 1M: zeros')
                eq(os.stat('keep').st_size, 10, 'fallocate -n keeps the size')
                eq(rd('keep'), b'k' * 10, 'fallocate -n keeps the data')
                eq(rd('punch'), b'p' * 4096 + b'\\0' * 8192 + b'p' * (65536 - 12288), 'punch hole')
                eq(rd('zero'), b'z' * 100 + b'\\0' * 100 + b'z' * (65536 - 200), 'zero range')
                for b in B:
                    s = os.stat(os.path.join(b, 'full'))
                    eq(s.st_size, MiB, b)
                    assert s.st_blocks * 512 >= MiB, '%s: fallocate did not allocate (%d blocks)' % (b, s.st_blocks)
                    assert os.stat(os.path.join(b, 'keep')).st_blocks * 512 >= MiB, b + ': keep-size allocation'
                    eq(rd(os.path.join(b, 'punch')), b'p' * 4096 + b'\\0' * 8192 + b'p' * (65536 - 12288), b)
                # fallocate through an fd, then write into the allocated range
                fd = os.open('fd', os.O_CREAT | os.O_RDWR, 0o644)
                os.posix_fallocate(fd, 0, 65536)
                os.pwrite(fd, b'w', 65535)
                eq(os.fstat(fd).st_size, 65536, 'posix_fallocate size')
                os.close(fd)
                """);
    }

    @Test
    @Order(16)
    void fifosAndDeviceNodes() throws Exception {
        py("special", """
                r = err(os.mkfifo, 'fifo', 0o644)
                if r == 'OK':
                    assert stat.S_ISFIFO(os.lstat('fifo').st_mode), 'not a fifo'
                    rfd = os.open('fifo', os.O_RDONLY | os.O_NONBLOCK)
                    wfd = os.open('fifo', os.O_WRONLY | os.O_NONBLOCK)
                    os.write(wfd, b'through the pipe')
                    eq(os.read(rfd, 100), b'through the pipe', 'fifo data')
                    os.close(wfd); os.close(rfd)
                    for b in B:
                        assert stat.S_ISFIFO(os.lstat(os.path.join(b, 'fifo')).st_mode), b
                else:
                    assert r in ('EPERM', 'EOPNOTSUPP', 'ENOSYS'), 'mkfifo failed with ' + r
                    print('mkfifo:', r)
                r = err(os.mknod, 'null', stat.S_IFCHR | 0o666, os.makedev(1, 3))
                if r == 'OK':
                    s = os.lstat('null')
                    assert stat.S_ISCHR(s.st_mode), 'not a character device'
                    eq((os.major(s.st_rdev), os.minor(s.st_rdev)), (1, 3), 'rdev')
                    for b in B:
                        s = os.lstat(os.path.join(b, 'null'))
                        eq((stat.S_ISCHR(s.st_mode), os.major(s.st_rdev), os.minor(s.st_rdev)), (True, 1, 3), b)
                else:
                    assert r in ('EPERM', 'EOPNOTSUPP', 'ENOSYS'), 'mknod failed with ' + r
                    print('mknod:', r)
                r = err(os.mknod, 'plain', stat.S_IFREG | 0o600)
                eq(r, 'OK', 'mknod of a regular file')
                assert stat.S_ISREG(os.stat('plain').st_mode)
                """);
    }

    @Test
    @Order(17)
    void aLargeFileIsTheSameOnTheMountAndOnEveryBrick() throws Exception {
        Path d = dir("large");
        Path f = d.resolve("big.bin");
        byte[] chunk = new byte[1 << 20];
        SplittableRandom r = new SplittableRandom(64);
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 64; i++) {
                r.nextBytes(chunk);
                md.update(chunk);
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) ch.write(b);
            }
        }
        String want = java.util.HexFormat.of().formatHex(md.digest());
        assertEquals(64L << 20, Files.size(f));
        assertEquals(want, Blocks.sha256(f), "sha256 read back through the mount");
        for (int i = 0; i < 3; i++) {
            Path onBrick = c.brickPath(i, VOL).resolve("large/big.bin");
            assertEquals(want, Blocks.sha256(onBrick), "sha256 on brick " + i);
        }
        // unaligned reads at the end
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(200);
            int n = ch.read(b, (64L << 20) - 100);
            assertEquals(100, n, "a read across EOF");
        }
    }

    @Test
    @Order(18)
    void errnos() throws Exception {
        py("errnos", """
                eq(err(os.open, 'missing', os.O_RDONLY), 'ENOENT', 'open missing')
                eq(err(os.unlink, 'missing'), 'ENOENT', 'unlink missing')
                eq(err(os.rmdir, 'missing'), 'ENOENT', 'rmdir missing')
                eq(err(os.stat, 'nodir/x'), 'ENOENT', 'stat under a missing directory')
                eq(err(os.open, 'nodir/x', os.O_CREAT | os.O_WRONLY, 0o644), 'ENOENT', 'create under a missing directory')
                eq(err(os.truncate, 'missing', 0), 'ENOENT', 'truncate missing')
                eq(err(os.chmod, 'missing', 0o644), 'ENOENT', 'chmod missing')
                eq(err(os.readlink, 'missing'), 'ENOENT', 'readlink missing')
                os.mkdir('d')
                eq(err(os.mkdir, 'd'), 'EEXIST', 'mkdir existing')
                wr('f', b'x')
                eq(err(os.open, 'f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644), 'EEXIST', 'O_CREAT|O_EXCL existing')
                eq(err(os.open, 'd', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644), 'EEXIST', 'O_CREAT|O_EXCL on a directory')
                eq(err(os.mkdir, 'f'), 'EEXIST', 'mkdir over a file')
                eq(err(os.symlink, 'x', 'f'), 'EEXIST', 'symlink over a file')
                wr('d/x', b'')
                eq(err(os.rmdir, 'd'), 'ENOTEMPTY', 'rmdir non-empty')
                eq(err(os.open, 'd', os.O_WRONLY), 'EISDIR', 'open a directory for writing')
                eq(err(os.open, 'd', os.O_RDWR), 'EISDIR', 'open a directory read-write')
                eq(err(os.unlink, 'd'), 'EISDIR', 'unlink a directory')
                eq(err(os.truncate, 'd', 0), 'EISDIR', 'truncate a directory')
                dfd = os.open('d', os.O_RDONLY)
                eq(err(os.read, dfd, 10), 'EISDIR', 'read a directory fd')
                os.close(dfd)
                eq(err(os.rmdir, 'f'), 'ENOTDIR', 'rmdir a file')
                eq(err(os.open, 'f/x', os.O_RDONLY), 'ENOTDIR', 'open file/x')
                eq(err(os.stat, 'f/x'), 'ENOTDIR', 'stat file/x')
                eq(err(os.mkdir, 'f/x'), 'ENOTDIR', 'mkdir file/x')
                eq(err(os.open, 'f/x', os.O_CREAT | os.O_WRONLY, 0o644), 'ENOTDIR', 'create file/x')
                eq(err(os.open, 'f', os.O_RDONLY | os.O_DIRECTORY), 'ENOTDIR', 'O_DIRECTORY on a file')
                eq(err(os.listdir, 'f'), 'ENOTDIR', 'readdir of a file')
                n255 = 'n' * 255
                wr(n255, b'ok')
                eq(rd(n255), b'ok', 'a 255-byte name')
                u254 = '\\u00e9' * 127
                wr(u254, b'utf8')
                eq(rd(u254), b'utf8', 'a 254-byte UTF-8 name')
                n256 = 'n' * 256
                eq(err(os.open, n256, os.O_CREAT | os.O_WRONLY, 0o644), 'ENAMETOOLONG', 'create a 256-byte name')
                eq(err(os.stat, n256), 'ENAMETOOLONG', 'stat a 256-byte name')
                eq(err(os.mkdir, n256), 'ENAMETOOLONG', 'mkdir a 256-byte name')
                eq(err(os.open, '\\u00e9' * 128, os.O_CREAT | os.O_WRONLY, 0o644), 'ENAMETOOLONG', 'a 256-byte UTF-8 name')
                eq(err(os.rename, 'f', n256), 'ENAMETOOLONG', 'rename to a 256-byte name')
                fd = os.open('f', os.O_RDONLY)
                eq(err(os.write, fd, b'x'), 'EBADF', 'write on a read-only fd')
                os.close(fd)
                fd = os.open('f', os.O_WRONLY)
                eq(err(os.read, fd, 1), 'EBADF', 'read on a write-only fd')
                os.close(fd)
                os.symlink('loop1', 'loop2'); os.symlink('loop2', 'loop1')
                eq(err(os.stat, 'loop1'), 'ELOOP', 'symlink loop')
                os.symlink('f', 'lf')
                eq(err(os.open, 'lf', os.O_RDONLY | os.O_NOFOLLOW), 'ELOOP', 'O_NOFOLLOW on a symlink')
                eq(err(os.truncate, 'f', -1), 'EINVAL', 'negative truncate')
                eq(sorted(os.listdir('.')), sorted(['d', 'f', n255, u254, 'loop1', 'loop2', 'lf']), 'nothing created by a failure')
                for b in B:
                    eq(sorted(os.listdir(b)), sorted(['d', 'f', n255, u254, 'loop1', 'loop2', 'lf']), b)
                """);
        // and Java's view of the same errnos
        Path d = m.path("errnos");
        assertThrowsReason(NoSuchFileException.class, null, () -> Files.readAllBytes(d.resolve("missing")));
        assertThrowsReason(java.nio.file.FileAlreadyExistsException.class, null, () -> Files.createDirectory(d.resolve("d")));
        assertThrowsReason(java.nio.file.DirectoryNotEmptyException.class, null, () -> Files.delete(d.resolve("d")));
        assertThrowsReason(FileSystemException.class, "Not a directory", () -> Files.readAllBytes(d.resolve("f/x")));
        assertThrowsReason(FileSystemException.class, "File name too long", () -> Files.readAllBytes(d.resolve("n".repeat(256))));
    }

    interface IoAction {
        void run() throws IOException;
    }

    static void assertThrowsReason(Class<? extends FileSystemException> type, String reason, IoAction a) {
        try {
            a.run();
        } catch (IOException e) {
            assertTrue(type.isInstance(e), () -> "expected " + type.getSimpleName() + ", got " + e);
            if (reason != null) {
                assertEquals(reason, ((FileSystemException) e).getReason(), e::toString);
            }
            return;
        }
        throw new AssertionError("expected " + type.getSimpleName() + (reason == null ? "" : " (" + reason + ")"));
    }

    @Test
    @Order(19)
    void permissionsAreCheckedForANonRootUser() throws Exception {
        // as root: a private directory, a public one, a file only root may read, a directory the user owns
        py("perm", """
                os.umask(0o022)
                os.mkdir('priv', 0o700)
                wr('priv/secret', b'secret', 0o644)
                os.mkdir('pub', 0o755)
                wr('pub/r', b'public', 0o644)
                wr('pub/ro', b'root only', 0o600)
                os.mkdir('mine', 0o755)
                os.chown('mine', 1234, 1234)
                eq(stat.S_IMODE(os.stat('.').st_mode) & 0o005, 0o005, 'the test directory is open to others')
                """);
        Path d = m.path("perm");
        Py.okAs(UID, UID, d, """
                eq(os.getuid(), 1234, 'uid')
                eq(rd('pub/r'), b'public', 'a world-readable file')
                eq(sorted(os.listdir('pub')), ['r', 'ro'], 'a world-readable directory')
                eq(err(os.listdir, 'priv'), 'EACCES', 'readdir of a 0700 root directory')
                eq(err(os.open, 'priv/secret', os.O_RDONLY), 'EACCES', 'open under a 0700 root directory')
                eq(err(os.stat, 'priv/secret'), 'EACCES', 'stat under a 0700 root directory')
                eq(err(os.open, 'pub/ro', os.O_RDONLY), 'EACCES', 'open a 0600 root file')
                eq(err(os.open, 'pub/r', os.O_WRONLY), 'EACCES', 'open a 0644 root file for writing')
                eq(err(os.open, 'pub/new', os.O_CREAT | os.O_WRONLY, 0o644), 'EACCES', 'create in a 0755 root directory')
                eq(err(os.mkdir, 'pub/newdir'), 'EACCES', 'mkdir in a 0755 root directory')
                eq(err(os.unlink, 'pub/r'), 'EACCES', 'unlink in a 0755 root directory')
                eq(err(os.rename, 'pub/r', 'mine/r'), 'EACCES', 'rename out of a 0755 root directory')
                eq(err(os.chmod, 'pub/r', 0o777), 'EPERM', 'chmod of a root file')
                eq(err(os.chown, 'pub/r', 1234, 1234), 'EPERM', 'chown of a root file')
                eq(err(os.utime, 'pub/r', ns=(1, 1)), 'EPERM', 'utime with times of a root file')
                eq(err(os.truncate, 'pub/r', 0), 'EACCES', 'truncate a root file')
                eq(err(os.setxattr, 'pub/r', 'user.x', b'1'), 'EACCES', 'setxattr on a root file')
                # in its own directory it may do anything, and what it creates is its own
                wr('mine/f', b'mine')
                os.mkdir('mine/sub')
                s = os.stat('mine/f')
                eq((s.st_uid, s.st_gid), (1234, 1234), 'owner of a file the user created')
                eq(os.stat('mine/sub').st_uid, 1234, 'owner of a directory the user created')
                os.chmod('mine/f', 0o600)
                os.setxattr('mine/f', 'user.by', b'1234')
                eq(err(os.chown, 'mine/f', 0, 0), 'EPERM', 'giving a file away')
                """);
        py("perm", """
                for b in B:
                    s = os.stat(os.path.join(b, 'mine/f'))
                    eq((s.st_uid, s.st_gid, stat.S_IMODE(s.st_mode)), (1234, 1234, 0o600), b)
                    eq(os.getxattr(os.path.join(b, 'mine/f'), 'user.by'), b'1234', b)
                    assert not os.path.exists(os.path.join(b, 'pub/new')), b
                """);
        Exec.Result runuser = Exec.run(30, "runuser", "-u", "nobody", "--", "cat", d.resolve("priv/secret").toString());
        assertFalse(runuser.ok(), runuser::toString);
        assertTrue(runuser.err().contains("Permission denied"), runuser::toString);
    }

    static final List<String> ODD = List.of("back\\slash", "with space", "  leading spaces", "trailing space ",
            "ünïcødé-日本語-😀", "-leading-dash", "--", "..a", "a..", "...", ".hidden", "semi;colon", "quote\"s'",
            "new\nline", "tab\there", "glob*?[]", "pct%s%n", "#hash", "~tilde", "$HOME", "a:b", "\u00a0nbsp");

    @Test
    @Order(20)
    void oddNamesStayInsideTheBricks() throws Exception {
        Path base = c.root();
        List<Path> outside = List.of(base, base.resolve("bricks"), base.resolve("bricks/s1"), base.resolve("bricks/s2"),
                base.resolve("bricks/s3"), base.getParent(), Path.of("/"));
        Map<Path, Set<String>> before = new HashMap<>();
        for (Path p : outside) before.put(p, names(p));
        Path d = dir("names");
        for (String n : ODD) {
            Files.writeString(d.resolve(n), "content of " + n);
        }
        for (String n : List.of("..d", "d..", "....")) {
            Files.createDirectory(d.resolve(n));
            Files.writeString(d.resolve(n).resolve("x"), "in " + n);
        }
        Set<String> want = new TreeSet<>(ODD);
        want.addAll(List.of("..d", "d..", "...."));
        assertEquals(want, names(d), "readdir of odd names");
        for (String n : ODD) {
            assertEquals("content of " + n, Files.readString(d.resolve(n)), n);
        }
        for (int i = 0; i < 3; i++) {
            Path b = c.brickPath(i, VOL).resolve("names");
            assertEquals(want, names(b), "brick " + i);
            for (String n : ODD) assertEquals("content of " + n, Files.readString(b.resolve(n)), "brick " + i + ": " + n);
            for (String n : List.of("..d", "d..", "....")) {
                assertEquals("in " + n, Files.readString(b.resolve(n).resolve("x")), "brick " + i + ": " + n);
            }
        }
        // none of these names appeared next to the bricks or above them (other programs may use /tmp)
        for (Path p : outside) {
            Set<String> was = new TreeSet<>(before.get(p));
            was.retainAll(want);
            Set<String> now = names(p);
            now.retainAll(want);
            assertEquals(was, now, "odd names in " + p);
        }
        // shell use with these names: a leading dash, globbing, spaces
        sh("set -e; cd '" + d + "'; cat -- -leading-dash >/dev/null; cp -- -leading-dash ./copy-of-dash;"
                + " test \"$(cat ./copy-of-dash)\" = 'content of -leading-dash'; rm -- ./copy-of-dash;"
                + " test \"$(ls -1 | wc -l)\" -ge 20");
        // `..` from the mount stays in the client's namespace: the parent of the mount point
        Exec.Result ls = Exec.run(30, m.dir(), List.of("ls", "-a", "../"));
        assertTrue(ls.ok(), ls::toString);
        assertEquals(new TreeSet<>(List.of(ls.out().split("\n"))), withDots(names(c.root())), "ls ../ from the mount");
        Exec.Result ls2 = Exec.run(30, d, List.of("sh", "-c", "cd ../../ && pwd -P"));
        assertEquals(c.root().toRealPath().toString(), ls2.out().strip(), ls2::toString);
        assertEquals(Files.readAttributes(c.root(), "unix:ino"), Files.readAttributes(m.path(".."), "unix:ino"));
    }

    /**
     * The Calls stream a mount sends its reads on, spoken to directly: bad requests on it (no
     * operation, a path out of the brick, a volume or set that is not there) each get a one-line
     * answer under their own tag, nothing changes on the bricks, and the stream goes on to answer
     * a good read afterwards.
     */
    @Test
    @Order(21)
    void aCallsStreamAnswersBadRequestsAndGoesOn() throws Exception {
        Path d = dir("stream");
        Files.writeString(d.resolve("good"), "good content");
        try (CallsStream out = new CallsStream(c.host(0))) {
            java.util.function.Function<String, io.braid.proto.file.FileRequest.Builder> read = path ->
                    io.braid.proto.file.FileRequest.newBuilder().setVolume(VOL).setClient("it-stream").setRead(
                            io.braid.proto.file.Read.newBuilder().setPath(path).setSize(64));
            out.send(io.braid.proto.file.FileRequest.newBuilder().setVolume(VOL).setTag(1).build()); // no operation
            out.send(read.apply("/../../../etc/passwd").setTag(2).build());
            out.send(read.apply("/stream/../../../../etc/hostname").setTag(3).build());
            out.send(read.apply("/stream/good").setVolume("no-such-volume").setTag(4).build());
            out.send(read.apply("/stream/good").setSet(7).setTag(5).build());
            out.send(read.apply("/stream/good\u0000/x").setTag(6).build());
            out.send(read.apply("/stream/good").setTag(7).build());
            Map<Long, io.braid.proto.file.FileReply> byTag = new HashMap<>();
            for (int i = 0; i < 7; i++) {
                io.braid.proto.file.FileReply r = out.next(30);
                assertTrue(r != null, "reply " + i + " of 7; stream " + out.ended.getNow(null));
                byTag.put(r.getTag(), r);
            }
            assertEquals(Set.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), byTag.keySet());
            for (long t = 1; t <= 6; t++) {
                io.braid.proto.file.FileReply r = byTag.get(t);
                assertTrue(r.getErrno() != 0 || r.getStatus() != 0, "request " + t + " was refused: " + r);
                assertTrue(r.getData().isEmpty(), "request " + t + " read nothing");
                assertFalse(r.getMessage().isBlank() || r.getMessage().contains("\n"), "one line for request " + t + ": " + r);
            }
            assertEquals("good content", byTag.get(7L).getData().toStringUtf8(), byTag.get(7L).toString());
            assertFalse(out.ended.isDone(), "the stream goes on: " + out.ended.getNow(null));
            assertEquals(io.grpc.Status.Code.OK, out.finish(30).getCode());
        }
        // the daemon is still there, and the mount still reads through it
        assertEquals("good content", Files.readString(d.resolve("good")));
        assertTrue(c.server(0).isRunning(), "braidd on " + c.host(0) + " still runs");
    }

    /**
     * A client that sends on a Calls stream but does not read the replies: braidd stops taking
     * its requests once a bounded number wait (answered into a full flow-control window, or still
     * being served), instead of queueing replies without end; once the client reads, the rest are
     * served and every request is answered exactly once.
     */
    @Test
    @Order(22)
    void aCallsStreamWhoseRepliesAreNotReadIsPaced() throws Exception {
        Path d = dir("paced");
        int n = 6000;
        int p = new Blocks(c).awaitPrimary(VOL, 30_000); // the one that applies mutations
        io.grpc.ManagedChannel ch = io.grpc.netty.NettyChannelBuilder.forTarget(c.host(p) + ":24100").usePlaintext()
                .flowControlWindow(65535).build();
        try {
            Set<Long> tags = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<io.grpc.stub.ClientCallStreamObserver<io.braid.proto.file.FileRequest>> call =
                    new java.util.concurrent.atomic.AtomicReference<>();
            io.grpc.stub.StreamObserver<io.braid.proto.file.FileRequest> out = io.braid.proto.file.FileIoGrpc.newStub(ch)
                    .calls(new io.grpc.stub.ClientResponseObserver<io.braid.proto.file.FileRequest, io.braid.proto.file.FileReply>() {
                        @Override
                        public void beforeStart(io.grpc.stub.ClientCallStreamObserver<io.braid.proto.file.FileRequest> s) {
                            s.disableAutoRequestWithInitial(0); // reads no reply until told
                            call.set(s);
                        }

                        @Override
                        public void onNext(io.braid.proto.file.FileReply r) {
                            if (r.getErrno() != 0 || r.getStatus() != 0) failed.incrementAndGet();
                            tags.add(r.getTag());
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
            for (int i = 1; i <= n; i++) {
                out.onNext(io.braid.proto.file.FileRequest.newBuilder().setVolume(VOL).setClient("it-paced").setId(i).setTag(i)
                        .setMkdir(io.braid.proto.file.Mkdir.newBuilder().setPath("/paced/d" + i).setMode(040755)).build());
            }
            int made = -1;
            for (int i = 0; i < 60; i++) { // until the count stops growing
                Thread.sleep(500);
                int now = names(d).size();
                if (now == made) break;
                made = now;
            }
            assertTrue(made > 0 && made < n, made + " of " + n + " requests were served while no reply was read");
            assertTrue(tags.isEmpty());
            call.get().request(Integer.MAX_VALUE);
            for (int i = 0; i < 600 && tags.size() < n; i++) {
                Thread.sleep(100);
            }
            assertEquals(n, tags.size(), "every request answered once the replies are read");
            assertEquals(0, failed.get());
            assertEquals(n, names(d).size());
            out.onCompleted();
        } finally {
            ch.shutdownNow();
        }
        assertTrue(c.server(p).isRunning(), "braidd on " + c.host(p) + " still runs");
    }

    static Set<String> withDots(Set<String> s) {
        Set<String> out = new TreeSet<>(s);
        out.add(".");
        out.add("..");
        return out;
    }

    /**
     * Mutations whose paths lead out of the brick (`..` components, a NUL), sent straight to every
     * server on a Calls stream as a hostile client would (the primary checks them; the others send
     * a client to the primary, and apply only what it replicates): each is refused with one line, nothing
     * appears next to or above any brick, the file they aim at stays on every brick, and the
     * stream goes on.
     */
    @Test
    @Order(23)
    void mutationsWithPathsOutOfTheBrickAreRefusedOnEveryServer() throws Exception {
        Path d = dir("escape");
        Files.writeString(d.resolve("victim"), "still here");
        Path base = c.root();
        List<Path> outside = List.of(base, base.resolve("bricks"), base.resolve("bricks/s1"), base.resolve("bricks/s2"),
                base.resolve("bricks/s3"), base.getParent(), Path.of("/"));
        // the victim as seen from above the brick root: bricks/sN/posix/escape/victim
        String viaAbove = "/../../s1/" + VOL + "/escape/victim";
        java.util.function.Function<Long, io.braid.proto.file.FileRequest.Builder> req = tag ->
                io.braid.proto.file.FileRequest.newBuilder().setVolume(VOL).setClient("it-escape").setTag(tag);
        List<io.braid.proto.file.FileRequest> bad = List.of(
                req.apply(1L).setCreate(io.braid.proto.file.Create.newBuilder().setPath("/../escape-create").setMode(0644)).build(),
                req.apply(2L).setMkdir(io.braid.proto.file.Mkdir.newBuilder().setPath("/escape/../../escape-dir").setMode(0755)).build(),
                req.apply(3L).setRename(io.braid.proto.file.Rename.newBuilder().setFrom("/escape/victim").setTo("/../escape-renamed")).build(),
                req.apply(4L).setLink(io.braid.proto.file.Link.newBuilder().setFrom("/escape/victim").setTo("/../../escape-link")).build(),
                req.apply(5L).setSymlink(io.braid.proto.file.Symlink.newBuilder().setTarget("/etc/passwd").setPath("/../escape-sym")).build(),
                req.apply(6L).setUnlink(io.braid.proto.file.Unlink.newBuilder().setPath(viaAbove)).build(),
                req.apply(7L).setTruncate(io.braid.proto.file.Truncate.newBuilder().setPath(viaAbove).setSize(0)).build(),
                req.apply(8L).setWrite(io.braid.proto.file.Write.newBuilder().setPath("/../escape-write")
                        .setData(com.google.protobuf.ByteString.copyFromUtf8("x"))).build(),
                req.apply(9L).setSetxattr(io.braid.proto.file.Setxattr.newBuilder().setPath("/..").setName("user.x")
                        .setValue(com.google.protobuf.ByteString.copyFromUtf8("x"))).build(),
                req.apply(10L).setChmod(io.braid.proto.file.Chmod.newBuilder().setPath("/escape/victim\u0000/../..").setMode(0777)).build(),
                req.apply(11L).setRmdir(io.braid.proto.file.Rmdir.newBuilder().setPath("/../../s2")).build());
        int primary = new Blocks(c).awaitPrimary(VOL, 30_000);
        for (int server = 0; server < 3; server++) {
            try (CallsStream out = new CallsStream(c.host(server))) {
                for (io.braid.proto.file.FileRequest r : bad) out.send(r);
                out.send(req.apply(99L).setRead(io.braid.proto.file.Read.newBuilder().setPath("/escape/victim").setSize(64)).build());
                Map<Long, io.braid.proto.file.FileReply> byTag = new HashMap<>();
                for (int i = 0; i < bad.size() + 1; i++) {
                    io.braid.proto.file.FileReply r = out.next(30);
                    assertTrue(r != null, "server " + server + ": reply " + i + "; stream " + out.ended.getNow(null));
                    byTag.put(r.getTag(), r);
                }
                for (io.braid.proto.file.FileRequest q : bad) {
                    io.braid.proto.file.FileReply r = byTag.get(q.getTag());
                    String what = "server " + server + ", " + q.getOpCase() + " " + q.getTag();
                    assertTrue(r != null && (r.getErrno() != 0 || r.getStatus() != 0), () -> what + " was not refused: " + r);
                    assertFalse(r.getMessage().isBlank() || r.getMessage().contains("\n"), () -> "one line for " + what + ": " + r);
                    if (server == primary) System.out.println("[FilePosixIT] " + what + ": " + r.getMessage());
                }
                // the primary serves the read; another server sends the client to the primary
                io.braid.proto.file.FileReply good = byTag.get(99L);
                if (server == primary) {
                    assertEquals("still here", good.getData().toStringUtf8(), good.toString());
                } else {
                    assertTrue(good.getData().toStringUtf8().equals("still here") || good.getMessage().startsWith("not primary"),
                            good::toString);
                }
                assertFalse(out.ended.isDone(), "the stream goes on: " + out.ended.getNow(null));
                out.finish(30);
            }
            assertTrue(c.server(server).isRunning(), "braidd on " + c.host(server) + " still runs");
        }
        for (Path p : outside) {
            for (String n : names(p)) assertFalse(n.startsWith("escape-"), () -> "a name escaped into " + p + ": " + n);
        }
        for (int i = 0; i < 3; i++) {
            Path b = c.brickPath(i, VOL);
            assertEquals("still here", Files.readString(b.resolve("escape/victim")), "brick " + i);
            assertEquals(0644, (int) Files.getAttribute(b.resolve("escape/victim"), "unix:mode") & 0777, "brick " + i);
            assertTrue(Files.isDirectory(c.root().resolve("bricks/s" + (i + 1))), "brick " + i + "'s parent");
            for (String n : names(b)) assertFalse(n.startsWith("escape-"), "brick " + i + ": " + n);
        }
        assertEquals("still here", Files.readString(d.resolve("victim")));
    }

    /** One request on a new Calls stream to server i; its reply (or the stream's error as a reply's status). */
    static io.braid.proto.file.FileReply call(int server, io.braid.proto.file.FileRequest request) throws Exception {
        try (CallsStream stream = new CallsStream(c.host(server))) {
            stream.send(request);
            io.braid.proto.file.FileReply r = stream.next(30);
            assertTrue(r != null, () -> "no reply from server " + server + "; stream " + stream.ended.getNow(null));
            stream.finish(30);
            return r;
        }
    }

    /**
     * cluster.read-from-replicas: off, only the primary serves a read (another server sends the
     * client to it); on, every in-sync data brick serves it, from its own disk.
     */
    @Test
    @Order(24)
    void readFromReplicasLetsEveryInSyncBrickServeReads() throws Exception {
        Path d = dir("replica-reads");
        Files.writeString(d.resolve("page.html"), "served by any replica");
        Blocks v = new Blocks(c);
        v.awaitAllUpToDate(VOL, 60_000);
        int primary = v.awaitPrimary(VOL, 30_000);
        io.braid.proto.file.FileRequest read = io.braid.proto.file.FileRequest.newBuilder().setVolume(VOL)
                .setClient("it-replica-reads").setRead(io.braid.proto.file.Read.newBuilder()
                        .setPath("/replica-reads/page.html").setSize(64)).build();
        for (int s = 0; s < 3; s++) {
            io.braid.proto.file.FileReply r = call(s, read);
            if (s == primary) {
                assertEquals("served by any replica", r.getData().toStringUtf8(), r.toString());
            } else {
                assertTrue(r.getData().isEmpty() && r.getMessage().startsWith("not primary"), "off, server " + s + ": " + r);
            }
        }
        v.set(VOL, "cluster.read-from-replicas", "on");
        try {
            long deadline = System.currentTimeMillis() + 30_000;
            for (int s = 0; s < 3; s++) {
                io.braid.proto.file.FileReply r = call(s, read);
                while (!r.getData().toStringUtf8().equals("served by any replica") && System.currentTimeMillis() < deadline) {
                    Thread.sleep(200); // the option reaches every server through the configuration store
                    r = call(s, read);
                }
                assertEquals("served by any replica", r.getData().toStringUtf8(), "on, server " + s + ": " + r);
            }
            // a mount reads and writes as before
            Files.writeString(d.resolve("page.html"), "changed through the primary");
            assertEquals("changed through the primary", Files.readString(d.resolve("page.html")));
        } finally {
            v.set(VOL, "cluster.read-from-replicas", "off");
        }
    }

    static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    static void sh(String script) {
        Exec.Result r = Exec.run(120, "sh", "-c", script);
        assertTrue(r.ok(), r::toString);
    }

    @Test
    @Order(30)
    void theBricksAreIdenticalAfterTheBattery() throws Exception {
        awaitBricksEqual(30_000);
        // a few files compared byte for byte, brick by brick, with what the mount reads
        List<String> files = new ArrayList<>(List.of("rw/log", "sparse/p.bin", "trunc/t", "rename/t1", "links/h2",
                "modes/m", "large/big.bin", "names/..a", "names/back\\slash"));
        for (String f : files) {
            Path onMount = m.path(f);
            if (!Files.exists(onMount)) continue; // an earlier test failed before making it
            String want = Blocks.sha256(onMount);
            for (int i = 0; i < 3; i++) {
                assertEquals(want, Blocks.sha256(c.brickPath(i, VOL).resolve(f)), f + " on brick " + i);
            }
        }
        assertTrue(m.alive(), "the mount process died: " + m.log());
    }
}
