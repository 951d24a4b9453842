package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Replica 2 without quorum (cluster.quorum-type none) on servers A and B, with C in the pool:
 * A writes X while B is down, then B is promoted while A is down and writes Y. When A returns,
 * both sides have written while apart: split-brain is reported and nothing is resynced, until
 * the operator picks B as the source; then A becomes an exact copy of B.
 */
@Timeout(600)
@ExtendWith(KeepLogsOnFailure.class)
class BlockSplitBrainIT {
    static final String VOL = "sb";
    static final long SIZE = 64L << 20;

    static BraidCluster c;
    static Blocks b;

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockSplitBrainIT.class, 3);
        b = new Blocks(c);
        b.createStarted(VOL, "64M", 0, 1);
        b.set(VOL, "cluster.quorum-type", "none");
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    private static byte[] imageBlock(int server, long offset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(c.brickPath(server, VOL).resolve("block.img").toFile(), "r")) {
            byte[] buf = new byte[4096];
            f.seek(offset);
            f.readFully(buf);
            return buf;
        }
    }

    @Test
    void splitBrainIsReportedNotHealedUntilTheOperatorPicksASource() throws Exception {
        int a = b.awaitPrimary(VOL, 30_000);
        int bb = 1 - a;
        int cc = 2;
        String brickB = c.brick(bb, VOL);

        // common history, on both
        TreeMap<Long, byte[]> base = Blocks.scatteredBlocks(0, SIZE, 64, 100);
        try (NbdClient nbd = b.connect(cc, VOL)) {
            Blocks.writeAll(nbd, base);
            nbd.flush();
        }

        // B down; A writes X (some of it over the common history)
        c.server(bb).kill();
        TreeMap<Long, byte[]> x = Blocks.scatteredBlocks(0, SIZE, 48, 101);
        int i = 0;
        for (long off : base.keySet()) {
            if (i++ % 4 == 0) x.put(off, Blocks.randomBytes(new java.util.SplittableRandom(off), 4096));
        }
        try (NbdClient nbd = b.connect(a, VOL)) {
            Blocks.writeAll(nbd, x);
            nbd.flush();
        }

        // A down; B comes back and, without quorum, is promoted although it missed X
        c.server(a).kill();
        c.server(bb).start();
        assertEquals(bb, b.awaitPrimary(VOL, 60_000, a), "B promoted");
        TreeMap<Long, byte[]> y = Blocks.scatteredBlocks(0, SIZE, 48, 102);
        i = 0;
        for (long off : x.keySet()) {
            if (i++ % 3 == 0) y.put(off, Blocks.randomBytes(new java.util.SplittableRandom(off + 1), 4096));
        }
        try (NbdClient nbd = b.connect(cc, VOL)) {
            Blocks.writeAll(nbd, y);
            nbd.flush();
        }
        JsonElement aResyncBefore = Blocks.lastResync(b.status(VOL, true), b, a);

        // A returns: both sides wrote while apart
        c.server(a).start();
        JsonObject st = b.awaitStatus(VOL, 60_000, "split-brain reported for A's brick",
                s -> b.brickOf(s, a).get("online").getAsBoolean() && b.brickOf(s, a).get("splitBrain").getAsBoolean());
        assertEquals("primary", b.brickOf(st, bb).get("role").getAsString(), st::toString);
        assertEquals("secondary", b.brickOf(st, a).get("role").getAsString(), st::toString);
        assertNotEquals("UpToDate", b.brickOf(st, a).get("state").getAsString(), st::toString);
        JsonObject heal = b.healInfo(VOL, false);
        JsonObject healA = b.brickOf(heal, a);
        assertTrue(healA.get("splitBrain").getAsLong() > 0, heal::toString);
        assertEquals("split-brain", healA.get("status").getAsString(), heal::toString);

        // refused: nothing was copied either way, even after a while
        long deadline = System.currentTimeMillis() + 5_000;
        while (System.currentTimeMillis() < deadline) Thread.sleep(250);
        st = b.status(VOL, true);
        assertEquals(aResyncBefore, b.brickOf(st, a).get("lastResync"), "A was not resynced: " + st);
        assertTrue(b.brickOf(st, a).get("splitBrain").getAsBoolean(), st::toString);
        Path imgA = c.brickPath(a, VOL).resolve("block.img");
        Path imgB = c.brickPath(bb, VOL).resolve("block.img");
        assertNotEquals(-1L, Files.mismatch(imgA, imgB), "the two images still differ");
        for (Map.Entry<Long, byte[]> e : x.entrySet()) {
            assertArrayEquals(e.getValue(), imageBlock(a, e.getKey()), "A still holds X at " + e.getKey());
        }
        for (Map.Entry<Long, byte[]> e : y.entrySet()) {
            assertArrayEquals(e.getValue(), imageBlock(bb, e.getKey()), "B holds Y at " + e.getKey());
        }
        // clients see the primary's side (B) through every server
        for (int s = 0; s < 3; s++) {
            try (NbdClient nbd = b.connect(s, VOL)) {
                Blocks.assertReads(nbd, y);
            }
        }

        // the operator picks B
        CliResult r = c.cli(cc, "volume", "heal", VOL, "split-brain", "source-brick", brickB);
        Cli.assertOk(r);
        st = b.awaitStatus(VOL, 90_000, "A resynced from B after the split-brain resolution", s -> {
            JsonObject ba = b.brickOf(s, a);
            JsonElement lr = ba.get("lastResync");
            return "UpToDate".equals(ba.get("state").getAsString()) && !ba.get("splitBrain").getAsBoolean()
                    && lr != null && lr.isJsonObject() && !lr.equals(aResyncBefore);
        });
        assertEquals(bb, b.primary(VOL), st::toString);
        System.out.println("[BlockSplitBrainIT] resolution resync into A: " + b.brickOf(st, a).get("lastResync"));
        JsonObject healAfter = b.healInfo(VOL, false);
        for (JsonObject br : Blocks.bricks(healAfter)) {
            assertEquals(0, br.get("splitBrain").getAsLong(), healAfter::toString);
            assertEquals(0, br.get("outOfSyncBytes").getAsLong(), healAfter::toString);
        }
        b.assertVerifyClean(VOL, SIZE);
        assertEquals(-1L, Files.mismatch(imgA, imgB), "A's image is now B's, byte for byte");

        // what B had: Y where B wrote, the common history where only A wrote over it, zeros elsewhere of X
        TreeMap<Long, byte[]> expected = new TreeMap<>();
        for (long off : x.keySet()) expected.put(off, base.getOrDefault(off, new byte[4096]));
        expected.putAll(y);
        for (Map.Entry<Long, byte[]> e : base.entrySet()) if (!y.containsKey(e.getKey())) expected.put(e.getKey(), e.getValue());
        for (int s = 0; s < 3; s++) {
            try (NbdClient nbd = b.connect(s, VOL)) {
                Blocks.assertReads(nbd, expected);
            }
        }
        for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
            assertArrayEquals(e.getValue(), imageBlock(a, e.getKey()), "A's image at " + e.getKey() + " (X undone, Y copied)");
        }
    }
}
