package io.braid.replication;

import io.braid.nbd.BlockExport;
import io.braid.nbd.NbdError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary of a block volume's replica set: it orders every mutation, applies it to the
 * local image, sends it down each live link, and completes it when the replication protocol
 * says so (C: every live replica applied it; B: every live replica received it; A: it is
 * written locally and sent). Peers that are not live have their missed blocks recorded in their
 * dirty bitmap; a write is acknowledged only once the configuration store knows those peers are
 * out of sync, so a peer that missed a write is never promoted.
 */
public final class PrimaryEngine implements BlockExport, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PrimaryEngine.class);
    /** How long past the ping timeout a failed out-of-sync record is tried again before EIO. */
    static final int RECORD_RETRY_SECONDS = 10;

    /** Orders mutations: the local write and the send on every link happen under it. */
    final Object order = new Object();
    private final String self;
    private final BlockImage image;
    private final ReplicaMeta meta;
    private final Coordinator coordinator;
    private final Map<Integer, PeerLink> links = new HashMap<>();
    private final Map<Integer, CompletableFuture<Void>> outOfSyncCalls = new HashMap<>();
    private final Set<Integer> inSyncCalls = new HashSet<>();
    private final Map<String, ReplicaMeta.LastResync> resyncs = new HashMap<>();
    private final ScheduledExecutorService timer;
    private volatile SetView view;
    private long seq;
    private volatile boolean closed;
    /** When the last configuration barrier that confirmed this primary's epoch started. */
    private volatile long leaseStartNanos;
    private volatile boolean renewing;
    private volatile long lastReadNanos;
    /** When this engine started: its links are still connecting for a moment after that. */
    private volatile long startedNanos;
    private volatile boolean heldForQuorum;

    PrimaryEngine(String self, BlockImage image, ReplicaMeta meta, Coordinator coordinator, SetView view,
                  long confirmedAtNanos) {
        this.leaseStartNanos = confirmedAtNanos;
        this.self = self;
        this.image = image;
        this.meta = meta;
        this.coordinator = coordinator;
        this.view = view;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "primary-" + view.volume());
            t.setDaemon(true);
            return t;
        });
    }

    void start() throws IOException {
        if (meta.current().isEmpty()) meta.setCurrent(ReplicaMeta.newId(), false);
        List<Long> extents = meta.activity().extents();
        for (int i = 0; i < view.members().size(); i++) {
            SetView.Member m = view.members().get(i);
            if (i == view.primary() || m.arbiter()) continue;
            PeerLink link = new PeerLink(this, m, i);
            links.put(i, link);
            // After a crash of this primary, its hot extents may hold writes a peer never got.
            for (long e : extents) meta.bitmap(m.brick()).mark(e * ActivityLog.EXTENT, ActivityLog.EXTENT);
        }
        meta.saveBitmaps();
        startedNanos = System.nanoTime();
        for (PeerLink l : links.values()) l.start();
        timer.scheduleWithFixedDelay(this::tick, 250, 250, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::saveQuietly, 1, 1, TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(this::renewLease, 300, 300, TimeUnit.MILLISECONDS);
        LOG.info("{}: {} is primary at epoch {}", view.volume(), self, view.epoch());
    }

    // ---- accessors for links ----

    String volume() {
        return view.volume();
    }

    String self() {
        return self;
    }

    SetView view() {
        return view;
    }

    ReplicaMeta meta() {
        return meta;
    }

    BlockImage image() {
        return image;
    }

    Coordinator coordinator() {
        return coordinator;
    }

    long nextSeq() {
        return ++seq;
    }

    void update(SetView v) {
        view = v;
    }

    // ---- BlockExport ----

    @Override
    public long size() {
        return image.size();
    }

    /**
     * Reads are served only under a lease: a configuration barrier that confirmed this epoch
     * started less than half a ping timeout ago. Another brick is promoted only after this
     * server was unreachable for a whole ping timeout, so a primary that was frozen or cut off
     * never answers a read from an image that a newer primary has moved past.
     */
    private boolean leaseValid() {
        long lease = TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds()) / 2;
        return System.nanoTime() - leaseStartNanos < lease;
    }

    /** Renews the lease ahead of time while reads come in; an idle volume writes no barriers. */
    private void renewLease() {
        long pt = TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds());
        long now = System.nanoTime();
        if (closed || renewing || now - leaseStartNanos < pt / 6 || now - lastReadNanos > pt) return;
        renewing = true;
        boolean availabilityFirst = "none".equals(view.options().quorumType());
        coordinator.confirmPrimary(view.volume(), view.set(), view.epoch(), view.primary()).whenComplete((ok, e) -> {
            renewing = false;
            if (e == null && Boolean.TRUE.equals(ok)) {
                // Without quorum the confirmation may have waited out the store: count from now.
                leaseStartNanos = Math.max(leaseStartNanos, availabilityFirst ? System.nanoTime() : now);
            }
        });
    }

    @Override
    public CompletableFuture<ByteBuffer> read(long offset, int length) {
        try {
            checkOpen();
            lastReadNanos = System.nanoTime();
            if (!leaseValid()) {
                renewLease();
                throw new NbdError(ReplicationService.NOT_PRIMARY, "primary lease of " + view.volume()
                        + " expired: waiting for the configuration store to confirm it");
            }
            checkRange(offset, length);
            return CompletableFuture.completedFuture(image.read(offset, length));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new NbdError(NbdError.EIO, e.getMessage()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return mutate(offset, data.remaining(), fua, links -> {
            image.write(offset, data);
            List<CompletableFuture<Void>> w = new ArrayList<>();
            for (PeerLink l : links) w.add(l.sendWrite(offset, data, fua));
            return w;
        });
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return writeZeroes(offset, length, fua, false);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
        return mutate(offset, length, fua, links -> {
            image.zero(offset, length);
            List<CompletableFuture<Void>> w = new ArrayList<>();
            for (PeerLink l : links) w.add(l.sendZero(offset, length, fua));
            return w;
        });
    }

    @Override
    public CompletableFuture<Void> flush() {
        try {
            checkOpen();
            List<CompletableFuture<Void>> waits = new ArrayList<>();
            synchronized (order) {
                for (PeerLink l : links.values()) {
                    if (l.live()) waits.add(l.sendFlush());
                }
            }
            image.sync();
            meta.sync();
            if (view.options().protocol() == 'A') return CompletableFuture.completedFuture(null);
            return CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new NbdError(NbdError.EIO, e.getMessage()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private interface Mutation {
        List<CompletableFuture<Void>> apply(List<PeerLink> live) throws IOException;
    }

    /** Whether the configuration store knows the link's brick is out of sync (or need not). */
    private boolean recorded(PeerLink l) {
        if (view.outOfSync().contains(l.index)) return true;
        synchronized (outOfSyncCalls) {
            CompletableFuture<Void> f = outOfSyncCalls.get(l.index);
            return f != null && f.isDone() && !f.isCompletedExceptionally();
        }
    }

    /**
     * Applies a mutation. A peer that is not live must first be recorded out of sync: only then
     * may this primary write what the peer misses, start a new generation, and acknowledge. A
     * deposed primary fails there (stale epoch) before it touches its image or its identifiers.
     */
    private CompletableFuture<Void> mutate(long offset, long length, boolean fua, Mutation m) {
        try {
            checkOpen();
            checkRange(offset, length);
            if (!view.quorumMet(upBricks())) {
                if (System.nanoTime() - startedNanos < TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds())) {
                    // Just promoted: the links to the other bricks are still connecting. Hold the
                    // write (for up to a ping timeout) instead of failing it; then try again.
                    if (!heldForQuorum) {
                        heldForQuorum = true;
                        LOG.info("{}: {} holds writes at epoch {} until its links connect (quorum not met yet)",
                                view.volume(), self, view.epoch());
                    }
                    return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS))
                            .thenCompose(v -> mutate(offset, length, fua, m));
                }
                throw new NbdError(NbdError.EIO, "quorum not met for " + view.volume() + ": too few replicas connected");
            }
            List<CompletableFuture<Void>> unrecorded = new ArrayList<>();
            for (PeerLink l : links.values()) {
                if (!l.live() && !recorded(l)) unrecorded.add(ensureOutOfSync(l));
            }
            if (!unrecorded.isEmpty()) {
                return CompletableFuture.allOf(unrecorded.toArray(CompletableFuture[]::new))
                        .thenCompose(v -> mutate(offset, length, fua, m));
            }
            List<CompletableFuture<Void>> waits = new ArrayList<>();
            List<CompletableFuture<Void>> recorded = new ArrayList<>();
            synchronized (order) {
                for (PeerLink l : links.values()) {
                    if (!l.live() && !recorded(l)) {
                        // dropped a moment ago: record it first, then try again
                        return ensureOutOfSync(l).thenCompose(v -> mutate(offset, length, fua, m));
                    }
                }
                if (meta.activity().touch(offset, length)) meta.saveActivity();
                List<PeerLink> live = new ArrayList<>();
                boolean bump = false;
                for (PeerLink l : links.values()) {
                    if (l.live()) {
                        live.add(l);
                        continue;
                    }
                    String peer = l.peer.brick();
                    if (meta.base(peer) == null) meta.setBase(peer, meta.current());
                    if (meta.current().equals(meta.base(peer))) bump = true;
                    meta.bitmap(peer).mark(offset, length);
                    recorded.add(ensureOutOfSync(l));
                }
                if (bump) {
                    // The first write since a peer dropped out starts a new generation.
                    String next = ReplicaMeta.newId();
                    meta.setCurrent(next, true);
                    for (PeerLink l : live) if (l.inSync()) l.sendNewCurrent(next);
                }
                waits.addAll(m.apply(live));
            }
            if (fua) image.sync();
            CompletableFuture<Void> all = CompletableFuture.allOf(recorded.toArray(CompletableFuture[]::new));
            if (view.options().protocol() == 'A') return all;
            waits.add(all);
            return CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new NbdError(NbdError.EIO, e.getMessage()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** A closed engine was deposed (or is stopping): NOT_PRIMARY, so a forwarder asks the new primary. */
    private void checkOpen() {
        if (closed) {
            throw new NbdError(ReplicationService.NOT_PRIMARY, "this server is no longer the primary of " + view.volume());
        }
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > image.size() || offset + length < 0) {
            throw new NbdError(NbdError.EINVAL, "range " + offset + "+" + length + " is outside the volume");
        }
    }

    /** Bricks that count as up for quorum: this one, every live link, every reachable arbiter. */
    Set<Integer> upBricks() {
        Set<Integer> up = new HashSet<>();
        up.add(view.primary());
        for (Map.Entry<Integer, PeerLink> e : links.entrySet()) if (e.getValue().live()) up.add(e.getKey());
        for (int i = 0; i < view.members().size(); i++) {
            SetView.Member m = view.members().get(i);
            if (m.arbiter() && coordinator.reachable(m.nodeUuid())) up.add(i);
        }
        return up;
    }

    // ---- link bookkeeping ----

    /** Completes once the configuration store records the link's brick out of sync. */
    CompletableFuture<Void> ensureOutOfSync(PeerLink link) {
        synchronized (outOfSyncCalls) {
            if (view.outOfSync().contains(link.index)) return CompletableFuture.completedFuture(null);
            CompletableFuture<Void> f = outOfSyncCalls.get(link.index);
            if (f != null && !f.isCompletedExceptionally()) return f;
            f = recordOutOfSync(link, System.nanoTime());
            outOfSyncCalls.put(link.index, f);
            return f;
        }
    }

    /**
     * Records the link's brick out of sync. A newer epoch means this brick was deposed: the
     * writes waiting here fail with NOT_PRIMARY (never acknowledged here), so that a forwarding
     * server sends them to the new primary. Any other failure, such as the store having no leader
     * for a moment because the lost server led it, is tried again while this primary still has
     * quorum, for up to the ping timeout plus {@link #RECORD_RETRY_SECONDS}; only then is it EIO.
     */
    private CompletableFuture<Void> recordOutOfSync(PeerLink link, long startedAt) {
        return coordinator.markSync(view.volume(), view.set(), view.epoch(), link.index, false).handle((v, e) -> {
            if (e == null) return CompletableFuture.<Void>completedFuture(null);
            Throwable cause = ReplicationService.cause(e);
            if (cause instanceof StaleEpochException || closed) {
                // Another brick is primary now: this one must not acknowledge anything more.
                return CompletableFuture.<Void>failedFuture(new NbdError(ReplicationService.NOT_PRIMARY,
                        "no longer the primary of " + view.volume() + ": " + cause.getMessage()));
            }
            if ("none".equals(view.options().quorumType())) return CompletableFuture.<Void>completedFuture(null);
            long budget = TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds() + RECORD_RETRY_SECONDS);
            if (System.nanoTime() - startedAt < budget && view.quorumMet(upBricks())) {
                LOG.info("{}: recording {} out of sync at epoch {} failed, trying again: {}", view.volume(),
                        link.peer.brick(), view.epoch(), PeerLink.rootMessage(e));
                return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(250, TimeUnit.MILLISECONDS))
                        .thenCompose(x -> recordOutOfSync(link, startedAt));
            }
            return CompletableFuture.<Void>failedFuture(new NbdError(NbdError.EIO, "cannot record that "
                    + link.peer.brick() + " is out of sync (" + PeerLink.rootMessage(e) + "): refusing to acknowledge writes"));
        }).thenCompose(f -> f);
    }

    void markInSync(PeerLink link) {
        synchronized (outOfSyncCalls) {
            outOfSyncCalls.remove(link.index);
            if (!view.outOfSync().contains(link.index) || !inSyncCalls.add(link.index)) return;
        }
        coordinator.markSync(view.volume(), view.set(), view.epoch(), link.index, true).whenComplete((v, e) -> {
            synchronized (outOfSyncCalls) {
                inSyncCalls.remove(link.index);
            }
            if (e != null) LOG.info("{}: recording {} in sync failed, will retry: {}", view.volume(),
                    link.peer.brick(), PeerLink.rootMessage(e));
        });
    }

    void dropLater(PeerLink link, String reason) {
        if (!closed) timer.execute(() -> link.drop(reason));
    }

    void recordResync(String brick, ReplicaMeta.LastResync r) {
        synchronized (resyncs) {
            resyncs.put(brick, r);
        }
    }

    private void tick() {
        long now = System.nanoTime();
        long timeout = TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds());
        for (PeerLink l : links.values()) {
            if (l.stalled(now, timeout)) {
                l.drop("no answer within network.ping-timeout (" + view.options().pingTimeoutSeconds() + " s)");
            } else {
                l.ping();
                if (l.live() && l.inSync() && view.outOfSync().contains(l.index)) markInSync(l);
            }
        }
    }

    private void saveQuietly() {
        try {
            meta.saveBitmaps();
        } catch (IOException e) {
            LOG.warn("{}: saving dirty bitmaps: {}", view.volume(), e.getMessage());
        }
    }

    /** What this primary knows of each other brick, for status and heal info. */
    public List<PeerState> peers() {
        List<PeerState> out = new ArrayList<>();
        for (PeerLink l : links.values()) {
            DirtyBitmap bm = meta.bitmapIfAny(l.peer.brick());
            long dirty = bm == null ? 0 : bm.dirtyBytes();
            out.add(new PeerState(l.peer.brick(), l.live(), dirty, l.splitBrain(), l.resyncing(),
                    l.resyncTotalBytes(), l.resyncBytesPerSecond()));
        }
        return out;
    }

    public record PeerState(String brick, boolean connected, long outOfSyncBytes, boolean splitBrain,
                            boolean resyncing, long resyncTotalBytes, double bytesPerSecond) {}

    /** Rewrites blocks on one peer from this primary's image (verify repair). */
    public CompletableFuture<Void> repair(String brick, long offset, int length) {
        PeerLink link = null;
        for (PeerLink l : links.values()) if (l.peer.brick().equals(brick)) link = l;
        if (link == null || !link.live()) {
            return CompletableFuture.failedFuture(new IllegalStateException(brick + " is not connected"));
        }
        synchronized (order) {
            try {
                return link.sendWrite(offset, image.read(offset, length), false);
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
    }

    /** Stops on a clean shutdown of the daemon: every local-only write is in a peer's bitmap. */
    @Override
    public void close() {
        stop(true);
    }

    /**
     * Stops because another brick became primary. The activity log stays: this image may hold
     * writes that were never acknowledged, and the new primary overwrites those extents.
     */
    public void demote() {
        stop(false);
    }

    private void stop(boolean clearActivity) {
        if (closed) return;
        closed = true;
        for (PeerLink l : links.values()) l.close(); // pending writes go into the bitmaps
        timer.shutdownNow();
        try {
            if (clearActivity) {
                meta.activity().clear();
                meta.saveActivity();
            }
            meta.sync();
        } catch (IOException e) {
            LOG.warn("{}: saving replication state: {}", view.volume(), e.getMessage());
        }
    }
}
