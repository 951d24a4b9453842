package io.braid.config;

import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.ReplicaSetRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.volume.VolumeOption;
import io.braid.volume.VolumeOptions;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Applies one configuration command to a state, deterministically, as every member does in
 * log order. Checks that depend on the state (name taken, brick in use, volume started) are
 * made here again, so two racing requests cannot both succeed.
 */
public final class ConfigApplier {
    /** The new state and the records to write, or the reason the command was refused. */
    public record Outcome(PoolState state, Map<String, byte[]> writes, String error) {
        static Outcome refused(PoolState s, String error) {
            return new Outcome(s, Map.of(), error);
        }
    }

    public static final String PEER_PREFIX = "peer/";
    public static final String VOLUME_PREFIX = "volume/";

    private ConfigApplier() {
    }

    public static Outcome apply(PoolState s, ConfigCommand cmd, long index) {
        Map<String, PeerRecord> peers = new HashMap<>(s.peers());
        Map<String, VolumeRecord> volumes = new HashMap<>(s.volumes());
        Map<String, byte[]> writes = new LinkedHashMap<>();
        switch (cmd.getCommandCase()) {
            case ADD_PEER -> {
                PeerRecord p = cmd.getAddPeer().getPeer();
                peers.put(p.getUuid(), p);
                writes.put(PEER_PREFIX + p.getUuid(), p.toByteArray());
            }
            case REMOVE_PEER -> {
                String uuid = cmd.getRemovePeer().getUuid();
                if (!s.volumesOnPeer(uuid).isEmpty()) {
                    return Outcome.refused(s, "peer hosts bricks of volume " + s.volumesOnPeer(uuid).get(0));
                }
                peers.remove(uuid);
                writes.put(PEER_PREFIX + uuid, null);
            }
            case CREATE_VOLUME -> {
                VolumeRecord v = cmd.getCreateVolume().getVolume();
                if (volumes.containsKey(v.getName())) {
                    return Outcome.refused(s, "Volume " + v.getName() + " already exists");
                }
                for (BrickRecord b : v.getBricksList()) {
                    if (!peers.containsKey(b.getNodeUuid())) {
                        return Outcome.refused(s, "Host " + b.getHost() + " is not in 'Peer in Cluster' state");
                    }
                    Optional<String> other = s.brickConflict(b, null);
                    if (other.isPresent()) {
                        return Outcome.refused(s, "brick " + b.getHost() + ":" + b.getPath()
                                + " is already part of volume " + other.get());
                    }
                }
                volumes.put(v.getName(), v);
                writes.put(VOLUME_PREFIX + v.getName(), v.toByteArray());
            }
            case SET_VOLUME_STATUS -> {
                var c = cmd.getSetVolumeStatus();
                VolumeRecord v = volumes.get(c.getName());
                if (v == null) return Outcome.refused(s, "Volume " + c.getName() + " does not exist");
                if (c.getStatus() == VolumeStatus.STOPPED && v.getStatus() != VolumeStatus.STARTED) {
                    return Outcome.refused(s, "Volume " + c.getName() + " is not in the started state");
                }
                VolumeRecord nv = v.toBuilder().setStatus(c.getStatus()).build();
                volumes.put(nv.getName(), nv);
                writes.put(VOLUME_PREFIX + nv.getName(), nv.toByteArray());
            }
            case DELETE_VOLUME -> {
                String name = cmd.getDeleteVolume().getName();
                VolumeRecord v = volumes.get(name);
                if (v == null) return Outcome.refused(s, "Volume " + name + " does not exist");
                if (v.getStatus() == VolumeStatus.STARTED) {
                    return Outcome.refused(s, "Volume " + name + " has been started. Volume needs to be stopped before deletion.");
                }
                volumes.remove(name);
                writes.put(VOLUME_PREFIX + name, null);
            }
            case SET_OPTION -> {
                var c = cmd.getSetOption();
                VolumeRecord v = volumes.get(c.getName());
                if (v == null) return Outcome.refused(s, "Volume " + c.getName() + " does not exist");
                Optional<VolumeOption> o = VolumeOptions.find(c.getKey());
                if (o.isEmpty()) return Outcome.refused(s, "option " + c.getKey() + " does not exist");
                String value;
                try {
                    value = o.get().normalize(c.getValue(), v);
                } catch (IllegalArgumentException e) {
                    return Outcome.refused(s, e.getMessage());
                }
                VolumeRecord nv = v.toBuilder().putOptions(o.get().key(), value).build();
                volumes.put(nv.getName(), nv);
                writes.put(VOLUME_PREFIX + nv.getName(), nv.toByteArray());
            }
            case RESET_OPTION -> {
                var c = cmd.getResetOption();
                VolumeRecord v = volumes.get(c.getName());
                if (v == null) return Outcome.refused(s, "Volume " + c.getName() + " does not exist");
                VolumeRecord.Builder b = v.toBuilder();
                if (c.getKey().isEmpty()) b.clearOptions();
                else b.removeOptions(c.getKey());
                VolumeRecord nv = b.build();
                volumes.put(nv.getName(), nv);
                writes.put(VOLUME_PREFIX + nv.getName(), nv.toByteArray());
            }
            case PROMOTE_PRIMARY -> {
                var c = cmd.getPromotePrimary();
                VolumeRecord v = volumes.get(c.getName());
                String why = checkSet(v, c.getName(), c.getSet(), c.getPrimary());
                if (why != null) return Outcome.refused(s, why);
                ReplicaSetRecord rs = v.getSets(c.getSet());
                if (rs.getEpoch() != c.getEpoch()) return Outcome.refused(s, "stale epoch " + c.getEpoch());
                if (rs.getPrimary() == c.getPrimary()) return Outcome.refused(s, "already primary");
                java.util.Set<Integer> out = new java.util.TreeSet<>(rs.getOutOfSyncList());
                out.remove(c.getPrimary());
                out.add(rs.getPrimary()); // the old primary may hold writes nobody acknowledged
                ReplicaSetRecord nrs = rs.toBuilder().setEpoch(rs.getEpoch() + 1).setPrimary(c.getPrimary())
                        .clearOutOfSync().addAllOutOfSync(out).build();
                put(volumes, writes, v.toBuilder().setSets(c.getSet(), nrs).build());
            }
            case MARK_SYNC -> {
                var c = cmd.getMarkSync();
                VolumeRecord v = volumes.get(c.getName());
                String why = checkSet(v, c.getName(), c.getSet(), c.getBrick());
                if (why != null) return Outcome.refused(s, why);
                ReplicaSetRecord rs = v.getSets(c.getSet());
                if (rs.getEpoch() != c.getEpoch()) return Outcome.refused(s, "stale epoch " + c.getEpoch());
                java.util.Set<Integer> out = new java.util.TreeSet<>(rs.getOutOfSyncList());
                java.util.Set<Integer> discard = new java.util.TreeSet<>(rs.getDiscardList());
                if (c.getInSync()) {
                    out.remove(c.getBrick());
                    discard.remove(c.getBrick());
                } else {
                    out.add(c.getBrick());
                }
                ReplicaSetRecord nrs = rs.toBuilder().clearOutOfSync().addAllOutOfSync(out)
                        .clearDiscard().addAllDiscard(discard).build();
                put(volumes, writes, v.toBuilder().setSets(c.getSet(), nrs).build());
            }
            case RESOLVE_SPLIT_BRAIN -> {
                var c = cmd.getResolveSplitBrain();
                VolumeRecord v = volumes.get(c.getName());
                String why = checkSet(v, c.getName(), c.getSet(), c.getSource());
                if (why != null) return Outcome.refused(s, why);
                ReplicaSetRecord rs = v.getSets(c.getSet());
                int r = v.getReplicaCount();
                java.util.Set<Integer> discard = new java.util.TreeSet<>();
                java.util.Set<Integer> out = new java.util.TreeSet<>();
                for (int i = 0; i < r; i++) {
                    if (i == c.getSource() || v.getBricks(c.getSet() * r + i).getArbiter()) continue;
                    discard.add(i);
                    out.add(i);
                }
                ReplicaSetRecord.Builder nrs = rs.toBuilder().clearDiscard().addAllDiscard(discard)
                        .clearOutOfSync().addAllOutOfSync(out);
                if (rs.getPrimary() != c.getSource()) nrs.setEpoch(rs.getEpoch() + 1).setPrimary(c.getSource());
                put(volumes, writes, v.toBuilder().setSets(c.getSet(), nrs.build()).build());
            }
            case RESIZE_VOLUME -> {
                var c = cmd.getResizeVolume();
                VolumeRecord v = volumes.get(c.getName());
                if (v == null) return Outcome.refused(s, "Volume " + c.getName() + " does not exist");
                if (c.getSize() < v.getSize()) return Outcome.refused(s, "shrinking a volume is not supported");
                put(volumes, writes, v.toBuilder().setSize(c.getSize()).build());
            }
            case BARRIER -> {
                // nothing changes; the applied index moves
            }
            default -> {
                return Outcome.refused(s, "unknown configuration command");
            }
        }
        return new Outcome(s.with(peers, volumes, index), writes, null);
    }

    private static String checkSet(VolumeRecord v, String name, int set, int brick) {
        if (v == null) return "Volume " + name + " does not exist";
        if (set < 0 || set >= v.getSetsCount()) return "no replica set " + set + " in volume " + name;
        if (brick < 0 || brick >= v.getReplicaCount()) return "no brick " + brick + " in replica set " + set;
        return null;
    }

    private static void put(Map<String, VolumeRecord> volumes, Map<String, byte[]> writes, VolumeRecord nv) {
        volumes.put(nv.getName(), nv);
        writes.put(VOLUME_PREFIX + nv.getName(), nv.toByteArray());
    }
}
