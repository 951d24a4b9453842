package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A replica 2 block volume (bricks on servers 0 and 1, server 2 has none and only forwards) used
 * through real NBD clients: nbdinfo, qemu-io, nbdcopy, and ext4 on nbdfuse + a loop device, also
 * while the primary's server is killed.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class BlockNbdIT {
    static final String VOL = "vm";
    static final long SIZE = 256L << 20;

    static BraidCluster c;
    static Blocks b;
    static Path work;
    /** Files written on the ext4 filesystem so far, name → SHA-256. */
    static final Map<String, String> files = new LinkedHashMap<>();

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockNbdIT.class, 3);
        b = new Blocks(c);
        work = Files.createDirectories(c.root().resolve("work"));
        b.createStarted(VOL, "256M", 0, 1);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    @Order(1)
    void nbdinfoShowsSizeAndFlagsOnEveryServer() {
        for (int i = 0; i < 3; i++) {
            String uri = b.nbdUri(i, VOL);
            Exec.Result r = Exec.run(60, "nbdinfo", "--json", uri);
            assertTrue(r.ok(), r::toString);
            JsonObject export = JsonParser.parseString(r.out()).getAsJsonObject().getAsJsonArray("exports").get(0).getAsJsonObject();
            assertEquals(VOL, export.get("export-name").getAsString(), r::toString);
            assertEquals(SIZE, export.get("export-size").getAsLong(), r::toString);
            for (String flag : new String[] {"can_flush", "can_fua", "can_trim", "can_zero", "can_multi_conn"}) {
                assertTrue(export.get(flag).getAsBoolean(), () -> flag + " on " + uri + ": " + r);
            }
            assertFalse(export.get("is_read_only").getAsBoolean(), r::toString);
        }
    }

    @Test
    @Order(2)
    void qemuIoPatternsWrittenThroughOneServerReadThroughTheOthers() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        String[][] patterns = {
                {"0xa1", "0", "1M"},
                {"0xb2", "100M", "64k"},
                {"0xc3", "255M", "1M"},      // the last MiB of the volume
                {"0xd4", "50005000", "3000"}, // not aligned to anything
        };
        for (int writer = 0; writer < 3; writer++) {
            if (writer != p && writer != 2) continue; // through the primary, and through the server without a brick
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "raw", b.nbdUri(writer, VOL)));
            for (String[] w : patterns) {
                String pat = Integer.toHexString(Integer.decode(w[0]) ^ writer); // different data each round
                cmd.add("-c");
                cmd.add("write -P 0x" + pat + " " + w[1] + " " + w[2]);
            }
            Exec.Result wr = Exec.run(120, null, cmd);
            assertTrue(wr.ok() && wr.out().split("wrote ", -1).length - 1 == patterns.length, wr::toString);
            for (int r = 0; r < 3; r++) {
                if (r == writer) continue;
                int reader = r;
                java.util.List<String> rc = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "raw", b.nbdUri(reader, VOL)));
                for (String[] w : patterns) {
                    String pat = Integer.toHexString(Integer.decode(w[0]) ^ writer);
                    rc.add("-c");
                    rc.add("read -P 0x" + pat + " " + w[1] + " " + w[2]);
                }
                Exec.Result rd = Exec.run(120, null, rc);
                assertTrue(rd.ok(), rd::toString);
                assertFalse(rd.out().contains("Pattern verification failed"), () -> "server " + reader + ": " + rd);
                assertEquals(patterns.length, rd.out().split("read ", -1).length - 1, rd::toString);
            }
        }
        b.assertVerifyClean(VOL, SIZE);
    }

    @Test
    @Order(3)
    void nbdcopyOf256MiBInThroughANonPrimaryAndOutThroughAnother() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int secondary = p == 0 ? 1 : 0;
        Path in = work.resolve("random.bin");
        Path out = work.resolve("copied.bin");
        try {
            writeRandomFile(in, SIZE, 42);
            String want = Blocks.sha256(in);
            Exec.Result copyIn = Exec.run(300, "nbdcopy", in.toString(), b.nbdUri(secondary, VOL));
            assertTrue(copyIn.ok(), copyIn::toString);
            Exec.Result copyOut = Exec.run(300, "nbdcopy", b.nbdUri(2, VOL), out.toString());
            assertTrue(copyOut.ok(), copyOut::toString);
            assertEquals(SIZE, Files.size(out));
            assertEquals(want, Blocks.sha256(out), "what came out through server 2 is what went in through server " + secondary);

            b.assertVerifyClean(VOL, SIZE);
            b.assertImagesIdentical(VOL, 0, 1);
            assertEquals(want, Blocks.sha256(c.brickPath(p, VOL).resolve("block.img")), "the primary's backing image");
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
        }
    }

    @Test
    @Order(4)
    void ext4OnNbdfuseAndALoopDevice() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        try (NbdMount m = NbdMount.attach(work, "round1", b.nbdUri(p, VOL))) {
            m.mkfs();
            m.mount();
            writeFiles(m.mountPoint(), "r1-", 6, 777);
            Files.createDirectories(m.mountPoint().resolve("dir/sub"));
            writeFile(m.mountPoint(), "dir/sub/deep.bin", 3 << 20, 778);
            NbdMount.sync();
            m.umount();
            Exec.Result fsck = m.fsck();
            assertEquals(0, fsck.exit(), fsck::toString);
        }
        b.assertVerifyClean(VOL, SIZE);
        b.assertImagesIdentical(VOL, 0, 1);
    }

    @Test
    @Order(5)
    void ext4ThroughANonPrimaryRidesThroughKillOfThePrimary() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int other = p == 0 ? 1 : 0;
        // server 2 holds no brick: it forwards every request to the primary, and is never killed here
        try (NbdMount m = NbdMount.attach(work, "round2", b.nbdUri(2, VOL))) {
            m.mount();
            checkFiles(m.mountPoint());
            writeFiles(m.mountPoint(), "before-kill-", 4, 900);

            c.server(p).kill();
            long killed = System.nanoTime();
            writeFiles(m.mountPoint(), "after-kill-", 4, 901);
            NbdMount.sync();
            long stalled = (System.nanoTime() - killed) / 1_000_000;
            System.out.println("[BlockNbdIT] writes after kill -9 of the primary completed after " + stalled + " ms");

            assertEquals(other, b.awaitPrimary(VOL, 30_000, p), "the surviving brick is primary");
            m.umount();
            Exec.Result fsck = m.fsck();
            assertEquals(0, fsck.exit(), fsck::toString);
        }
        // a fresh client through another server: the checksums come from the server, not a cache here
        try (NbdMount m = NbdMount.attach(work, "round2-check", b.nbdUri(other, VOL))) {
            Exec.Result fsck = m.fsck();
            assertEquals(0, fsck.exit(), fsck::toString);
            m.mount();
            checkFiles(m.mountPoint());
            m.umount();
        }

        // the old primary returns as secondary and catches up
        c.server(p).start();
        JsonObject st = b.awaitAllUpToDate(VOL, 90_000);
        assertEquals("secondary", b.brickOf(st, p).get("role").getAsString(), st::toString);
        assertNotEquals(com.google.gson.JsonNull.INSTANCE, b.brickOf(st, p).get("lastResync"), st::toString);
        b.assertVerifyClean(VOL, SIZE);
        b.assertImagesIdentical(VOL, 0, 1);
    }

    // ---- helpers ----

    static void writeRandomFile(Path file, long size, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] buf = new byte[1 << 20];
        try (OutputStream o = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += buf.length) {
                fill(r, buf);
                o.write(buf, 0, (int) Math.min(buf.length, size - done));
            }
        }
    }

    static void fill(SplittableRandom r, byte[] buf) {
        ByteBuffer bb = ByteBuffer.wrap(buf);
        while (bb.remaining() >= 8) bb.putLong(r.nextLong());
        while (bb.hasRemaining()) bb.put((byte) r.nextInt());
    }

    /** Writes n files of various sizes, each fsynced, and remembers their checksums. */
    static void writeFiles(Path dir, String prefix, int n, long seed) throws IOException {
        for (int i = 0; i < n; i++) {
            int size = (i % 3 == 0) ? (2 << 20) + 123 : (i % 3 == 1) ? 4096 : 300_000;
            writeFile(dir, prefix + i + ".bin", size, seed * 100 + i);
        }
    }

    static void writeFile(Path root, String name, int size, long seed) throws IOException {
        Path file = root.resolve(name);
        byte[] data = new byte[size];
        fill(new SplittableRandom(seed), data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bb = ByteBuffer.wrap(data);
            while (bb.hasRemaining()) ch.write(bb);
            ch.force(true);
        }
        files.put(name, Blocks.sha256(data));
    }

    static void checkFiles(Path dir) throws IOException {
        assertFalse(files.isEmpty());
        for (Map.Entry<String, String> e : files.entrySet()) {
            Path f = dir.resolve(e.getKey());
            assertTrue(Files.exists(f), "missing " + e.getKey());
            assertEquals(e.getValue(), Blocks.sha256(f), "content of " + e.getKey());
        }
    }
}
