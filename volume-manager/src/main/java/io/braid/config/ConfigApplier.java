package io.braid.config;

import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.PeerRecord;
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
            default -> {
                return Outcome.refused(s, "unknown configuration command");
            }
        }
        return new Outcome(s.with(peers, volumes, index), writes, null);
    }
}
