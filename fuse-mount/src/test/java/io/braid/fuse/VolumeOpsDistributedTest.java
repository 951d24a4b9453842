package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.braid.proto.file.Attr;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;

/** A volume of three replica sets: names placed by hash, directories on every set. */
class VolumeOpsDistributedTest {
    private static final int K = 3;

    @TempDir
    Path tmp;
    private FakeFileServer server;
    private VolumeClient client;
    private VolumeOps ops;

    @BeforeEach
    void start() throws IOException {
        server = FakeFileServer.start(tmp, "dist", K);
        client = new VolumeClient("dist", List.of(ServerAddress.parse(server.address, 1)), VolumeClient.Timing.DEFAULT);
        client.connect();
        ops = new VolumeOps(client);
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
    }

    private static void ok(FileReply r) {
        assertEquals(0, r.getErrno(), r.getMessage());
    }

    /** Two names of the directory d that hash to different sets, and two that hash to the same one. */
    private static List<String> names(String d, boolean sameSet) {
        String p = sameSet ? "same" : "apart";
        for (int i = 0; ; i++) {
            for (int j = i + 1; j < i + 50; j++) {
                boolean same = Placement.setOf(p + i, K) == Placement.setOf(p + j, K);
                if (same == sameSet) {
                    return List.of(d + "/" + p + i, d + "/" + p + j);
                }
            }
        }
    }

    @Test
    void filesLiveOnTheirSetAndDirectoriesEverywhere() {
        ok(ops.mkdir("/d", 0755, 0, 0));
        for (Path b : server.bricks) {
            assertTrue(Files.isDirectory(b.resolve("d")), b.toString());
        }
        Set<String> made = new TreeSet<>();
        for (int i = 0; i < 30; i++) {
            String name = "f" + i;
            ok(ops.create("/d/" + name, 0100644, true, 0, 0));
            made.add(name);
            for (int s = 0; s < K; s++) {
                assertEquals(s == Placement.setOf(name, K), Files.exists(server.bricks.get(s).resolve("d/" + name)));
            }
            ok(ops.getattr("/d/" + name));
        }
        ok(ops.mkdir("/d/sub", 0700, 0, 0));
        VolumeOps.Listing l = ops.readdir("/d");
        assertEquals(0, l.errno());
        List<String> listed = new ArrayList<>();
        l.entries().forEach(e -> listed.add(e.name()));
        made.add("sub");
        assertEquals(made, new TreeSet<>(listed));
        assertEquals(made.size(), listed.size()); // the directory on three sets is listed once
        // Each entry's attributes come from the set of its own name.
        VolumeOps.Listed sub = l.entries().stream().filter(e -> e.name().equals("sub")).findFirst().orElseThrow();
        assertEquals(Placement.setOf("sub", K), sub.set());
    }

    @Test
    void rmdirOfANonEmptyDirectoryLeavesItOnEverySet() {
        ok(ops.mkdir("/r", 0750, 12, 34));
        // A file on a set that is not the directory's own.
        String file = null;
        for (int i = 0; file == null; i++) {
            if (Placement.setOf("x" + i, K) != Placement.setOf("r", K)) {
                file = "/r/x" + i;
            }
        }
        ok(ops.create(file, 0100600, true, 0, 0));
        assertEquals(Errno.ENOTEMPTY, ops.rmdir("/r").getErrno());
        for (Path b : server.bricks) {
            assertTrue(Files.isDirectory(b.resolve("r")), b.toString());
        }
        ok(ops.unlink(file));
        ok(ops.rmdir("/r"));
        for (Path b : server.bricks) {
            assertFalse(Files.exists(b.resolve("r")), b.toString());
        }
        assertEquals(Errno.ENOENT, ops.rmdir("/r").getErrno());
    }

    @Test
    void renameAndLinkAcrossSetsAreExdev() throws IOException {
        ok(ops.mkdir("/m", 0755, 0, 0));
        List<String> apart = names("/m", false);
        ok(ops.create(apart.get(0), 0100644, true, 0, 0));
        assertEquals(Errno.EXDEV, ops.rename(apart.get(0), apart.get(1)).getErrno());
        assertEquals(Errno.EXDEV, ops.link(apart.get(0), apart.get(1)).getErrno());
        List<String> together = names("/m", true);
        ok(ops.create(together.get(0), 0100644, true, 0, 0));
        assertEquals(Errno.EEXIST, ops.link(together.get(0), together.get(0)).getErrno());
        ok(ops.rename(together.get(0), together.get(1)));
        assertEquals(0, ops.getattr(together.get(1)).getErrno());
        assertEquals(Errno.ENOENT, ops.getattr(together.get(0)).getErrno());
        // A directory is renamed on every set.
        ok(ops.mkdir("/m/dir", 0755, 0, 0));
        ok(ops.rename("/m/dir", "/m/renamed"));
        for (Path b : server.bricks) {
            assertTrue(Files.isDirectory(b.resolve("m/renamed")), b.toString());
            assertFalse(Files.exists(b.resolve("m/dir")), b.toString());
        }
        // An open file that libfuse hides on unlink stays on its set under the hidden name.
        String hidden = "/m/.fuse_hidden0000000100000001";
        ok(ops.rename(apart.get(0), hidden));
        int set = Placement.setOf(apart.get(0), K);
        assertTrue(Files.exists(server.bricks.get(set).resolve("m/.fuse_hidden0000000100000001")));
        ok(ops.getattr(hidden));
        ok(ops.unlink(hidden));
    }

    @Test
    void attributeChangesOfADirectoryReachEverySet() throws IOException {
        ok(ops.mkdir("/a", 0755, 0, 0));
        ok(ops.chmod("/a", 0700));
        ok(ops.chown("/a", 77, 88));
        ok(ops.utimens("/a", -2, 1_000_000_000_000_000_000L));
        ok(ops.setxattr("/a", "user.k", com.google.protobuf.ByteString.copyFromUtf8("v"), 0));
        for (Path b : server.bricks) {
            assertEquals("700 77 88 1000000000", TestMount.sh("stat -c '%a %u %g %Y' " + b.resolve("a")).ok().out().strip());
            assertEquals("v", TestMount.sh("getfattr --only-values -n user.k " + b.resolve("a")).ok().out());
        }
        ok(ops.removexattr("/a", "user.k"));
        for (Path b : server.bricks) {
            assertTrue(TestMount.sh("getfattr -d " + b.resolve("a")).out().isEmpty());
        }
    }

    @Test
    void statfsAddsTheSets() {
        server.resetCounts();
        FileReply all = ops.statfs();
        ok(all);
        assertEquals(K, server.count(FileRequest.OpCase.STATFS));
        FileReply one = client.call(0, FileRequest.newBuilder().setStatfs(io.braid.proto.file.Statfs.getDefaultInstance()));
        // Every set's brick is on the same file system here: three times one (give or take what changed meanwhile).
        double ratio = (double) all.getStatfs().getBlocks() / one.getStatfs().getBlocks();
        assertEquals(3.0, ratio, 0.01);
    }

    @Test
    void inodeNumbersDoNotCollideAcrossSets() {
        Attr a = Attr.newBuilder().setIno(42).build();
        assertNotEquals(ops.ino(a, 0), ops.ino(a, 1));
        assertEquals(42 * K + 2, ops.ino(a, 2));
    }
}
