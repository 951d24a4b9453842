package io.braid.volume;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.daemon.Member;
import io.braid.proto.config.Barrier;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.MarkSync;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.PromotePrimary;
import io.braid.proto.config.ReplicaSetRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.replication.Coordinator;
import io.braid.replication.SetView;
import io.braid.replication.StaleEpochException;
import io.braid.rpc.PeerClients;
import io.braid.rpc.PeerMonitor;
import io.grpc.Channel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica sets of every started volume, block or file, as the replication engines see them:
 * views built from the configuration, the configuration changes they ask for (out of sync, primary
 * confirmation), and failover when a set's primary stops answering.
 */
public final class ReplicaSets implements Coordinator, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaSets.class);

    private final Member self;
    private final PoolGroup pool;
    private final PeerMonitor monitor;
    private final PeerClients clients;
    private final Map<String, Long> primaryLostSince = new HashMap<>(); // key: volume/set
    private final ExecutorService submitter = Executors.newFixedThreadPool(2, daemon("config-submit"));
    private final ScheduledExecutorService failover = Executors.newSingleThreadScheduledExecutor(daemon("failover"));

    public ReplicaSets(Member self, PoolGroup pool, PeerMonitor monitor, PeerClients clients) {
        this.self = self;
        this.pool = pool;
        this.monitor = monitor;
        this.clients = clients;
    }

    static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    public void start() {
        failover.scheduleWithFixedDelay(this::checkPrimaries, 250, 250, TimeUnit.MILLISECONDS);
    }

    public Member self() {
        return self;
    }

    public PoolGroup pool() {
        return pool;
    }

    public PeerMonitor monitor() {
        return monitor;
    }

    /** A brick's name as replication uses it: HOST:PATH, as the operator wrote HOST. */
    public static String brickName(BrickRecord b) {
        return b.getHost() + ":" + b.getPath();
    }

    /** Replica set {@code set} of a volume as the configuration describes it. */
    public static SetView viewOf(PoolState s, VolumeRecord v, int set) {
        ReplicaSetRecord rs = v.getSets(set);
        List<SetView.Member> members = new ArrayList<>();
        int r = v.getReplicaCount();
        for (int i = set * r; i < (set + 1) * r && i < v.getBricksCount(); i++) {
            BrickRecord b = v.getBricks(i);
            String address = s.peer(b.getNodeUuid()).map(PeerRecord::getAddress).orElse("");
            members.add(new SetView.Member(brickName(b), b.getNodeUuid(), address, b.getArbiter()));
        }
        String protocol = VolumeOptions.effective(v, VolumeOptions.REPLICATION_PROTOCOL);
        String count = VolumeOptions.effective(v, VolumeOptions.QUORUM_COUNT);
        SetView.Options o = new SetView.Options(
                Integer.parseInt(VolumeOptions.effective(v, VolumeOptions.PING_TIMEOUT)),
                protocol.toUpperCase().charAt(0),
                VolumeOptions.effective(v, VolumeOptions.QUORUM_TYPE),
                count.matches("\\d+") ? Integer.parseInt(count) : 0,
                io.braid.util.Sizes.parse(VolumeOptions.effective(v, VolumeOptions.HEAL_RATE_LIMIT)),
                !"off".equals(VolumeOptions.effective(v, VolumeOptions.SELF_HEAL_DAEMON)));
        return new SetView(v.getName(), v.getId(), set, v.getSize(), rs.getEpoch(), rs.getPrimary(), members,
                Set.copyOf(rs.getOutOfSyncList()), Set.copyOf(rs.getDiscardList()), o);
    }

    /** The set index of the brick at path on this server, or -1. */
    public int setOf(VolumeRecord v, String path) {
        for (int i = 0; i < v.getBricksCount(); i++) {
            BrickRecord b = v.getBricks(i);
            if (b.getNodeUuid().equals(self.uuid()) && b.getPath().equals(path)) return i / v.getReplicaCount();
        }
        return -1;
    }

    /** The name (HOST:PATH) of the brick at path on this server. */
    public String nameOf(VolumeRecord v, String path) {
        for (BrickRecord b : v.getBricksList()) {
            if (b.getNodeUuid().equals(self.uuid()) && b.getPath().equals(path)) return brickName(b);
        }
        return self.address() + ":" + path;
    }

    // ---- Coordinator ----

    @Override
    public Channel channel(String address) {
        return clients.dataChannel(address);
    }

    @Override
    public Channel controlChannel(String address) {
        return clients.channel(address);
    }

    @Override
    public boolean reachable(String nodeUuid) {
        return monitor.isConnected(nodeUuid);
    }

    @Override
    public CompletableFuture<Void> markSync(String volume, int set, long epoch, int brick, boolean inSync) {
        try {
            return CompletableFuture.runAsync(() -> {
                try {
                    pool.submit(ConfigCommand.newBuilder().setMarkSync(MarkSync.newBuilder()
                            .setName(volume).setSet(set).setEpoch(epoch).setBrick(brick).setInSync(inSync)).build());
                } catch (io.braid.util.BraidException e) {
                    if (String.valueOf(e.getMessage()).startsWith("stale epoch")) throw new StaleEpochException(e.getMessage());
                    throw e;
                }
            }, submitter);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("braidd is stopping"));
        }
    }

    @Override
    public CompletableFuture<Boolean> confirmPrimary(String volume, int set, long epoch, int brick) {
        CompletableFuture<Boolean> out = new CompletableFuture<>();
        confirm(volume, set, epoch, brick, out, System.nanoTime());
        return out;
    }

    private void confirm(String volume, int set, long epoch, int brick, CompletableFuture<Boolean> out, long started) {
        try {
            submitter.execute(() -> {
                try {
                    long index = pool.submit(ConfigCommand.newBuilder().setBarrier(Barrier.getDefaultInstance()).build());
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (pool.state().appliedIndex() < index && System.nanoTime() < deadline) Thread.sleep(10);
                    if (pool.state().appliedIndex() < index) {
                        // Never decide on a copy of the configuration that has not caught up.
                        throw new IllegalStateException("configuration not applied up to " + index + " here yet");
                    }
                    Optional<VolumeRecord> v = pool.state().volume(volume);
                    out.complete(v.isPresent() && v.get().getSetsCount() > set && v.get().getSets(set).getEpoch() == epoch
                            && v.get().getSets(set).getPrimary() == brick);
                } catch (InterruptedException e) {
                    out.completeExceptionally(e);
                } catch (RuntimeException e) {
                    Optional<VolumeRecord> v = pool.state().volume(volume);
                    boolean availabilityFirst = v.isPresent()
                            && "none".equals(VolumeOptions.effective(v.get(), VolumeOptions.QUORUM_TYPE));
                    if (availabilityFirst && System.nanoTime() - started > TimeUnit.SECONDS.toNanos(
                            Integer.parseInt(VolumeOptions.effective(v.get(), VolumeOptions.PING_TIMEOUT)))) {
                        // Without quorum a replica-2 volume stays available on the configuration it has.
                        LOG.info("{}: configuration store unreachable; serving as primary without confirmation"
                                + " (cluster.quorum-type none)", volume);
                        out.complete(true);
                        return;
                    }
                    failover.schedule(() -> confirm(volume, set, epoch, brick, out, started), 1, TimeUnit.SECONDS);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            out.completeExceptionally(new IllegalStateException("braidd is stopping"));
        }
    }

    // ---- failover ----

    /**
     * Promotes an up-to-date secondary when a replica set's primary has not answered for the
     * ping timeout. One member acts: the reachable member with the lowest uuid. A stale decision
     * is harmless: the command names the epoch it was made at and the store refuses it otherwise.
     */
    private void checkPrimaries() {
        try {
            PoolState s = pool.state();
            String actor = null;
            for (PeerRecord p : s.peers().values()) {
                if (monitor.isConnected(p.getUuid()) && (actor == null || p.getUuid().compareTo(actor) < 0)) actor = p.getUuid();
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (VolumeRecord v : s.volumes().values()) {
                if (v.getStatus() != VolumeStatus.STARTED) continue;
                for (int set = 0; set < v.getSetsCount(); set++) {
                    String key = v.getName() + "/" + set;
                    seen.add(key);
                    SetView view = viewOf(s, v, set);
                    if (monitor.isConnected(view.primaryMember().nodeUuid())) {
                        primaryLostSince.remove(key);
                        continue;
                    }
                    long now = System.nanoTime();
                    long timeout = TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds());
                    long since = primaryLostSince.computeIfAbsent(key, k -> lostSince(now,
                            monitor.lastAnswered(view.primaryMember().nodeUuid()), timeout, PeerMonitor.periodNanos()));
                    if (now - since < timeout) continue;
                    if (!self.uuid().equals(actor)) continue;
                    int candidate = candidate(view, monitor::isConnected);
                    if (candidate < 0) continue;
                    LOG.info("{}: set {}: primary {} unreachable for {} s: promoting {} at epoch {}", v.getName(), set,
                            view.primaryMember().brick(), view.options().pingTimeoutSeconds(),
                            view.members().get(candidate).brick(), view.epoch() + 1);
                    try {
                        pool.submit(ConfigCommand.newBuilder().setPromotePrimary(PromotePrimary.newBuilder()
                                .setName(v.getName()).setSet(set).setEpoch(view.epoch()).setPrimary(candidate)).build());
                        primaryLostSince.remove(key);
                    } catch (RuntimeException e) {
                        LOG.info("{}: set {}: promotion failed: {}", v.getName(), set, e.getMessage());
                    }
                }
            }
            primaryLostSince.keySet().retainAll(seen);
        } catch (RuntimeException e) {
            LOG.warn("failover check: {}", e.toString());
        }
    }

    /**
     * When a primary first seen unreachable at {@code seenNanos} counts as lost from: its last
     * answer, as GlusterFS counts network.ping-timeout from the server's last reply, which saves
     * the second or so a missed hello takes to be noticed. Never earlier than one hello period
     * short of the whole timeout before it was seen, though, so that at least one more hello must
     * go unanswered: a member that was itself paused sees only old answers when it resumes. A
     * primary that has not answered since this daemon started gets the whole timeout from then.
     */
    static long lostSince(long seenNanos, java.util.OptionalLong lastAnswerNanos, long timeoutNanos, long periodNanos) {
        long earliest = seenNanos - Math.max(0, timeoutNanos - periodNanos);
        if (lastAnswerNanos.isEmpty()) return seenNanos; // just started: it may be only connecting
        long last = lastAnswerNanos.getAsLong(); // nanoTime values compare by their difference only
        if (last - seenNanos > 0) return seenNanos;
        return last - earliest > 0 ? last : earliest;
    }

    /**
     * Whether, as this server sees it, no failover can bring the set back: neither the primary's
     * server nor any brick {@link #candidate} would promote answers (SetLayout.no_candidate).
     */
    public boolean noCandidate(SetView view) {
        boolean primaryUp = view.primary() >= 0 && view.primary() < view.members().size()
                && monitor.isConnected(view.primaryMember().nodeUuid());
        return !primaryUp && candidate(view, monitor::isConnected) < 0;
    }

    /** The brick to promote: an in-sync data brick whose server answers; none if there is none. */
    public static int candidate(SetView view, java.util.function.Predicate<String> up) {
        for (int i = 0; i < view.members().size(); i++) {
            SetView.Member m = view.members().get(i);
            if (i == view.primary() || m.arbiter() || view.outOfSync().contains(i)) continue;
            if (up.test(m.nodeUuid())) return i;
        }
        if ("none".equals(view.options().quorumType())) {
            // Availability first, as GlusterFS does without quorum: any data brick that is up.
            for (int i = 0; i < view.members().size(); i++) {
                SetView.Member m = view.members().get(i);
                if (i != view.primary() && !m.arbiter() && up.test(m.nodeUuid())) return i;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        failover.shutdownNow();
        submitter.shutdownNow();
    }
}
