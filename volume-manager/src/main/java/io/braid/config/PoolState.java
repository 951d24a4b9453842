package io.braid.config;

import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.VolumeRecord;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** An immutable view of the pool's configuration at one applied log index. */
public final class PoolState {
    public static final PoolState EMPTY = new PoolState(Map.of(), Map.of(), -1);

    private final Map<String, PeerRecord> peers;      // by uuid
    private final Map<String, VolumeRecord> volumes;  // by name, sorted
    private final long appliedIndex;

    public PoolState(Map<String, PeerRecord> peers, Map<String, VolumeRecord> volumes, long appliedIndex) {
        this.peers = Collections.unmodifiableMap(new TreeMap<>(peers));
        this.volumes = Collections.unmodifiableMap(new TreeMap<>(volumes));
        this.appliedIndex = appliedIndex;
    }

    public Map<String, PeerRecord> peers() {
        return peers;
    }

    public Map<String, VolumeRecord> volumes() {
        return volumes;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public Optional<VolumeRecord> volume(String name) {
        return Optional.ofNullable(volumes.get(name));
    }

    public Optional<PeerRecord> peer(String uuid) {
        return Optional.ofNullable(peers.get(uuid));
    }

    /** The peer an operator means by host, matched by its name or by its resolved address. */
    public Optional<PeerRecord> peerByHost(String hostname, String canonicalAddress) {
        for (PeerRecord p : peers.values()) {
            if (p.getHostname().equals(hostname)) return Optional.of(p);
        }
        if (canonicalAddress != null) {
            for (PeerRecord p : peers.values()) {
                if (p.getAddress().equals(canonicalAddress)) return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Volumes that have at least one brick on the given peer. */
    public List<String> volumesOnPeer(String uuid) {
        return volumes.values().stream()
                .filter(v -> v.getBricksList().stream().anyMatch(b -> b.getNodeUuid().equals(uuid)))
                .map(VolumeRecord::getName)
                .toList();
    }

    /** The volume that already uses this brick path on this server, or whose brick contains it or lies inside it. */
    public Optional<String> brickConflict(BrickRecord brick, String exceptVolume) {
        for (VolumeRecord v : volumes.values()) {
            if (v.getName().equals(exceptVolume)) continue;
            for (BrickRecord b : v.getBricksList()) {
                if (b.getNodeUuid().equals(brick.getNodeUuid()) && overlaps(b.getPath(), brick.getPath())) {
                    return Optional.of(v.getName());
                }
            }
        }
        return Optional.empty();
    }

    public static boolean overlaps(String a, String b) {
        return a.equals(b) || a.startsWith(b.endsWith("/") ? b : b + "/") || b.startsWith(a.endsWith("/") ? a : a + "/");
    }

    public PoolState with(Map<String, PeerRecord> newPeers, Map<String, VolumeRecord> newVolumes, long index) {
        return new PoolState(newPeers, newVolumes, index);
    }
}
