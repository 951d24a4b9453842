package io.braid.block;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.daemon.Member;
import io.braid.nbd.BlockExport;
import io.braid.nbd.BlockExports;
import io.braid.proto.config.Barrier;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.MarkSync;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.PromotePrimary;
import io.braid.proto.config.ReplicaSetRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.LastResyncRecord;
import io.braid.proto.peer.PeerSync;
import io.braid.replication.Coordinator;
import io.braid.replication.PrimaryEngine;
import io.braid.replication.ReplicaMeta;
import io.braid.replication.ReplicaNode;
import io.braid.replication.ReplicaRegistry;
import io.braid.replication.RoutedExport;
import io.braid.replication.SetView;
import io.braid.replication.StaleEpochException;
import io.braid.rpc.PeerClients;
import io.braid.rpc.PeerMonitor;
import io.braid.volume.Brick;
import io.braid.volume.BrickManager;
import io.braid.volume.VolumeOptions;
import io.grpc.Channel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Block volumes on this server: the replicas on its bricks, the NBD exports it offers (every
 * started block volume, wherever its primary is), and failover. It is the bridge between the
 * configuration store and the replication engine.
 */
public final class BlockVolumes implements ReplicaRegistry, BlockExports, Coordinator, BrickManager.Replicas,
        AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockVolumes.class);

    private final Member self;
    private final PoolGroup pool;
    private final PeerMonitor monitor;
    private final PeerClients clients;
    private final Map<String, ReplicaNode> nodes = new ConcurrentHashMap<>();
    private final Map<String, RoutedExport> exports = new ConcurrentHashMap<>();
    private final Map<String, Long> primaryLostSince = new HashMap<>();
    private final ExecutorService submitter = Executors.newFixedThreadPool(2, daemon("config-submit"));
    private final ScheduledExecutorService failover = Executors.newSingleThreadScheduledExecutor(daemon("failover"));

    public BlockVolumes(Member self, PoolGroup pool, PeerMonitor monitor, PeerClients clients) {
        this.self = self;
        this.pool = pool;
        this.monitor = monitor;
        this.clients = clients;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    public void start() {
        failover.scheduleWithFixedDelay(this::checkPrimaries, 1, 1, TimeUnit.SECONDS);
    }

    /** A brick's name as replication uses it: HOST:PATH, as the operator wrote HOST. */
    public static String brickName(BrickRecord b) {
        return b.getHost() + ":" + b.getPath();
    }

    /** The replica set of a block volume (its only one) as the configuration describes it. */
    public static SetView viewOf(PoolState s, VolumeRecord v) {
        ReplicaSetRecord rs = v.getSets(0);
        List<SetView.Member> members = new ArrayList<>();
        for (int i = 0; i < v.getReplicaCount() && i < v.getBricksCount(); i++) {
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
                io.braid.util.Sizes.parse(VolumeOptions.effective(v, VolumeOptions.HEAL_RATE_LIMIT)));
        return new SetView(v.getName(), v.getId(), v.getSize(), rs.getEpoch(), rs.getPrimary(), members,
                Set.copyOf(rs.getOutOfSyncList()), Set.copyOf(rs.getDiscardList()), o);
    }

    // ---- BrickManager.Replicas ----

    @Override
    public void opened(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        String name = self.address() + ":" + brick.path();
        for (BrickRecord b : v.getBricksList()) {
            if (b.getNodeUuid().equals(self.uuid()) && b.getPath().equals(brick.path().toString())) name = brickName(b);
        }
        ReplicaNode node = new ReplicaNode(name, brick.image(), brick.meta(), viewOf(state, v), this);
        String key = name;
        brick.attach(() -> {
            nodes.remove(key, node);
            node.close();
        });
        nodes.put(name, node);
    }

    @Override
    public void changed(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        for (ReplicaNode n : nodes.values()) {
            if (n.volume().equals(v.getName()) && n.view().volumeId().equals(v.getId())) n.update(viewOf(state, v));
        }
    }

    @Override
    public void status(Brick brick, BrickState.Builder s) {
        for (ReplicaNode n : nodes.values()) {
            if (!n.brick().endsWith(":" + brick.path())) continue;
            s.setRole(n.role()).setState(n.state());
            ReplicaMeta.LastResync r = n.lastResync();
            if (r != null) s.setLastResync(LastResyncRecord.newBuilder().setKind(r.kind()).setBytes(r.bytes()).setSeconds(r.seconds()));
            PrimaryEngine p = n.primary();
            if (p != null) {
                for (PrimaryEngine.PeerState ps : p.peers()) {
                    s.addPeers(PeerSync.newBuilder().setBrick(ps.brick()).setConnected(ps.connected())
                            .setOutOfSyncBytes(ps.outOfSyncBytes()).setSplitBrain(ps.splitBrain())
                            .setResyncing(ps.resyncing()).setResyncTotalBytes(ps.resyncTotalBytes())
                            .setResyncBytesPerSecond(ps.bytesPerSecond()));
                }
            }
        }
    }

    // ---- ReplicaRegistry ----

    @Override
    public ReplicaNode byBrick(String brick) {
        return nodes.get(brick);
    }

    @Override
    public ReplicaNode localPrimary(String volume) {
        for (ReplicaNode n : nodes.values()) {
            if (n.volume().equals(volume) && n.primary() != null) return n;
        }
        return null;
    }

    public List<ReplicaNode> local(String volume) {
        List<ReplicaNode> out = new ArrayList<>();
        for (ReplicaNode n : nodes.values()) if (n.volume().equals(volume)) out.add(n);
        return out;
    }

    // ---- BlockExports ----

    private Optional<VolumeRecord> startedBlock(String name) {
        return pool.state().volume(name).filter(v -> v.getType() == VolumeType.BLOCK && v.getStatus() == VolumeStatus.STARTED);
    }

    @Override
    public BlockExport lookup(String name) {
        if (startedBlock(name).isEmpty()) return null;
        return exports.computeIfAbsent(name, n -> new RoutedExport(n,
                () -> viewOf(pool.state(), pool.state().volume(n).orElseThrow()),
                () -> {
                    ReplicaNode p = localPrimary(n);
                    return p == null ? null : p.primary();
                }, this));
    }

    @Override
    public List<String> names() {
        List<String> out = new ArrayList<>();
        for (VolumeRecord v : pool.state().volumes().values()) {
            if (v.getType() == VolumeType.BLOCK && v.getStatus() == VolumeStatus.STARTED) out.add(v.getName());
        }
        out.sort(null);
        return out;
    }

    @Override
    public String description(String name) {
        return startedBlock(name).map(v -> "Braid block volume " + v.getName() + ", replica " + v.getReplicaCount())
                .orElse("");
    }

    // ---- Coordinator ----

    @Override
    public Channel channel(String address) {
        return clients.dataChannel(address);
    }

    @Override
    public boolean reachable(String nodeUuid) {
        return monitor.isConnected(nodeUuid);
    }

    @Override
    public CompletableFuture<Void> markSync(String volume, long epoch, int brick, boolean inSync) {
        try {
            return CompletableFuture.runAsync(() -> {
                try {
                    pool.submit(ConfigCommand.newBuilder().setMarkSync(MarkSync.newBuilder()
                            .setName(volume).setSet(0).setEpoch(epoch).setBrick(brick).setInSync(inSync)).build());
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
    public CompletableFuture<Boolean> confirmPrimary(String volume, long epoch, int brick) {
        CompletableFuture<Boolean> out = new CompletableFuture<>();
        confirm(volume, epoch, brick, out, System.nanoTime());
        return out;
    }

    private void confirm(String volume, long epoch, int brick, CompletableFuture<Boolean> out, long started) {
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
                    out.complete(v.isPresent() && v.get().getSetsCount() > 0 && v.get().getSets(0).getEpoch() == epoch
                            && v.get().getSets(0).getPrimary() == brick);
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
                    failover.schedule(() -> confirm(volume, epoch, brick, out, started), 1, TimeUnit.SECONDS);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            out.completeExceptionally(new IllegalStateException("braidd is stopping"));
        }
    }

    // ---- failover ----

    /**
     * Promotes an up-to-date secondary when a block volume's primary has not answered for the
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
            for (VolumeRecord v : s.volumes().values()) {
                if (v.getType() != VolumeType.BLOCK || v.getStatus() != VolumeStatus.STARTED || v.getSetsCount() == 0) {
                    primaryLostSince.remove(v.getName());
                    continue;
                }
                SetView view = viewOf(s, v);
                if (monitor.isConnected(view.primaryMember().nodeUuid())) {
                    primaryLostSince.remove(v.getName());
                    continue;
                }
                long now = System.nanoTime();
                long since = primaryLostSince.computeIfAbsent(v.getName(), k -> now);
                if (now - since < TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds())) continue;
                if (!self.uuid().equals(actor)) continue;
                int candidate = candidate(view);
                if (candidate < 0) continue;
                LOG.info("{}: primary {} unreachable for {} s: promoting {} at epoch {}", v.getName(),
                        view.primaryMember().brick(), view.options().pingTimeoutSeconds(),
                        view.members().get(candidate).brick(), view.epoch() + 1);
                try {
                    pool.submit(ConfigCommand.newBuilder().setPromotePrimary(PromotePrimary.newBuilder()
                            .setName(v.getName()).setSet(0).setEpoch(view.epoch()).setPrimary(candidate)).build());
                    primaryLostSince.remove(v.getName());
                } catch (RuntimeException e) {
                    LOG.info("{}: promotion failed: {}", v.getName(), e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("failover check: {}", e.toString());
        }
    }

    /** The brick to promote: an in-sync data brick whose server answers; none if there is none. */
    static int candidate(SetView view, java.util.function.Predicate<String> up) {
        Set<Integer> order = new TreeSet<>();
        for (int i = 0; i < view.members().size(); i++) order.add(i);
        for (int i : order) {
            SetView.Member m = view.members().get(i);
            if (i == view.primary() || m.arbiter() || view.outOfSync().contains(i)) continue;
            if (up.test(m.nodeUuid())) return i;
        }
        if ("none".equals(view.options().quorumType())) {
            // Availability first, as GlusterFS does without quorum: any data brick that is up.
            for (int i : order) {
                SetView.Member m = view.members().get(i);
                if (i != view.primary() && !m.arbiter() && up.test(m.nodeUuid())) return i;
            }
        }
        return -1;
    }

    private int candidate(SetView view) {
        return candidate(view, monitor::isConnected);
    }

    @Override
    public void close() {
        failover.shutdownNow();
        submitter.shutdownNow();
    }
}
