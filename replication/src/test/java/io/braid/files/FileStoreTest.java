package io.braid.files;

import static io.braid.files.LibC.S_IFCHR;
import static io.braid.files.LibC.S_IFDIR;
import static io.braid.files.LibC.S_IFIFO;
import static io.braid.files.LibC.S_IFLNK;
import static io.braid.files.LibC.S_IFMT;
import static io.braid.files.LibC.S_IFREG;
import static io.braid.files.LibC.S_IFSOCK;
import static io.braid.files.LibC.S_ISGID;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.file.StatfsReply;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** FileStore on a real directory (the tests run as root, as the daemon does). */
@Timeout(60)
class FileStoreTest {
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_RDWR = 2;
    private static final int O_DIRECTORY = 0200000;

    @TempDir
    Path tmp;
    Path brick;
    Path outside;
    FileStore store;

    @BeforeEach
    void setUp() throws Exception {
        brick = Files.createDirectory(tmp.resolve("brick"));
        Files.createDirectories(brick.resolve(".braid/meta"));
        Files.writeString(brick.resolve(".braid/meta/CURRENT"), "rocks");
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "root:x:0:0");
        store = FileStore.open(brick);
    }

    @AfterEach
    void tearDown() {
        if (store != null) store.close();
    }

    // ---- the basic operations ----

    @Test
    void createWriteReadAndGetattr() throws Exception {
        Attr a = store.create("/f", 0640, true, 1000, 1001);
        assertEquals(S_IFREG | 0640, a.getMode());
        assertEquals(1000, a.getUid());
        assertEquals(1001, a.getGid());
        assertEquals(0, a.getSize());
        assertEquals(5, store.write("f", 0, ByteBuffer.wrap(bytes("hello"))));
        assertEquals(6, store.write("/f", 5, ByteString.copyFromUtf8(" world")));
        assertEquals("hello world", store.read("f", 0, 100).toStringUtf8());
        assertEquals("world", store.read("/f", 6, 5).toStringUtf8());
        assertEquals("wor", store.read("f", 6, 3).toStringUtf8());
        assertTrue(store.read("f", 11, 10).isEmpty());
        assertTrue(store.read("f", 1000, 10).isEmpty());
        Attr after = store.getattr("f");
        assertEquals(11, after.getSize());
        assertEquals(a.getIno(), after.getIno());
        assertEquals(1, after.getNlink());
        assertEquals("hello world", Files.readString(brick.resolve("f")));
    }

    @Test
    void aPayloadInManyDirectBuffersIsWrittenInOrderWithPwritev() throws Exception {
        // as a write parsed in place arrives: a rope of views of the receive buffers (16 KiB frames)
        Random r = new Random(7);
        ByteString data = ByteString.EMPTY;
        java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < Scratch.IOVS + 45; i++) { // more parts than one pwritev takes
            byte[] part = new byte[1 + r.nextInt(9000)];
            r.nextBytes(part);
            expected.write(part);
            ByteBuffer direct = ByteBuffer.allocateDirect(part.length);
            direct.put(part).flip();
            data = data.concat(com.google.protobuf.UnsafeByteOperations.unsafeWrap(direct));
        }
        store.create("big", 0644, true, 0, 0);
        assertEquals(expected.size(), store.write("big", 4096, data));
        byte[] onDisk = Files.readAllBytes(brick.resolve("big"));
        assertEquals(4096 + expected.size(), onDisk.length);
        assertArrayEquals(expected.toByteArray(), java.util.Arrays.copyOfRange(onDisk, 4096, onDisk.length));
        for (int i = 0; i < 4096; i++) assertEquals(0, onDisk[i]);
    }

    @Test
    void newEntriesGetExactlyTheModeAskedWhateverTheUmask() throws Exception {
        assertEquals(S_IFREG | 0777, store.create("f", 0777, true, 0, 0).getMode());
        assertEquals(S_IFREG | 04755, store.create("suid", 04755, true, 1000, 1000).getMode());
        assertEquals(S_IFDIR | 0777, store.mkdir("d", 0777, 0, 0).getMode());
        assertEquals(S_IFDIR | 01777, store.mkdir("sticky", 01777, 0, 0).getMode());
        assertEquals(S_IFIFO | 0666, store.mknod("fifo", S_IFIFO | 0666, 0, 0, 0).getMode());
        assertEquals(S_IFREG | 0606, store.mknod("plain", 0606, 0, 0, 0).getMode());
    }

    @Test
    void createOfAnExistingFileReturnsItUnlessExclusive() throws Exception {
        Attr a = store.create("f", 0600, true, 1, 2);
        store.write("f", 0, ByteBuffer.wrap(bytes("data")));
        Attr again = store.create("f", 0644, false, 3, 4);
        assertEquals(a.getIno(), again.getIno());
        assertEquals(S_IFREG | 0600, again.getMode());
        assertEquals(4, again.getSize());
        assertErrno(Errno.EEXIST, () -> store.create("f", 0644, true, 0, 0));
        store.mkdir("d", 0755, 0, 0);
        assertErrno(Errno.EISDIR, () -> store.create("d", 0644, false, 0, 0));
        assertErrno(Errno.EEXIST, () -> store.create("d", 0644, true, 0, 0));
    }

    @Test
    void mkdirReaddirAndRmdir() throws Exception {
        store.mkdir("d", 0755, 0, 0);
        store.create("d/a", 0644, true, 0, 0);
        store.write("d/a", 0, ByteBuffer.wrap(bytes("xyz")));
        store.mkdir("d/sub", 0700, 0, 0);
        store.symlink("a", "d/l", 0, 0);
        store.mknod("d/p", S_IFIFO | 0600, 0, 0, 0);
        Map<String, Attr> entries = byName(store.readdir("d"));
        assertEquals(Set.of("a", "sub", "l", "p"), entries.keySet());
        assertEquals(S_IFREG, entries.get("a").getMode() & S_IFMT);
        assertEquals(3, entries.get("a").getSize());
        assertEquals(S_IFDIR | 0700, entries.get("sub").getMode());
        assertEquals(S_IFLNK, entries.get("l").getMode() & S_IFMT);
        assertEquals(S_IFIFO, entries.get("p").getMode() & S_IFMT);
        assertEquals(store.getattr("d/a").getIno(), entries.get("a").getIno());
        assertTrue(store.readdir("d/sub").isEmpty());

        assertErrno(Errno.ENOTEMPTY, () -> store.rmdir("d"));
        store.rmdir("d/sub");
        for (String n : List.of("a", "l", "p")) store.unlink("d/" + n);
        store.rmdir("d");
        assertErrno(Errno.ENOENT, () -> store.getattr("d"));
        assertFalse(Files.exists(brick.resolve("d")));
    }

    @Test
    void readdirListsLargeDirectoriesAndUnicodeNames() throws Exception {
        store.mkdir("big", 0755, 0, 0);
        Set<String> want = new TreeSet<>();
        for (int i = 0; i < 3000; i++) {
            String n = "entry-with-a-rather-long-name-" + i + (i % 3 == 0 ? "-é€😀" : "");
            store.create("big/" + n, 0644, true, 0, 0);
            want.add(n);
        }
        List<DirEntry> got = store.readdir("/big");
        assertEquals(3000, got.size());
        assertEquals(want, got.stream().map(DirEntry::getName).collect(Collectors.toCollection(TreeSet::new)));
        assertTrue(Files.exists(brick.resolve("big/entry-with-a-rather-long-name-0-é€😀")));
    }

    @Test
    void theRootIsADirectoryByEveryName() throws Exception {
        for (String root : List.of("", "/")) {
            Attr a = store.getattr(root);
            assertEquals(S_IFDIR, a.getMode() & S_IFMT);
            assertEquals(Files.getAttribute(brick, "unix:ino"), a.getIno());
            assertEquals(S_IFDIR, store.open(root, O_RDONLY).getMode() & S_IFMT);
            assertErrno(Errno.EISDIR, () -> store.open(root, O_WRONLY));
            assertErrno(Errno.EEXIST, () -> store.mkdir(root, 0755, 0, 0));
            assertErrno(Errno.EEXIST, () -> store.create(root, 0644, false, 0, 0));
            assertErrno(Errno.EBUSY, () -> store.rmdir(root));
            assertErrno(Errno.EISDIR, () -> store.unlink(root));
            assertErrno(Errno.EBUSY, () -> store.rename(root, "x", 0));
        }
        store.create("f", 0644, true, 0, 0);
        assertErrno(Errno.EBUSY, () -> store.rename("f", "/", 0));
        store.chmod("/", 0711);
        assertEquals(S_IFDIR | 0711, store.getattr("").getMode());
        store.setxattr("/", "user.root", bytes("r"), 0);
        assertArrayEquals(bytes("r"), store.getxattr("", "user.root"));
    }

    @Test
    void openChecksTheType() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.mkdir("d", 0755, 0, 0);
        store.symlink("f", "l", 0, 0);
        store.mknod("sock", S_IFSOCK | 0644, 0, 0, 0);
        assertEquals(S_IFREG | 0644, store.open("f", O_RDWR).getMode());
        assertEquals(S_IFREG | 0644, store.open("f", O_RDONLY).getMode());
        assertEquals(S_IFDIR | 0755, store.open("d", O_RDONLY | O_DIRECTORY).getMode());
        assertErrno(Errno.EISDIR, () -> store.open("d", O_WRONLY));
        assertErrno(Errno.EISDIR, () -> store.open("d", O_RDWR));
        assertErrno(Errno.ENOTDIR, () -> store.open("f", O_RDONLY | O_DIRECTORY));
        assertErrno(Errno.ELOOP, () -> store.open("l", O_RDONLY));
        assertErrno(Errno.ENXIO, () -> store.open("sock", O_RDONLY));
        assertErrno(Errno.ENOENT, () -> store.open("missing", O_RDONLY));
    }

    @Test
    void errnosAreTheKernels() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.mkdir("d", 0755, 0, 0);
        store.create("d/x", 0644, true, 0, 0);
        assertErrno(Errno.ENOENT, () -> store.getattr("missing"));
        assertErrno(Errno.ENOENT, () -> store.getattr("missing/x"));
        assertErrno(Errno.ENOENT, () -> store.create("missing/x", 0644, true, 0, 0));
        assertErrno(Errno.ENOENT, () -> store.read("missing", 0, 1));
        assertErrno(Errno.ENOENT, () -> store.write("missing", 0, ByteBuffer.wrap(bytes("x"))));
        assertErrno(Errno.ENOENT, () -> store.unlink("missing"));
        assertErrno(Errno.ENOENT, () -> store.rename("missing", "y", 0));
        assertErrno(Errno.EEXIST, () -> store.mkdir("d", 0755, 0, 0));
        assertErrno(Errno.EEXIST, () -> store.mkdir("f", 0755, 0, 0));
        assertErrno(Errno.EEXIST, () -> store.symlink("t", "f", 0, 0));
        assertErrno(Errno.EEXIST, () -> store.mknod("f", S_IFIFO | 0644, 0, 0, 0));
        assertErrno(Errno.ENOTEMPTY, () -> store.rmdir("d"));
        assertErrno(Errno.EISDIR, () -> store.write("d", 0, ByteBuffer.wrap(bytes("x"))));
        assertErrno(Errno.EISDIR, () -> store.read("d", 0, 1));
        assertErrno(Errno.EISDIR, () -> store.truncate("d", 0));
        assertErrno(Errno.EISDIR, () -> store.unlink("d"));
        assertErrno(Errno.EISDIR, () -> store.rename("f", "d", 0));
        assertErrno(Errno.ENOTDIR, () -> store.rename("d", "f", 0));
        assertErrno(Errno.ENOTDIR, () -> store.create("f/x", 0644, true, 0, 0));
        assertErrno(Errno.ENOTDIR, () -> store.getattr("f/x"));
        assertErrno(Errno.ENOTDIR, () -> store.rmdir("f"));
        assertErrno(Errno.ENOTDIR, () -> store.readdir("f"));
        assertErrno(Errno.EINVAL, () -> store.readlink("f"));
        assertErrno(Errno.EINVAL, () -> store.rename("d", "d/sub", 0));
        assertErrno(Errno.EINVAL, () -> store.read("f", -1, 1));
        assertErrno(Errno.EINVAL, () -> store.truncate("f", -1));
        assertErrno(Errno.EINVAL, () -> store.chown("f", -2, 0));
        assertErrno(Errno.EINVAL, () -> store.rename("f", "g", 4));
        assertErrno(Errno.EPERM, () -> store.link("d", "dlink"));
        assertErrno(Errno.ENODATA, () -> store.getxattr("f", "user.none"));
        String longName = "n".repeat(256);
        assertErrno(Errno.ENAMETOOLONG, () -> store.create(longName, 0644, true, 0, 0));
        assertErrno(Errno.ENAMETOOLONG, () -> store.getattr("d/" + longName));
        assertErrno(Errno.ENAMETOOLONG, () -> store.getattr("é".repeat(128))); // 256 bytes of UTF-8
        assertErrno(Errno.ENAMETOOLONG, () -> store.getattr(("d".repeat(200) + "/").repeat(21) + "x"));
        assertErrno(Errno.ENAMETOOLONG, () -> store.getattr("x".repeat(100_000)));
        assertErrno(Errno.ENAMETOOLONG, () -> store.symlink("t".repeat(4096), "l", 0, 0));
        assertErrno(Errno.ENOENT, () -> store.symlink("", "l", 0, 0));
        String max = "m".repeat(255);
        store.create(max, 0644, true, 0, 0);
        assertEquals(S_IFREG | 0644, store.getattr(max).getMode());
    }

    @Test
    void malformedNamesAreInvalid() throws Exception {
        store.mkdir("d", 0755, 0, 0);
        store.create("d/f", 0644, true, 0, 0);
        for (String bad : List.of("..", ".", "d/..", "d/../d/f", "../brick/d", "./d", "d/./f", "d//f", "//d", "d/",
                "d/f/", "a\0b", "d/f\0", "\0", "d/\uD800x", "\uDC00")) {
            assertErrno(Errno.EINVAL, () -> store.getattr(bad));
            assertErrno(Errno.EINVAL, () -> store.create(bad, 0644, false, 0, 0));
            assertErrno(Errno.EINVAL, () -> store.write(bad, 0, ByteBuffer.wrap(bytes("x"))));
            assertErrno(Errno.EINVAL, () -> store.rename("d/f", bad, 0));
            assertErrno(Errno.EINVAL, () -> store.unlink(bad));
        }
        assertEquals(Set.of("d", ".braid"), listing(brick));
        assertEquals(Set.of("f"), listing(brick.resolve("d")));
        assertEquals(S_IFREG, store.getattr("/d/f").getMode() & S_IFMT);
        store.create("...", 0644, true, 0, 0);
        store.create("..x", 0644, true, 0, 0);
        store.create("d/😀", 0644, true, 0, 0);
        assertTrue(Files.exists(brick.resolve("...")));
        assertTrue(Files.exists(brick.resolve("d/😀")));
    }

    @Test
    void braidDirectoryIsInvisibleAndUntouchable() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.mkdir("sub", 0755, 0, 0);
        assertEquals(Set.of("f", "sub"), names(store.readdir("")));
        assertEquals(Set.of("f", "sub"), names(store.readdir("/")));
        for (String p : List.of(".braid", "/.braid", ".braid/meta", ".braid/meta/CURRENT")) {
            assertErrno(Errno.ENOENT, () -> store.getattr(p));
            assertErrno(Errno.ENOENT, () -> store.readdir(p));
            assertErrno(Errno.ENOENT, () -> store.open(p, O_RDONLY));
            assertErrno(Errno.ENOENT, () -> store.read(p, 0, 10));
            assertErrno(Errno.ENOENT, () -> store.write(p, 0, ByteBuffer.wrap(bytes("x"))));
            assertErrno(Errno.ENOENT, () -> store.truncate(p, 0));
            assertErrno(Errno.ENOENT, () -> store.unlink(p));
            assertErrno(Errno.ENOENT, () -> store.rmdir(p));
            assertErrno(Errno.ENOENT, () -> store.chmod(p, 0777));
            assertErrno(Errno.ENOENT, () -> store.chown(p, 1, 1));
            assertErrno(Errno.ENOENT, () -> store.utimens(p, 0, 0));
            assertErrno(Errno.ENOENT, () -> store.setxattr(p, "user.x", bytes("1"), 0));
            assertErrno(Errno.ENOENT, () -> store.listxattr(p));
            assertErrno(Errno.ENOENT, () -> store.rename(p, "stolen", 0));
            assertErrno(Errno.ENOENT, () -> store.link(p, "stolen"));
            assertErrno(Errno.ENOENT, () -> store.fsync(p, false));
        }
        assertErrno(Errno.EPERM, () -> store.create(".braid", 0644, false, 0, 0));
        assertErrno(Errno.EPERM, () -> store.mkdir("/.braid", 0755, 0, 0));
        assertErrno(Errno.EPERM, () -> store.mknod(".braid", S_IFIFO | 0644, 0, 0, 0));
        assertErrno(Errno.EPERM, () -> store.symlink("f", ".braid", 0, 0));
        assertErrno(Errno.EPERM, () -> store.rename("f", ".braid", 0));
        assertErrno(Errno.EPERM, () -> store.rename("sub", ".braid", LibC.RENAME_EXCHANGE));
        assertErrno(Errno.EPERM, () -> store.link("f", ".braid"));
        assertErrno(Errno.ENOENT, () -> store.create(".braid/x", 0644, false, 0, 0));
        assertErrno(Errno.ENOENT, () -> store.rename("f", ".braid/meta/CURRENT", 0));
        assertEquals("rocks", Files.readString(brick.resolve(".braid/meta/CURRENT")));
        assertEquals(Set.of("meta"), listing(brick.resolve(".braid")));
        assertEquals(Set.of("CURRENT"), listing(brick.resolve(".braid/meta")));
        // only the brick root's .braid is reserved
        store.mkdir("sub/.braid", 0755, 0, 0);
        assertEquals(Set.of(".braid"), names(store.readdir("sub")));
        store.create(".braidx", 0644, true, 0, 0);
        assertTrue(names(store.readdir("")).contains(".braidx"));
    }

    // ---- no way out of the brick ----

    @ParameterizedTest(name = "openat2 {0}")
    @ValueSource(booleans = {true, false})
    void symlinksInsideTheBrickNeverLeadOut(boolean openat2) throws Exception {
        store.close();
        store = FileStore.open(brick, openat2);
        assertEquals(openat2, store.usesOpenat2());
        Path secret = outside.resolve("passwd");
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Map<String, Object> before = snapshot(outside);

        store.mkdir("d", 0755, 0, 0);
        store.create("f", 0644, true, 0, 0);
        store.symlink(outside.toString(), "abs", 0, 0);
        store.symlink("../outside", "rel", 0, 0);
        store.symlink("../../outside", "d/rel", 0, 0);
        store.symlink("/etc", "etc", 0, 0);
        Files.createSymbolicLink(brick.resolve("planted"), Path.of("../../" + tmp.getFileName() + "/outside"));
        Files.createSymbolicLink(brick.resolve("d/planted"), Path.of("/etc/passwd"));
        store.symlink("../../x", "dotdot", 0, 0);
        assertEquals("../../x", store.readlink("dotdot"));

        for (String link : List.of("abs", "rel", "d/rel", "planted", "etc")) {
            String in = link + "/passwd";
            assertErrno(Errno.ELOOP, () -> store.getattr(in));
            assertErrno(Errno.ELOOP, () -> store.open(in, O_RDONLY));
            assertErrno(Errno.ELOOP, () -> store.read(in, 0, 100));
            assertErrno(Errno.ELOOP, () -> store.write(in, 0, ByteBuffer.wrap(bytes("owned"))));
            assertErrno(Errno.ELOOP, () -> store.truncate(in, 0));
            assertErrno(Errno.ELOOP, () -> store.fallocate(in, 0, 0, 4096));
            assertErrno(Errno.ELOOP, () -> store.fsync(in, false));
            assertErrno(Errno.ELOOP, () -> store.readlink(in));
            assertErrno(Errno.ELOOP, () -> store.readdir(link + "/x"));
            assertErrno(Errno.ELOOP, () -> store.create(link + "/x", 0644, false, 0, 0));
            assertErrno(Errno.ELOOP, () -> store.mkdir(link + "/x", 0755, 0, 0));
            assertErrno(Errno.ELOOP, () -> store.mknod(link + "/x", S_IFIFO | 0644, 0, 0, 0));
            assertErrno(Errno.ELOOP, () -> store.symlink("/", link + "/x", 0, 0));
            assertErrno(Errno.ELOOP, () -> store.unlink(in));
            assertErrno(Errno.ELOOP, () -> store.rmdir(link + "/x"));
            assertErrno(Errno.ELOOP, () -> store.rename("f", link + "/y", 0));
            assertErrno(Errno.ELOOP, () -> store.rename(in, "stolen", 0));
            assertErrno(Errno.ELOOP, () -> store.link(in, "stolen"));
            assertErrno(Errno.ELOOP, () -> store.link("f", link + "/y"));
            assertErrno(Errno.ELOOP, () -> store.chmod(in, 0777));
            assertErrno(Errno.ELOOP, () -> store.chown(in, 1234, 5678));
            assertErrno(Errno.ELOOP, () -> store.utimens(in, 0, 0));
            assertErrno(Errno.ELOOP, () -> store.setxattr(in, "user.owned", bytes("1"), 0));
            assertErrno(Errno.ELOOP, () -> store.internalSetxattr(in, "trusted.owned", bytes("1"), 0));
            assertErrno(Errno.ELOOP, () -> store.getxattr(in, "user.owned"));
            assertErrno(Errno.ELOOP, () -> store.listxattr(in));
            assertErrno(Errno.ELOOP, () -> store.removexattr(in, "user.owned"));

            // the symlink itself as the final name: acted on, never followed
            assertErrno(Errno.ELOOP, () -> store.open(link, O_RDONLY));
            assertErrno(Errno.ELOOP, () -> store.read(link, 0, 100));
            assertErrno(Errno.ELOOP, () -> store.write(link, 0, ByteBuffer.wrap(bytes("owned"))));
            assertErrno(Errno.ELOOP, () -> store.truncate(link, 0));
            assertErrno(Errno.ENOTDIR, () -> store.readdir(link));
            assertErrno(Errno.ENOTSUP, () -> store.chmod(link, 0777));
            Attr owned = store.chown(link, 1234, 5678);
            assertEquals(S_IFLNK, owned.getMode() & S_IFMT);
            assertEquals(1234, owned.getUid());
            Attr timed = store.utimens(link, 1_000_000_000L, 2_000_000_000L);
            assertEquals(2_000_000_000L, timed.getMtimeNs());
            assertThrows(FsError.class, () -> store.setxattr(link, "user.owned", bytes("1"), 0)); // EPERM: not on a symlink
            store.internalSetxattr(link, "trusted.mark", bytes("1"), 0); // lands on the symlink itself
            assertArrayEquals(bytes("1"), store.internalGetxattr(link, "trusted.mark"));
            assertEquals(S_IFLNK, store.getattr(link).getMode() & S_IFMT);
            store.link(link, link.replace('/', '_') + ".hard");
            store.rename(link, link + ".moved", 0);
            store.rename(link + ".moved", link, 0);
        }
        assertEquals(before, snapshot(outside));
        assertEquals("root:x:0:0", Files.readString(secret));
        assertTrue(Files.isSymbolicLink(brick.resolve("abs")));
        store.unlink("abs");
        assertEquals(before, snapshot(outside));
        assertTrue(Files.exists(secret));
    }

    @ParameterizedTest(name = "openat2 {0}")
    @ValueSource(booleans = {true, false})
    void bothResolutionRoutesAgree(boolean openat2) throws Exception {
        store.close();
        store = FileStore.open(brick, openat2);
        store.mkdir("a", 0755, 0, 0);
        store.mkdir("a/b", 0755, 0, 0);
        store.create("a/b/c", 0644, true, 0, 0);
        store.write("a/b/c", 0, ByteBuffer.wrap(bytes("deep")));
        store.symlink("b", "a/lb", 0, 0);
        assertEquals("deep", store.read("a/b/c", 0, 10).toStringUtf8());
        assertEquals(S_IFLNK, store.getattr("a/lb").getMode() & S_IFMT);
        assertErrno(Errno.ELOOP, () -> store.getattr("a/lb/c"));
        assertErrno(Errno.ENOTDIR, () -> store.getattr("a/b/c/d"));
        assertErrno(Errno.ENOENT, () -> store.getattr("a/x/c"));
        store.rename("a/b/c", "a/c2", 0);
        assertEquals("deep", store.read("/a/c2", 0, 10).toStringUtf8());
    }

    @Test
    void devicesAndFifosAreNeverOpenedForIo() throws Exception {
        long devNull = Brick.makedev(1, 3);
        Attr dev = store.mknod("null", S_IFCHR | 0666, devNull, 0, 0);
        assertEquals(S_IFCHR | 0666, dev.getMode());
        assertEquals(devNull, dev.getRdev());
        assertEquals(devNull, ((Number) Files.getAttribute(brick.resolve("null"), "unix:rdev")).longValue());
        store.mknod("fifo", S_IFIFO | 0644, 12345, 0, 0);
        assertEquals(0, store.getattr("fifo").getRdev()); // rdev only for devices
        for (String p : List.of("null", "fifo")) {
            assertErrno(Errno.EINVAL, () -> store.read(p, 0, 10)); // a FIFO read would hang forever
            assertErrno(Errno.EINVAL, () -> store.write(p, 0, ByteBuffer.wrap(bytes("x"))));
            assertErrno(Errno.EINVAL, () -> store.truncate(p, 0));
            assertEquals(store.getattr(p), store.open(p, O_RDWR));
        }
    }

    // ---- rename, links, symlinks ----

    @Test
    void renameReplacesAnExistingFileAtomically() throws Exception {
        store.create("a", 0644, true, 0, 0);
        store.write("a", 0, ByteBuffer.wrap(bytes("new")));
        store.create("b", 0644, true, 0, 0);
        store.write("b", 0, ByteBuffer.wrap(bytes("old contents")));
        long ino = store.getattr("a").getIno();
        store.rename("a", "b", 0);
        assertErrno(Errno.ENOENT, () -> store.getattr("a"));
        assertEquals(ino, store.getattr("b").getIno());
        assertEquals("new", store.read("b", 0, 100).toStringUtf8());

        store.create("c", 0644, true, 0, 0);
        assertErrno(Errno.EEXIST, () -> store.rename("c", "b", LibC.RENAME_NOREPLACE));
        assertEquals("new", store.read("b", 0, 100).toStringUtf8());
        store.rename("c", "d", LibC.RENAME_NOREPLACE);
        assertErrno(Errno.ENOENT, () -> store.getattr("c"));

        store.write("d", 0, ByteBuffer.wrap(bytes("dee")));
        store.rename("b", "d", LibC.RENAME_EXCHANGE);
        assertEquals("dee", store.read("b", 0, 100).toStringUtf8());
        assertEquals("new", store.read("d", 0, 100).toStringUtf8());
        assertErrno(Errno.ENOENT, () -> store.rename("b", "missing", LibC.RENAME_EXCHANGE));
    }

    @Test
    void aSecondarysTimeCopyLandsOnTheFileThePathNamesNowWithOrWithoutACachedFd() throws Exception {
        store.create("a", 0644, true, 0, 0);
        store.write("a", 0, ByteBuffer.wrap(bytes("aaa"))); // its fd is cached now
        store.setTimes("a", 1_000_000_001L, 2_000_000_002L);
        Attr a = store.getattr("a");
        assertEquals(1_000_000_001L, a.getAtimeNs());
        assertEquals(2_000_000_002L, a.getMtimeNs());

        store.create("b", 0644, true, 0, 0);
        store.write("b", 0, ByteBuffer.wrap(bytes("bbb")));
        store.rename("a", "b", LibC.RENAME_EXCHANGE); // each name's cached fd is now the other file's
        store.setTimes("b", 3_000_000_003L, 4_000_000_004L);
        assertEquals("aaa", store.read("b", 0, 10).toStringUtf8());
        assertEquals(4_000_000_004L, store.getattr("b").getMtimeNs());
        assertEquals("bbb", store.read("a", 0, 10).toStringUtf8());
        assertNotEquals(4_000_000_004L, store.getattr("a").getMtimeNs());

        store.unlink("a");
        assertErrno(Errno.ENOENT, () -> store.setTimes("a", 5, 6));
        store.symlink("target", "s", 0, 0);
        store.setTimes("s", 7_000_000_007L, 8_000_000_008L); // the link itself, never its target
        assertEquals(8_000_000_008L, store.getattr("s").getMtimeNs());
    }

    @Test
    void hardLinksShareTheInode() throws Exception {
        store.create("a", 0644, true, 0, 0);
        store.write("a", 0, ByteBuffer.wrap(bytes("one")));
        Attr l = store.link("a", "l");
        assertEquals(2, l.getNlink());
        assertEquals(store.getattr("a").getIno(), l.getIno());
        assertEquals(2, store.getattr("a").getNlink());
        store.write("l", 3, ByteBuffer.wrap(bytes("two")));
        assertEquals("onetwo", store.read("a", 0, 100).toStringUtf8());
        assertErrno(Errno.EEXIST, () -> store.link("a", "l"));
        store.unlink("a");
        assertEquals(1, store.getattr("l").getNlink());
        assertEquals("onetwo", store.read("l", 0, 100).toStringUtf8());
    }

    @Test
    void symlinkTargetsAreStoredVerbatim() throws Exception {
        for (String target : List.of("../../x", "/etc/passwd", "a b/ c", "dir/", "é😀", "nowhere")) {
            String name = "l" + Math.abs(target.hashCode());
            Attr a = store.symlink(target, name, 1234, 5678);
            assertEquals(S_IFLNK, a.getMode() & S_IFMT);
            assertEquals(target.getBytes(UTF_8).length, a.getSize());
            assertEquals(1234, a.getUid());
            assertEquals(5678, a.getGid());
            assertEquals(target, store.readlink(name));
            assertEquals(target, Files.readSymbolicLink(brick.resolve(name)).toString());
        }
    }

    // ---- attributes ----

    @Test
    void chownChmodAndTruncate() throws Exception {
        store.create("f", 0644, true, 0, 0);
        Attr a = store.chown("f", 1234, 5678);
        assertEquals(1234, a.getUid());
        assertEquals(5678, a.getGid());
        assertEquals(1234, store.getattr("f").getUid());
        assertEquals(5678, store.getattr("/f").getGid());
        assertEquals(1234, (int) Files.getAttribute(brick.resolve("f"), "unix:uid"));
        a = store.chown("f", -1, 42);
        assertEquals(1234, a.getUid());
        assertEquals(42, a.getGid());
        a = store.chown("f", 7, -1);
        assertEquals(7, a.getUid());
        assertEquals(42, a.getGid());

        assertEquals(S_IFREG | 02755, store.chmod("f", 02755).getMode());
        assertEquals(S_IFREG | 0600, store.chmod("f", S_IFDIR | 0600).getMode()); // only 07777 is taken

        store.write("f", 0, ByteBuffer.wrap(bytes("0123456789")));
        assertEquals(4, store.truncate("f", 4).getSize());
        assertEquals("0123", store.read("f", 0, 100).toStringUtf8());
        assertEquals(1 << 20, store.truncate("f", 1 << 20).getSize());
        assertEquals(1 << 20, store.read("f", 0, 2 << 20).size());
        assertEquals(0, store.read("f", 100, 10).byteAt(0));
    }

    @Test
    void utimensTakesNanosecondsNowAndOmit() throws Exception {
        store.create("f", 0644, true, 0, 0);
        long atime = 1_600_000_000_123_456_789L;
        long mtime = 1_500_000_000_987_654_321L;
        Attr a = store.utimens("f", atime, mtime);
        assertEquals(atime, a.getAtimeNs());
        assertEquals(mtime, a.getMtimeNs());

        a = store.utimens("f", -2, 1_700_000_000_000_000_001L);
        assertEquals(atime, a.getAtimeNs());
        assertEquals(1_700_000_000_000_000_001L, a.getMtimeNs());

        long before = System.currentTimeMillis() * 1_000_000L - 1_000_000_000L;
        a = store.utimens("f", -1, -2);
        assertTrue(a.getAtimeNs() >= before, "atime set to now");
        assertEquals(1_700_000_000_000_000_001L, a.getMtimeNs());

        a = store.utimens("f", -1_500_000_000L, -2); // 1.5 s before the epoch
        assertEquals(-1_500_000_000L, a.getAtimeNs());

        store.mkdir("d", 0755, 0, 0);
        assertEquals(mtime, store.utimens("d", -2, mtime).getMtimeNs());
    }

    @Test
    void setgidDirectoriesPassTheirGroupOn() throws Exception {
        store.mkdir("g", 0775, 0, 4242);
        Attr g = store.chmod("g", 02775);
        assertEquals(S_IFDIR | 02775, g.getMode());
        Attr f = store.create("g/f", 0644, true, 1000, 1000);
        assertEquals(1000, f.getUid());
        assertEquals(4242, f.getGid());
        assertEquals(S_IFREG | 0644, f.getMode());
        Attr sub = store.mkdir("g/sub", 0755, 1000, 1000);
        assertEquals(4242, sub.getGid());
        assertEquals(S_IFDIR | S_ISGID | 0755, sub.getMode());
        assertEquals(4242, store.create("g/sub/deeper", 0600, true, 1000, 1000).getGid());
        assertEquals(4242, store.symlink("f", "g/l", 1000, 1000).getGid());
        assertEquals(4242, store.mknod("g/p", S_IFIFO | 0600, 0, 1000, 1000).getGid());

        Attr plain = store.mkdir("plain", 0755, 1000, 1000);
        assertEquals(1000, plain.getGid());
        assertEquals(S_IFDIR | 0755, plain.getMode());
        assertEquals(1000, store.create("plain/f", 0644, true, 1000, 1000).getGid());
    }

    @Test
    void xattrsSetGetListRemove() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.setxattr("f", "user.a", bytes("one"), 0);
        store.setxattr("f", "user.empty", new byte[0], 0);
        assertArrayEquals(bytes("one"), store.getxattr("f", "user.a"));
        assertArrayEquals(new byte[0], store.getxattr("f", "user.empty"));
        assertErrno(Errno.EEXIST, () -> store.setxattr("f", "user.a", bytes("two"), 1)); // XATTR_CREATE
        assertErrno(Errno.ENODATA, () -> store.setxattr("f", "user.b", bytes("two"), 2)); // XATTR_REPLACE
        store.setxattr("f", "user.a", bytes("two"), 2);
        assertArrayEquals(bytes("two"), store.getxattr("f", "user.a"));
        byte[] big = new byte[3000]; // ext4 without ea_inode holds values up to a block
        new Random(1).nextBytes(big);
        store.setxattr("f", "user.big", big, 0);
        assertArrayEquals(big, store.getxattr("f", "user.big"));
        assertEquals(Set.of("user.a", "user.empty", "user.big"), new TreeSet<>(store.listxattr("f")));
        store.removexattr("f", "user.a");
        assertErrno(Errno.ENODATA, () -> store.getxattr("f", "user.a"));
        assertErrno(Errno.ENODATA, () -> store.removexattr("f", "user.a"));
        assertErrno(Errno.EINVAL, () -> store.setxattr("f", "user.\0x", bytes("1"), 0));
        store.mkdir("d", 0755, 0, 0);
        store.setxattr("d", "user.dir", bytes("d"), 0);
        assertEquals(List.of("user.dir"), store.listxattr("d"));
        UserDefinedFileAttributeView view = Files.getFileAttributeView(brick.resolve("f"), UserDefinedFileAttributeView.class);
        assertEquals(Set.of("empty", "big"), new TreeSet<>(view.list()));
    }

    @Test
    void braidXattrsAreReservedForBraid() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.setxattr("f", "trusted.other", bytes("t"), 0);
        assertErrno(Errno.EPERM, () -> store.setxattr("f", "trusted.braid.gen", bytes("x"), 0));
        assertErrno(Errno.EPERM, () -> store.removexattr("f", "trusted.braid.gen"));
        store.internalSetxattr("f", "trusted.braid.gen", bytes("7"), 0);
        assertArrayEquals(bytes("7"), store.internalGetxattr("f", "trusted.braid.gen"));
        assertErrno(Errno.ENODATA, () -> store.getxattr("f", "trusted.braid.gen"));
        assertEquals(List.of("trusted.other"), store.listxattr("f"));
        assertErrno(Errno.EPERM, () -> store.removexattr("f", "trusted.braid.gen"));
        assertArrayEquals(bytes("7"), store.internalGetxattr("f", "trusted.braid.gen"));
        store.internalRemovexattr("f", "trusted.braid.gen");
        assertErrno(Errno.ENODATA, () -> store.internalGetxattr("f", "trusted.braid.gen"));
    }

    // ---- data path ----

    @Test
    void aSecondarysLargeAlignedWritesGoPastThePageCacheAndReadTheSameAsAnyOther() throws Exception {
        Path probe = brick.resolve("probe");
        try (var ch = Files.newByteChannel(probe, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            ch.write(ByteBuffer.allocateDirect(8192).alignedSlice(4096));
        } catch (java.io.IOException | UnsupportedOperationException e) {
            org.junit.jupiter.api.Assumptions.abort("no O_DIRECT on the test directory's file system: " + e);
        }
        Random r = new Random(11);
        store.create("f", 0644, true, 0, 0);
        byte[] want = new byte[5 << 20];
        // buffered small writes first, so the direct ones meet dirty pages of their range
        for (int i = 0; i < 40; i++) {
            int off = r.nextInt(want.length - 9000);
            byte[] part = new byte[1 + r.nextInt(9000)];
            r.nextBytes(part);
            assertEquals(part.length, store.write("f", off, ByteBuffer.wrap(part)));
            System.arraycopy(part, 0, want, off, part.length);
        }
        // 1 MiB (as one buffer, and as a rope of direct parts), 2.5 MiB (in pieces), 256 KiB past the end
        int[][] writes = {{1 << 20, 1 << 20}, {0, (5 << 19)}, {3 << 20, 256 << 10}, {(5 << 20) - (256 << 10), 256 << 10}};
        for (int[] w : writes) {
            byte[] part = new byte[w[1]];
            r.nextBytes(part);
            ByteString data = ByteString.EMPTY;
            for (int at = 0; at < part.length; at += 16384) {
                ByteBuffer d = ByteBuffer.allocateDirect(16384);
                d.put(part, at, 16384).flip();
                data = data.concat(com.google.protobuf.UnsafeByteOperations.unsafeWrap(d));
            }
            assertEquals(part.length, store.writeDirect("f", w[0], data));
            System.arraycopy(part, 0, want, w[0], part.length);
        }
        assertTrue(hasDirectFd(brick.resolve("f")), "a descriptor of the file with O_DIRECT");
        // small and unaligned writes still go through the page cache, over what went past it
        byte[] small = bytes("small write over a direct one");
        assertEquals(small.length, store.writeDirect("f", (1 << 20) + 100, ByteString.copyFrom(small)));
        System.arraycopy(small, 0, want, (1 << 20) + 100, small.length);
        byte[] odd = new byte[300 << 10];
        r.nextBytes(odd);
        assertEquals(odd.length, store.writeDirect("f", 7, ByteString.copyFrom(odd)));
        System.arraycopy(odd, 0, want, 7, odd.length);
        assertArrayEquals(want, store.read("f", 0, want.length + 10).toByteArray());
        assertArrayEquals(want, Files.readAllBytes(brick.resolve("f")));
        store.fsync("f", false);
        assertEquals(want.length, store.getattr("f").getSize());
    }

    /** Whether this process holds a descriptor of file opened with O_DIRECT. */
    private static boolean hasDirectFd(Path file) throws Exception {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (!Files.readSymbolicLink(fd).equals(file.toRealPath())) continue;
                    String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd.getFileName()));
                    String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
                    if ((Integer.parseInt(flags.substring(6).trim(), 8) & 040000) != 0) return true;
                } catch (java.io.IOException gone) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return false;
    }

    @Test
    void largeWritesAndReadsGoThroughInPieces() throws Exception {
        store.create("big", 0644, true, 0, 0);
        byte[] data = new byte[3 * (1 << 20) + 12345];
        new Random(7).nextBytes(data);
        assertEquals(data.length, store.write("big", 0, ByteBuffer.wrap(data)));
        assertArrayEquals(data, store.read("big", 0, data.length + 100).toByteArray());
        assertArrayEquals(data, Files.readAllBytes(brick.resolve("big")));

        ByteBuffer direct = ByteBuffer.allocateDirect(5000);
        direct.put(bytes("X".repeat(5000))).flip().position(1000);
        assertEquals(4000, store.write("big", 10, direct));
        assertEquals(1000, direct.position()); // the caller's buffer is left as it was
        ByteBuffer heapSlice = ByteBuffer.wrap(bytes("..abc..")).position(2).limit(5);
        assertEquals(3, store.write("big", 4010, heapSlice.asReadOnlyBuffer()));
        byte[] want = data.clone();
        for (int i = 10; i < 4010; i++) want[i] = 'X';
        want[4010] = 'a';
        want[4011] = 'b';
        want[4012] = 'c';
        assertArrayEquals(want, store.read("big", 0, want.length).toByteArray());
        byte[] slice = new byte[2 << 20];
        System.arraycopy(want, 1 << 20, slice, 0, slice.length);
        assertEquals(ByteString.copyFrom(slice), store.read("big", 1 << 20, 2 << 20));
        assertEquals(0, store.write("big", 0, ByteBuffer.allocate(0)));
        assertEquals(0, store.read("big", 0, 0).size());
    }

    @Test
    void fallocateFsyncSyncfsAndStatfs() throws Exception {
        store.create("f", 0644, true, 0, 0);
        Attr a = store.fallocate("f", 0, 0, 1 << 20);
        assertEquals(1 << 20, a.getSize());
        assertTrue(a.getBlocks() >= (1 << 20) / 512);
        a = store.fallocate("f", 1, 1 << 20, 1 << 20); // FALLOC_FL_KEEP_SIZE
        assertEquals(1 << 20, a.getSize());
        store.write("f", 0, ByteBuffer.wrap(bytes("durable")));
        store.fsync("f", false);
        store.fsync("/f", true);
        store.mkdir("d", 0755, 0, 0);
        store.fsync("d", false);
        store.fsync("", true);
        store.syncfs();
        StatfsReply s = store.statfs();
        assertTrue(s.getBlocks() > 0);
        assertTrue(s.getBlockSize() >= 512);
        assertTrue(s.getBlocksFree() >= s.getBlocksAvailable());
        assertTrue(s.getFiles() > 0);
        assertEquals(255, s.getNameMax());
    }

    @Test
    void anFsyncResolvedBeforeARenameOrUnlinkFlushesTheFileItNamedThen() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.write("f", 0, ByteBuffer.wrap(bytes("one")));
        FileStore.Sync renamed = store.openForSync("f", false);
        store.rename("f", "g", 0);
        store.create("f", 0644, true, 0, 0); // a new file under the old name
        store.unlink("f");
        renamed.run(); // the file now called g, not an error about f
        store.create("h", 0644, true, 0, 0);
        FileStore.Sync unlinked = store.openForSync("h", true);
        store.unlink("h");
        unlinked.run();
        store.openForSync("g", false).abandon();
        assertErrno(Errno.ENOENT, () -> store.openForSync("h", false));
        store.unlink("g"); // no descriptor of it is left behind by the syncs
        assertErrno(Errno.ENOENT, () -> store.getattr("g"));
    }

    @Test
    void anFsyncIsQuickOnlyWhenLittleWasWrittenThroughItsDescriptorSinceTheLastOne() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.write("f", 0, ByteBuffer.wrap(new byte[4096]));
        FileStore.Sync first = store.openForSync("f", false);
        assertFalse(first.quick()); // what was written before this descriptor existed is unknown
        first.run();
        store.write("f", 0, ByteBuffer.wrap(new byte[4096]));
        FileStore.Sync small = store.openForSync("f", false);
        assertTrue(small.quick());
        small.run();
        store.write("f", 4096, ByteBuffer.allocateDirect((int) FileStore.QUICK_SYNC + 1));
        FileStore.Sync large = store.openForSync("f", false);
        assertFalse(large.quick());
        large.run();
        FileStore.Sync none = store.openForSync("f", true);
        assertTrue(none.quick());
        none.run();
        store.mkdir("d", 0755, 0, 0);
        FileStore.Sync dir = store.openForSync("d", false);
        assertFalse(dir.quick());
        dir.run();
    }

    // ---- the fd cache ----

    @Test
    void cachedFdsFollowRenamesAndUnlinks() throws Exception {
        store.create("a", 0644, true, 0, 0);
        store.write("a", 0, ByteBuffer.wrap(bytes("AAAA")));
        store.rename("a", "b", 0);
        store.create("a", 0644, true, 0, 0);
        store.write("a", 0, ByteBuffer.wrap(bytes("BB")));
        assertEquals("BB", store.read("a", 0, 10).toStringUtf8());
        assertEquals("AAAA", store.read("b", 0, 10).toStringUtf8());
        assertEquals("BB", Files.readString(brick.resolve("a")));
        assertEquals("AAAA", Files.readString(brick.resolve("b")));

        store.unlink("a");
        assertErrno(Errno.ENOENT, () -> store.write("a", 0, ByteBuffer.wrap(bytes("lost"))));
        assertErrno(Errno.ENOENT, () -> store.getattr("a"));
        store.create("a", 0644, true, 0, 0);
        store.write("a", 2, ByteBuffer.wrap(bytes("C")));
        assertArrayEquals(new byte[] {0, 0, 'C'}, store.read("a", 0, 10).toByteArray());

        // a whole directory moves: the fds of its files go with their old names
        store.mkdir("d", 0755, 0, 0);
        store.create("d/f", 0644, true, 0, 0);
        store.write("d/f", 0, ByteBuffer.wrap(bytes("in d")));
        store.rename("d", "e", 0);
        assertErrno(Errno.ENOENT, () -> store.write("d/f", 0, ByteBuffer.wrap(bytes("lost"))));
        assertErrno(Errno.ENOENT, () -> store.read("d/f", 0, 10));
        store.write("e/f", 4, ByteBuffer.wrap(bytes("!")));
        assertEquals("in d!", store.read("e/f", 0, 10).toStringUtf8());

        // exchange swaps what both names mean
        store.read("a", 0, 1);
        store.read("b", 0, 1);
        store.rename("a", "b", LibC.RENAME_EXCHANGE);
        assertEquals("AAAA", store.read("a", 0, 10).toStringUtf8());
        store.write("b", 0, ByteBuffer.wrap(bytes("X")));
        assertEquals("X\0C", store.read("b", 0, 10).toStringUtf8());

        // rename over a cached file
        store.read("b", 0, 1);
        store.rename("a", "b", 0);
        assertEquals("AAAA", store.read("b", 0, 10).toStringUtf8());
        store.invalidate("/");
        assertEquals(0, store.cachedFds());
    }

    @Test
    void theCacheHoldsAtMostItsCapacity() throws Exception {
        for (int i = 0; i < FileStore.CACHE_SIZE + 50; i++) {
            store.create("f" + i, 0644, true, 0, 0);
            store.write("f" + i, 0, ByteBuffer.wrap(bytes("file " + i)));
        }
        assertEquals(FileStore.CACHE_SIZE, store.cachedFds());
        for (int i = 0; i < FileStore.CACHE_SIZE + 50; i++) {
            assertEquals("file " + i, store.read("f" + i, 0, 100).toStringUtf8());
        }
        long fds;
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            fds = s.count();
        }
        store.close();
        long after;
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            after = s.count();
        }
        assertTrue(fds - after >= FileStore.CACHE_SIZE, "close releases the cached fds: " + fds + " -> " + after);
        store = null;
    }

    @Test
    void readsRunAlongsideRenamesAndUnlinksWithoutCrossingFiles() throws Exception {
        int files = FileStore.CACHE_SIZE + 44; // more than the cache holds, so it evicts too
        for (int i = 0; i < files; i++) {
            store.create("f" + i, 0644, true, 0, 0);
            store.write("f" + i, 0, ByteBuffer.wrap(bytes("f" + i + ":0")));
        }
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Integer>> readers = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int seed = t;
            readers.add(pool.submit(() -> {
                Random r = new Random(seed);
                int reads = 0;
                while (!stop.get()) {
                    String name = "f" + r.nextInt(files);
                    try {
                        String got = store.read(name, 0, 64).toStringUtf8();
                        // a file holds its own name: never another file's data, never a closed fd
                        if (!got.isEmpty() && !got.startsWith(name + ":")) throw new AssertionError(name + " read " + got);
                        reads++;
                    } catch (FsError e) {
                        if (e.errno() != Errno.ENOENT) throw e;
                    }
                }
                return reads;
            }));
        }
        Random r = new Random(99);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        for (int v = 1; System.nanoTime() < end; v++) {
            String name = "f" + r.nextInt(files);
            String content = name + ":" + v;
            switch (v % 4) {
                case 0 -> { // replace by rename
                    store.create("tmp", 0644, true, 0, 0);
                    store.write("tmp", 0, ByteBuffer.wrap(bytes(content)));
                    store.rename("tmp", name, 0);
                }
                case 1 -> { // unlink and recreate
                    store.unlink(name);
                    store.create(name, 0644, true, 0, 0);
                    store.write(name, 0, ByteBuffer.wrap(bytes(content)));
                }
                case 2 -> { // exchange with a fresh copy, then drop the old one
                    store.create("swap", 0644, true, 0, 0);
                    store.write("swap", 0, ByteBuffer.wrap(bytes(content)));
                    store.rename("swap", name, LibC.RENAME_EXCHANGE);
                    store.unlink("swap");
                }
                default -> { // rewrite in place
                    store.truncate(name, 0);
                    store.write(name, 0, ByteBuffer.wrap(bytes(content)));
                }
            }
            // whatever the readers cached meanwhile, the name now means the new file
            assertEquals(content, store.read(name, 0, 64).toStringUtf8());
            assertEquals(content.length(), store.getattr(name).getSize());
        }
        stop.set(true);
        int total = 0;
        for (Future<Integer> f : readers) total += f.get(30, TimeUnit.SECONDS);
        pool.shutdown();
        assertTrue(total > 0);
        for (int i = 0; i < files; i++) {
            assertTrue(store.read("f" + i, 0, 64).toStringUtf8().startsWith("f" + i + ":"));
        }
    }

    @Test
    void openFailsCleanlyOnAMissingBrick() {
        assertErrno(Errno.ENOENT, () -> FileStore.open(tmp.resolve("nope")));
        assertErrno(Errno.ENOTDIR, () -> FileStore.open(outside.resolve("passwd")));
    }

    @Test
    void brickPathsKeepTheirBytes() throws Exception {
        BrickPath p = BrickPath.parse("/a/bé/c");
        assertEquals("a/bé/c", p.key);
        assertArrayEquals(bytes("a/bé\0"), p.parent);
        assertArrayEquals(bytes("c\0"), p.name);
        assertArrayEquals(bytes("a/bé/c\0"), p.full);
        assertEquals(2, p.parentComponents().length);
        assertArrayEquals(bytes("bé\0"), p.parentComponents()[1]);
        BrickPath top = BrickPath.parse("x");
        assertNull(top.parent);
        assertFalse(top.reserved);
        assertTrue(BrickPath.parse(".braid").isReservedItself());
        assertTrue(BrickPath.parse(".braid/x").reserved);
        assertFalse(BrickPath.parse(".braid/x").isReservedItself());
        assertFalse(BrickPath.parse("x/.braid").reserved);
        assertTrue(BrickPath.parse("/").isRoot());
    }

    // ---- helpers ----

    private static void assertErrno(int errno, Executable call) {
        try {
            call.execute();
        } catch (FsError e) {
            assertEquals(Errno.name(errno), Errno.name(e.errno()), e.getMessage());
            return;
        } catch (Throwable t) {
            throw new AssertionError("expected " + Errno.name(errno) + ", got " + t, t);
        }
        fail("expected " + Errno.name(errno) + ", the call succeeded");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    private static Set<String> names(List<DirEntry> entries) {
        return entries.stream().map(DirEntry::getName).collect(Collectors.toSet());
    }

    private static Map<String, Attr> byName(List<DirEntry> entries) {
        return entries.stream().collect(Collectors.toMap(DirEntry::getName, DirEntry::getAttr));
    }

    private static Set<String> listing(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    /** Everything about a directory tree that an escape could change, ctime included. */
    private static Map<String, Object> snapshot(Path dir) throws Exception {
        Map<String, Object> out = new TreeMap<>();
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                String key = dir.relativize(p).toString();
                Map<String, Object> attrs = Files.readAttributes(p, "unix:mode,uid,gid,size,ino,ctime,lastModifiedTime",
                        LinkOption.NOFOLLOW_LINKS);
                out.put(key, new TreeMap<>(Map.of("attrs", attrs.toString(),
                        "xattrs", Files.getFileAttributeView(p, UserDefinedFileAttributeView.class).list().toString(),
                        "data", Files.isRegularFile(p) ? Files.readString(p) : "")));
            }
        }
        return out;
    }
}
