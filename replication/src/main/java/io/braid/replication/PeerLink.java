package io.braid.replication;

import com.google.protobuf.ByteString;
import io.braid.proto.replication.FlushOp;
import io.braid.proto.replication.HandshakeReply;
import io.braid.proto.replication.HandshakeRequest;
import io.braid.proto.replication.NewCurrentOp;
import io.braid.proto.replication.Open;
import io.braid.proto.replication.PingOp;
import io.braid.proto.replication.ReplicaAck;
import io.braid.proto.replication.ReplicaOp;
import io.braid.proto.replication.ReplicationGrpc;
import io.braid.proto.replication.ResyncDoneOp;
import io.braid.proto.replication.ResyncOp;
import io.braid.proto.replication.WriteOp;
import io.braid.proto.replication.ZeroOp;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's connection to one secondary brick. It runs its own thread: wait until the
 * peer's server is reachable, handshake, open the ordered stream, resync what the peer missed,
 * then carry live writes until the stream fails or stalls past the ping timeout, and start over.
 * Every operation sent is pending until the peer acknowledges it; when the link drops, the
 * pending writes go into the peer's dirty bitmap, so nothing is missed.
 */
final class PeerLink {
    private static final Logger LOG = LoggerFactory.getLogger(PeerLink.class);
    private static final int RESYNC_CHUNK_BLOCKS = 256; // 1 MiB
    private static final int RESYNC_WINDOW = 4096; // blocks in flight: 16 MiB
    private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();

    /** An operation sent and not yet acknowledged. */
    private record Pending(long seq, long offset, long length, boolean resync, CompletableFuture<Void> done,
                           long sentNanos) {}

    final SetView.Member peer;
    final int index;
    private final PrimaryEngine engine;
    private final Thread thread;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>(); // guarded by engine.order
    private StreamObserver<ReplicaOp> out;                           // guarded by engine.order
    private volatile boolean live;
    private volatile boolean inSync;
    private volatile boolean splitBrain;
    private volatile boolean resyncing;
    private volatile long resyncTotalBytes;
    private volatile long resyncDoneBytes;
    private volatile long resyncStartNanos;
    private volatile boolean closed;
    private volatile long lastSendNanos;
    private CountDownLatch down = new CountDownLatch(1);
    private long streamGen;                                          // guarded by engine.order
    private final Semaphore window = new Semaphore(RESYNC_WINDOW);

    PeerLink(PrimaryEngine engine, SetView.Member peer, int index) {
        this.engine = engine;
        this.peer = peer;
        this.index = index;
        this.thread = new Thread(this::run, "link-" + engine.volume() + "-" + peer.brick());
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    boolean live() {
        return live;
    }

    boolean inSync() {
        return inSync;
    }

    boolean splitBrain() {
        return splitBrain;
    }

    boolean resyncing() {
        return resyncing;
    }

    long resyncTotalBytes() {
        return resyncTotalBytes;
    }

    double resyncBytesPerSecond() {
        long start = resyncStartNanos;
        if (!resyncing || start == 0) return 0;
        double secs = (System.nanoTime() - start) / 1e9;
        return secs <= 0 ? 0 : resyncDoneBytes / secs;
    }

    private void run() {
        while (!closed) {
            try {
                if (!engine.coordinator().reachable(peer.nodeUuid())) {
                    sleep(300);
                    continue;
                }
                connectOnce();
            } catch (RuntimeException e) {
                if (!closed) LOG.info("{}: link to {}: {}", engine.volume(), peer.brick(), rootMessage(e));
            } catch (InterruptedException e) {
                return;
            }
            drop("link ended");
            if (!closed) sleep(splitBrain ? 2000 : 500);
        }
    }

    private void connectOnce() throws InterruptedException {
        SetView view = engine.view();
        ReplicaMeta meta = engine.meta();
        ReplicationGrpc.ReplicationBlockingStub stub = ReplicationGrpc.newBlockingStub(
                engine.coordinator().channel(peer.address())).withDeadlineAfter(5, TimeUnit.SECONDS);
        HandshakeReply hr = stub.handshake(HandshakeRequest.newBuilder().setVolume(view.volume())
                .setVolumeId(view.volumeId()).setEpoch(view.epoch()).setPrimaryBrick(engine.self())
                .setTargetBrick(peer.brick()).setPrimary(meta.generations()).build());
        boolean discard = view.discard().contains(index);
        SyncPlanner.Decision decision = SyncPlanner.decide(meta.generations(), engine.self(), peer.brick(),
                hr.getTarget(), discard);
        if (decision == SyncPlanner.Decision.SPLIT_BRAIN) {
            if (!splitBrain) LOG.warn("{}: split-brain with {}: both sides wrote while apart; no resync until"
                    + " 'volume heal {} split-brain source-brick' picks a side", view.volume(), peer.brick(), view.volume());
            splitBrain = true;
            engine.ensureOutOfSync(this);
            return;
        }
        splitBrain = false;
        String targetCurrent = hr.getTarget().getCurrent();
        boolean needResync;
        String kind = decision == SyncPlanner.Decision.FULL ? "full" : "partial";
        CountDownLatch myDown;
        synchronized (engine.order) {
            DirtyBitmap bm = meta.bitmap(peer.brick());
            if (decision == SyncPlanner.Decision.FULL) bm.markAll();
            for (long ext : hr.getActivityExtentsList()) bm.mark(ext * ActivityLog.EXTENT, ActivityLog.EXTENT);
            if (discard && !hr.getBitmapForPrimary().isEmpty()) {
                bm.or(DirtyBitmap.fromBytes(engine.image().size(), hr.getBitmapForPrimary().toByteArray()));
            }
            needResync = bm.dirtyBlocks() > 0 || !targetCurrent.equals(meta.current()) || hr.getTarget().getInconsistent();
            String resyncBase = "";
            if (needResync) {
                resyncBase = decision == SyncPlanner.Decision.PARTIAL && !targetCurrent.isEmpty()
                        ? targetCurrent : ReplicaMeta.newId();
                try {
                    meta.setBase(peer.brick(), resyncBase);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            myDown = down = new CountDownLatch(1);
            pending.clear();
            out = openStream(view, needResync, resyncBase);
            live = true;
            inSync = !needResync;
        }
        if (needResync) {
            engine.ensureOutOfSync(this);
            LOG.info("{}: {} resync to {} of {} bytes", view.volume(), kind, peer.brick(),
                    meta.bitmap(peer.brick()).dirtyBytes());
            resync(kind);
        } else {
            LOG.info("{}: {} is in sync", view.volume(), peer.brick());
            engine.markInSync(this);
        }
        myDown.await();
    }

    private StreamObserver<ReplicaOp> openStream(SetView view, boolean needResync, String resyncBase) {
        LinkObserver obs = new LinkObserver(++streamGen);
        StreamObserver<ReplicaOp> s = ReplicationGrpc.newStub(engine.coordinator().channel(peer.address()))
                .replicate(obs);
        s.onNext(ReplicaOp.newBuilder().setOpen(Open.newBuilder().setVolume(view.volume())
                .setEpoch(view.epoch()).setPrimaryBrick(engine.self()).setTargetBrick(peer.brick())
                .setMemoryAck(view.options().protocol() == 'B').setInSync(!needResync)
                .setResyncBase(resyncBase)).build());
        lastSendNanos = System.nanoTime();
        return s;
    }

    /** Copies every dirty block, oldest offset first, then tells the target it is current. */
    private void resync(String kind) throws InterruptedException {
        ReplicaMeta meta = engine.meta();
        DirtyBitmap bm = meta.bitmap(peer.brick());
        resyncing = true;
        resyncTotalBytes = bm.dirtyBytes();
        resyncDoneBytes = 0;
        resyncStartNanos = System.nanoTime();
        long wireBytes = 0;
        long block = 0;
        try {
            while (live && !closed) {
                window.acquire(RESYNC_CHUNK_BLOCKS);
                long payload;
                synchronized (engine.order) {
                    if (!live) {
                        window.release(RESYNC_CHUNK_BLOCKS);
                        break;
                    }
                    block = bm.nextDirty(block);
                    if (block < 0) {
                        window.release(RESYNC_CHUNK_BLOCKS);
                        break;
                    }
                    int run = bm.runLength(block, RESYNC_CHUNK_BLOCKS);
                    window.release(RESYNC_CHUNK_BLOCKS - run); // the window counts blocks in flight
                    long offset = block * BlockImage.BLOCK;
                    int length = (int) Math.min((long) run * BlockImage.BLOCK, engine.image().size() - offset);
                    ByteBuffer data = engine.image().read(offset, length);
                    ResyncOp.Builder op = ResyncOp.newBuilder().setOffset(offset).setLength(length);
                    if (!isZero(data)) {
                        byte[] src = data.array();
                        byte[] dst = new byte[LZ4.maxCompressedLength(length)];
                        int n = LZ4.compress(src, 0, length, dst, 0, dst.length);
                        op.setLz4(ByteString.copyFrom(dst, 0, n));
                    }
                    payload = op.getLz4().size();
                    sendLocked(ReplicaOp.newBuilder().setResync(op), offset, length, true);
                    block += run;
                }
                wireBytes += payload + 16;
                throttle(wireBytes);
            }
            // wait for the window to drain: every chunk acknowledged
            window.acquire(RESYNC_WINDOW);
            window.release(RESYNC_WINDOW);
            if (!live || closed || bm.dirtyBlocks() > 0) return;
            double seconds = (System.nanoTime() - resyncStartNanos) / 1e9;
            CompletableFuture<Void> done;
            synchronized (engine.order) {
                if (!live) return;
                done = sendLocked(ReplicaOp.newBuilder().setResyncDone(ResyncDoneOp.newBuilder()
                        .setCurrent(meta.current()).setKind(kind).setBytes(wireBytes).setSeconds(seconds)), 0, 0, false);
            }
            done.get(engine.view().options().pingTimeoutSeconds() + 5L, TimeUnit.SECONDS);
            synchronized (engine.order) {
                if (!live) return;
                inSync = true;
                meta.setBase(peer.brick(), null);
            }
            LOG.info("{}: {} resync to {} done: {} bytes sent in {} s", engine.volume(), kind, peer.brick(),
                    wireBytes, String.format("%.2f", seconds));
            engine.recordResync(peer.brick(), new ReplicaMeta.LastResync(kind, wireBytes, seconds));
            engine.markInSync(this);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | java.io.IOException e) {
            LOG.info("{}: resync to {} interrupted: {}", engine.volume(), peer.brick(), rootMessage(e));
            drop("resync interrupted");
        } finally {
            resyncing = false;
        }
    }

    private static int blocksOf(Pending p) {
        return (int) ((p.length() + BlockImage.BLOCK - 1) / BlockImage.BLOCK);
    }

    private void throttle(long sentBytes) throws InterruptedException {
        long rate = engine.view().options().rateLimitBytesPerSecond();
        if (rate <= 0) return;
        long dueNanos = resyncStartNanos + (long) (sentBytes * 1e9 / rate);
        long wait = dueNanos - System.nanoTime();
        if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
    }

    private static boolean isZero(ByteBuffer b) {
        byte[] a = b.array();
        for (int i = 0; i < b.limit(); i += 8) {
            if (i + 8 <= b.limit()) {
                if (((a[i] | a[i + 1] | a[i + 2] | a[i + 3] | a[i + 4] | a[i + 5] | a[i + 6] | a[i + 7])) != 0) return false;
            } else {
                for (int j = i; j < b.limit(); j++) if (a[j] != 0) return false;
            }
        }
        return true;
    }

    // ---- sending, called with engine.order held ----

    /**
     * Sends a write without copying its payload: gRPC serializes the message inside onNext, while
     * the caller still owns data, so wrapping the buffer is safe.
     */
    CompletableFuture<Void> sendWrite(long offset, ByteBuffer data, boolean fua) {
        return sendLocked(ReplicaOp.newBuilder().setWrite(WriteOp.newBuilder().setOffset(offset)
                .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(data.duplicate())).setFua(fua)),
                offset, data.remaining(), false);
    }

    CompletableFuture<Void> sendZero(long offset, long length, boolean fua) {
        return sendLocked(ReplicaOp.newBuilder().setZero(ZeroOp.newBuilder().setOffset(offset).setLength(length)
                .setFua(fua)), offset, length, false);
    }

    CompletableFuture<Void> sendFlush() {
        return sendLocked(ReplicaOp.newBuilder().setFlush(FlushOp.getDefaultInstance()), 0, 0, false);
    }

    CompletableFuture<Void> sendNewCurrent(String current) {
        return sendLocked(ReplicaOp.newBuilder().setNewCurrent(NewCurrentOp.newBuilder().setCurrent(current)), 0, 0, false);
    }

    void ping() {
        synchronized (engine.order) {
            if (live && pending.isEmpty() && System.nanoTime() - lastSendNanos > 1_000_000_000L) {
                sendLocked(ReplicaOp.newBuilder().setPing(PingOp.getDefaultInstance()), 0, 0, false);
            }
        }
    }

    private CompletableFuture<Void> sendLocked(ReplicaOp.Builder op, long offset, long length, boolean resync) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!live) {
            done.complete(null);
            return done;
        }
        long seq = engine.nextSeq();
        long now = System.nanoTime();
        pending.addLast(new Pending(seq, offset, length, resync, done, now));
        lastSendNanos = now;
        try {
            out.onNext(op.setSeq(seq).build());
        } catch (RuntimeException e) {
            engine.dropLater(this, "send failed: " + e.getMessage());
        }
        return done;
    }

    /** The oldest unacknowledged operation is older than the ping timeout. */
    boolean stalled(long nowNanos, long timeoutNanos) {
        synchronized (engine.order) {
            Pending head = pending.peekFirst();
            return live && head != null && nowNanos - head.sentNanos() > timeoutNanos;
        }
    }

    private void acked(long gen, ReplicaAck ack) {
        java.util.List<Pending> done = new java.util.ArrayList<>();
        synchronized (engine.order) {
            if (gen != streamGen || !live) return;
            if (!ack.getError().isEmpty()) {
                LOG.warn("{}: {} refused an operation: {}", engine.volume(), peer.brick(), ack.getError());
                engine.dropLater(this, ack.getError());
                return;
            }
            while (!pending.isEmpty() && pending.peekFirst().seq() <= ack.getSeq()) {
                Pending p = pending.pollFirst();
                if (p.resync()) {
                    engine.meta().bitmap(peer.brick()).clearBlocks(p.offset() / BlockImage.BLOCK,
                            (int) ((p.length() + BlockImage.BLOCK - 1) / BlockImage.BLOCK));
                    resyncDoneBytes += p.length();
                }
                done.add(p);
            }
        }
        for (Pending p : done) {
            if (p.resync()) window.release(blocksOf(p));
            p.done().complete(null);
        }
    }

    /**
     * Takes the link down: the peer's missed writes go into its bitmap, and the writes waiting
     * for it are released once the configuration store knows it is out of sync.
     */
    void drop(String reason) {
        java.util.List<Pending> orphans;
        synchronized (engine.order) {
            if (!live) {
                down.countDown();
                return;
            }
            live = false;
            inSync = false;
            LOG.info("{}: {} out of sync: {}", engine.volume(), peer.brick(), reason);
            DirtyBitmap bm = engine.meta().bitmap(peer.brick());
            orphans = new java.util.ArrayList<>(pending);
            pending.clear();
            for (Pending p : orphans) {
                if (!p.resync() && p.length() > 0) bm.mark(p.offset(), p.length());
            }
            try {
                out.onError(io.grpc.Status.CANCELLED.withDescription(reason).asRuntimeException());
            } catch (RuntimeException ignored) {
                // the stream is already gone
            }
            down.countDown();
        }
        int resyncOrphans = 0;
        for (Pending p : orphans) if (p.resync()) resyncOrphans += blocksOf(p);
        window.release(resyncOrphans);
        CompletableFuture<Void> recorded = engine.ensureOutOfSync(this);
        for (Pending p : orphans) {
            recorded.whenComplete((v, e) -> {
                if (e == null) p.done().complete(null);
                else p.done().completeExceptionally(e);
            });
        }
    }

    void close() {
        closed = true;
        drop("closing");
        thread.interrupt();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** Drops the link if the stream that failed is still the current one. */
    private void streamFailed(long gen, String reason) {
        synchronized (engine.order) {
            if (gen != streamGen) return;
        }
        engine.dropLater(this, reason);
    }

    private final class LinkObserver implements ClientResponseObserver<ReplicaOp, ReplicaAck> {
        private final long gen;

        LinkObserver(long gen) {
            this.gen = gen;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ReplicaOp> requestStream) {
        }

        @Override
        public void onNext(ReplicaAck ack) {
            acked(gen, ack);
        }

        @Override
        public void onError(Throwable t) {
            streamFailed(gen, rootMessage(t));
        }

        @Override
        public void onCompleted() {
            streamFailed(gen, "stream closed by peer");
        }
    }
}
