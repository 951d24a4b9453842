package io.braid.file;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.files.FileLink;
import io.braid.files.FilePrimary;
import io.braid.files.FileRegistry;
import io.braid.files.FileReplica;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.proto.file.BrickLayout;
import io.braid.proto.file.Layout;
import io.braid.proto.file.SetLayout;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.LastResyncRecord;
import io.braid.proto.peer.PeerSync;
import io.braid.proto.peer.SplitPath;
import io.braid.replication.SetView;
import io.braid.volume.Brick;
import io.braid.volume.BrickManager;
import io.braid.volume.ReplicaSets;
import io.braid.volume.VolumeOptions;
import io.grpc.Status;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * File volumes on this server: the replicas on its bricks, and the layouts mounts ask for. The
 * replica sets themselves (views, failover) are {@link ReplicaSets}'.
 */
public final class FileVolumes implements FileRegistry, BrickManager.Replicas {
    /** At most this many paths per brick in heal info. */
    private static final int MAX_PATHS = 1000;
    private final ReplicaSets sets;
    private final PoolGroup pool;
    private final Map<String, FileReplica> replicas = new ConcurrentHashMap<>(); // by brick name
    private volatile Consumer<String> layoutListener = v -> { };

    public FileVolumes(ReplicaSets sets, PoolGroup pool) {
        this.sets = sets;
        this.pool = pool;
    }

    public void onLayoutChange(Consumer<String> listener) {
        this.layoutListener = listener;
    }

    // ---- BrickManager.Replicas ----

    @Override
    public void opened(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        String path = brick.path().toString();
        int set = sets.setOf(v, path);
        if (set < 0) throw new IOException("brick " + path + " is not in volume " + v.getName());
        String name = sets.nameOf(v, path);
        FileReplica r = new FileReplica(name, brick.path(), brick.meta(), ReplicaSets.viewOf(state, v, set), sets);
        brick.attach(() -> {
            replicas.remove(name, r);
            r.close();
        });
        replicas.put(name, r);
    }

    @Override
    public void changed(Brick brick, VolumeRecord v, PoolState state) {
        for (FileReplica r : replicas.values()) {
            if (!r.volume().equals(v.getName()) || !r.view().volumeId().equals(v.getId())) continue;
            SetView old = r.view();
            SetView now = ReplicaSets.viewOf(state, v, old.set());
            if (!now.equals(old)) {
                r.update(now);
                if (old.epoch() != now.epoch() || !old.outOfSync().equals(now.outOfSync())) layoutListener.accept(v.getName());
            }
        }
    }

    @Override
    public void status(Brick brick, BrickState.Builder s) {
        for (FileReplica r : replicas.values()) {
            if (!r.brick().endsWith(":" + brick.path())) continue;
            s.setRole(r.role()).setState(r.state());
            FileReplica.LastHeal h = r.lastHeal();
            if (h != null) s.setLastResync(LastResyncRecord.newBuilder().setKind(h.kind()).setBytes(h.bytes()).setSeconds(h.seconds()));
            FilePrimary p = r.primary();
            if (p == null) continue;
            for (FileLink l : p.links()) {
                PeerSync.Builder ps = PeerSync.newBuilder().setBrick(l.brick()).setConnected(l.connected())
                        .setOutOfSyncBytes(l.dirty().dataBytes()).setEntries(l.dirty().size())
                        .setResyncing(l.healing()).setResyncTotalBytes(l.healTotal())
                        .setResyncBytesPerSecond(l.healBytesPerSecond());
                List<String> paths = l.dirty().paths();
                for (String d : paths.subList(0, Math.min(paths.size(), MAX_PATHS))) ps.addPaths("/" + d);
                l.splitBrain().forEach((path, kind) -> ps.addSplit(SplitPath.newBuilder().setPath(path).setKind(kind)));
                ps.setSplitBrain(ps.getSplitCount() > 0);
                List<String> pulls = l.pendingPulls();
                ps.addAllPulls(pulls.subList(0, Math.min(pulls.size(), MAX_PATHS)));
                s.addPeers(ps);
            }
        }
    }

    // ---- FileRegistry ----

    @Override
    public FileReplica replica(String volume, int set) {
        for (FileReplica r : replicas.values()) {
            if (r.volume().equals(volume) && r.view().set() == set) return r;
        }
        return null;
    }

    @Override
    public FileReplica byBrick(String brick) {
        return replicas.get(brick);
    }

    @Override
    public Iterable<FileReplica> replicas() {
        return new ArrayList<>(replicas.values());
    }

    @Override
    public Layout layout(String name) {
        PoolState s = pool.state();
        VolumeRecord v = s.volume(name).orElseThrow(() ->
                Status.NOT_FOUND.withDescription("volume " + name + " does not exist").asRuntimeException());
        if (v.getType() == VolumeType.BLOCK) {
            throw Status.INVALID_ARGUMENT.withDescription("volume " + name + " is a block volume: attach it with NBD")
                    .asRuntimeException();
        }
        Layout.Builder b = Layout.newBuilder().setVolume(v.getName()).setVolumeId(v.getId())
                .setStarted(v.getStatus() == VolumeStatus.STARTED).setReplicaCount(v.getReplicaCount())
                .setArbiterCount(v.getArbiterCount()).putAllOptions(v.getOptionsMap())
                .setReadFromReplicas("on".equals(VolumeOptions.effective(v, VolumeOptions.READ_FROM_REPLICAS)));
        for (int i = 0; i < v.getSetsCount(); i++) {
            SetView view = ReplicaSets.viewOf(s, v, i);
            SetLayout.Builder sl = SetLayout.newBuilder().setEpoch(view.epoch()).setPrimary(view.primary())
                    .setNoCandidate(sets.noCandidate(view));
            for (int j = 0; j < view.members().size(); j++) {
                SetView.Member m = view.members().get(j);
                sl.addBricks(BrickLayout.newBuilder().setName(m.brick()).setAddress(m.address()).setArbiter(m.arbiter())
                        .setInSync(!view.outOfSync().contains(j)));
            }
            b.addSets(sl);
        }
        List<String> servers = new ArrayList<>();
        for (PeerRecord p : s.peers().values()) servers.add(p.getAddress());
        servers.sort(null);
        b.addAllServers(servers);
        return b.build();
    }
}
