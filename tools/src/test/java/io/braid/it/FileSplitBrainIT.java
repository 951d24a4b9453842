package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GlusterFS's split-brain-heal-info.t on a replica 2 file volume with cluster.quorum-type none
 * and cluster.self-heal-daemon off: bricks on servers 0 and 1, the mount and a third pool member
 * on server 2 (the configuration store keeps its majority with one brick server down). Each
 * round kills brick 0's server, changes a path, brings it back, then does the same to brick 1
 * with another change of the same path: data, metadata and entry split-brain, each reported on
 * both bricks. Then reads give EIO, and the three resolutions make both bricks agree. With
 * quorum on, the same steps never diverge.
 */
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FileSplitBrainIT {
    static final String VOL = "spb";

    static BraidCluster c;
    static Blocks v;
    static FuseMount m;

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(FileSplitBrainIT.class, 3);
        v = new Blocks(c);
        Cli.assertOk(c.cli(0, "volume", "create", VOL, "replica", "2", c.brick(0, VOL), c.brick(1, VOL)));
        Cli.assertOk(c.cli(0, "volume", "start", VOL));
        v.set(VOL, "network.ping-timeout", "2");
        v.set(VOL, "cluster.quorum-type", "none");
        v.set(VOL, "cluster.self-heal-daemon", "off");
        v.awaitAllUpToDate(VOL, 60_000);
        m = FuseMount.mount(c.host(2), VOL, c.root().resolve("mnt"), "attr-timeout=0,entry-timeout=0");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m != null) m.close();
        } finally {
            if (c != null) c.close();
        }
    }

    interface Change {
        void run() throws Exception;
    }

    /** Kills the server of brick first, changes, restarts it; then the same for the other brick. */
    static void round(int first, Change whileFirstDown, Change whileSecondDown) throws Exception {
        apart(first, whileFirstDown);
        apart(1 - first, whileSecondDown);
    }

    static void apart(int server, Change change) throws Exception {
        c.server(server).kill();
        change.run();
        c.server(server).start();
        awaitBothOnline();
    }

    static void awaitBothOnline() throws InterruptedException {
        v.awaitStatus(VOL, 120_000, "both bricks online with one primary", st -> {
            int primaries = 0;
            for (JsonObject b : Blocks.bricks(st)) {
                if (!b.get("online").getAsBoolean()) return false;
                if ("primary".equals(b.get("role").getAsString())) primaries++;
            }
            return primaries == 1;
        });
        Thread.sleep(1500); // the primary's link to the returning brick shakes hands
    }

    static JsonObject healInfo(String... view) {
        List<String> words = new ArrayList<>(List.of("--json", "volume", "heal", VOL, "info"));
        words.addAll(List.of(view));
        return Blocks.json(c.cli(2, words.toArray(String[]::new)));
    }

    static TreeSet<String> paths(JsonObject brick) {
        TreeSet<String> out = new TreeSet<>();
        for (JsonElement e : brick.getAsJsonArray("paths")) out.add(e.getAsString());
        return out;
    }

    /** Waits until heal info split-brain lists exactly these paths on both bricks. */
    static JsonObject awaitSplitBrain(String... paths) throws InterruptedException {
        TreeSet<String> want = new TreeSet<>(List.of(paths));
        long deadline = System.currentTimeMillis() + 60_000;
        JsonObject h;
        while (true) {
            h = healInfo("split-brain");
            boolean ok = true;
            for (JsonObject b : Blocks.bricks(h)) {
                ok &= paths(b).equals(want) && b.get("splitBrain").getAsInt() == want.size();
            }
            if (ok) return h;
            if (System.currentTimeMillis() > deadline) throw new AssertionError("split-brain entries " + want + " not reported: " + h);
            Thread.sleep(300);
        }
    }

    static String brickFile(int server, String path) throws IOException {
        return Files.readString(c.brickPath(server, VOL).resolve(path));
    }

    static String mode(int server, String path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(c.brickPath(server, VOL).resolve(path)));
    }

    @Test
    @Order(1)
    void dataMetadataAndEntrySplitBrainAreReportedOnBothBricks() throws Exception {
        Files.createDirectories(m.path("dspb"));
        Files.createDirectories(m.path("mspb"));
        Files.createDirectories(m.path("espb"));
        Files.writeString(m.path("dspb/file"), "");

        // data split-brain: different sizes, so bigger-file can choose later; the bigger copy is
        // the older one (brick 1's), so bigger-file and latest-mtime would choose differently
        round(0, () -> Files.writeString(m.path("dspb/file"), "defghi\n"),
                () -> Files.writeString(m.path("dspb/file"), "abc\n"));
        // metadata split-brain
        round(0, () -> Files.setPosixFilePermissions(m.path("mspb"), PosixFilePermissions.fromString("rwxr-xrwx")),
                () -> Files.setPosixFilePermissions(m.path("mspb"), PosixFilePermissions.fromString("rwxr--rwx")));
        // entry split-brain: a file on one brick, a directory of the same name on the other
        round(0, () -> Files.writeString(m.path("espb/a"), "file\n"), () -> Files.createDirectory(m.path("espb/a")));

        JsonObject h = awaitSplitBrain("/dspb/file", "/espb/a", "/mspb");
        int total = 0;
        for (JsonObject b : Blocks.bricks(h)) total += b.get("splitBrain").getAsInt();
        assertEquals(6, total, "split-brain entries, each on both bricks: " + h);

        // the text layout, as GlusterFS prints it
        CliResult text = c.cli(2, "volume", "heal", VOL, "info", "split-brain");
        Cli.assertOk(text);
        assertEquals(2, text.out().lines().filter(l -> l.equals("Number of entries in split-brain: 3")).count(), text.out());
        CliResult info = c.cli(2, "volume", "heal", VOL, "info");
        Cli.assertOk(info);
        assertTrue(info.out().contains("/dspb/file - Is in split-brain"), info.out());
        Cli.assertOk(c.cli(2, "--xml", "volume", "heal", VOL, "info", "split-brain"));
        JsonObject summary = healInfo("summary");
        for (JsonObject b : Blocks.bricks(summary)) assertEquals(3, b.get("splitBrain").getAsInt(), summary.toString());

        // the two bricks really differ, and nothing healed one over the other
        assertEquals("abc\n", brickFile(0, "dspb/file"));
        assertEquals("defghi\n", brickFile(1, "dspb/file"));
        assertTrue(Files.isDirectory(c.brickPath(0, VOL).resolve("espb/a")));
        assertTrue(Files.isRegularFile(c.brickPath(1, VOL).resolve("espb/a")));
        assertEquals("rwxr--rwx", mode(0, "mspb"));
        assertEquals("rwxr-xrwx", mode(1, "mspb"));
    }

    @Test
    @Order(2)
    void aFileInSplitBrainCannotBeReadAndHealWaitsForTheDaemon() throws Exception {
        IOException e = assertThrows(IOException.class, () -> Files.readString(m.path("dspb/file")));
        assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), e.toString());
        IOException w = assertThrows(IOException.class, () -> Files.writeString(m.path("dspb/file"), "over it\n"));
        assertTrue(String.valueOf(w.getMessage()).contains("Input/output error"), w.toString());
        // listing the directory still works
        try (var s = Files.list(m.path("dspb"))) {
            assertEquals(1, s.count());
        }
        Cli.assertFails(c.cli(2, "volume", "heal", VOL), "Self-heal-daemon is disabled");
    }

    /**
     * With the daemon on, the link goes live around the split paths and the other brick counts as
     * in sync; with cluster.read-from-replicas on, a mount whose reads go to that brick still gets
     * EIO for the xattrs and data of the file in split-brain (that brick knows what it owes the
     * primary), and lists it.
     */
    @Test
    @Order(3)
    void aReplicaDoesNotServeAReadOfAFileInSplitBrain() throws Exception {
        v.set(VOL, "cluster.self-heal-daemon", "on");
        v.set(VOL, "cluster.read-from-replicas", "on");
        try {
            v.awaitAllUpToDate(VOL, 60_000);
            // bricks 0 and 1 are on servers 0 and 1, in that order in the layout (awaited: a primary
            // that is not settled yet reads as -1, and no mount would then count as the other's)
            int other = 1 - v.awaitPrimary(VOL, 30_000);
            boolean tried = false;
            for (int i = 0; i < 16 && !tried; i++) { // each mount's reads go to one of two bricks by its id
                try (FuseMount r = FuseMount.mount(c.host(2), VOL, c.root().resolve("replica-reader-" + i),
                        "attr-timeout=0,entry-timeout=0")) {
                    java.util.regex.Matcher id = java.util.regex.Pattern.compile("client ([0-9a-f-]{36})").matcher(r.log());
                    assertTrue(id.find(), r.log());
                    if (Math.floorMod(id.group(1).hashCode(), 2) != other) continue; // its reads go to the primary
                    tried = true;
                    // (an open always goes to the primary; the xattr calls are the reads a replica answers)
                    Exec.Result x = Exec.run(30, "getfattr", "-d", "-m", "-", r.path("dspb/file").toString());
                    assertFalse(x.ok(), "listxattr of a file in split-brain answered by a replica: " + x);
                    assertTrue((x.out() + x.err()).contains("Input/output error"), x.toString());
                    IOException e = assertThrows(IOException.class, () -> Files.readString(r.path("dspb/file")));
                    assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), e.toString());
                    try (var s = Files.list(r.path("dspb"))) {
                        assertEquals(1, s.count());
                    }
                }
            }
            assertTrue(tried, "none of 16 mounts read from the other brick (brick " + other + ")");
            JsonObject summary = healInfo("summary");
            for (JsonObject b : Blocks.bricks(summary)) {
                assertEquals(3, b.get("splitBrain").getAsInt(), "still in split-brain: " + summary);
            }
        } finally {
            v.set(VOL, "cluster.read-from-replicas", "off");
            v.set(VOL, "cluster.self-heal-daemon", "off");
        }
    }

    @Test
    @Order(4)
    void theThreeResolutionsMakeBothBricksAgree() throws Exception {
        Cli.assertFails(c.cli(2, "volume", "heal", VOL, "split-brain", "bigger-file", "/mspb"), "source-brick");
        Cli.assertFails(c.cli(2, "volume", "heal", VOL, "split-brain", "bigger-file", "/not-there"), "not in split-brain");

        CliResult r = c.cli(2, "volume", "heal", VOL, "split-brain", "bigger-file", "/dspb/file");
        Cli.assertOk(r);
        assertTrue(r.out().contains("Healed /dspb/file from " + c.brick(1, VOL)), r.out());
        assertEquals("defghi\n", brickFile(0, "dspb/file"));
        assertEquals("defghi\n", brickFile(1, "dspb/file"));
        assertEquals("defghi\n", Files.readString(m.path("dspb/file")));

        Cli.assertOk(c.cli(2, "volume", "heal", VOL, "split-brain", "source-brick", c.brick(1, VOL), "/mspb"));
        assertEquals("rwxr-xrwx", mode(0, "mspb"));
        assertEquals("rwxr-xrwx", mode(1, "mspb"));

        // the whole brick: every entry left in split-brain takes brick 0's copy
        Cli.assertOk(c.cli(2, "volume", "heal", VOL, "split-brain", "source-brick", c.brick(0, VOL)));
        assertTrue(Files.isDirectory(c.brickPath(1, VOL).resolve("espb/a")), "espb/a is brick 0's directory now");
        awaitSplitBrain();

        // a new data split-brain, resolved by the later mtime (the earlier copy is the bigger one)
        round(1, () -> Files.writeString(m.path("lm"), "first, and the bigger one\n"),
                () -> Files.writeString(m.path("lm"), "second\n"));
        awaitSplitBrain("/lm");
        Cli.assertOk(c.cli(2, "volume", "heal", VOL, "split-brain", "latest-mtime", "/lm"));
        assertEquals("second\n", brickFile(0, "lm"));
        assertEquals("second\n", brickFile(1, "lm"));
        awaitSplitBrain();

        // with the daemon on again, what is left heals and the bricks are identical
        v.set(VOL, "cluster.self-heal-daemon", "on");
        Cli.assertOk(c.cli(2, "volume", "heal", VOL));
        awaitHealed();
        assertEquals("", FileVolumes.diff(c, VOL, 0, 1));
    }

    static void awaitHealed() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            JsonObject h = healInfo();
            boolean clean = true;
            for (JsonObject b : Blocks.bricks(h)) clean &= b.get("entries").getAsLong() == 0;
            if (clean && FileVolumes.diff(c, VOL, 0, 1).isEmpty()) return;
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("not healed: " + h + "\n" + FileVolumes.diff(c, VOL, 0, 1));
            }
            Thread.sleep(500);
        }
    }

    @Test
    @Order(5)
    void aFullHealRestoresWhatABrickLostBehindBraidsBack() throws Exception {
        v.set(VOL, "cluster.self-heal-daemon", "on");
        Files.writeString(m.path("kept"), "kept\n");
        Files.createDirectories(m.path("tree/sub"));
        Files.writeString(m.path("tree/sub/leaf"), "leaf\n");
        awaitHealed();
        int p = v.awaitPrimary(VOL, 30_000);
        int other = 1 - p;
        Files.delete(c.brickPath(other, VOL).resolve("kept"));
        Files.writeString(c.brickPath(other, VOL).resolve("tree/sub/leaf"), "leaf and more\n");
        Files.writeString(c.brickPath(other, VOL).resolve("stray"), "not in the volume\n");
        assertFalse(FileVolumes.diff(c, VOL, 0, 1).isEmpty());
        CliResult r = c.cli(2, "volume", "heal", VOL, "full");
        Cli.assertOk(r);
        assertTrue(r.out().contains("full self heal"), r.out());
        awaitHealed();
        assertEquals("leaf\n", brickFile(other, "tree/sub/leaf"));
        assertEquals("kept\n", brickFile(other, "kept"));
    }

    @Test
    @Order(6)
    void withQuorumTheSameStepsNeverDiverge() throws Exception {
        v.set(VOL, "cluster.quorum-type", "auto"); // replica 2: writes need the first brick
        Files.writeString(m.path("q"), "");
        Files.createDirectories(m.path("qm"));
        Files.createDirectories(m.path("qe"));
        awaitHealed();
        List<String> acknowledged = new ArrayList<>();
        List<String> modes = new ArrayList<>();
        int[] step = {0};
        // the data, metadata and entry steps of the first test, each allowed to be refused
        Change changes = () -> {
            int n = step[0]++;
            String s = "write " + n + "\n";
            try {
                Files.writeString(m.path("q"), s);
                acknowledged.add(s);
            } catch (IOException e) {
                // refused without quorum: allowed
            }
            String mode = n % 2 == 0 ? "rwxr-xrwx" : "rwxr--rwx";
            try {
                Files.setPosixFilePermissions(m.path("qm"), PosixFilePermissions.fromString(mode));
                modes.add(mode);
            } catch (IOException e) {
                // refused
            }
            try {
                if (n % 2 == 0) Files.writeString(m.path("qe/a" + n / 2), "file\n");
                else Files.createDirectory(m.path("qe/a" + n / 2));
            } catch (IOException e) {
                // refused, or the other kind is there already
            }
        };
        for (int r = 0; r < 2; r++) {
            round(0, changes, changes);
            JsonObject h = healInfo("split-brain");
            for (JsonObject b : Blocks.bricks(h)) assertEquals(0, b.get("splitBrain").getAsInt(), h.toString());
        }
        awaitHealed();
        for (int i = 0; i < 10; i++) {
            JsonObject h = healInfo("split-brain");
            for (JsonObject b : Blocks.bricks(h)) assertEquals(0, b.get("splitBrain").getAsInt(), h.toString());
            Thread.sleep(300);
        }
        assertEquals("", FileVolumes.diff(c, VOL, 0, 1), "the bricks diverged");
        assertEquals(mode(0, "qm"), mode(1, "qm"));
        for (int i = 0; i < 2; i++) {
            Path a0 = c.brickPath(0, VOL).resolve("qe/a" + i);
            Path a1 = c.brickPath(1, VOL).resolve("qe/a" + i);
            assertEquals(Files.isDirectory(a0), Files.isDirectory(a1), "qe/a" + i + " is one kind on both bricks");
        }
        if (!acknowledged.isEmpty()) {
            assertEquals(acknowledged.get(acknowledged.size() - 1), Files.readString(m.path("q")),
                    "the last acknowledged write");
        }
        if (!modes.isEmpty()) assertEquals(modes.get(modes.size() - 1), mode(0, "qm"), "the last acknowledged chmod");
    }
}
