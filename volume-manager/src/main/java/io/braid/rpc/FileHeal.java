package io.braid.rpc;

import io.braid.config.PoolState;
import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.HealRequest;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.braid.proto.filerep.ResolveReply;
import io.braid.proto.filerep.ResolveRequest;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.PeerSync;
import io.braid.proto.peer.SplitPath;
import io.braid.util.BraidException;
import io.braid.volume.VolumeOptions;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code volume heal} for file volumes: what each brick still needs (and which paths are in
 * split-brain), a full crawl, and the operator's split-brain resolutions, which the primary of
 * each replica set carries out.
 */
final class FileHeal {
    static final String SPLIT_SUFFIX = " - Is in split-brain";

    private final PeerClients clients;
    private final VolumeCommands volumes;

    FileHeal(PeerClients clients, VolumeCommands volumes) {
        this.clients = clients;
        this.volumes = volumes;
    }

    HealReply heal(PoolState s, VolumeRecord v, HealRequest req) {
        boolean selfHeal = !"off".equals(VolumeOptions.effective(v, VolumeOptions.SELF_HEAL_DAEMON));
        switch (req.getAction()) {
            case "", "full" -> {
                if (!selfHeal) {
                    throw BraidException.conflict("Self-heal-daemon is disabled. Heal will not be triggered on volume %s",
                            v.getName());
                }
                if (req.getAction().equals("full")) {
                    for (int set = 0; set < v.getSetsCount(); set++) {
                        call(s, v, set, ResolveRequest.newBuilder().setPolicy("full"));
                    }
                }
                return HealReply.newBuilder().setVolume(v.getName()).setMessage("Launching heal operation to perform "
                        + (req.getAction().isEmpty() ? "index" : "full") + " self heal on volume " + v.getName()
                        + " has been successful \nUse heal info commands to check status.").build();
            }
            case "split-brain" -> {
                return resolve(s, v, req);
            }
            default -> {
                return info(s, v, req.getAction());
            }
        }
    }

    private HealReply resolve(PoolState s, VolumeRecord v, HealRequest req) {
        String policy = req.getResolution();
        List<Integer> sets = new ArrayList<>();
        if (policy.equals("source-brick")) {
            int index = -1;
            for (int i = 0; i < v.getBricksCount(); i++) {
                BrickRecord b = v.getBricks(i);
                if ((b.getHost() + ":" + b.getPath()).equals(req.getSourceBrick()) && !b.getArbiter()) index = i;
            }
            if (index < 0) throw BraidException.invalid("%s is not a data brick of volume %s", req.getSourceBrick(), v.getName());
            sets.add(index / v.getReplicaCount());
        } else if (policy.equals("bigger-file") || policy.equals("latest-mtime")) {
            for (int i = 0; i < v.getSetsCount(); i++) sets.add(i);
        } else {
            throw BraidException.invalid("unknown split-brain policy %s", policy);
        }
        String file = req.getFile().isEmpty() ? "" : "/" + req.getFile().replaceAll("^/+", "");
        if (file.contains("\0")) throw BraidException.invalid("file name contains NUL");
        List<String> healed = new ArrayList<>();
        for (int set : sets) {
            ResolveReply r = call(s, v, set, ResolveRequest.newBuilder().setPolicy(policy)
                    .setSourceBrick(req.getSourceBrick()).setPath(file));
            healed.addAll(r.getResolvedList());
        }
        if (healed.isEmpty()) {
            if (file.isEmpty()) {
                throw BraidException.conflict("no file of volume %s is in split-brain with %s", v.getName(),
                        req.getSourceBrick());
            }
            throw BraidException.conflict("%s is not in split-brain", file);
        }
        StringBuilder msg = new StringBuilder();
        for (String h : healed) {
            int arrow = h.indexOf(" <- ");
            msg.append(msg.length() == 0 ? "" : "\n").append("Healed ").append(h, 0, arrow).append(" from ")
                    .append(h.substring(arrow + 4)).append('.');
        }
        return HealReply.newBuilder().setVolume(v.getName()).setMessage(msg.toString()).build();
    }

    /** Sends a request to the primary of one set: it acts on its links to the other bricks. */
    private ResolveReply call(PoolState s, VolumeRecord v, int set, ResolveRequest.Builder req) {
        BrickRecord p = v.getBricks(set * v.getReplicaCount() + v.getSets(set).getPrimary());
        PeerRecord host = s.peer(p.getNodeUuid()).orElseThrow(() -> BraidException.conflict("no server for %s", p.getHost()));
        try {
            return FileReplicationGrpc.newBlockingStub(clients.channel(host.getAddress()))
                    .withDeadlineAfter(10, TimeUnit.MINUTES)
                    .resolve(req.setVolume(v.getName()).setSet(set).build());
        } catch (StatusRuntimeException e) {
            String why = e.getStatus().getDescription() == null ? e.getStatus().getCode().toString()
                    : e.getStatus().getDescription();
            throw BraidException.conflict("%s", why);
        }
    }

    private HealReply info(PoolState s, VolumeRecord v, String action) {
        Map<String, BrickState> states = volumes.gather(s, v);
        Map<String, Set<String>> pending = new LinkedHashMap<>();
        Map<String, Map<String, String>> split = new LinkedHashMap<>();
        Map<String, Long> entries = new LinkedHashMap<>();
        Map<String, Long> bytes = new LinkedHashMap<>();
        ResyncProgress progress = new ResyncProgress();
        for (BrickRecord r : v.getBricksList()) {
            String name = r.getHost() + ":" + r.getPath();
            pending.put(name, new LinkedHashSet<>());
            split.put(name, new TreeMap<>());
            entries.put(name, 0L);
            bytes.put(name, 0L);
        }
        for (BrickRecord r : v.getBricksList()) {
            BrickState bs = states.get(r.getNodeUuid() + ":" + r.getPath());
            if (bs == null || !"primary".equals(bs.getRole())) continue;
            String self = r.getHost() + ":" + r.getPath();
            for (PeerSync ps : bs.getPeersList()) {
                if (!pending.containsKey(ps.getBrick())) continue;
                progress.add(ps);
                pending.get(ps.getBrick()).addAll(ps.getPathsList());
                entries.merge(ps.getBrick(), ps.getEntries(), Long::sum);
                bytes.merge(ps.getBrick(), ps.getOutOfSyncBytes(), Long::sum);
                pending.get(self).addAll(ps.getPullsList());
                entries.merge(self, (long) ps.getPullsCount(), Long::sum);
                for (SplitPath sp : ps.getSplitList()) {
                    split.get(ps.getBrick()).put(sp.getPath(), sp.getKind());
                    if (split.get(self).put(sp.getPath(), sp.getKind()) == null) entries.merge(self, 1L, Long::sum);
                }
            }
        }
        HealReply.Builder out = HealReply.newBuilder().setVolume(v.getName());
        for (BrickRecord r : v.getBricksList()) {
            String name = r.getHost() + ":" + r.getPath();
            BrickState bs = states.get(r.getNodeUuid() + ":" + r.getPath());
            boolean connected = bs != null && bs.getOnline();
            Map<String, String> sb = split.get(name);
            HealBrick.Builder b = HealBrick.newBuilder().setName(name).setConnected(connected)
                    .setEntries(Math.max(entries.get(name), sb.size())).setOutOfSyncBytes(bytes.get(name))
                    .setSplitBrain(sb.size()).setStatus(connected ? "Connected" : "Transport endpoint is not connected");
            if (action.equals("info-split-brain")) {
                b.addAllPaths(sb.keySet());
            } else if (action.equals("info")) {
                Set<String> listed = new LinkedHashSet<>();
                for (String p : pending.get(name)) listed.add(sb.containsKey(p) ? p + SPLIT_SUFFIX : p);
                for (String p : sb.keySet()) listed.add(p + SPLIT_SUFFIX);
                b.addAllPaths(listed);
            }
            out.addBricks(b);
        }
        if (action.equals("info-summary") && progress.running()) out.setProgress(progress.toProto());
        return out.build();
    }
}
