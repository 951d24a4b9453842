package io.braid.replication;

import io.braid.proto.replication.HandshakeReply;
import io.braid.proto.replication.HandshakeRequest;
import io.braid.proto.replication.Open;
import io.braid.proto.replication.ReplicaAck;
import io.braid.proto.replication.ReplicaOp;
import io.braid.store.KeyValueStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One brick of a started block volume on this server: its image and replication state, and
 * its role. As primary it runs a {@link PrimaryEngine}; as secondary it applies the primary's
 * stream in order. The role follows the configuration store: {@link #update} is called with
 * every new view of the replica set.
 */
public final class ReplicaNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaNode.class);
    private static final LZ4FastDecompressor UNLZ4 = LZ4Factory.fastestInstance().fastDecompressor();
    private static final XXHash64 XXH = XXHashFactory.fastestInstance().hash64();

    private final String self;
    private final BlockImage image;
    private final ReplicaMeta meta;
    private final Coordinator coordinator;
    private volatile SetView view;
    private volatile PrimaryEngine primary;
    private volatile Receiver receiver;
    private volatile boolean closed;

    public ReplicaNode(String self, Path imagePath, KeyValueStore store, SetView view, Coordinator coordinator)
            throws IOException {
        this.self = self;
        this.view = view;
        this.coordinator = coordinator;
        this.image = BlockImage.open(imagePath, view.size());
        this.meta = new ReplicaMeta(store, view.size());
        update(view);
    }

    public String brick() {
        return self;
    }

    public String volume() {
        return view.volume();
    }

    public SetView view() {
        return view;
    }

    public boolean arbiter() {
        int i = view.indexOf(self);
        return i >= 0 && view.members().get(i).arbiter();
    }

    /** A new view of the replica set: grow the image, change role if the primary moved. */
    public synchronized void update(SetView v) throws IOException {
        if (closed) return;
        SetView old = this.view;
        this.view = v;
        if (v.size() > image.size()) {
            image.grow(v.size());
            meta.resize(v.size());
        }
        boolean shouldLead = v.members().get(v.primary()).brick().equals(self);
        if (shouldLead && primary == null) {
            Receiver r = receiver;
            if (r != null) r.fail("this brick is now the primary");
            confirmThenLead(v);
        } else if (!shouldLead && primary != null) {
            LOG.info("{}: {} is no longer primary (epoch {} made {} primary)", v.volume(), self, v.epoch(),
                    v.primaryMember().brick());
            primary.demote();
            primary = null;
        } else if (primary != null) {
            primary.update(v);
        }
        Receiver r = receiver;
        if (r != null && (r.epoch < v.epoch() || old.epoch() < v.epoch() && !r.from.equals(v.primaryMember().brick()))) {
            r.fail("epoch " + v.epoch() + " has another primary");
        }
    }

    private boolean confirming; // guarded by this

    /** Starts the engine once the configuration store confirms this view is current. */
    private void confirmThenLead(SetView v) {
        if (confirming) return;
        confirming = true;
        long started = System.nanoTime();
        coordinator.confirmPrimary(v.volume(), v.set(), v.epoch(), v.primary()).whenComplete((ok, e) -> {
            synchronized (this) {
                confirming = false;
                SetView now = view;
                boolean still = !closed && primary == null && now.epoch() == v.epoch()
                        && now.primaryMember().brick().equals(self);
                if (e == null && Boolean.TRUE.equals(ok) && still) {
                    try {
                        PrimaryEngine p = new PrimaryEngine(self, image, meta, coordinator, now, started);
                        p.start();
                        primary = p;
                    } catch (IOException ex) {
                        LOG.warn("{}: cannot start as primary: {}", now.volume(), ex.getMessage());
                    }
                } else if (e != null) {
                    LOG.info("{}: {} waits to serve as primary: {}", now.volume(), self, PeerLink.rootMessage(e));
                }
            }
        });
    }

    /** The engine when this brick is the primary, else null. */
    public PrimaryEngine primary() {
        return primary;
    }

    // ---- status ----

    public String role() {
        if (arbiter()) return "arbiter";
        return primary != null ? "primary" : "secondary";
    }

    public String state() {
        if (primary != null) return "UpToDate";
        if (arbiter()) return "UpToDate";
        Receiver r = receiver;
        if (meta.inconsistent()) return "Inconsistent";
        if (r != null && r.upToDate) return "UpToDate";
        return "Outdated";
    }

    public ReplicaMeta.LastResync lastResync() {
        return meta.lastResync();
    }

    // ---- secondary side ----

    public HandshakeReply handshake(HandshakeRequest req) {
        SetView v = view;
        if (!req.getVolumeId().equals(v.volumeId())) {
            throw Status.FAILED_PRECONDITION.withDescription("volume id mismatch").asRuntimeException();
        }
        if (req.getEpoch() < v.epoch()) {
            throw Status.FAILED_PRECONDITION.withDescription("stale epoch " + req.getEpoch() + " < " + v.epoch())
                    .asRuntimeException();
        }
        if (primary != null && req.getEpoch() <= v.epoch()) {
            throw Status.FAILED_PRECONDITION.withDescription(self + " is the primary at epoch " + v.epoch())
                    .asRuntimeException();
        }
        HandshakeReply.Builder r = HandshakeReply.newBuilder().setTarget(meta.generations()).setSize(image.size());
        r.addAllActivityExtents(meta.activity().extents());
        DirtyBitmap mine = meta.bitmapIfAny(req.getPrimaryBrick());
        if (mine != null && mine.dirtyBlocks() > 0) r.setBitmapForPrimary(com.google.protobuf.ByteString.copyFrom(mine.toBytes()));
        return r.build();
    }

    public StreamObserver<ReplicaOp> replicate(StreamObserver<ReplicaAck> acks) {
        return new Receiver(acks);
    }

    /** The stream from the primary, applied in order. gRPC delivers one message at a time. */
    private final class Receiver implements StreamObserver<ReplicaOp> {
        private final StreamObserver<ReplicaAck> acks;
        private long epoch = -1;
        private String from = "";
        private boolean memoryAck;
        private volatile boolean upToDate;
        private volatile boolean failed;

        Receiver(StreamObserver<ReplicaAck> acks) {
            this.acks = acks;
        }

        void fail(String reason) {
            if (failed) return;
            failed = true;
            upToDate = false;
            synchronized (this) {
                try {
                    acks.onError(Status.FAILED_PRECONDITION.withDescription(reason).asRuntimeException());
                } catch (RuntimeException ignored) {
                    // already closed
                }
            }
            if (receiver == this) receiver = null;
        }

        @Override
        public void onNext(ReplicaOp op) {
            if (failed) return;
            try {
                if (op.hasOpen()) {
                    open(op.getOpen());
                } else if (epoch < 0) {
                    throw new IllegalStateException("stream did not start with open");
                } else {
                    if (epoch < view.epoch()) throw new IllegalStateException("stale epoch " + epoch);
                    apply(op);
                    return;
                }
                ack(op.getSeq());
            } catch (IOException | RuntimeException e) {
                LOG.info("{}: refusing stream from {}: {}", view.volume(), from, e.getMessage());
                synchronized (this) {
                    acks.onNext(ReplicaAck.newBuilder().setSeq(op.getSeq()).setError(String.valueOf(e.getMessage())).build());
                }
                fail(String.valueOf(e.getMessage()));
            }
        }

        private void ack(long seq) {
            synchronized (this) {
                acks.onNext(ReplicaAck.newBuilder().setSeq(seq).build());
            }
        }

        private void open(Open o) throws IOException {
            SetView v = view;
            if (!o.getVolume().equals(v.volume()) || !o.getTargetBrick().equals(self)) {
                throw new IllegalStateException("stream for " + o.getVolume() + "/" + o.getTargetBrick() + " reached " + self);
            }
            if (o.getEpoch() < v.epoch()) throw new IllegalStateException("stale epoch " + o.getEpoch());
            if (primary != null && o.getEpoch() <= v.epoch()) throw new IllegalStateException(self + " is primary");
            epoch = o.getEpoch();
            from = o.getPrimaryBrick();
            memoryAck = o.getMemoryAck();
            Receiver previous = receiver;
            receiver = this;
            if (previous != null && previous != this) previous.fail("replaced by a new stream");
            if (!o.getResyncBase().isEmpty()) {
                meta.setCurrent(o.getResyncBase(), false);
                meta.setInconsistent(true);
            }
            if (o.getInSync()) becameCurrent();
            LOG.info("{}: {} follows {} at epoch {}{}", v.volume(), self, from, epoch,
                    o.getInSync() ? ", in sync" : ", resync follows");
        }

        /** This replica now holds exactly the primary's data: its own history no longer matters. */
        private void becameCurrent() throws IOException {
            meta.activity().clear();
            meta.saveActivity();
            for (String peer : meta.bases().keySet()) meta.setBase(peer, null);
            for (SetView.Member m : view.members()) {
                DirtyBitmap b = meta.bitmapIfAny(m.brick());
                if (b != null) b.clearAll();
            }
            meta.saveBitmaps();
            upToDate = true;
        }

        private void apply(ReplicaOp op) throws IOException {
            switch (op.getOpCase()) {
                case WRITE -> {
                    if (memoryAck) ack(op.getSeq());
                    image.write(op.getWrite().getOffset(), op.getWrite().getData().asReadOnlyByteBuffer());
                    if (op.getWrite().getFua()) image.sync();
                    if (!memoryAck) ack(op.getSeq());
                }
                case ZERO -> {
                    if (memoryAck) ack(op.getSeq());
                    image.zero(op.getZero().getOffset(), op.getZero().getLength());
                    if (op.getZero().getFua()) image.sync();
                    if (!memoryAck) ack(op.getSeq());
                }
                case FLUSH -> {
                    image.sync();
                    meta.sync();
                    ack(op.getSeq());
                }
                case NEW_CURRENT -> {
                    meta.setCurrent(op.getNewCurrent().getCurrent(), true);
                    ack(op.getSeq());
                }
                case RESYNC -> {
                    var r = op.getResync();
                    if (r.getLz4().isEmpty()) {
                        zeroUnlessZero(r.getOffset(), r.getLength());
                    } else {
                        byte[] out = new byte[r.getLength()];
                        UNLZ4.decompress(r.getLz4().toByteArray(), 0, out, 0, r.getLength());
                        image.write(r.getOffset(), ByteBuffer.wrap(out));
                    }
                    ack(op.getSeq());
                }
                case RESYNC_DONE -> {
                    var d = op.getResyncDone();
                    image.sync();
                    meta.setCurrent(d.getCurrent(), false);
                    meta.setInconsistent(false);
                    meta.setLastResync(new ReplicaMeta.LastResync(d.getKind(), d.getBytes(), d.getSeconds()));
                    becameCurrent();
                    meta.sync();
                    LOG.info("{}: {} resync into {} done: {} bytes in {} s", view.volume(), d.getKind(), self,
                            d.getBytes(), String.format("%.2f", d.getSeconds()));
                    ack(op.getSeq());
                }
                case PING -> ack(op.getSeq());
                default -> throw new IllegalStateException("unknown operation " + op.getOpCase());
            }
        }

        private void zeroUnlessZero(long offset, int length) throws IOException {
            ByteBuffer cur = image.read(offset, length);
            byte[] a = cur.array();
            for (byte b : a) {
                if (b != 0) {
                    image.zero(offset, length);
                    return;
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            upToDate = false;
            if (receiver == this) receiver = null;
        }

        @Override
        public void onCompleted() {
            upToDate = false;
            if (receiver == this) receiver = null;
            try {
                acks.onCompleted();
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
    }

    // ---- verify ----

    /** xxhash64 of every 4 KiB block in [offset, offset+length). */
    public List<Long> checksums(long offset, long length) throws IOException {
        List<Long> out = new ArrayList<>();
        long end = Math.min(offset + length, image.size());
        for (long pos = offset; pos < end; pos += 1 << 20) {
            int n = (int) Math.min(1 << 20, end - pos);
            ByteBuffer b = image.read(pos, n);
            for (int i = 0; i < n; i += BlockImage.BLOCK) {
                out.add(XXH.hash(b.array(), i, Math.min(BlockImage.BLOCK, n - i), 0));
            }
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (primary != null) primary.close();
        Receiver r = receiver;
        if (r != null) r.fail("brick closing");
        try {
            meta.sync();
        } catch (IOException e) {
            LOG.warn("{}: saving replication state: {}", view.volume(), e.getMessage());
        }
        try {
            image.close();
        } catch (IOException e) {
            LOG.warn("{}: closing image: {}", view.volume(), e.getMessage());
        }
    }
}
