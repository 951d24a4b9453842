package io.braid.files;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileHello;
import io.braid.proto.filerep.FileHelloReply;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.braid.proto.filerep.HealDone;
import io.braid.proto.filerep.HealItem;
import io.braid.replication.SetView;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's link to one secondary brick of its set. A thread connects (handshake), heals
 * everything in the peer's dirty index, and then turns the link live: from then on mutations are
 * streamed to it and acknowledged by it. When the stream fails or an acknowledgement takes longer
 * than the ping timeout, the link drops: what the peer missed goes to its dirty index and the
 * configuration store records the peer out of sync before any reply that depends on it.
 */
public final class FileLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FileLink.class);
    private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();
    static final int CHUNK = 1 << 20;
    private static final int WINDOW = 16;

    enum State { DOWN, HEALING, LIVE }

    final SetView.Member peer;
    final int index;
    private final FilePrimary primary;
    private final DirtyIndex dirty;
    private final Thread thread;
    private final ConcurrentSkipListMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
    private volatile State state = State.DOWN;
    private volatile boolean closed;
    private StreamObserver<FileOp> stream; // guarded by this
    private long healSeq = Long.MIN_VALUE / 2; // heal items use their own sequence space; guarded by this
    private volatile long lastAckNanos = System.nanoTime();
    private volatile String lastError = "";
    // out of sync as this link last asked the configuration store to record it; changes are chained
    private boolean outRecorded;                                          // guarded by this
    private CompletableFuture<Void> lastMark = CompletableFuture.completedFuture(null); // guarded by this
    private volatile long healTotal;
    private volatile long healDone;
    private volatile long healStartNanos;

    private record Pending(CompletableFuture<FileAck> ack, List<DirtyEntry> changes, long sentNanos) {}

    FileLink(FilePrimary primary, SetView.Member peer, int index, DirtyIndex dirty) {
        this.primary = primary;
        this.peer = peer;
        this.index = index;
        this.dirty = dirty;
        this.outRecorded = primary.view().outOfSync().contains(index);
        this.thread = new Thread(this::run, "file-link-" + peer.brick());
    }

    /**
     * A peer already out of sync when this primary starts, whose misses this brick did not record
     * itself since (another primary led meanwhile), gets a full heal.
     */
    void checkHistory() throws IOException {
        long epoch = primary.view().epoch();
        FileReplica self = primary.replica();
        if (outRecorded && self.lastFrom().equals(peer.brick()) && self.lastEpoch() == epoch - 1) {
            // The primary this brick took over from: what it lacks is what this brick records from
            // now on, and what it did last on its own comes back with its recent log.
            if (dirty.trackedSince() != epoch) dirty.trackFrom(epoch);
            return;
        }
        if (outRecorded && dirty.trackedSince() != epoch) {
            LOG.info("{}: {} missed writes under another primary: it gets a full heal", primary.view().volume(),
                    peer.brick());
            dirty.mark("", DirtyIndex.ENTRY | DirtyIndex.META | DirtyIndex.FULL, List.of());
            dirty.trackFrom(epoch);
        }
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    public boolean live() {
        return state == State.LIVE;
    }

    public String brick() {
        return peer.brick();
    }

    public boolean connected() {
        return state != State.DOWN;
    }

    public DirtyIndex dirty() {
        return dirty;
    }

    public boolean healing() {
        return state == State.HEALING;
    }

    public long healTotal() {
        return healTotal;
    }

    public long healDone() {
        return healDone;
    }

    public double healBytesPerSecond() {
        double s = (System.nanoTime() - healStartNanos) / 1e9;
        return s <= 0 ? 0 : healDone / s;
    }

    /**
     * Called under the order lock with a mutation the primary applied. A live peer gets it and the
     * returned future completes on its acknowledgement; a peer that is not live has the changes
     * recorded in its dirty index, and the future completes once the store knows it is out of sync.
     */
    CompletableFuture<Void> send(FileOp op, List<DirtyEntry> changes) throws IOException {
        if (state == State.LIVE) {
            Pending p = new Pending(new CompletableFuture<>(), changes, System.nanoTime());
            pending.put(op.getSeq(), p);
            synchronized (this) {
                if (stream != null) {
                    stream.onNext(op);
                    return p.ack.thenApply(a -> null);
                }
            }
            pending.remove(op.getSeq());
        }
        for (DirtyEntry c : changes) dirty.mark(c);
        return recordOut();
    }

    /**
     * Completes once the configuration store records this peer out of sync. Without quorum
     * (cluster.quorum-type none) it completes anyway when the store cannot be reached:
     * availability first, as GlusterFS does; the peer is recorded when the store answers again.
     */
    private CompletableFuture<Void> recordOut() {
        CompletableFuture<Void> f = recordOutInStore();
        if (!"none".equals(primary.view().options().quorumType())) return f;
        return f.exceptionally(e -> {
            LOG.info("{}: {} not recorded out of sync ({}); carrying on without quorum", primary.view().volume(),
                    peer.brick(), e.getMessage());
            return null;
        });
    }

    private synchronized CompletableFuture<Void> recordOutInStore() {
        if (outRecorded) return lastMark;
        outRecorded = true;
        try {
            if (dirty.trackedSince() != primary.view().epoch()) dirty.trackFrom(primary.view().epoch());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        lastMark = chainMark(false);
        return lastMark;
    }

    private synchronized void recordIn() {
        if (!outRecorded && !primary.view().outOfSync().contains(index)) return;
        outRecorded = false;
        try {
            dirty.untrack();
        } catch (IOException e) {
            LOG.warn("dirty index: {}", e.getMessage());
        }
        lastMark = chainMark(true);
    }

    private CompletableFuture<Void> chainMark(boolean inSync) {
        SetView v = primary.view();
        CompletableFuture<Void> prev = lastMark;
        return prev.handle((x, e) -> null).thenCompose(x -> primary.replica().coordinator()
                .markSync(v.volume(), v.set(), v.epoch(), index, inSync)).whenComplete((x, e) -> {
                    if (e != null) {
                        LOG.warn("{}: recording {} {} failed: {}", v.volume(), peer.brick(),
                                inSync ? "in sync" : "out of sync", e.getMessage());
                        synchronized (this) {
                            if (!inSync) outRecorded = false; // ask again with the next mutation
                        }
                    }
                });
    }

    // ---- the link's thread ----

    private void run() {
        while (!closed) {
            try {
                if (!primary.replica().coordinator().reachable(peer.nodeUuid())) {
                    Thread.sleep(500);
                    continue;
                }
                connectAndHeal();
                while (!closed && state == State.LIVE) {
                    Thread.sleep(200);
                    checkTimeouts();
                    if (!outRecordedNow() && primary.view().outOfSync().contains(index)) recordIn();
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                String why = String.valueOf(e.getMessage());
                if (!why.equals(lastError)) LOG.info("{}: link to {}: {}", primary.view().volume(), peer.brick(), why);
                lastError = why;
            }
            drop("link down");
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private synchronized boolean outRecordedNow() {
        return outRecorded;
    }

    private void connectAndHeal() throws Exception {
        SetView v = primary.view();
        FileHello hello = FileHello.newBuilder().setVolume(v.volume()).setVolumeId(v.volumeId()).setSet(v.set())
                .setEpoch(v.epoch()).setPrimaryBrick(primary.replica().brick()).setTargetBrick(peer.brick())
                .setArbiter(peer.arbiter()).build();
        FileHelloReply hr = FileReplicationGrpc.newBlockingStub(primary.replica().coordinator().channel(peer.address()))
                .withDeadlineAfter(10, TimeUnit.SECONDS).handshake(hello);
        boolean full = !hr.getSynced() || (dirty.get("") != null && (dirty.get("").flags() & DirtyIndex.FULL) != 0);
        if (!hr.getSynced()) {
            dirty.mark("", DirtyIndex.ENTRY | DirtyIndex.META | DirtyIndex.FULL, List.of());
        } else if (hr.getLastEpoch() < v.epoch()) {
            // The peer last followed another primary: what it applied last may differ from here.
            for (DirtyEntry e : hr.getRecentList()) dirty.mark(e.toBuilder().setEpoch(0).build());
            for (DirtyEntry e : primary.replica().recent().before(v.epoch())) dirty.mark(e.toBuilder().setEpoch(0).build());
        }
        // The primary's copy wins over what the peer changed while it led alone (split-brain
        // detection and resolution by the operator come with the heal commands).
        for (DirtyEntry e : hr.getDirtyForPrimaryList()) dirty.mark(e.toBuilder().setEpoch(0).build());
        openStream(hello);
        lastAckNanos = System.nanoTime();
        state = State.HEALING;
        lastError = "";
        heal(full);
    }

    private void openStream(FileHello hello) {
        StreamObserver<FileOp> s = FileReplicationGrpc.newStub(primary.replica().coordinator().channel(peer.address()))
                .replicate(new ClientResponseObserver<FileOp, FileAck>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<FileOp> req) {
                        // unbounded: heal keeps its own window, mutations are bounded by clients
                    }

                    @Override
                    public void onNext(FileAck ack) {
                        lastAckNanos = System.nanoTime();
                        Pending p = pending.remove(ack.getSeq());
                        if (p != null) p.ack.complete(ack);
                        if (ack.getErrno() != 0 && p != null && p.changes != null) {
                            LOG.warn("{}: {} could not apply a mutation ({}): healing it", primary.view().volume(),
                                    peer.brick(), ack.getError());
                            try {
                                for (DirtyEntry c : p.changes) dirty.mark(c);
                            } catch (IOException e) {
                                LOG.warn("dirty index: {}", e.getMessage());
                            }
                            drop("diverged");
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        lastError = String.valueOf(t.getMessage());
                        drop("stream failed: " + t.getMessage());
                    }

                    @Override
                    public void onCompleted() {
                        drop("stream closed by peer");
                    }
                });
        synchronized (this) {
            stream = s;
            s.onNext(FileOp.newBuilder().setOpen(hello).build());
        }
    }

    private void checkTimeouts() {
        long limit = TimeUnit.SECONDS.toNanos(primary.view().options().pingTimeoutSeconds());
        long now = System.nanoTime();
        Map.Entry<Long, Pending> oldest = pending.firstEntry();
        if (oldest != null && now - oldest.getValue().sentNanos > limit) {
            drop("no acknowledgement within network.ping-timeout");
            return;
        }
        if (now - lastAckNanos > limit / 3) {
            sendControl(FileOp.newBuilder().setPing(true));
        }
        if (now - lastAckNanos > limit) drop("no answer to pings within network.ping-timeout");
    }

    private CompletableFuture<FileAck> sendControl(FileOp.Builder op) {
        Pending p;
        synchronized (this) {
            if (stream == null) return CompletableFuture.failedFuture(new IOException("link down"));
            long s = healSeq++;
            p = new Pending(new CompletableFuture<>(), null, System.nanoTime());
            pending.put(s, p);
            stream.onNext(op.setSeq(s).build());
        }
        return p.ack;
    }

    /** Ends the stream; what was in flight is recorded dirty, and replies wait for the store. */
    void drop(String reason) {
        StreamObserver<FileOp> s;
        synchronized (this) {
            s = stream;
            stream = null;
        }
        State was = state;
        state = State.DOWN;
        if (s != null) {
            try {
                s.onError(io.grpc.Status.CANCELLED.withDescription(reason).asRuntimeException());
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
        if (was != State.DOWN) LOG.info("{}: {} dropped: {}", primary.view().volume(), peer.brick(), reason);
        List<Pending> inFlight = new ArrayList<>();
        for (Long k : new ArrayList<>(pending.keySet())) {
            Pending p = pending.remove(k);
            if (p != null) inFlight.add(p);
        }
        boolean mutations = false;
        for (Pending p : inFlight) {
            if (p.changes == null) continue;
            mutations = true;
            try {
                for (DirtyEntry c : p.changes) dirty.mark(c);
            } catch (IOException e) {
                LOG.warn("dirty index: {}", e.getMessage());
            }
        }
        CompletableFuture<Void> recorded = mutations ? recordOut() : CompletableFuture.completedFuture(null);
        for (Pending p : inFlight) {
            if (p.changes == null) {
                p.ack.completeExceptionally(new IOException("link down: " + reason));
            } else {
                recorded.whenComplete((x, e) -> {
                    if (e == null) p.ack.complete(FileAck.getDefaultInstance());
                    else p.ack.completeExceptionally(e);
                });
            }
        }
    }

    // ---- heal ----

    private void heal(boolean full) throws Exception {
        long start = System.nanoTime();
        healStartNanos = start;
        healDone = 0;
        long bytes = 0;
        boolean any = false;
        while (!closed && state == State.HEALING) {
            List<DirtyIndex.Item> items = dirty.snapshot(256);
            if (items.isEmpty()) {
                primary.order().lock();
                try {
                    if (dirty.isEmpty() && state == State.HEALING) state = State.LIVE;
                } finally {
                    primary.order().unlock();
                }
                continue;
            }
            healTotal = estimate();
            for (DirtyIndex.Item it : items) {
                if (state != State.HEALING) throw new IOException("link down during heal");
                bytes += healOne(it);
                any = true;
                throttle(bytes, start);
            }
        }
        if (state != State.LIVE) throw new IOException("link down during heal");
        double secs = (System.nanoTime() - start) / 1e9;
        if (any || full) {
            FileAck a = sendControl(FileOp.newBuilder().setHealDone(HealDone.newBuilder()
                    .setKind(full ? "full" : "partial").setBytes(bytes).setSeconds(secs))).get(30, TimeUnit.SECONDS);
            if (a.getErrno() != 0) throw new IOException("heal not recorded: " + a.getError());
            LOG.info("{}: {} healed: {} heal, {} bytes in {} s", primary.view().volume(), peer.brick(),
                    full ? "full" : "partial", bytes, String.format("%.2f", secs));
        } else {
            sendControl(FileOp.newBuilder().setPing(true)); // tells the peer it is live
        }
        recordIn();
    }

    private long estimate() {
        return healDone + dirty.dataBytes() + 4096L * dirty.size();
    }

    private void throttle(long bytes, long start) throws InterruptedException {
        long rate = primary.view().options().rateLimitBytesPerSecond();
        if (rate <= 0) return;
        long due = start + (long) (bytes * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
    }

    /** Heals one dirty path; returns the bytes sent. */
    private long healOne(DirtyIndex.Item it) throws Exception {
        FileStore store = primary.replica().store();
        String p = it.path();
        long sent = 0;
        Attr a = FileOps.attrOrNull(store, p);
        if (a == null) {
            HealItem h = HealItem.newBuilder().setPath(p).setKind(HealItem.Kind.ABSENT).build();
            FileAck ack = await(sendHeal(h));
            sent += h.getSerializedSize();
            if (ack.getErrno() == 0) dirty.clearIf(p, it.version());
            return sent;
        }
        HealItem.Kind kind = HealApplier.kindOf(a.getMode());
        boolean entry = (it.flags() & DirtyIndex.ENTRY) != 0;
        boolean meta = entry || (it.flags() & DirtyIndex.META) != 0;
        List<CompletableFuture<FileAck>> acks = new ArrayList<>();
        if (entry) {
            HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(kind).setAttr(a).setRecreate(true).setMeta(true);
            fill(h, store, p, kind);
            if (kind == HealItem.Kind.DIR) {
                h.setListComplete(true);
                for (DirEntry e : store.readdir(p)) h.addNames(e.getName());
            }
            HealItem built = h.build();
            sent += built.getSerializedSize();
            FileAck ack = await(sendHeal(built));
            if (!handled(ack, it, p)) return sent;
            boolean everything = (it.flags() & DirtyIndex.FULL) != 0;
            for (String n : everything ? built.getNamesList() : ack.getMissingList()) {
                dirty.mark(p.isEmpty() ? n : p + "/" + n, DirtyIndex.ENTRY | (everything ? DirtyIndex.FULL : 0), List.of());
            }
        }
        boolean data = kind == HealItem.Kind.FILE && !peer.arbiter()
                && (entry || (it.flags() & DirtyIndex.DATA) != 0);
        if (data) {
            List<long[]> ranges = entry ? null : it.ranges();
            if (ranges == null) ranges = List.of(new long[] {0, a.getSize()});
            ArrayDeque<CompletableFuture<FileAck>> window = new ArrayDeque<>();
            for (long[] r : ranges) {
                long end = Math.min(r[1], a.getSize());
                for (long off = r[0]; off < end; off += CHUNK) {
                    int len = (int) Math.min(CHUNK, end - off);
                    HealItem chunk = chunk(store, p, off, len);
                    if (chunk == null) break; // shorter now: a later heal of this path follows
                    sent += chunk.getSerializedSize();
                    healDone += len;
                    window.add(sendHeal(chunk));
                    if (window.size() >= WINDOW) {
                        FileAck ack = await(window.poll());
                        if (!handled(ack, it, p)) return sent;
                    }
                }
            }
            while (!window.isEmpty()) {
                FileAck ack = await(window.poll());
                if (!handled(ack, it, p)) return sent;
            }
        }
        if (data || (!entry && meta)) {
            HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(kind).setAttr(a)
                    .setSetSize(kind == HealItem.Kind.FILE).setMeta(meta);
            if (meta) fill(h, store, p, kind);
            HealItem built = h.build();
            sent += built.getSerializedSize();
            acks.add(sendHeal(built));
        }
        for (CompletableFuture<FileAck> f : acks) if (!handled(await(f), it, p)) return sent;
        dirty.clearIf(p, it.version());
        return sent;
    }

    /** Whether an acknowledgement lets the heal of this path go on; if not, marks what it needs. */
    private boolean handled(FileAck ack, DirtyIndex.Item it, String p) throws IOException {
        if (ack.getNeedsFull()) {
            dirty.mark(p, DirtyIndex.ENTRY, List.of());
            return false;
        }
        if (ack.getErrno() == Errno.ENOENT || ack.getErrno() == Errno.ENOTDIR) {
            if (!p.isEmpty()) dirty.mark(FileOps.parentOf(p), DirtyIndex.ENTRY, List.of());
            return false;
        }
        if (ack.getErrno() != 0) throw new IOException("heal of /" + p + " on " + peer.brick() + ": " + ack.getError());
        return true;
    }

    private static void fill(HealItem.Builder h, FileStore store, String p, HealItem.Kind kind) throws FsError {
        if (kind == HealItem.Kind.SYMLINK) {
            h.setTarget(store.readlink(p));
            return;
        }
        for (String n : store.listxattr(p)) h.putXattrs(n, ByteString.copyFrom(store.getxattr(p, n)));
    }

    private static HealItem chunk(FileStore store, String p, long off, int len) throws FsError {
        ByteString data = store.read(p, off, len);
        if (data.isEmpty()) return null;
        int n = data.size();
        HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(HealItem.Kind.FILE).setOffset(off).setRawLength(n);
        byte[] raw = data.toByteArray();
        boolean zero = true;
        for (byte b : raw) {
            if (b != 0) {
                zero = false;
                break;
            }
        }
        if (zero) return h.setZero(true).build();
        byte[] out = new byte[LZ4.maxCompressedLength(n)];
        int c = LZ4.compress(raw, 0, n, out, 0, out.length);
        if (c < n) h.setData(ByteString.copyFrom(out, 0, c));
        else h.setData(data);
        return h.build();
    }

    private CompletableFuture<FileAck> sendHeal(HealItem h) {
        return sendControl(FileOp.newBuilder().setHeal(h));
    }

    private FileAck await(CompletableFuture<FileAck> f) throws Exception {
        long limit = Math.max(10, 3L * primary.view().options().pingTimeoutSeconds());
        try {
            return f.get(limit, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IOException("heal item not acknowledged within " + limit + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        drop("primary stopping");
    }
}
