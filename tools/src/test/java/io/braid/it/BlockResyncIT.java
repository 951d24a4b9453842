package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A secondary that misses writes (killed, paused past the ping timeout, or wiped) catches up:
 * the primary's dirty bitmap counts exactly the blocks it missed, the resync copies only those
 * (partial) or everything (full, for a wiped brick), the rate limit paces it while heal info
 * reports progress, and verify finds the replicas equal afterwards.
 *
 * <p>Replica 2 on servers 0 and 1; server 2 holds no brick and is where the writes go in.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class BlockResyncIT {
    static final String VOL = "rs";
    static final long SIZE = 128L << 20;
    static final int N = 64;

    static BraidCluster c;
    static Blocks b;
    /** Everything written so far, by offset: it must read back from every brick at the end. */
    static final TreeMap<Long, byte[]> written = new TreeMap<>();

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockResyncIT.class, 3);
        b = new Blocks(c);
        b.createStarted(VOL, "128M", 0, 1);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    private static int secondary() throws InterruptedException {
        int p = b.awaitPrimary(VOL, 30_000);
        assertTrue(p == 0 || p == 1, "primary on a brick server");
        return 1 - p;
    }

    /** Polls heal info until the brick on server s shows the expected out-of-sync bytes; returns the last answer. */
    private static JsonObject awaitOutOfSync(int s, long expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15_000;
        JsonObject heal;
        while (true) {
            heal = b.healInfo(VOL, false);
            if (b.brickOf(heal, s).get("outOfSyncBytes").getAsLong() == expected) return heal;
            if (System.currentTimeMillis() > deadline) break;
            Thread.sleep(200);
        }
        JsonObject last = heal;
        assertEquals(expected, b.brickOf(heal, s).get("outOfSyncBytes").getAsLong(), () -> "heal info: " + last);
        return heal;
    }

    private static void assertPartialResync(JsonObject lr, long dirtyBytes) {
        assertEquals("partial", lr.get("kind").getAsString(), lr::toString);
        long bytes = lr.get("bytes").getAsLong();
        // random data does not compress: every missed block travels, and nothing much else
        assertTrue(bytes >= dirtyBytes, () -> "resync sent " + bytes + " bytes for " + dirtyBytes + " dirty bytes: " + lr);
        assertTrue(bytes <= (long) (1.1 * dirtyBytes) + (64 << 10),
                () -> "resync sent " + bytes + " bytes for " + dirtyBytes + " dirty bytes: " + lr);
    }

    private static void assertEveryBrickReadsBack() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (NbdClient nbd = b.connect(i, VOL)) {
                Blocks.assertReads(nbd, written);
            }
        }
        b.assertVerifyClean(VOL, SIZE);
        b.assertImagesIdentical(VOL, 0, 1);
    }

    @Test
    @Order(1)
    void killedSecondaryGetsAPartialResyncOfExactlyWhatItMissed() throws Exception {
        int s = secondary();
        JsonElement before = Blocks.lastResync(b.status(VOL, true), b, s);

        c.server(s).kill();
        Map<Long, byte[]> blocks = Blocks.scatteredBlocks(0, SIZE, N, 1);
        try (NbdClient nbd = b.connect(2, VOL)) {
            Blocks.writeAll(nbd, blocks);
        }
        written.putAll(blocks);
        JsonObject heal = awaitOutOfSync(s, N * 4096L);
        assertFalse(b.brickOf(heal, s).get("connected").getAsBoolean(), heal::toString);
        assertEquals(N, b.brickOf(heal, s).get("entries").getAsLong(), heal::toString);

        c.server(s).start();
        JsonObject lr = b.awaitNewResync(VOL, s, before, 60_000);
        assertPartialResync(lr, N * 4096L);
        awaitOutOfSync(s, 0);
        assertEveryBrickReadsBack();
    }

    @Test
    @Order(2)
    void secondaryPausedPastThePingTimeoutWhileWritingGetsAPartialResync() throws Exception {
        int s = secondary();
        JsonElement before = Blocks.lastResync(b.status(VOL, true), b, s);
        Map<Long, byte[]> early = Blocks.scatteredBlocks(0, SIZE, 16, 2);
        Map<Long, byte[]> missed = Blocks.scatteredBlocks(0, SIZE, N, 3);
        missed.keySet().removeAll(early.keySet());
        long maxWriteMs = 0;
        try (NbdClient nbd = b.connect(2, VOL)) {
            Blocks.writeAll(nbd, early); // replicated to both while the secondary runs
            b.pause(s);
            try {
                for (Map.Entry<Long, byte[]> e : missed.entrySet()) {
                    long t = System.nanoTime();
                    nbd.write(e.getKey(), e.getValue());
                    maxWriteMs = Math.max(maxWriteMs, (System.nanoTime() - t) / 1_000_000);
                }
                written.putAll(early);
                written.putAll(missed);
                // the first write waited for the ping timeout (2 s) to give up on the paused secondary, not forever
                assertTrue(maxWriteMs < 12_000, "a write stalled " + maxWriteMs + " ms");
                JsonObject heal = awaitOutOfSync(s, missed.size() * 4096L);
                assertFalse(b.brickOf(heal, s).get("connected").getAsBoolean(), heal::toString);
            } finally {
                b.resume(s);
            }
        }
        JsonObject lr = b.awaitNewResync(VOL, s, before, 60_000);
        assertPartialResync(lr, missed.size() * 4096L);
        awaitOutOfSync(s, 0);
        assertEveryBrickReadsBack();
    }

    @Test
    @Order(3)
    void wipedBrickGetsAFullResync() throws Exception {
        int s = secondary();
        assertEquals(143, c.server(s).stop(), "braidd exits 143 on SIGTERM");
        Path brick = c.brickPath(s, VOL);
        Files.delete(brick.resolve("block.img"));
        deleteTree(brick.resolve(".braid"));

        Map<Long, byte[]> more = Blocks.scatteredBlocks(0, SIZE, 16, 4);
        try (NbdClient nbd = b.connect(2, VOL)) {
            Blocks.writeAll(nbd, more);
        }
        written.putAll(more);

        c.server(s).start();
        JsonObject st = b.awaitStatus(VOL, 90_000, "a full resync into the wiped brick", x -> {
            JsonObject br = b.brickOf(x, s);
            JsonElement lr = br.get("lastResync");
            return "UpToDate".equals(br.get("state").getAsString()) && lr != null && lr.isJsonObject()
                    && "full".equals(lr.getAsJsonObject().get("kind").getAsString());
        });
        assertEquals("secondary", b.brickOf(st, s).get("role").getAsString(), st::toString);
        assertTrue(Files.isDirectory(brick.resolve(".braid")), "brick metadata recreated");
        assertEquals(SIZE, Files.size(brick.resolve("block.img")));
        awaitOutOfSync(s, 0);
        assertEveryBrickReadsBack();
    }

    @Test
    @Order(4)
    void rateLimitedResyncReportsProgressAndFinishes() throws Exception {
        int s = secondary();
        JsonElement before = Blocks.lastResync(b.status(VOL, true), b, s);
        b.set(VOL, "heal.rate-limit", "8M");
        try {
            c.server(s).kill();
            long dirty = 32L << 20;
            writeRandomRange(64L << 20, dirty, 5);
            awaitOutOfSync(s, dirty);

            c.server(s).start();
            JsonObject progressSeen = null;
            JsonObject lr = null;
            long deadline = System.currentTimeMillis() + 90_000;
            while (lr == null && System.currentTimeMillis() < deadline) {
                JsonObject sum = b.healInfo(VOL, true);
                JsonElement p = sum.get("progress");
                if (p != null && p.isJsonObject()) {
                    JsonObject po = p.getAsJsonObject();
                    double done = po.get("done").getAsDouble();
                    long remaining = po.get("bytesRemaining").getAsLong();
                    if (done >= 0 && done < 1 && remaining > 0 && progressSeen == null) progressSeen = sum;
                }
                JsonObject br = b.brickOf(b.status(VOL, true), s);
                JsonElement l = br.get("lastResync");
                if ("UpToDate".equals(br.get("state").getAsString()) && l != null && l.isJsonObject() && !l.equals(before)) {
                    lr = l.getAsJsonObject();
                }
                Thread.sleep(100);
            }
            assertTrue(lr != null, "the rate-limited resync did not finish within 90 s");
            assertTrue(progressSeen != null, "heal info summary never showed progress while the resync ran");
            System.out.println("[BlockResyncIT] progress seen: " + progressSeen.get("progress") + "; last resync " + lr);
            JsonObject seen = progressSeen;
            assertTrue(seen.get("progress").getAsJsonObject().get("bytesRemaining").getAsLong() <= dirty, seen::toString);
            assertPartialResync(lr, dirty);
            // paced: 32 MiB at 8 MiB/s cannot take much less than 4 s
            double seconds = lr.get("seconds").getAsDouble();
            assertTrue(seconds >= 2.0, "a resync of " + dirty + " bytes at 8 MiB/s took " + seconds + " s");
        } finally {
            Cli.assertOk(c.cliUntilOk(b.live(), 20_000, "volume", "reset", VOL, "heal.rate-limit"));
        }
        awaitOutOfSync(s, 0);
        assertEveryBrickReadsBack();
    }

    @Test
    @Order(5)
    void interruptedResyncResumesWhereItStopped() throws Exception {
        int s = secondary();
        JsonElement before = Blocks.lastResync(b.status(VOL, true), b, s);
        b.set(VOL, "heal.rate-limit", "4M");
        try {
            c.server(s).kill();
            long dirty = 24L << 20;
            writeRandomRange(16L << 20, dirty, 7);
            awaitOutOfSync(s, dirty);

            // Start the resync, let a good part of it happen, and kill the target in the middle.
            c.server(s).start();
            long deadline = System.currentTimeMillis() + 60_000;
            long remaining = dirty;
            while (remaining > dirty * 2 / 3 && System.currentTimeMillis() < deadline) {
                remaining = b.brickOf(b.healInfo(VOL, false), s).get("outOfSyncBytes").getAsLong();
                Thread.sleep(100);
            }
            assertTrue(remaining <= dirty * 2 / 3 && remaining > 0, "resync progress: " + remaining + " of " + dirty);
            c.server(s).kill();
            Thread.sleep(3000); // past the ping timeout: the primary notices
            long left = b.brickOf(b.healInfo(VOL, false), s).get("outOfSyncBytes").getAsLong();
            assertTrue(left > 0 && left < dirty, "after the interruption " + left + " of " + dirty + " bytes remain");

            c.server(s).start();
            JsonObject lr = b.awaitNewResync(VOL, s, before, 90_000);
            long bytes = lr.get("bytes").getAsLong();
            System.out.println("[BlockResyncIT] interrupted with " + left + " of " + dirty + " bytes left; resumed resync sent " + bytes);
            assertEquals("partial", lr.get("kind").getAsString(), lr::toString);
            // Only what was left travels again (plus the chunks in flight at the kill).
            assertTrue(bytes <= (long) (1.1 * left) + (2 << 20), () -> "resumed resync sent " + bytes + " for " + left + " left: " + lr);
            assertTrue(bytes < dirty * 9 / 10, () -> "resumed resync sent " + bytes + " of " + dirty + ": it started over");
        } finally {
            Cli.assertOk(c.cliUntilOk(b.live(), 20_000, "volume", "reset", VOL, "heal.rate-limit"));
        }
        awaitOutOfSync(s, 0);
        assertEveryBrickReadsBack();
    }

    /** Writes random data over [from, from+bytes) in 1 MiB requests through the brickless server. */
    private static void writeRandomRange(long from, long bytes, long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        try (NbdClient nbd = b.connect(2, VOL)) {
            for (long off = from; off < from + bytes; off += 1 << 20) {
                byte[] data = Blocks.randomBytes(r, 1 << 20);
                nbd.write(off, data);
                for (int i = 0; i < data.length; i += 4096) {
                    written.put(off + i, java.util.Arrays.copyOfRange(data, i, i + 4096));
                }
            }
        }
    }

    private static void deleteTree(Path p) throws java.io.IOException {
        try (var walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        }
        assertFalse(Files.exists(p));
    }
}
