package io.braid.files;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.proto.filerep.FetchRequest;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileHello;
import io.braid.proto.filerep.FileHelloReply;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.TimeFix;
import io.braid.replication.Coordinator;
import io.braid.replication.SetView;
import io.braid.store.KeyValueStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One brick of a started file volume on this server. As primary of its replica set it runs a
 * {@link FilePrimary}; as secondary it applies the primary's stream in order: mutations exactly as
 * the primary applied them, and heal items. The role follows the configuration store, as for
 * block replicas. Its metadata store keeps {@code file/synced} (the brick has been whole once),
 * {@code file/last-epoch}, {@code file/led-epoch} (the last epoch it served as primary),
 * {@code fresync/last}, the recent log and the dirty indexes.
 */
public final class FileReplica implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FileReplica.class);

    private final String self;
    private final FileStore store;
    private final KeyValueStore meta;
    private final Coordinator coordinator;
    private final RecentLog recent;
    private final ReplyCache replies = new ReplyCache();
    /** The set's advisory locks: the primary's own, or a secondary's copy of them (see LockTable). */
    private final LockTable locks = new LockTable();
    private final SyncPolicy syncPolicy = new SyncPolicy();
    private volatile SetView view;
    private volatile FilePrimary primary;
    private volatile Receiver receiver;
    private volatile boolean closed;
    private boolean confirming; // guarded by this

    /** The last heal into this brick. */
    public record LastHeal(String kind, long bytes, double seconds) {}

    public FileReplica(String self, Path root, KeyValueStore meta, SetView view, Coordinator coordinator)
            throws IOException {
        this.self = self;
        this.meta = meta;
        this.view = view;
        this.coordinator = coordinator;
        try {
            this.store = FileStore.open(root);
        } catch (FsError e) {
            throw new IOException("cannot open brick " + root + ": " + e.getMessage(), e);
        }
        this.recent = new RecentLog(root.resolve(BrickPath.RESERVED), meta);
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

    /** Where this brick's fsyncs run (on the primary and as a secondary). */
    SyncPolicy syncPolicy() {
        return syncPolicy;
    }

    FileStore store() {
        return store;
    }

    KeyValueStore meta() {
        return meta;
    }

    Coordinator coordinator() {
        return coordinator;
    }

    RecentLog recent() {
        return recent;
    }

    ReplyCache replies() {
        return replies;
    }

    public boolean arbiter() {
        int i = view.indexOf(self);
        return i >= 0 && view.members().get(i).arbiter();
    }

    LockTable locks() {
        return locks;
    }

    /** The primary engine when this brick is the primary, else null. */
    public FilePrimary primary() {
        return primary;
    }

    boolean synced() {
        try {
            return "1".equals(meta.getString("file/synced"));
        } catch (IOException e) {
            return false;
        }
    }

    void markSynced() throws IOException {
        meta.put("file/synced", "1".getBytes(StandardCharsets.UTF_8));
    }

    /** A new view of the replica set: change role if the primary moved. */
    public synchronized void update(SetView v) {
        if (closed) return;
        SetView old = this.view;
        this.view = v;
        boolean shouldLead = v.primaryMember().brick().equals(self);
        if (shouldLead && primary == null) {
            Receiver r = receiver;
            if (r != null) r.fail("this brick is now the primary");
            confirmThenLead(v);
        } else if (!shouldLead && primary != null) {
            LOG.info("{}: {} is no longer primary (epoch {} made {} primary)", v.volume(), self, v.epoch(),
                    v.primaryMember().brick());
            primary.close();
            primary = null;
        } else if (primary != null) {
            primary.update(v);
        }
        Receiver r = receiver;
        if (r != null && (r.epoch < v.epoch() || old.epoch() < v.epoch() && !r.from.equals(v.primaryMember().brick()))) {
            r.fail("epoch " + v.epoch() + " has another primary");
        }
    }

    private void confirmThenLead(SetView v) {
        if (confirming) return;
        confirming = true;
        coordinator.confirmPrimary(v.volume(), v.set(), v.epoch(), v.primary()).whenComplete((ok, e) -> {
            synchronized (this) {
                confirming = false;
                SetView now = view;
                boolean still = !closed && primary == null && now.epoch() == v.epoch()
                        && now.primaryMember().brick().equals(self);
                if (e == null && Boolean.TRUE.equals(ok) && still) {
                    try {
                        if (!synced()) markSynced(); // promoted in sync, or the first primary of a new volume
                        meta.put("file/led-epoch", Long.toString(now.epoch()).getBytes(StandardCharsets.UTF_8));
                        FilePrimary p = new FilePrimary(this, now);
                        p.start();
                        primary = p;
                        LOG.info("{}: set {}: {} serves as primary at epoch {}", now.volume(), now.set(), self, now.epoch());
                    } catch (IOException ex) {
                        LOG.warn("{}: cannot start as primary: {}", now.volume(), ex.getMessage());
                    }
                } else if (e != null) {
                    LOG.info("{}: {} waits to serve as primary: {}", now.volume(), self, e.getMessage());
                    if (!closed) confirmThenLead(now);
                }
            }
        });
    }

    // ---- status ----

    public String role() {
        if (arbiter()) return "arbiter";
        return primary != null ? "primary" : "secondary";
    }

    public String state() {
        if (primary != null) return "UpToDate";
        Receiver r = receiver;
        if (!synced()) return "Inconsistent";
        if (r != null && r.live) return "UpToDate";
        return "Outdated";
    }

    public LastHeal lastHeal() {
        try {
            String s = meta.getString("fresync/last");
            if (s == null) return null;
            String[] p = s.split(",");
            return new LastHeal(p[0], Long.parseLong(p[1]), Double.parseDouble(p[2]));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    // ---- secondary side ----

    /** What this brick recorded for the primary at the last handshake, less what the primary has taken since. */
    private volatile java.util.Set<String> owed = java.util.Set.of();

    public FileHelloReply handshake(FileHello req) {
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
        FileHelloReply.Builder r = FileHelloReply.newBuilder().setSynced(synced()).setLastEpoch(lastEpoch())
                .setLedEpoch(ledEpoch());
        r.addAllRecent(recent.before(Long.MAX_VALUE));
        try {
            java.util.Set<String> owes = java.util.concurrent.ConcurrentHashMap.newKeySet();
            if (DirtyIndex.peersIn(meta).contains(req.getPrimaryBrick())) {
                List<DirtyEntry> mine = new DirtyIndex(meta, req.getPrimaryBrick()).toProto();
                r.addAllDirtyForPrimary(mine);
                for (DirtyEntry e : mine) owes.add(e.getPath());
            }
            owed = owes;
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException();
        }
        return r.build();
    }

    /** The last epoch at which this brick served as primary, or 0. */
    long ledEpoch() {
        try {
            String s = meta.getString("file/led-epoch");
            return s == null ? 0 : Long.parseLong(s);
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * The primary pulls a path from this brick: the heal items for the parts asked, from this
     * brick's copy. Only a brick of the same volume is asked, and names are resolved beneath the
     * brick as for every operation.
     */
    public void fetch(FetchRequest req, HealSource.Sink out) throws Exception {
        if (!req.getVolumeId().equals(view.volumeId())) {
            throw Status.FAILED_PRECONDITION.withDescription("volume id mismatch").asRuntimeException();
        }
        String path = FileOps.normalize(req.getPath());
        if (req.getAttrOnly()) {
            out.accept(HealSource.describe(store, path));
            return;
        }
        List<long[]> ranges = null;
        if (req.getRangesCount() > 0) {
            ranges = new java.util.ArrayList<>();
            for (int i = 0; i + 1 < req.getRangesCount(); i += 2) ranges.add(new long[] {req.getRanges(i), req.getRanges(i + 1)});
        }
        HealSource.items(store, path, req.getFlags(), ranges, !arbiter(), out);
    }

    /** The primary has what this brick recorded for it at these paths (with subtree, and under them). */
    public void forget(String primaryBrick, List<String> paths, boolean subtree) throws IOException {
        if (!DirtyIndex.peersIn(meta).contains(primaryBrick)) return;
        DirtyIndex d = new DirtyIndex(meta, primaryBrick);
        java.util.Set<String> owes = owed;
        for (String p : paths) {
            String path = FileOps.normalize(p);
            if (subtree) d.forgetUnder(path);
            else d.forget(path);
            if (owes.isEmpty()) continue;
            if (subtree) owes.removeIf(o -> DirtyIndex.under(o, path));
            else owes.remove(path);
        }
    }

    /**
     * Whether this brick changed path while it led and the primary has not taken the change yet
     * (the path is in split-brain, or still to be pulled): then only the primary may answer reads
     * of it, even with cluster.read-from-replicas on.
     */
    public boolean owesPrimary(String path) {
        java.util.Set<String> owes = owed;
        return !owes.isEmpty() && owes.contains(path);
    }

    long lastEpoch() {
        try {
            String s = meta.getString("file/last-epoch");
            return s == null ? 0 : Long.parseLong(s);
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    public StreamObserver<FileOp> replicate(StreamObserver<FileAck> acks) {
        return new Receiver(acks);
    }

    /** The stream from the primary, applied in order. gRPC delivers one message at a time. */
    private final class Receiver implements StreamObserver<FileOp> {
        private final StreamObserver<FileAck> acks;
        private final HealApplier heal;
        private long epoch = -1;
        private String from = "";
        private volatile boolean live;
        private volatile boolean failed;

        Receiver(StreamObserver<FileAck> acks) {
            this.acks = acks;
            this.heal = new HealApplier(store, arbiter());
        }

        void fail(String reason) {
            if (failed) return;
            failed = true;
            live = false;
            synchronized (this) {
                try {
                    acks.onError(Status.FAILED_PRECONDITION.withDescription(reason).asRuntimeException());
                } catch (RuntimeException ignored) {
                    // already closed
                }
            }
        }

        @Override
        public void onNext(FileOp op) {
            if (failed) return;
            FileAck.Builder ack = FileAck.newBuilder().setSeq(op.getSeq());
            try {
                switch (op.getOpCase()) {
                    case OPEN -> {
                        FileHello o = op.getOpen();
                        SetView v = view;
                        if (!o.getVolumeId().equals(v.volumeId()) || o.getEpoch() < v.epoch() || primary != null) {
                            fail("refused: epoch " + o.getEpoch() + ", here " + v.epoch());
                            return;
                        }
                        Receiver old = receiver;
                        if (old != null && old != this) old.fail("a new stream from " + o.getPrimaryBrick());
                        epoch = o.getEpoch();
                        from = o.getPrimaryBrick();
                        receiver = this;
                        meta.put("file/last-epoch", Long.toString(epoch).getBytes(StandardCharsets.UTF_8));
                        return; // no ack for open
                    }
                    case MUTATION -> {
                        live = true;
                        FileRequest r = op.getMutation();
                        if (r.getOpCase() == FileRequest.OpCase.FSYNC && !arbiter()) {
                            fsyncAside(op, ack);
                            return; // acknowledged when it is done
                        }
                        FileOps.Applied a = FileOps.apply(store, r, arbiter(), false);
                        if (!a.ok()) {
                            recent.prune(epoch, op.getCommitted(), true);
                            ack.setErrno(a.reply().getErrno()).setError(a.reply().getMessage());
                        } else {
                            copyTimes(op);
                            // what the primary says is everywhere leaves, this one joins: one metadata write
                            recent.update(epoch, op.getCommitted(), true, a.changes(), epoch, op.getSeq());
                            replies.put(r.getClient(), r.getId(), a.reply());
                        }
                    }
                    case HEAL -> {
                        try {
                            heal.apply(op.getHeal(), ack);
                        } catch (FsError e) {
                            ack.setErrno(e.errno()).setError(e.getMessage());
                        }
                    }
                    case HEAL_DONE -> {
                        var d = op.getHealDone();
                        meta.put("fresync/last", (d.getKind() + "," + d.getBytes() + "," + d.getSeconds())
                                .getBytes(StandardCharsets.UTF_8));
                        markSynced();
                        live = true;
                        LOG.info("{}: {} healed from {}: {} heal, {} bytes in {} s", view.volume(), self, from,
                                d.getKind(), d.getBytes(), String.format("%.2f", d.getSeconds()));
                    }
                    case PING -> live = true; // pings come only once the primary has turned the link live
                    case LOCKS -> locks.apply(op.getLocks(), path -> LockTable.keyOf(store, path));
                    case TIMES_ONLY -> copyTimes(op);
                    default -> {
                        fail("unknown operation");
                        return;
                    }
                }
            } catch (IOException | RuntimeException e) {
                ack.setErrno(Errno.EIO).setError(String.valueOf(e.getMessage()));
            }
            send(ack);
        }

        /** Sets the primary's times that came with op. */
        private void copyTimes(FileOp op) {
            for (TimeFix t : op.getTimesList()) {
                try {
                    store.setTimes(t.getPath(), t.getAtimeNs(), t.getMtimeNs());
                } catch (FsError ignored) {
                    // the path went away in the same operation (or, for times owed, since)
                }
            }
        }

        /**
         * An fsync runs on a helper thread, not on the transport's: that thread carries every
         * stream and call of this server, and a disk flush (milliseconds, more on a busy disk)
         * would hold all of them, including the acknowledgements of the writes before it. Only a
         * short one from a writer alone runs on the transport's thread ({@link SyncPolicy}). It
         * covers everything applied before it here; the mutations after it go on meanwhile, and
         * its acknowledgement may come after theirs (the primary matches them by sequence number).
         */
        private void fsyncAside(FileOp op, FileAck.Builder ack) throws IOException {
            FileRequest r = op.getMutation();
            recent.prune(epoch, op.getCommitted(), true);
            FileStore.Sync sync;
            try {
                sync = store.openForSync(r.getFsync().getPath(), r.getFsync().getDatasync());
            } catch (FsError e) {
                send(ack.setErrno(e.errno()).setError(e.getMessage()));
                return;
            }
            syncPolicy.flush(sync, r.getClient(), r.getFsync().getPath(), false).thenAccept(done -> {
                if (done.getErrno() == 0) replies.put(r.getClient(), r.getId(), done);
                else ack.setErrno(done.getErrno()).setError(done.getMessage());
                send(ack);
            });
        }

        /** Acknowledges one operation; nothing once the stream failed or ended. */
        private void send(FileAck.Builder ack) {
            if (failed) return;
            synchronized (this) {
                try {
                    acks.onNext(ack.build());
                } catch (RuntimeException ignored) {
                    // the stream ended meanwhile: the primary counts what it did not hear of as not done
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            live = false;
            if (receiver == this) receiver = null;
        }

        @Override
        public void onCompleted() {
            live = false;
            if (receiver == this) receiver = null;
            synchronized (this) {
                try {
                    acks.onCompleted();
                } catch (RuntimeException ignored) {
                    // already closed
                }
            }
        }
    }

    // ---- client calls ----

    /** Whether this brick may answer reads now without being the primary. */
    public boolean readable() {
        Receiver r = receiver;
        return primary != null || (!arbiter() && r != null && r.live && synced());
    }

    FileReply read(FileRequest r) {
        return FileOps.read(store, r);
    }

    List<DirtyEntry> recentBefore(long epoch) {
        return recent.before(epoch);
    }

    @Override
    public synchronized void close() {
        closed = true;
        FilePrimary p = primary;
        if (p != null) p.close();
        primary = null;
        Receiver r = receiver;
        if (r != null) r.fail("brick stopping");
        store.close();
        recent.close();
    }
}
