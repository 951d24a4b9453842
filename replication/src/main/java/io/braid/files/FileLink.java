package io.braid.files;

import io.braid.proto.file.Attr;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.proto.filerep.FetchRequest;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileHello;
import io.braid.proto.filerep.FileHelloReply;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.braid.proto.filerep.ForgetRequest;
import io.braid.proto.filerep.HealDone;
import io.braid.proto.filerep.HealItem;
import io.braid.replication.SetView;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
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
    static final int CHUNK = HealSource.CHUNK;
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
    // Paths both bricks changed while apart (found at the handshake): path -> data, metadata, entry.
    // Neither copy is healed over the other, and clients get EIO on them, until the operator picks.
    private final Map<String, String> split = new ConcurrentSkipListMap<>();
    // What the peer changed while it led and this brick was away, still to be pulled here.
    private final Map<String, DirtyEntry> pulls = new ConcurrentSkipListMap<>();
    private final ReentrantLock healLock = new ReentrantLock(); // one heal of a path at a time
    private static final long PULL_BATCH = 64L << 20;
    private volatile String pulling; // the path being pulled from the peer, or null

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
     * A peer already out of sync when this primary starts missed writes before this brick led.
     * If the peer led itself just before (a failover), what it lacks is what this brick records
     * from now on, plus its own last mutations (recent log) and what it changed while it led (its
     * dirty index for this brick). Otherwise its misses were recorded on another brick's disk:
     * it gets a full heal. The handshake tells which (FileHelloReply.led_epoch).
     */
    void checkHistory() throws IOException {
        long epoch = primary.view().epoch();
        if (outRecorded && dirty.trackedSince() != epoch) {
            dirty.trackFrom(epoch);
            dirty.unknownSince(epoch);
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
        boolean peerLedLast = hr.getSynced() && hr.getLedEpoch() == v.epoch() - 1;
        long unknown = dirty.unknownSince();
        if (unknown >= 0) {
            if (!(hr.getSynced() && hr.getLedEpoch() == unknown - 1)) {
                LOG.info("{}: {} missed writes under another primary: it gets a full heal", v.volume(), peer.brick());
                dirty.mark("", DirtyIndex.ENTRY | DirtyIndex.META | DirtyIndex.FULL, List.of());
            }
            dirty.unknownSince(-1);
        }
        if (!hr.getSynced()) dirty.mark("", DirtyIndex.ENTRY | DirtyIndex.META | DirtyIndex.FULL, List.of());
        boolean full = dirty.get("") != null && (dirty.get("").flags() & DirtyIndex.FULL) != 0;
        // What the peer changed while it led and this brick was away: pulled here, unless this
        // brick changed the same path meanwhile (split-brain), or a full heal overwrites it all.
        Map<String, String> conflicts = new TreeMap<>(DirtyIndex::byDepthThenName);
        List<DirtyEntry> toPull = new ArrayList<>();
        List<String> overwritten = new ArrayList<>();
        for (DirtyEntry theirs : hr.getDirtyForPrimaryList()) {
            if (full || !peerLedLast) {
                dirty.mark(theirs.toBuilder().setEpoch(0).build()); // this brick's copy wins
                overwritten.add(theirs.getPath());
                continue;
            }
            String kind = conflict(theirs, hr.getDirtyForPrimaryList());
            if (kind != null) conflicts.put(theirs.getPath(), kind);
            else toPull.add(theirs);
        }
        if (!overwritten.isEmpty()) {
            LOG.warn("{}: {} changed {} paths while it led without this brick; this brick's copy wins (full heal"
                    + " or older history)", v.volume(), peer.brick(), overwritten.size());
        }
        if (hr.getSynced() && hr.getLastEpoch() < v.epoch()) {
            // The peer last followed another primary: what it applied last may differ from here.
            for (DirtyEntry e : hr.getRecentList()) {
                if (!conflicts.containsKey(e.getPath()) && !pulling(toPull, e.getPath())) {
                    dirty.mark(e.toBuilder().setEpoch(0).build());
                }
            }
            for (DirtyEntry e : primary.replica().recent().before(v.epoch())) dirty.mark(e.toBuilder().setEpoch(0).build());
        }
        split.clear();
        split.putAll(conflicts);
        pulls.clear();
        for (DirtyEntry e : toPull) pulls.put(e.getPath(), e);
        if (!conflicts.isEmpty()) {
            LOG.warn("{}: split-brain between {} and {} on {} paths: {}", v.volume(), primary.replica().brick(),
                    peer.brick(), conflicts.size(), conflicts);
        }
        openStream(hello);
        if (!overwritten.isEmpty()) forgetOnPeer(overwritten, false);
        lastAckNanos = System.nanoTime();
        state = State.HEALING;
        lastError = "";
        // cluster.self-heal-daemon off: connected (it counts for quorum, and heal info and
        // split-brain are reported), but nothing is healed until it is turned on again.
        while (!closed && state == State.HEALING && !primary.view().options().selfHeal()) Thread.sleep(200);
        pullAll();
        heal(full);
    }

    /** Whether the handshake found the path to pull from the peer. */
    private static boolean pulling(List<DirtyEntry> toPull, String path) {
        for (DirtyEntry e : toPull) if (e.getPath().equals(path)) return true;
        return false;
    }

    /**
     * Whether a change the peer made while apart collides with one this brick made: the same
     * part of the same path (data, metadata), or an entry created, removed or replaced on one side
     * where the other changed it or something under it. Returns the kind of split-brain, or null.
     */
    private String conflict(DirtyEntry theirs, List<DirtyEntry> allTheirs) {
        String p = theirs.getPath();
        if (p.isEmpty()) return null;
        DirtyIndex.Item mine = dirty.get(p);
        int t = theirs.getFlags();
        if (mine != null) {
            int m = mine.flags();
            if (((m | t) & DirtyIndex.ENTRY) != 0) return "entry";
            if ((m & t & DirtyIndex.DATA) != 0) return "data";
            if ((m & t & DirtyIndex.META) != 0) return "metadata";
        }
        for (String q : dirty.paths()) {
            if (q.isEmpty() || q.equals(p)) continue;
            // this brick changed something under an entry the peer replaced, or replaced an entry
            // above a path the peer changed
            if ((t & DirtyIndex.ENTRY) != 0 && DirtyIndex.under(q, p)) return "entry";
            DirtyIndex.Item above = dirty.get(q);
            if (above != null && (above.flags() & DirtyIndex.ENTRY) != 0 && DirtyIndex.under(p, q)) return "entry";
        }
        return null;
    }

    // ---- split-brain and pulls ----

    /** Paths in split-brain with this peer, "/a/b" -> data, metadata, entry. */
    public Map<String, String> splitBrain() {
        Map<String, String> out = new TreeMap<>();
        split.forEach((p, k) -> out.put("/" + p, k));
        return out;
    }

    /** Whether path (brick-relative) is in split-brain with this peer. */
    public boolean inSplitBrain(String path) {
        return !split.isEmpty() && split.containsKey(path);
    }

    /** Whether some path is in split-brain with this peer or being pulled from it now. */
    public boolean refusesSome() {
        return pulling != null || !split.isEmpty();
    }

    /** Whether path (brick-relative) is being pulled from the peer now: clients wait for it to end. */
    public boolean pulling(String path) {
        String p = pulling;
        return p != null && DirtyIndex.under(path, p);
    }

    /** Paths the peer changed that this brick still lacks ("/a/b"). */
    public List<String> pendingPulls() {
        List<String> out = new ArrayList<>();
        for (String p : pulls.keySet()) out.add("/" + p);
        return out;
    }

    private boolean splitOrUnder(String p) {
        if (split.isEmpty()) return false;
        for (String s : split.keySet()) if (DirtyIndex.under(p, s)) return true;
        return false;
    }

    private void pullAll() throws Exception {
        List<String> done = new ArrayList<>();
        for (DirtyEntry e : new ArrayList<>(pulls.values())) {
            if (closed || state != State.HEALING) throw new IOException("link down during heal");
            List<long[]> ranges = null;
            if ((e.getFlags() & DirtyIndex.DATA) != 0 && e.getRangesCount() > 0) {
                ranges = new ArrayList<>();
                for (int i = 0; i + 1 < e.getRangesCount(); i += 2) ranges.add(new long[] {e.getRanges(i), e.getRanges(i + 1)});
            }
            healLock.lock();
            try {
                pull(e.getPath(), e.getFlags(), ranges, false);
            } finally {
                healLock.unlock();
            }
            pulls.remove(e.getPath());
            done.add(e.getPath());
            if (done.size() >= 256) {
                forgetOnPeer(done, false);
                done.clear();
            }
        }
        if (!done.isEmpty()) forgetOnPeer(done, false);
    }

    /**
     * Makes path here look like it does on the peer: the peer sends the items for the parts in
     * flags, this brick applies them under the order lock. Every other peer of the set gets the
     * path in its dirty index (a live one is dropped, to heal it). exact: a directory keeps only
     * the peer's names, and names it lacks are pulled whole (split-brain resolution).
     */
    long pull(String path, int flags, List<long[]> ranges, boolean exact) throws Exception {
        FetchRequest.Builder req = FetchRequest.newBuilder().setVolumeId(primary.view().volumeId())
                .setTargetBrick(peer.brick()).setPath(path).setFlags(flags);
        if (ranges != null) for (long[] r : ranges) req.addRanges(r[0]).addRanges(r[1]);
        Iterator<HealItem> items = FileReplicationGrpc.newBlockingStub(primary.replica().coordinator().controlChannel(peer.address()))
                .withDeadlineAfter(Math.max(60, 6L * primary.view().options().pingTimeoutSeconds()), TimeUnit.SECONDS)
                .fetch(req.build());
        HealApplier applier = new HealApplier(primary.replica().store(), false);
        List<String> missing = new ArrayList<>();
        boolean needsWhole = false;
        long bytes = 0;
        // Items are read from the network without the order lock (mutations are answered on the
        // event loop, which must never wait for the network) and applied under it, a batch of up
        // to PULL_BATCH bytes at a time. A file bigger than that is refused to clients between
        // batches (see pulling()), so no acknowledged write lands between two of its chunks.
        pulling = path;
        try {
            boolean more = true;
            while (more) {
                List<HealItem> batch = new ArrayList<>();
                long size = 0;
                while (size < PULL_BATCH && (more = items.hasNext())) {
                    HealItem h = items.next();
                    if (!exact && h.getListComplete()) h = h.toBuilder().setListComplete(false).clearNames().build();
                    size += h.getSerializedSize();
                    batch.add(h);
                }
                bytes += size;
                primary.order().lock();
                try {
                    for (HealItem h : batch) {
                        FileAck.Builder ack = FileAck.newBuilder();
                        try {
                            applier.apply(h, ack);
                        } catch (FsError e) {
                            throw new IOException("pull of /" + path + " from " + peer.brick() + ": " + e.getMessage(), e);
                        }
                        if (ack.getNeedsFull()) needsWhole = true;
                        for (String n : ack.getMissingList()) missing.add(path.isEmpty() ? n : path + "/" + n);
                    }
                    if (!more) {
                        int changed = needsWhole ? DirtyIndex.ENTRY : flags & ~(DirtyIndex.FULL | DirtyIndex.CHECK);
                        for (FileLink l : primary.links()) {
                            if (l == this) continue;
                            l.dirty().mark(path, changed | (exact ? DirtyIndex.ENTRY | DirtyIndex.FULL : 0), List.of());
                            if (l.live()) l.drop("changes pulled from " + peer.brick() + " need healing");
                        }
                    }
                } finally {
                    primary.order().unlock();
                }
            }
        } finally {
            pulling = null;
        }
        if (needsWhole && (flags & DirtyIndex.ENTRY) == 0) bytes += pull(path, DirtyIndex.ENTRY, null, exact);
        for (String m : missing) bytes += pull(m, DirtyIndex.ENTRY, null, true);
        return bytes;
    }

    /** Tells the peer this brick now has what it recorded for it at these paths (and, with subtree, under them). */
    private void forgetOnPeer(List<String> paths, boolean subtree) {
        try {
            FileReplicationGrpc.newBlockingStub(primary.replica().coordinator().controlChannel(peer.address()))
                    .withDeadlineAfter(30, TimeUnit.SECONDS).forget(ForgetRequest.newBuilder()
                            .setVolumeId(primary.view().volumeId()).setTargetBrick(peer.brick())
                            .setPrimaryBrick(primary.replica().brick()).addAllPaths(paths).setSubtree(subtree).build());
        } catch (RuntimeException e) {
            LOG.warn("{}: {} could not drop {} entries it recorded for {}: {}", primary.view().volume(), peer.brick(),
                    paths.size(), primary.replica().brick(), e.getMessage());
        }
    }

    /** The kind and attributes of path on the peer (ABSENT when it has none). */
    HealItem describeOnPeer(String path) {
        Iterator<HealItem> it = FileReplicationGrpc.newBlockingStub(primary.replica().coordinator().controlChannel(peer.address()))
                .withDeadlineAfter(30, TimeUnit.SECONDS).fetch(FetchRequest.newBuilder()
                        .setVolumeId(primary.view().volumeId()).setTargetBrick(peer.brick()).setPath(path)
                        .setAttrOnly(true).build());
        HealItem h = it.next();
        while (it.hasNext()) it.next();
        return h;
    }

    /**
     * Ends the split-brain of path (brick-relative): the peer's copy is pulled here (fromPeer), or
     * this brick's copy is healed whole onto the peer. Both bricks then hold the same entry and
     * neither has anything left recorded for the other under path.
     */
    void resolve(String path, boolean fromPeer) throws Exception {
        if (state == State.DOWN) throw new IOException(peer.brick() + " is not connected");
        healLock.lock();
        try {
            if (fromPeer) {
                pull(path, DirtyIndex.ENTRY, null, true);
                dirty.forgetUnder(path);
            } else {
                dirty.mark(path, DirtyIndex.ENTRY, List.of());
                split.keySet().removeIf(k -> DirtyIndex.under(k, path));
                for (int round = 0; round < 100_000; round++) {
                    List<DirtyIndex.Item> items = dirty.snapshot(256, q -> !DirtyIndex.under(q, path) || splitOrUnder(q));
                    if (items.isEmpty()) break;
                    for (DirtyIndex.Item snap : items) {
                        if (state == State.DOWN) throw new IOException(peer.brick() + " went away during the heal");
                        DirtyIndex.Item it = dirty.current(snap.path());
                        if (it != null) healOne(it);
                    }
                }
            }
            forgetOnPeer(List.of(path), true);
            split.keySet().removeIf(k -> DirtyIndex.under(k, path));
            pulls.keySet().removeIf(k -> DirtyIndex.under(k, path));
        } finally {
            healLock.unlock();
        }
    }

    /** volume heal NAME full: compare everything with the peer and heal what differs. */
    void crawl() throws IOException {
        dirty.mark("", DirtyIndex.CHECK, List.of());
        if (live()) drop("full heal requested");
    }

    /**
     * A directory's list of names, plus its children in split-brain: the peer keeps its copy of
     * those (the list removes every other name the source lacks).
     */
    private HealItem keepSplit(HealItem dir) {
        if (split.isEmpty() || !dir.getListComplete()) return dir;
        String p = dir.getPath();
        HealItem.Builder b = dir.toBuilder();
        for (String s : split.keySet()) {
            int slash = s.lastIndexOf('/');
            String parent = slash < 0 ? "" : s.substring(0, slash);
            String name = s.substring(slash + 1);
            if (parent.equals(p) && !dir.getNamesList().contains(name)) b.addNames(name);
        }
        return b.build();
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
            List<DirtyIndex.Item> items = dirty.snapshot(256, this::splitOrUnder);
            if (items.isEmpty()) {
                primary.order().lock();
                try {
                    // Paths in split-brain stay recorded; clients get EIO on them until resolved.
                    if (dirty.snapshot(1, this::splitOrUnder).isEmpty() && state == State.HEALING) {
                        state = State.LIVE;
                        primary.sendLocks(this); // the peer's copy of the locks starts from the whole table
                    }
                } finally {
                    primary.order().unlock();
                }
                continue;
            }
            healTotal = estimate();
            for (DirtyIndex.Item snap : items) {
                if (state != State.HEALING) throw new IOException("link down during heal");
                healLock.lock();
                try {
                    // as it is now: healing a directory marks its children again (else each would
                    // be healed twice, the first time under a version that can no longer be cleared)
                    DirtyIndex.Item it = dirty.current(snap.path());
                    if (it != null) bytes += healOne(it);
                } finally {
                    healLock.unlock();
                }
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
        if (!entry && (it.flags() & DirtyIndex.CHECK) != 0) return checkOne(it, a, kind);
        boolean meta = entry || (it.flags() & DirtyIndex.META) != 0;
        List<CompletableFuture<FileAck>> acks = new ArrayList<>();
        if (entry) {
            HealItem built = keepSplit(HealSource.entry(store, p, a, kind));
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
                    HealItem chunk = HealSource.chunk(store, p, off, len);
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
            HealItem built = HealSource.tail(store, p, a, kind, meta);
            sent += built.getSerializedSize();
            acks.add(sendHeal(built));
        }
        for (CompletableFuture<FileAck> f : acks) if (!handled(await(f), it, p)) return sent;
        dirty.clearIf(p, it.version());
        return sent;
    }

    /**
     * A full heal's comparison of one path: a directory's names are listed on both sides (what
     * the peer lacks is sent whole, what it has is compared in turn), a file whose size or mtime
     * differs is sent whole, and metadata is set as here.
     */
    private long checkOne(DirtyIndex.Item it, Attr a, HealItem.Kind kind) throws Exception {
        FileStore store = primary.replica().store();
        String p = it.path();
        long sent = 0;
        if (kind == HealItem.Kind.DIR) {
            HealItem h = keepSplit(HealSource.entry(store, p, a, kind).toBuilder().setRecreate(false).build());
            sent += h.getSerializedSize();
            FileAck ack = await(sendHeal(h));
            if (!handled(ack, it, p)) return sent;
            List<String> missing = ack.getMissingList();
            for (String n : h.getNamesList()) {
                String child = p.isEmpty() ? n : p + "/" + n;
                if (missing.contains(n)) dirty.mark(child, DirtyIndex.ENTRY | DirtyIndex.FULL, List.of());
                else dirty.mark(child, DirtyIndex.CHECK, List.of());
            }
        } else if (kind == HealItem.Kind.FILE) {
            HealItem v = HealItem.newBuilder().setPath(p).setKind(kind).setAttr(a).setVerify(true).build();
            sent += v.getSerializedSize();
            if (!handled(await(sendHeal(v)), it, p)) return sent;
            HealItem t = HealSource.tail(store, p, a, kind, true).toBuilder().setSetSize(false).build();
            sent += t.getSerializedSize();
            if (!handled(await(sendHeal(t)), it, p)) return sent;
        } else {
            HealItem e = HealSource.entry(store, p, a, kind);
            sent += e.getSerializedSize();
            if (!handled(await(sendHeal(e)), it, p)) return sent;
        }
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
