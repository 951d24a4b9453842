package io.braid.fuse;

import static io.braid.fuse.TestMount.sh;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import io.braid.proto.file.FileRequest;

/**
 * open(2) with O_CREAT|O_EXCL by root: the lookup of the name being created is answered here
 * without asking the server (the CREATE that follows decides), and the result is the same as
 * with the lookup: the names client B's kernel has never seen, made by client A, give EEXIST and
 * keep their content; the directories on the way are looked up as usual.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExclusiveCreateTest {
    Path tmp;
    FakeFileServer server;
    TestMount a;
    TestMount b;

    @BeforeAll
    void mount() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        assumeTrue(TestMount.run("sh", "-c", "command -v fusermount").exit() == 0, "no fusermount");
        assumeTrue(TestMount.run("sh", "-c", "command -v python3").exit() == 0, "no python3");
        tmp = Files.createTempDirectory("exclusive");
        server = FakeFileServer.start(tmp.resolve("server"), "web", 1);
        try {
            a = TestMount.of(server, Files.createDirectories(tmp.resolve("a")), false);
            b = TestMount.of(server, Files.createDirectories(tmp.resolve("b")), false);
        } catch (IOException | RuntimeException e) {
            unmount();
            throw e;
        }
    }

    @AfterAll
    void unmount() {
        try {
            if (b != null) {
                b.close();
            }
        } finally {
            try {
                if (a != null) {
                    a.close();
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

    /** Runs python3 code with argv[1] = B's mount point; its stdout. */
    private String atB(String code) {
        return TestMount.run("python3", "-c", "import os, sys, errno\n" + code, b.path("").toString()).ok().out();
    }

    /** In B: "EEXIST" or "created" for an exclusive create of name (relative to B's mount point). */
    private String createAtB(String name) {
        return atB("""
                try:
                    fd = os.open(os.path.join(sys.argv[1], %s), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                    os.write(fd, b"from b")
                    os.close(fd)
                    print("created")
                except OSError as e:
                    print(errno.errorcode[e.errno])
                """.formatted(pyString(name))).trim();
    }

    private static String pyString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private List<FileRequest> fromB() {
        String id = b.client.clientId();
        return server.received.stream().filter(r -> r.getClient().equals(id)).toList();
    }

    private static boolean isRoot() {
        return "0".equals(TestMount.run("id", "-u").out().trim());
    }

    @Test
    void aNameMadeByAnotherClientIsStillThere() throws IOException {
        Files.writeString(a.path("taken"), "from a");
        Files.createDirectory(a.path("takendir"));
        Files.createSymbolicLink(a.path("takenlink"), Path.of("nowhere"));
        assertEquals("EEXIST", createAtB("taken"));
        assertEquals("EEXIST", createAtB("takendir"));
        assertEquals("EEXIST", createAtB("takenlink")); // O_EXCL does not follow a last symlink
        assertEquals("from a", Files.readString(a.path("taken")));
        assertEquals("from a", Files.readString(b.path("taken")));
        assertTrue(Files.isDirectory(b.path("takendir")));
        assertTrue(Files.notExists(a.path("nowhere")));
    }

    @Test
    void directoriesOnTheWayAreLookedUp() throws IOException {
        Files.createDirectories(a.path("outer/inner"));
        Files.writeString(a.path("outer/inner/deep"), "from a");
        assertEquals("EEXIST", createAtB("outer/inner/deep"));
        assertEquals("created", createAtB("outer/inner/new"));
        assertEquals("from b", Files.readString(a.path("outer/inner/new")));
        // a relative name, from a directory descriptor, and one with "." and ".." in it
        assertEquals("created\nEEXIST", atB("""
                d = os.open(os.path.join(sys.argv[1], "outer"), os.O_RDONLY | os.O_DIRECTORY)
                os.close(os.open("inner/rel", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=d))
                print("created")
                try:
                    os.open("inner/deep", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=d)
                except FileExistsError:
                    print("EEXIST")
                """).trim());
        assertTrue(Files.exists(a.path("outer/inner/rel")));
        assertEquals("created", createAtB("outer/./inner/../inner/dotted"));
        assertEquals("EEXIST", createAtB("outer/../outer/inner/deep"));
        assertTrue(Files.exists(a.path("outer/inner/dotted")));
        assertEquals("ENOENT", createAtB("nosuchdir/f"));
        assertEquals("ENOTDIR", createAtB("outer/inner/deep/f"));
    }

    /** As root, the name being created is not looked up on the server: the CREATE is the only call for it. */
    @Test
    void onlyTheCreateGoesToTheServer() throws IOException {
        assumeTrue(isRoot(), "the lookup is skipped for root only");
        Files.createDirectory(a.path("quiet"));
        Files.exists(b.path("quiet")); // B's kernel knows the directory now
        server.received.clear();
        assertEquals("created", createAtB("quiet/one"));
        List<FileRequest> calls = fromB();
        assertTrue(calls.stream().noneMatch(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPath().equals("/quiet/one")), calls.toString());
        assertEquals(1, calls.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.CREATE
                && r.getCreate().getPath().equals("/quiet/one") && r.getCreate().getExclusive()).count(), calls.toString());
        assertArrayEquals("from b".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(a.path("quiet/one")));
        // without O_EXCL the name is looked up as always
        server.received.clear();
        atB("os.close(os.open(os.path.join(sys.argv[1], 'quiet/two'), os.O_CREAT | os.O_WRONLY, 0o644))");
        assertTrue(fromB().stream().anyMatch(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPath().equals("/quiet/two")), fromB().toString());
    }
}
