package io.braid.fuse;

import static io.braid.fuse.TestMount.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
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
 * The lookups that follow a directory listing (rm -r, ls -l, find) are answered from the
 * listing's attributes for a moment, without a call; what that must not break: close-to-open
 * between clients, and this mount's own unlinks, renames and new directories.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListingLookupTest {
    Path tmp;
    FakeFileServer server;
    TestMount a;
    TestMount b;

    @BeforeAll
    void mount() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        assumeTrue(TestMount.run("sh", "-c", "command -v fusermount").exit() == 0, "no fusermount");
        assumeTrue(TestMount.run("sh", "-c", "command -v python3").exit() == 0, "no python3");
        tmp = Files.createTempDirectory("listing");
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

    /** Runs python3 code in B with argv[1] = B's mount point; its stdout, trimmed. */
    private String atB(String code) {
        return TestMount.run("python3", "-c", "import os, sys, time\nm = sys.argv[1]\n" + code, b.path("").toString())
                .ok().out().trim();
    }

    private List<FileRequest> fromB() {
        String id = b.client.clientId();
        return server.received.stream().filter(r -> r.getClient().equals(id)).toList();
    }

    /** No getattr from B under prefix, if B's listing and stats took less than 0.8 s (seconds). */
    private void assertNoLookupsUnder(String prefix, String seconds) {
        List<FileRequest> calls = fromB();
        long lookups = calls.stream().filter(r -> r.getOpCase() == FileRequest.OpCase.GETATTR
                && r.getGetattr().getPath().startsWith(prefix)).count();
        // within the listing's second (a loaded machine may take longer: then they are asked)
        if (Double.parseDouble(seconds) < 0.8) {
            assertEquals(0, lookups, calls.toString());
        }
    }

    @Test
    void statsAfterAListingAskNothingMore() throws IOException {
        Files.createDirectories(a.path("many/sub"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(a.path("many/f" + i), "x".repeat(i));
        }
        Files.createSymbolicLink(a.path("many/link"), Path.of("f1"));
        server.received.clear();
        String out = atB("""
                t = time.monotonic()
                d = os.path.join(m, "many")
                sizes = {n: os.lstat(os.path.join(d, n)).st_size for n in os.listdir(d)}
                print(time.monotonic() - t)
                print(sorted((n, s) for n, s in sizes.items() if n.startswith("f")) == sorted(("f%d" % i, i) for i in range(20)))
                print(os.path.isdir(os.path.join(d, "sub")), os.readlink(os.path.join(d, "link")))
                """);
        String[] lines = out.split("\n");
        assertEquals("True", lines[1], out);
        assertEquals("True f1", lines[2], out);
        assertNoLookupsUnder("/many/", lines[0]);
    }

    /** The same for names this mount made itself (the kernel still holds their nodes: rm -r after tar -x). */
    @Test
    void statsOfNamesMadeHereAfterAListingAskNothingMore() {
        atB("""
                d = os.path.join(m, "own-many")
                os.mkdir(d)
                for i in range(20):
                    with open(os.path.join(d, "f%d" % i), "w") as f:
                        f.write("x" * i)
                time.sleep(1.3)  # their entries expired (entry-timeout 1): the next stat looks each up
                """);
        server.received.clear();
        String out = atB("""
                t = time.monotonic()
                d = os.path.join(m, "own-many")
                sizes = {n: os.lstat(os.path.join(d, n)).st_size for n in os.listdir(d)}
                print(time.monotonic() - t)
                print(sorted(sizes.items()) == sorted(("f%d" % i, i) for i in range(20)))
                """);
        String[] lines = out.split("\n");
        assertEquals("True", lines[1], out);
        assertNoLookupsUnder("/own-many/", lines[0]);
    }

    @Test
    void anotherClientsNewContentAfterTheListing() throws Exception {
        Files.createDirectories(a.path("fresh"));
        Files.writeString(a.path("fresh/doc"), "old");
        Path marker = tmp.resolve("written");
        var reader = new ProcessBuilder("python3", "-c", """
                import os, sys, time
                d, marker = sys.argv[1], sys.argv[2]
                os.listdir(d)
                print("listed", flush=True)
                deadline = time.monotonic() + 20
                while not os.path.exists(marker) and time.monotonic() < deadline:
                    time.sleep(0.005)
                with open(os.path.join(d, "doc")) as f:
                    print(f.read(), flush=True)
                """, b.path("fresh").toString(), marker.toString()).redirectErrorStream(true).start();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(reader.getInputStream()))) {
            assertEquals("listed", in.readLine());
            Files.writeString(a.path("fresh/doc"), "new and longer"); // closed before B opens it
            Files.writeString(marker, "");
            assertEquals("new and longer", in.readLine());
        } finally {
            reader.destroyForcibly();
        }
    }

    /** Names B's kernel never saw (A made them), listed by B, then changed by B itself. */
    @Test
    void thisMountsOwnChangesAfterTheListing() throws IOException {
        Files.createDirectories(a.path("own/sub"));
        for (String n : List.of("gone", "moved", "sub/inner")) {
            Files.writeString(a.path("own/" + n), "12345");
        }
        assertEquals("ENOENT ENOENT ENOENT 5 d", atB("""
                d = os.path.join(m, "own")
                os.listdir(d)
                os.listdir(os.path.join(d, "sub"))
                os.unlink(os.path.join(d, "gone"))
                os.rename(os.path.join(d, "moved"), os.path.join(d, "there"))
                os.rename(os.path.join(d, "sub"), os.path.join(d, "sub2"))
                os.mkdir(os.path.join(d, "sub"))
                out = []
                for n in ("gone", "moved", "sub/inner"):
                    try:
                        os.lstat(os.path.join(d, n))
                        out.append("exists")
                    except FileNotFoundError:
                        out.append("ENOENT")
                out.append(str(os.lstat(os.path.join(d, "sub2/inner")).st_size))
                out.append("d" if os.path.isdir(os.path.join(d, "sub")) else "?")
                print(" ".join(out))
                """));
    }

    /**
     * A file the kernel already holds (this mount wrote it), listed while its writes were still on
     * their way, then closed: its next lookup must give the size after those writes, not the
     * listing's. Its entry expires quickly here (entry-timeout 0.2), so the kernel looks it up
     * again while the listing (kept up to a second) is still fresh.
     */
    @Test
    void aFileWrittenHereAndClosedAfterTheListingHasItsNewSize() throws Exception {
        try (TestMount c = new TestMount(server.volume, List.of(ServerAddress.parse(server.address, 1)),
                Files.createDirectories(tmp.resolve("c")), "rw,entry-timeout=0.2,attr-timeout=1",
                VolumeClient.Timing.DEFAULT)) {
            Files.createDirectories(c.path("w"));
            Files.write(c.path("w/f"), new byte[4096]);
            String id = c.client.clientId();
            java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
            server.gate = gate;
            server.held = r -> r.getOpCase() == FileRequest.OpCase.WRITE && r.getClient().equals(id);
            Path marker = tmp.resolve("listed-go");
            var writer = new ProcessBuilder("python3", "-c", """
                    import os, sys, time
                    d, marker = sys.argv[1], sys.argv[2]
                    p = os.path.join(d, "f")
                    time.sleep(0.3)                     # its entry expired: the open looks it up
                    f = open(p, "ab")
                    f.write(b"x" * 65536)               # behind, held at the server
                    f.flush()
                    os.listdir(d)                       # the listing still says 4096
                    print("listed", flush=True)
                    deadline = time.monotonic() + 20
                    while not os.path.exists(marker) and time.monotonic() < deadline:
                        time.sleep(0.005)
                    f.close()                           # waits for the write
                    time.sleep(0.3)                     # the entry expired again, the listing not
                    print(os.stat(p).st_size, flush=True)
                    """, c.path("w").toString(), marker.toString()).redirectErrorStream(true).start();
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(writer.getInputStream()))) {
                assertEquals("listed", in.readLine());
                server.held = r -> false;
                gate.countDown();
                Files.writeString(marker, "");
                assertEquals(String.valueOf(4096 + 65536), in.readLine());
            } finally {
                writer.destroyForcibly();
                server.held = r -> false;
                gate.countDown();
            }
        }
    }
}
