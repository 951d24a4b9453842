package io.braid.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.store.KeyValueStore;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas in one JVM over in-process gRPC: a unit-level check of the engine's protocol
 * (replication, drop, bitmap, partial resync). The real-process tests live in tools' ITs.
 */
class ReplicationEngineTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    private final Map<String, Boolean> up = new ConcurrentHashMap<>();
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final List<String> marks = new CopyOnWriteArrayList<>();
    private final Map<String, Server> servers = new ConcurrentHashMap<>();
    private final Map<String, ReplicaNode> nodes = new ConcurrentHashMap<>();
    private final List<KeyValueStore> stores = new CopyOnWriteArrayList<>();
    private final String suffix = Long.toString(System.nanoTime());
    private char protocol = 'C';
    private int replicas = 2;
    private String quorumType = "none";
    /** markSync(out) answers: stale epoch (a deposed primary), or fails this many more times first. */
    private volatile boolean staleEpoch;
    private final java.util.concurrent.atomic.AtomicInteger markFailures = new java.util.concurrent.atomic.AtomicInteger();

    private final Coordinator coordinator = new Coordinator() {
        @Override
        public Channel channel(String address) {
            return channels.computeIfAbsent(address, a -> InProcessChannelBuilder.forName(a).build());
        }

        @Override
        public boolean reachable(String nodeUuid) {
            return up.getOrDefault(nodeUuid, false);
        }

        @Override
        public CompletableFuture<Boolean> confirmPrimary(String volume, int set, long epoch, int brick) {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public CompletableFuture<Void> markSync(String volume, int set, long epoch, int brick, boolean inSync) {
            if (staleEpoch) return CompletableFuture.failedFuture(new StaleEpochException("stale epoch " + epoch));
            if (markFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                return CompletableFuture.failedFuture(new IllegalStateException("no leader in the configuration store"));
            }
            marks.add(brick + (inSync ? " in" : " out"));
            return CompletableFuture.completedFuture(null);
        }
    };

    private SetView view() {
        List<SetView.Member> members = new java.util.ArrayList<>();
        for (int i = 1; i <= replicas; i++) {
            members.add(new SetView.Member("h" + i + ":/b", "u" + i, "n" + i + "-" + suffix, false));
        }
        return new SetView("vm", "id-1", 0, SIZE, 1, 0, members, Set.of(), Set.of(),
                new SetView.Options(1, protocol, quorumType, 0, 0));
    }

    private ReplicaNode open(String brick, String uuid, String address) throws Exception {
        Path b = dir.resolve(uuid);
        Files.createDirectories(b);
        KeyValueStore kv = KeyValueStore.open(b.resolve("meta"));
        stores.add(kv);
        ReplicaNode n = new ReplicaNode(brick, b.resolve("block.img"), kv, view(), coordinator);
        nodes.put(uuid, n);
        serve(uuid, address);
        up.put(uuid, true);
        return n;
    }

    private void serve(String uuid, String address) throws Exception {
        ReplicaRegistry reg = new ReplicaRegistry() {
            @Override
            public ReplicaNode byBrick(String brick) {
                ReplicaNode n = nodes.get(uuid);
                return n != null && n.brick().equals(brick) ? n : null;
            }

            @Override
            public ReplicaNode localPrimary(String volume) {
                ReplicaNode n = nodes.get(uuid);
                return n != null && n.primary() != null ? n : null;
            }
        };
        servers.put(uuid, InProcessServerBuilder.forName(address).addService(new ReplicationService(reg)).build().start());
    }

    @BeforeEach
    void quiet() {
        up.clear();
    }

    @AfterEach
    void close() {
        nodes.values().forEach(ReplicaNode::close);
        servers.values().forEach(Server::shutdownNow);
        channels.values().forEach(ManagedChannel::shutdownNow);
        stores.forEach(KeyValueStore::close);
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    private static ByteBuffer random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    @Test
    void replicatesDropsAndCatchesUpWithAPartialResync() throws Exception {
        ReplicaNode p = open("h1:/b", "u1", "n1-" + suffix);
        ReplicaNode s = open("h2:/b", "u2", "n2-" + suffix);
        PrimaryEngine engine = p.primary();
        assertNotNull(engine);
        await("initial resync", () -> s.state().equals("UpToDate"));
        assertEquals("full", s.lastResync().kind());

        engine.write(4096, random(8192, 1), false).get(10, TimeUnit.SECONDS);
        engine.flush().get(10, TimeUnit.SECONDS);
        assertArrayEquals(random(8192, 1).array(), read(dir.resolve("u2/block.img"), 4096, 8192));

        // The secondary goes away: the write completes once the drop is recorded.
        servers.remove("u2").shutdownNow();
        up.put("u2", false);
        engine.write(1 << 20, random(4096, 2), false).get(10, TimeUnit.SECONDS);
        engine.write(3 << 20, random(4096, 3), false).get(10, TimeUnit.SECONDS);
        assertTrue(marks.contains("1 out"), marks.toString());
        assertEquals(8192, engine.peers().get(0).outOfSyncBytes());

        serve("u2", "n2-" + suffix);
        up.put("u2", true);
        await("partial resync", () -> s.state().equals("UpToDate") && s.lastResync().kind().equals("partial"));
        assertTrue(s.lastResync().bytes() < 3 * 4096, "sent " + s.lastResync().bytes());
        engine.flush().get(10, TimeUnit.SECONDS);
        assertArrayEquals(Files.readAllBytes(dir.resolve("u1/block.img")), Files.readAllBytes(dir.resolve("u2/block.img")));
        assertEquals(0, engine.peers().get(0).outOfSyncBytes());
        assertEquals(p.checksums(0, SIZE), s.checksums(0, SIZE));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(chars = {'A', 'B'})
    void asynchronousAndMemoryAckProtocolsReplicateToo(char p) throws Exception {
        protocol = p;
        ReplicaNode primary = open("h1:/b", "u1", "n1-" + suffix);
        ReplicaNode s = open("h2:/b", "u2", "n2-" + suffix);
        await("initial resync", () -> s.state().equals("UpToDate"));
        PrimaryEngine engine = primary.primary();
        for (int i = 0; i < 32; i++) engine.write(i * 65536L, random(4096, i), false).get(10, TimeUnit.SECONDS);
        // A flush waits for the secondaries under B (and C); under A it is local only.
        engine.flush().get(10, TimeUnit.SECONDS);
        await("replicated writes", () -> {
            try {
                return java.util.Arrays.equals(read(dir.resolve("u1/block.img"), 0, 32 * 65536),
                        read(dir.resolve("u2/block.img"), 0, 32 * 65536));
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** The errno a failed request completed with (0 if it succeeded). */
    private static int errno(CompletableFuture<?> f) throws Exception {
        try {
            f.get(20, TimeUnit.SECONDS);
            return 0;
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable t = ReplicationService.cause(e.getCause());
            if (t instanceof io.braid.nbd.NbdError n) return n.errno();
            throw e;
        }
    }

    @Test
    void aJustPromotedPrimaryHoldsWritesUntilItsLinksConnectInsteadOfFailingThem() throws Exception {
        // Replica 3, quorum auto: the new primary's links need a moment to connect after it starts
        // (the failover of a killed primary). A write arriving then must wait, not get EIO.
        replicas = 3;
        quorumType = "auto";
        open("h2:/b", "u2", "n2-" + suffix);
        open("h3:/b", "u3", "n3-" + suffix);
        up.put("u2", false);
        up.put("u3", false);
        ReplicaNode p = open("h1:/b", "u1", "n1-" + suffix);
        PrimaryEngine engine = p.primary();
        assertNotNull(engine);
        CompletableFuture<Void> w = engine.write(4096, random(4096, 7), false);
        Thread.sleep(300);
        up.put("u2", true);
        assertEquals(0, errno(w));
        assertArrayEquals(random(4096, 7).array(), read(dir.resolve("u1/block.img"), 4096, 4096));
    }

    @Test
    void quorumThatStaysLostStillFailsWritesWithEio() throws Exception {
        replicas = 3;
        quorumType = "auto";
        ReplicaNode p = open("h1:/b", "u1", "n1-" + suffix); // the other two never answer
        long t = System.nanoTime();
        assertEquals(io.braid.nbd.NbdError.EIO, errno(p.primary().write(0, random(4096, 1), false)));
        assertTrue(System.nanoTime() - t < TimeUnit.SECONDS.toNanos(5), "held past the ping timeout");
        // past the start-up grace, at once
        assertEquals(io.braid.nbd.NbdError.EIO, errno(p.primary().write(0, random(4096, 1), false)));
    }

    @Test
    void aStoreWithoutALeaderForAMomentDelaysTheWriteInsteadOfFailingIt() throws Exception {
        quorumType = "auto"; // replica 2 with the first brick: quorum met alone, the peer must be recorded
        markFailures.set(3);
        ReplicaNode p = open("h1:/b", "u1", "n1-" + suffix); // h2 never answers
        assertEquals(0, errno(p.primary().write(0, random(4096, 1), false)));
        assertTrue(marks.contains("1 out"), marks.toString());
    }

    @Test
    void aDeposedPrimaryAnswersNotPrimarySoTheWriteGoesToTheNewOne() throws Exception {
        quorumType = "auto";
        staleEpoch = true; // another brick was promoted: recording the dropped peer is refused
        ReplicaNode p = open("h1:/b", "u1", "n1-" + suffix);
        PrimaryEngine engine = p.primary();
        assertEquals(ReplicationService.NOT_PRIMARY, errno(engine.write(0, random(4096, 1), false)));
        engine.demote();
        assertEquals(ReplicationService.NOT_PRIMARY, errno(engine.write(0, random(4096, 1), false)));
        assertEquals(ReplicationService.NOT_PRIMARY, errno(engine.flush()));
    }

    private static byte[] read(Path f, long off, int len) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(f)) {
            ByteBuffer b = ByteBuffer.allocate(len);
            ch.read(b, off);
            return b.array();
        }
    }
}
