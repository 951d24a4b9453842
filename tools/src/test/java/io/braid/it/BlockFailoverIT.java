package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Replica 3 with quorum (auto): an NBD client on a non-primary server rides through the loss of
 * the primary's server, loses no acknowledged write, and the old primary returns as a secondary;
 * with two of three servers gone the survivor refuses writes instead of acknowledging them.
 */
@Timeout(600)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class BlockFailoverIT {
    static final String VOL = "fo";
    static final long SIZE = 128L << 20;
    static final int PING_TIMEOUT_S = 2;

    static BraidCluster c;
    static Blocks b;
    /** Every acknowledged write, by offset (each offset is written at most once per writer run). */
    static final TreeMap<Long, byte[]> acked = new TreeMap<>();

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockFailoverIT.class, 3);
        b = new Blocks(c);
        b.createStarted(VOL, "128M", 0, 1, 2);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    /** Writes 4 KiB random blocks at distinct offsets through one NBD connection, recording what was acknowledged. */
    static final class Writer extends Thread {
        final ConcurrentSkipListMap<Long, byte[]> done = new ConcurrentSkipListMap<>();
        final List<Long> ackTimes = Collections.synchronizedList(new ArrayList<>());
        /** Offsets in the order their writes were acknowledged. */
        final List<Long> ackOrder = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger failures = new AtomicInteger();
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        private final NbdClient nbd;
        private final List<Long> offsets;
        private final SplittableRandom random;
        private volatile boolean stop;

        Writer(NbdClient nbd, long seed) {
            super("nbd-writer");
            setDaemon(true);
            this.nbd = nbd;
            this.random = new SplittableRandom(seed);
            List<Long> all = new ArrayList<>();
            for (long off = 0; off < SIZE; off += 4096) all.add(off);
            Collections.shuffle(all, new java.util.Random(seed));
            this.offsets = all;
        }

        @Override
        public void run() {
            for (long off : offsets) {
                if (stop) return;
                byte[] data = Blocks.randomBytes(random, 4096);
                try {
                    int e = nbd.writeErrno(off, data, false);
                    if (e == 0) {
                        done.put(off, data);
                        ackOrder.add(off);
                        ackTimes.add(System.nanoTime());
                    } else {
                        failures.incrementAndGet();
                        errors.add("WRITE " + off + ": errno " + e);
                    }
                } catch (IOException ex) {
                    failures.incrementAndGet();
                    errors.add("WRITE " + off + ": " + ex);
                    return; // the connection is gone
                }
            }
        }

        int count() {
            return done.size();
        }

        void finish() throws InterruptedException {
            stop = true;
            join(60_000);
            assertTrue(!isAlive(), "writer did not stop");
        }

        /** The longest time between two acknowledgements, or from {@code since} to the first one after it. */
        long maxGapMs(long since) {
            long max = 0;
            long prev = since;
            synchronized (ackTimes) {
                for (long t : ackTimes) {
                    if (t < since) continue;
                    max = Math.max(max, t - prev);
                    prev = t;
                }
            }
            return max / 1_000_000;
        }
    }

    private static void awaitCount(Writer w, int n, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (w.count() < n && w.isAlive() && System.currentTimeMillis() < deadline) Thread.sleep(50);
        assertTrue(w.count() >= n, "writer acknowledged " + w.count() + " writes, wanted " + n + "; failures "
                + w.failures + " " + w.errors);
    }

    /** The brick on the server is UpToDate with a lastResync other than {@code before}; false also when status cannot be had. */
    private static boolean resyncedSince(int server, JsonElement before) {
        try {
            JsonObject br = b.brickOf(b.status(VOL, true), server);
            JsonElement lr = br.get("lastResync");
            return "UpToDate".equals(br.get("state").getAsString()) && lr != null && lr.isJsonObject() && !lr.equals(before);
        } catch (AssertionError | RuntimeException e) {
            return false;
        }
    }

    private static boolean upToDateSecondary(int server) {
        try {
            JsonObject br = b.brickOf(b.status(VOL, false), server);
            return "secondary".equals(br.get("role").getAsString()) && "UpToDate".equals(br.get("state").getAsString());
        } catch (AssertionError | RuntimeException e) {
            return false;
        }
    }

    private static void assertAckedReadBack(int server) throws IOException {
        try (NbdClient nbd = b.connect(server, VOL)) {
            Blocks.assertReads(nbd, acked);
        }
    }

    @Test
    @Order(1)
    void clientOnANonPrimaryRidesThroughKillOfThePrimary() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int w = (p + 1) % 3;          // the writer's server, never killed
        int third = (p + 2) % 3;
        Writer writer;
        long killedAt;
        int atKill;
        try (NbdClient nbd = b.connect(w, VOL)) {
            writer = new Writer(nbd, 11);
            writer.start();
            try {
                awaitCount(writer, 200, 60_000);
                atKill = writer.count();
                c.server(p).kill();
                killedAt = System.nanoTime();
                awaitCount(writer, atKill + 300, 60_000);
                int promoted = b.awaitPrimary(VOL, 30_000, p);
                assertNotEquals(p, promoted);
                awaitCount(writer, writer.count() + 100, 30_000);
            } finally {
                writer.finish();
            }
        }
        long gap = writer.maxGapMs(killedAt);
        System.out.println("[BlockFailoverIT] " + writer.count() + " writes acknowledged; longest stall after kill -9 of the primary: "
                + gap + " ms");
        assertEquals(0, writer.failures.get(), () -> "writes failed during the failover: " + writer.errors);
        assertTrue(gap <= (PING_TIMEOUT_S + 10) * 1000L, "the writer stalled " + gap + " ms");
        acked.putAll(writer.done);

        JsonObject st = b.status(VOL, true);
        int np = b.primary(VOL);
        assertTrue(np == w || np == third, st::toString);
        assertEquals("Unknown", b.brickOf(st, p).get("state").getAsString(), st::toString);
        assertAckedReadBack(w);
        assertAckedReadBack(third);

        // The old primary comes back. Its resync is slowed down, so that a read through it answered
        // from its own image (which missed the writes above) would be caught.
        JsonElement before = Blocks.lastResync(st, b, p);
        b.set(VOL, "heal.rate-limit", "2M");
        // the blocks written after the kill: the old primary never saw them
        List<Long> missed = new ArrayList<>(writer.ackOrder.subList(atKill, writer.ackOrder.size()));
        Collections.shuffle(missed, new java.util.Random(3));
        missed = missed.subList(0, Math.min(200, missed.size()));
        c.server(p).start();
        int stale = 0;
        int reads = 0;
        long deadline = System.currentTimeMillis() + 90_000;
        String staleAt = null;
        while (System.currentTimeMillis() < deadline) {
            try (NbdClient nbd = NbdClient.connect(c.host(p), NbdClient.PORT, VOL, 30_000)) {
                for (long off : missed) {
                    byte[] got;
                    try {
                        got = nbd.read(off, 4096);
                    } catch (NbdClient.NbdError e) {
                        continue; // an error is allowed while it starts; stale data is not
                    }
                    reads++;
                    if (!Arrays.equals(acked.get(off), got)) {
                        stale++;
                        if (staleAt == null) staleAt = "offset " + off;
                    }
                }
            } catch (IOException e) {
                // not serving yet
            }
            if (resyncedSince(p, before)) break;
            Thread.sleep(100);
        }
        Cli.assertOk(c.cliUntilOk(b.live(), 20_000, "volume", "reset", VOL, "heal.rate-limit"));
        System.out.println("[BlockFailoverIT] reads through the returning old primary: " + reads + ", stale: " + stale);
        assertEquals(0, stale, "reads through the restarted old primary returned data older than acknowledged writes (first at "
                + staleAt + ")");

        st = b.awaitAllUpToDate(VOL, 90_000);
        assertEquals("secondary", b.brickOf(st, p).get("role").getAsString(), st::toString);
        JsonElement lr = b.brickOf(st, p).get("lastResync");
        assertTrue(lr.isJsonObject() && !lr.equals(before), "the old primary was resynced: " + st);
        for (int i = 0; i < 3; i++) assertAckedReadBack(i);
        b.assertVerifyClean(VOL, SIZE);
        b.assertImagesIdentical(VOL, 0, 1, 2);
    }

    @Test
    @Order(2)
    void withTwoOfThreeServersGoneTheSurvivorRefusesWrites() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        Map<Long, byte[]> before = Blocks.scatteredBlocks(0, SIZE, 64, 21);
        try (NbdClient nbd = b.connect(p, VOL)) {
            Blocks.writeAll(nbd, before);
            nbd.flush();
        }
        acked.putAll(before);

        int k1 = (p + 1) % 3;
        int k2 = (p + 2) % 3;
        c.server(k1).kill();
        c.server(k2).kill();
        Map<Long, byte[]> refused = Blocks.scatteredBlocks(0, SIZE, 5, 22);
        refused.keySet().removeAll(acked.keySet());
        try (NbdClient nbd = NbdClient.connect(c.host(p), NbdClient.PORT, VOL, 60_000)) {
            for (Map.Entry<Long, byte[]> e : refused.entrySet()) {
                long t = System.nanoTime();
                int errno = nbd.writeErrno(e.getKey(), e.getValue(), false);
                long ms = (System.nanoTime() - t) / 1_000_000;
                assertEquals(NbdClient.EIO, errno, "a write through the only surviving server (the primary) after "
                        + ms + " ms, with quorum auto on replica 3");
            }
        }

        c.server(k1).start();
        c.server(k2).start();
        b.awaitAllUpToDate(VOL, 90_000);
        for (int i = 0; i < 3; i++) assertAckedReadBack(i);
        b.assertVerifyClean(VOL, SIZE);
    }

    @Test
    @Order(3)
    void pausedPrimaryIsReplacedAndResumesAsSecondaryWithoutServingOldData() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int w = (p + 1) % 3;
        TreeMap<Long, byte[]> v1 = Blocks.scatteredBlocks(0, SIZE, 64, 31);
        try (NbdClient nbd = b.connect(w, VOL)) {
            Blocks.writeAll(nbd, v1);
        }
        acked.putAll(v1);

        // The primary's server freezes (SIGSTOP) past the ping timeout. The client on w must ride
        // through as it does when the server dies: every write within ping-timeout + 10 s. Each
        // request is bounded (ping-timeout + 20 s), so that a hang fails here and the frozen server
        // is resumed well before Ratis's own 60 s pause threshold.
        List<String> failures = new ArrayList<>();
        TreeMap<Long, byte[]> v2 = new TreeMap<>();
        SplittableRandom r = new SplittableRandom(32);
        for (long off : v1.keySet()) v2.put(off, Blocks.randomBytes(r, 4096));
        TreeMap<Long, byte[]> v2acked = new TreeMap<>();
        long stall = -1;
        TreeMap<Long, byte[]> v3 = Blocks.scatteredBlocks(0, SIZE, 32, 33);
        v3.keySet().removeAll(v1.keySet());
        int staleQueued = 0;
        int queuedAnswered = 0;
        // a client of the old primary's server, connected before the freeze
        NbdClient probe = NbdClient.connect(c.host(p), NbdClient.PORT, VOL, 30_000);
        b.pause(p);
        try {
            try (NbdClient nbd = NbdClient.connect(c.host(w), NbdClient.PORT, VOL, (PING_TIMEOUT_S + 20) * 1000)) {
                for (Map.Entry<Long, byte[]> e : v2.entrySet()) {
                    long t = System.nanoTime();
                    int errno = nbd.writeErrno(e.getKey(), e.getValue(), false);
                    long ms = (System.nanoTime() - t) / 1_000_000;
                    stall = Math.max(stall, ms);
                    if (errno != 0) {
                        failures.add("a write through server " + w + " while the primary is frozen failed with errno " + errno
                                + " after " + ms + " ms");
                        break;
                    }
                    v2acked.put(e.getKey(), e.getValue());
                }
            } catch (java.net.SocketTimeoutException e) {
                failures.add("a write through server " + w + " got no answer within " + (PING_TIMEOUT_S + 20)
                        + " s after SIGSTOP of the primary's server (" + c.host(p) + "): the forwarded request hangs");
            }
            if (stall > (PING_TIMEOUT_S + 10) * 1000L) failures.add("a write stalled " + stall + " ms after SIGSTOP of the primary");
            int np = b.awaitPrimary(VOL, 30_000, p);
            assertNotEquals(p, np);
            // writes straight to the new primary's server, acknowledged while the old one is frozen
            try (NbdClient nbd = b.connect(np, VOL)) {
                Blocks.writeAll(nbd, v3);
            }
            acked.putAll(v3);
            // READs issued now, after those acknowledgements, wait in the frozen server's socket
            for (long off : v3.keySet()) probe.sendRead(off, off, 4096);
        } finally {
            b.resume(p);
        }
        try {
            for (int i = 0; i < v3.size(); i++) {
                NbdClient.Reply rep = probe.readReply(4096);
                if (rep.errno() != 0) continue;
                queuedAnswered++;
                if (!Arrays.equals(v3.get(rep.cookie()), rep.data())) staleQueued++;
            }
        } catch (IOException e) {
            // the server dropped the connection: allowed
        } finally {
            probe.close();
        }
        System.out.println("[BlockFailoverIT] READs queued at the frozen old primary after writes were acknowledged elsewhere: "
                + queuedAnswered + " answered, " + staleQueued + " with data older than the acknowledged writes");
        if (staleQueued > 0) {
            failures.add(staleQueued + " of " + queuedAnswered + " READs sent to the frozen old primary's server after the"
                    + " new primary had acknowledged writes to those blocks were answered, on SIGCONT, with older data"
                    + " (the deposed primary serves reads from its own image before it learns of the new epoch)");
        }
        System.out.println("[BlockFailoverIT] SIGSTOP of the primary: " + v2acked.size() + "/" + v2.size()
                + " writes acknowledged through server " + w + ", longest " + stall + " ms" + (failures.isEmpty() ? "" : ": " + failures));
        for (Map.Entry<Long, byte[]> e : v3.entrySet()) v2acked.put(e.getKey(), e.getValue());
        // a write that got no answer may or may not have happened: only what was acknowledged is known
        for (long off : v2.keySet()) {
            if (v2acked.containsKey(off)) acked.put(off, v2acked.get(off));
            else acked.remove(off);
        }

        // Right after SIGCONT: what the old primary's server answers must never be older than an
        // acknowledged write, and a write it acknowledges must not be lost.
        int stale = 0;
        int reads = 0;
        String firstStale = null;
        TreeMap<Long, byte[]> viaOld = new TreeMap<>();
        int refused = 0;
        long deadline = System.currentTimeMillis() + 60_000;
        long extra = 0;
        boolean settled = false;
        while (System.currentTimeMillis() < deadline) {
            try (NbdClient nbd = NbdClient.connect(c.host(p), NbdClient.PORT, VOL, 30_000)) {
                for (Map.Entry<Long, byte[]> e : v2acked.entrySet()) {
                    byte[] got;
                    try {
                        got = nbd.read(e.getKey(), 4096);
                    } catch (NbdClient.NbdError ex) {
                        continue;
                    }
                    reads++;
                    if (!Arrays.equals(e.getValue(), got)) {
                        stale++;
                        if (firstStale == null) {
                            firstStale = "offset " + e.getKey()
                                    + (Arrays.equals(v1.get(e.getKey()), got) ? " (the value from before the freeze)" : "");
                        }
                    }
                }
                long off = (SIZE - (1 << 20)) + (extra++ % 256) * 4096;
                byte[] data = Blocks.randomBytes(r, 4096);
                if (nbd.writeErrno(off, data, false) == 0) viaOld.put(off, data);
                else refused++;
            } catch (IOException e) {
                // a connection the server dropped or did not answer: try again
            }
            if (upToDateSecondary(p)) {
                settled = true;
                break;
            }
            Thread.sleep(100);
        }
        System.out.println("[BlockFailoverIT] after SIGCONT, reads through the old primary: " + reads + ", stale: " + stale
                + "; writes through it acknowledged " + viaOld.size() + ", refused " + refused);
        acked.putAll(viaOld);
        if (stale > 0) {
            failures.add(stale + " reads through the resumed old primary returned data older than acknowledged writes (first at "
                    + firstStale + ")");
        }
        if (!settled) failures.add("the resumed old primary did not become an UpToDate secondary within 60 s: " + b.status(VOL, true));

        try {
            JsonObject st = b.awaitAllUpToDate(VOL, 60_000);
            assertEquals("secondary", b.brickOf(st, p).get("role").getAsString(), st::toString);
            for (int i = 0; i < 3; i++) assertAckedReadBack(i);
            b.assertVerifyClean(VOL, SIZE);
        } catch (AssertionError | IOException e) {
            failures.add(String.valueOf(e.getMessage()));
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
