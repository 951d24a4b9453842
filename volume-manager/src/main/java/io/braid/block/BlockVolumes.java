package io.braid.block;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.nbd.BlockExport;
import io.braid.nbd.BlockExports;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.LastResyncRecord;
import io.braid.proto.peer.PeerSync;
import io.braid.replication.PrimaryEngine;
import io.braid.replication.ReplicaMeta;
import io.braid.replication.ReplicaNode;
import io.braid.replication.ReplicaRegistry;
import io.braid.replication.RoutedExport;
import io.braid.replication.SetView;
import io.braid.volume.Brick;
import io.braid.volume.BrickManager;
import io.braid.volume.ReplicaSets;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Block volumes on this server: the replicas on its bricks, the NBD exports it offers (every
 * started block volume, wherever its primary is). {@link ReplicaSets} bridges the configuration
 * store and the replication engine.
 */
public final class BlockVolumes implements ReplicaRegistry, BlockExports, BrickManager.Replicas, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockVolumes.class);

    private final ReplicaSets sets;
    private final PoolGroup pool;
    private final Map<String, ReplicaNode> nodes = new ConcurrentHashMap<>();
    private final Map<String, RoutedExport> exports = new ConcurrentHashMap<>();

    public BlockVolumes(ReplicaSets sets, PoolGroup pool) {
        this.sets = sets;
        this.pool = pool;
    }

    /** The replica set of a block volume (its only one) as the configuration describes it. */
    public static SetView viewOf(PoolState s, VolumeRecord v) {
        return ReplicaSets.viewOf(s, v, 0);
    }

    // ---- BrickManager.Replicas ----

    @Override
    public void opened(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        String name = sets.nameOf(v, brick.path().toString());
        ReplicaNode node = new ReplicaNode(name, brick.image(), brick.meta(), viewOf(state, v), sets);
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
                }, sets));
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

    @Override
    public void close() {
        // the replicas close with their bricks
    }
}
