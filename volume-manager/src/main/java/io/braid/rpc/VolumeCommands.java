package io.braid.rpc;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.daemon.Member;
import io.braid.proto.admin.Brick;
import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.CreateVolume;
import io.braid.proto.config.DeleteVolume;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.ResetOption;
import io.braid.proto.config.SetOption;
import io.braid.proto.config.SetVolumeStatus;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.BrickStatusRequest;
import io.braid.proto.peer.CheckBrickRequest;
import io.braid.proto.peer.PrepareBrickRequest;
import io.braid.proto.peer.SyncBricksRequest;
import io.braid.util.BraidException;
import io.braid.volume.VolumeOption;
import io.braid.volume.VolumeOptions;
import io.braid.volume.VolumePlanner;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The volume lifecycle: create, start, stop, delete, info, status, set, get, reset. */
public final class VolumeCommands {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeCommands.class);
    private static final long BRICK_RPC_MS = 10_000;

    private final Member self;
    private final PoolGroup pool;
    private final PeerClients clients;
    private final PeerMonitor monitor;
    private final PoolCommands poolCommands;

    public VolumeCommands(Member self, PoolGroup pool, PeerClients clients, PeerMonitor monitor, PoolCommands poolCommands) {
        this.self = self;
        this.pool = pool;
        this.clients = clients;
        this.monitor = monitor;
        this.poolCommands = poolCommands;
    }

    VolumeRecord existing(PoolState s, String name) {
        return s.volume(name).orElseThrow(() -> BraidException.notFound("Volume %s does not exist", name));
    }

    public void create(VolumeCreateRequest req) {
        PoolState s = pool.state();
        VolumeRecord v = VolumePlanner.plan(req, s, PoolCommands::canonical);
        for (PeerRecord host : hostsOf(s, v)) {
            if (!monitor.isReachable(host)) {
                String why = monitor.whyNot(host);
                throw BraidException.conflict("Host %s is not connected%s", host.getHostname(), why.isEmpty() ? "" : " (" + why + ")");
            }
        }
        for (BrickRecord b : v.getBricksList()) {
            try {
                clients.peer(s.peers().get(b.getNodeUuid()).getAddress(), BRICK_RPC_MS)
                        .checkBrick(CheckBrickRequest.newBuilder().setPath(b.getPath()).setVolumeId(v.getId()).build());
            } catch (StatusRuntimeException e) {
                throw fromPeer(b.getHost(), e);
            }
        }
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder().setCreateVolume(CreateVolume.newBuilder().setVolume(v)).build());
        LOG.info("{}: volume {} created ({} bricks, replica {})", self.name(), v.getName(), v.getBricksCount(),
                v.getReplicaCount());
    }

    public void start(String name, boolean force) {
        PoolState s = pool.state();
        VolumeRecord v = existing(s, name);
        if (v.getStatus() == VolumeStatus.STARTED && !force) {
            throw BraidException.conflict("Volume %s already started", name);
        }
        poolCommands.requireQuorum(s);
        List<PeerRecord> up = new ArrayList<>();
        for (PeerRecord host : hostsOf(s, v)) {
            if (monitor.isReachable(host)) up.add(host);
        }
        for (BrickRecord b : v.getBricksList()) {
            PeerRecord host = s.peers().get(b.getNodeUuid());
            if (!up.contains(host)) continue; // it prepares its brick when it comes back
            try {
                clients.peer(host.getAddress(), BRICK_RPC_MS)
                        .prepareBrick(PrepareBrickRequest.newBuilder().setVolume(v).setPath(b.getPath()).build());
            } catch (StatusRuntimeException e) {
                if (!force) throw fromPeer(b.getHost(), e);
            }
        }
        if (v.getStatus() == VolumeStatus.STARTED) {
            syncBricks(up, s.appliedIndex()); // start force: bricks that were offline get another try
        } else {
            poolCommands.commit(ConfigCommand.newBuilder()
                    .setSetVolumeStatus(SetVolumeStatus.newBuilder().setName(name).setStatus(VolumeStatus.STARTED)).build());
        }
        LOG.info("{}: volume {} started", self.name(), name);
    }

    public void stop(String name, boolean force) {
        PoolState s = pool.state();
        VolumeRecord v = existing(s, name);
        if (v.getStatus() != VolumeStatus.STARTED) {
            throw BraidException.conflict("Volume %s is not in the started state", name);
        }
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder()
                .setSetVolumeStatus(SetVolumeStatus.newBuilder().setName(name).setStatus(VolumeStatus.STOPPED)).build());
        LOG.info("{}: volume {} stopped", self.name(), name);
    }

    public void delete(String name) {
        PoolState s = pool.state();
        VolumeRecord v = existing(s, name);
        if (v.getStatus() == VolumeStatus.STARTED) {
            throw BraidException.conflict("Volume %s has been started. Volume needs to be stopped before deletion.", name);
        }
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder().setDeleteVolume(DeleteVolume.newBuilder().setName(name)).build());
        LOG.info("{}: volume {} deleted; its bricks keep their data", self.name(), name);
    }

    private void syncBricks(List<PeerRecord> hosts, long index) {
        hosts.parallelStream().forEach(h -> {
            try {
                clients.peer(h.getAddress(), BRICK_RPC_MS).syncBricks(SyncBricksRequest.newBuilder().setAppliedIndex(index).build());
            } catch (StatusRuntimeException e) {
                LOG.warn("{}: {} did not open its bricks: {}", self.name(), h.getHostname(), e.getStatus());
            }
        });
    }

    private static List<PeerRecord> hostsOf(PoolState s, VolumeRecord v) {
        Set<PeerRecord> hosts = new LinkedHashSet<>();
        for (BrickRecord b : v.getBricksList()) {
            PeerRecord p = s.peers().get(b.getNodeUuid());
            if (p != null) hosts.add(p);
        }
        return new ArrayList<>(hosts);
    }

    private static BraidException fromPeer(String host, StatusRuntimeException e) {
        String d = e.getStatus().getDescription();
        return switch (e.getStatus().getCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED -> BraidException.conflict("Host %s is not connected (%s: %s)", host,
                    e.getStatus().getCode(), d);
            default -> BraidException.conflict("%s", d == null ? e.getStatus().getCode().toString() : d);
        };
    }

    public List<Volume> info(String name) {
        PoolState s = pool.state();
        List<Volume> out = new ArrayList<>();
        if (name.isEmpty() || name.equals("all")) {
            for (VolumeRecord v : s.volumes().values()) out.add(toInfo(v));
        } else {
            out.add(toInfo(existing(s, name)));
        }
        return out;
    }

    public List<String> list() {
        return new ArrayList<>(pool.state().volumes().keySet());
    }

    public static String typeOf(VolumeRecord v) {
        if (v.getType() == VolumeType.BLOCK) return "Block";
        int sets = v.getBricksCount() / Math.max(1, v.getReplicaCount());
        if (v.getReplicaCount() > 1) return sets > 1 ? "Distributed-Replicate" : "Replicate";
        return "Distribute";
    }

    static Volume toInfo(VolumeRecord v) {
        Volume.Builder b = Volume.newBuilder()
                .setName(v.getName())
                .setId(v.getId())
                .setType(typeOf(v))
                .setVolumeKind(v.getType() == VolumeType.BLOCK ? "block" : "file")
                .setStatus(switch (v.getStatus()) {
                    case STARTED -> "Started";
                    case STOPPED -> "Stopped";
                    default -> "Created";
                })
                .setReplicaCount(v.getReplicaCount())
                .setArbiterCount(v.getArbiterCount())
                .setDistCount(v.getBricksCount() / Math.max(1, v.getReplicaCount()))
                .setBrickCount(v.getBricksCount())
                .setSize(v.getSize())
                .putAllOptions(v.getOptionsMap());
        for (BrickRecord r : v.getBricksList()) {
            b.addBricks(Brick.newBuilder().setName(r.getHost() + ":" + r.getPath()).setHostUuid(r.getNodeUuid())
                    .setArbiter(r.getArbiter()));
        }
        return b.build();
    }

    public List<VolumeStatusEntry> status(String name) {
        PoolState s = pool.state();
        List<VolumeRecord> vols = new ArrayList<>();
        if (name.isEmpty() || name.equals("all")) {
            for (VolumeRecord v : s.volumes().values()) {
                if (v.getStatus() == VolumeStatus.STARTED) vols.add(v);
            }
        } else {
            VolumeRecord v = existing(s, name);
            if (v.getStatus() != VolumeStatus.STARTED) throw BraidException.conflict("Volume %s is not started", name);
            vols.add(v);
        }
        List<VolumeStatusEntry> out = new ArrayList<>();
        for (VolumeRecord v : vols) out.add(statusOf(s, v));
        return out;
    }

    /** Every brick's state as its own server reports it; a brick whose server is down is absent. */
    public Map<String, BrickState> gather(PoolState s, VolumeRecord v) {
        Map<String, BrickState> states = new HashMap<>();
        hostsOf(s, v).parallelStream().forEach(h -> {
            try {
                for (BrickState bs : clients.peer(h.getAddress(), 2000)
                        .brickStatus(BrickStatusRequest.newBuilder().setVolume(v.getName()).build()).getBricksList()) {
                    synchronized (states) {
                        states.put(h.getUuid() + ":" + bs.getPath(), bs);
                    }
                }
            } catch (StatusRuntimeException e) {
                // unreachable server: its bricks are offline
            }
        });
        return states;
    }

    /** What the primaries report about other bricks, by brick name HOST:PATH. */
    public static Map<String, io.braid.proto.peer.PeerSync> peerSync(Map<String, BrickState> states) {
        Map<String, io.braid.proto.peer.PeerSync> out = new HashMap<>();
        for (BrickState bs : states.values()) {
            if (!"primary".equals(bs.getRole())) continue;
            for (io.braid.proto.peer.PeerSync p : bs.getPeersList()) out.put(p.getBrick(), p);
        }
        return out;
    }

    public VolumeStatusEntry statusOf(PoolState s, VolumeRecord v) {
        Map<String, BrickState> states = gather(s, v);
        Map<String, io.braid.proto.peer.PeerSync> peers = peerSync(states);
        VolumeStatusEntry.Builder e = VolumeStatusEntry.newBuilder().setName(v.getName()).setType(typeOf(v));
        for (int i = 0; i < v.getBricksCount(); i++) {
            BrickRecord r = v.getBricks(i);
            String name = r.getHost() + ":" + r.getPath();
            BrickState bs = states.get(r.getNodeUuid() + ":" + r.getPath());
            boolean online = bs != null && bs.getOnline();
            int set = i / v.getReplicaCount();
            String role = r.getArbiter() ? "arbiter"
                    : (i % v.getReplicaCount() == v.getSets(set).getPrimary() ? "primary" : "secondary");
            String state = online ? "UpToDate" : "Unknown";
            if (online && !bs.getRole().isEmpty()) {
                role = bs.getRole();
                state = bs.getState();
            }
            BrickStatus.Builder b = BrickStatus.newBuilder()
                    .setName(name)
                    .setHostname(r.getHost())
                    .setPath(r.getPath())
                    .setHostUuid(r.getNodeUuid())
                    .setOnline(online)
                    .setRole(role)
                    .setState(state);
            if (online) b.setPort(bs.getPort()).setPid(bs.getPid());
            if (bs != null && bs.hasLastResync()) {
                b.setLastResync(io.braid.proto.admin.LastResync.newBuilder().setKind(bs.getLastResync().getKind())
                        .setBytes(bs.getLastResync().getBytes()).setSeconds(bs.getLastResync().getSeconds()));
            }
            io.braid.proto.peer.PeerSync ps = peers.get(name);
            if (ps != null) b.setOutOfSyncBytes(ps.getOutOfSyncBytes()).setSplitBrain(ps.getSplitBrain());
            e.addBricks(b);
        }
        return e.build();
    }

    public void set(String name, String key, String value) {
        PoolState s = pool.state();
        VolumeRecord v = existing(s, name);
        VolumeOption o = VolumeOptions.find(key).orElseThrow(() -> BraidException.invalid("option %s does not exist", key));
        try {
            o.normalize(value, v);
        } catch (IllegalArgumentException e) {
            throw BraidException.invalid("%s", e.getMessage());
        }
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder().setSetOption(SetOption.newBuilder().setName(name).setKey(o.key()).setValue(value)).build());
    }

    public void reset(String name, String key) {
        PoolState s = pool.state();
        existing(s, name);
        String k = key.equals("all") ? "" : key;
        if (!k.isEmpty()) {
            k = VolumeOptions.find(k).orElseThrow(() -> BraidException.invalid("option %s does not exist", key)).key();
        }
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder().setResetOption(ResetOption.newBuilder().setName(name).setKey(k)).build());
    }

    public VolumeGetReply get(String name, String key) {
        VolumeRecord v = existing(pool.state(), name);
        VolumeGetReply.Builder out = VolumeGetReply.newBuilder().setVolume(name);
        if (key.equals("all")) {
            for (VolumeOption o : VolumeOptions.all()) out.addOptions(value(o, v));
        } else {
            VolumeOption o = VolumeOptions.find(key).orElseThrow(() -> BraidException.invalid("option %s does not exist", key));
            out.addOptions(value(o, v));
        }
        return out.build();
    }

    public static VolumeGetReply help() {
        VolumeGetReply.Builder out = VolumeGetReply.newBuilder();
        VolumeRecord replica3 = VolumeRecord.newBuilder().setReplicaCount(3).build();
        for (VolumeOption o : VolumeOptions.all()) out.addOptions(value(o, replica3).toBuilder().clearValue());
        return out.build();
    }

    private static OptionValue value(VolumeOption o, VolumeRecord v) {
        return OptionValue.newBuilder()
                .setKey(o.key())
                .setValue(VolumeOptions.effective(v, o.key()))
                .setDefaultValue(o.defaultValue(v))
                .setHelp(o.help())
                .setType(o.type())
                .build();
    }
}
