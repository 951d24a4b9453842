package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
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
 * {@code volume verify} finds exactly the blocks a disk silently corrupted on one replica and
 * {@code repair} fixes them; {@code volume resize} grows a started volume online and refuses to
 * shrink it. Replica 3 on servers 0, 1, 2.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class BlockVerifyResizeIT {
    static final String VOL = "vr";
    static final long SIZE = 128L << 20;
    static final long GROWN = 512L << 20;

    static BraidCluster c;
    static Blocks b;
    static final TreeMap<Long, byte[]> written = new TreeMap<>();

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockVerifyResizeIT.class, 3);
        b = new Blocks(c);
        b.createStarted(VOL, "128M", 0, 1, 2);
        written.putAll(Blocks.scatteredBlocks(0, SIZE, 128, 7));
        try (NbdClient nbd = b.connect(0, VOL)) {
            Blocks.writeAll(nbd, written);
            nbd.flush();
        }
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    @Order(1)
    void verifyNamesExactlyTheCorruptedBlocksAndRepairFixesThem() throws Exception {
        b.assertVerifyClean(VOL, SIZE);
        int p = b.awaitPrimary(VOL, 30_000);
        int s = (p + 1) % 3;
        String victim = c.brick(s, VOL);
        // a block holding data, a block never written, and the very last block of the volume
        long[] bad = {written.firstKey(), 3L << 20, SIZE - 4096};
        assertFalse(written.containsKey(3L << 20));
        Path img = c.brickPath(s, VOL).resolve("block.img");
        SplittableRandom r = new SplittableRandom(99);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            for (long off : bad) {
                f.seek(off);
                f.write(Blocks.randomBytes(r, 4096));
            }
            f.getFD().sync();
        }

        JsonObject v = b.verify(VOL, false);
        assertEquals(SIZE, v.get("bytesCompared").getAsLong(), v::toString);
        TreeSet<Long> offsets = new TreeSet<>();
        for (JsonElement e : v.getAsJsonArray("differing")) {
            JsonObject d = e.getAsJsonObject();
            assertEquals(victim, d.get("brick").getAsString(), v::toString);
            assertEquals(4096, d.get("length").getAsLong(), v::toString);
            offsets.add(d.get("offset").getAsLong());
        }
        assertEquals(3, v.getAsJsonArray("differing").size(), v::toString);
        assertEquals(new TreeSet<>(List.of(bad[0], bad[1], bad[2])), offsets, v::toString);

        JsonObject repaired = b.verify(VOL, true);
        assertEquals(3, repaired.get("repaired").getAsLong(), repaired::toString);
        b.assertVerifyClean(VOL, SIZE);
        b.assertImagesIdentical(VOL, 0, 1, 2);
        try (NbdClient nbd = b.connect(s, VOL)) {
            Blocks.assertReads(nbd, written);
            assertArrayEquals(new byte[4096], nbd.read(3L << 20, 4096), "a never-written block reads as zeros again");
        }
    }

    private static long nbdinfoSize(int server) {
        Exec.Result r = Exec.run(60, "nbdinfo", "--json", b.nbdUri(server, VOL));
        assertTrue(r.ok(), r::toString);
        return JsonParser.parseString(r.out()).getAsJsonObject().getAsJsonArray("exports").get(0).getAsJsonObject()
                .get("export-size").getAsLong();
    }

    private static long infoSize() {
        JsonObject info = Blocks.json(c.cli(b.live(), "--json", "volume", "info", VOL));
        return info.getAsJsonArray("volumes").get(0).getAsJsonObject().get("size").getAsLong();
    }

    @Test
    @Order(2)
    void resizeGrowsAStartedVolumeOnline() throws Exception {
        try (NbdClient before = b.connect(1, VOL)) {
            assertEquals(SIZE, before.size());
            Cli.assertOk(c.cli(2, "volume", "resize", VOL, "512M"));
            assertEquals(GROWN, infoSize());
            // every server serves the new size on a fresh connection, and every image has grown
            long deadline = System.currentTimeMillis() + 20_000;
            for (int i = 0; i < 3; i++) {
                long seen = nbdinfoSize(i);
                while (seen != GROWN && System.currentTimeMillis() < deadline) {
                    Thread.sleep(200);
                    seen = nbdinfoSize(i);
                }
                assertEquals(GROWN, seen, "nbdinfo through server " + i);
                Path img = c.brickPath(i, VOL).resolve("block.img");
                while (Files.size(img) != GROWN && System.currentTimeMillis() < deadline) Thread.sleep(200);
                assertEquals(GROWN, Files.size(img), "backing image on server " + i);
            }
            // the connection opened before keeps working within what it was told
            Blocks.assertReads(before, Map.of(written.firstKey(), written.firstEntry().getValue()));
        }

        // beyond the old end, through each server in turn, read back through the others
        TreeMap<Long, byte[]> beyond = Blocks.scatteredBlocks(SIZE, GROWN, 96, 8);
        beyond.put(SIZE, Blocks.randomBytes(new SplittableRandom(1), 4096));
        beyond.put(GROWN - 4096, Blocks.randomBytes(new SplittableRandom(2), 4096));
        int k = 0;
        for (Map.Entry<Long, byte[]> e : beyond.entrySet()) {
            try (NbdClient nbd = b.connect(k++ % 3, VOL)) {
                assertEquals(GROWN, nbd.size());
                nbd.write(e.getKey(), e.getValue());
            }
        }
        written.putAll(beyond);
        Exec.Result q = Exec.run(120, "qemu-io", "-f", "raw", b.nbdUri(1, VOL), "-c", "write -P 0x5e 300M 1M");
        assertTrue(q.ok() && q.out().contains("wrote 1048576/1048576"), q::toString);
        for (int i = 0; i < 3; i++) {
            try (NbdClient nbd = b.connect(i, VOL)) {
                Blocks.assertReads(nbd, written);
            }
            Exec.Result rd = Exec.run(120, "qemu-io", "-f", "raw", b.nbdUri(i, VOL), "-c", "read -P 0x5e 300M 1M");
            assertTrue(rd.ok() && !rd.out().contains("Pattern verification failed"), rd::toString);
        }
        b.assertVerifyClean(VOL, GROWN);
        b.assertImagesIdentical(VOL, 0, 1, 2);
    }

    @Test
    @Order(3)
    void resizeRefusesToShrinkAndChangesNothing() throws Exception {
        CliResult r = c.cli(0, "volume", "resize", VOL, "128M");
        Cli.assertFails(r);
        assertEquals(GROWN, infoSize());
        for (int i = 0; i < 3; i++) {
            assertEquals(GROWN, nbdinfoSize(i), "nbdinfo through server " + i);
            assertEquals(GROWN, Files.size(c.brickPath(i, VOL).resolve("block.img")), "backing image on server " + i);
        }
        try (NbdClient nbd = b.connect(2, VOL)) {
            Blocks.assertReads(nbd, written);
        }
        b.assertVerifyClean(VOL, GROWN);
    }
}
