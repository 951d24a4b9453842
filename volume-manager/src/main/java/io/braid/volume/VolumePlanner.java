package io.braid.volume;

import io.braid.config.PoolState;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.ReplicaSetRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.util.BraidException;
import io.braid.util.HostPort;
import io.braid.util.Sizes;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * Turns a {@code volume create} request into the volume's record, checking everything that can be
 * checked against the pool's configuration alone. Brick hosts are asked separately.
 */
public final class VolumePlanner {
    public static final int MAX_REPLICA = 16;
    public static final long MIN_BLOCK_SIZE = 1L << 20;
    public static final String SAME_SERVER = "Multiple bricks of a replicate volume are present on the same server."
            + " This setup is not optimal. Bricks should be on different nodes to have best fault tolerant"
            + " configuration. Use 'force' at the end of the command if you want to override this behavior.";

    private VolumePlanner() {
    }

    public static void checkName(String name) {
        if (name == null || name.isEmpty()) throw BraidException.invalid("volume name is missing");
        if (name.length() > 64 || !name.matches("[A-Za-z0-9_][A-Za-z0-9_.-]*")) {
            throw BraidException.invalid("Volume name %s is invalid: use up to 64 letters, digits, '_', '-' and '.'",
                    name);
        }
        if (Set.of("all", "help", "detail").contains(name.toLowerCase(Locale.ROOT))) {
            throw BraidException.invalid("Volume name %s is reserved", name);
        }
    }

    /**
     * @param canonical resolves a host as written in a brick to "ip:port", or null if it does not resolve
     */
    public static VolumeRecord plan(VolumeCreateRequest req, PoolState state, Function<HostPort, String> canonical) {
        checkName(req.getName());
        if (state.volume(req.getName()).isPresent()) {
            throw new BraidException(BraidException.Kind.EXISTS, "Volume " + req.getName() + " already exists");
        }
        VolumeType type = switch (req.getType().toLowerCase(Locale.ROOT)) {
            case "", "file" -> VolumeType.FILE;
            case "block" -> VolumeType.BLOCK;
            default -> throw BraidException.invalid("unknown volume type '%s': expected file or block", req.getType());
        };
        long size = 0;
        if (type == VolumeType.BLOCK) {
            if (req.getSize().isEmpty()) throw BraidException.invalid("type block needs a size, for example: size 10G");
            try {
                size = Sizes.parse(req.getSize());
            } catch (IllegalArgumentException e) {
                throw BraidException.invalid("%s", e.getMessage());
            }
            if (size < MIN_BLOCK_SIZE) throw BraidException.invalid("block volume size must be at least 1M");
            if (size % 4096 != 0) throw BraidException.invalid("block volume size must be a multiple of 4096 bytes");
        } else if (!req.getSize().isEmpty()) {
            throw BraidException.invalid("size applies only to volumes of type block");
        }

        int replica = req.getReplica();
        int arbiter = req.getArbiter();
        if (replica < 0 || replica == 1 || replica > MAX_REPLICA) {
            throw BraidException.invalid("replica count must be from 2 to %d", MAX_REPLICA);
        }
        if (arbiter != 0 && arbiter != 1) throw BraidException.invalid("arbiter count must be 1");
        if (arbiter == 1) {
            if (replica != 2 && replica != 3) {
                throw BraidException.invalid("arbiter is supported only with replica 2 or replica 3 (2 data bricks and 1 arbiter)");
            }
            replica = 3; // "replica 2 arbiter 1" and "replica 3 arbiter 1" both mean two data bricks and an arbiter
        }
        if (replica == 0) replica = 1;

        List<String> bricks = req.getBricksList();
        if (bricks.isEmpty()) throw BraidException.invalid("no bricks given");
        if (bricks.size() % replica != 0) {
            throw BraidException.invalid("Incorrect number of bricks supplied %d with count %d", bricks.size(), replica);
        }
        if (type == VolumeType.BLOCK && bricks.size() != replica) {
            throw BraidException.invalid("a block volume is one replica set: give exactly %d brick%s, not %d",
                    replica, replica == 1 ? "" : "s", bricks.size());
        }

        List<BrickRecord> records = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < bricks.size(); i++) {
            BrickRecord b = brick(bricks.get(i), state, canonical)
                    .toBuilder().setArbiter(arbiter == 1 && i % replica == replica - 1).build();
            String key = b.getNodeUuid() + ":" + b.getPath();
            if (!seen.add(key)) throw BraidException.invalid("Found duplicate brick %s:%s", b.getHost(), b.getPath());
            for (BrickRecord earlier : records) {
                if (earlier.getNodeUuid().equals(b.getNodeUuid()) && PoolState.overlaps(earlier.getPath(), b.getPath())) {
                    throw BraidException.invalid("brick %s:%s and brick %s:%s overlap: one lies inside the other",
                            earlier.getHost(), earlier.getPath(), b.getHost(), b.getPath());
                }
            }
            state.brickConflict(b, null).ifPresent(other -> {
                throw BraidException.conflict("brick %s:%s is already part of volume %s", b.getHost(), b.getPath(), other);
            });
            records.add(b);
        }
        if (!req.getForce() && replica > 1) {
            for (int set = 0; set < records.size() / replica; set++) {
                Set<String> servers = new HashSet<>();
                for (int j = 0; j < replica; j++) {
                    if (!servers.add(records.get(set * replica + j).getNodeUuid())) {
                        throw BraidException.invalid("%s", SAME_SERVER);
                    }
                }
            }
        }
        VolumeRecord.Builder v = VolumeRecord.newBuilder()
                .setName(req.getName())
                .setId(UUID.randomUUID().toString())
                .setType(type)
                .setStatus(VolumeStatus.CREATED)
                .setReplicaCount(replica)
                .setArbiterCount(arbiter)
                .setSize(size)
                .addAllBricks(records);
        for (int set = 0; set < records.size() / replica; set++) {
            v.addSets(ReplicaSetRecord.newBuilder().setEpoch(1).setPrimary(0));
        }
        return v.build();
    }

    /** Parses HOST:PATH and finds the host in the pool. */
    public static BrickRecord brick(String text, PoolState state, Function<HostPort, String> canonical) {
        int sep = text.indexOf(":/");
        if (sep <= 0) throw BraidException.invalid("brick %s is not of the form HOST:/ABSOLUTE/PATH", text);
        String hostText = text.substring(0, sep);
        String pathText = text.substring(sep + 1);
        Path p = Paths.get(pathText);
        if (!p.isAbsolute()) throw BraidException.invalid("brick path %s is not absolute", pathText);
        for (Path part : p) {
            if (part.toString().equals("..") || part.toString().equals(".")) {
                throw BraidException.invalid("brick path %s must not contain '.' or '..'", pathText);
            }
        }
        String path = p.normalize().toString();
        if (path.equals("/")) throw BraidException.invalid("the root directory cannot be a brick");
        HostPort host;
        try {
            host = HostPort.parse(hostText);
        } catch (IllegalArgumentException e) {
            throw BraidException.invalid("brick %s: %s", text, e.getMessage());
        }
        PeerRecord peer = state.peerByHost(host.display(), canonical.apply(host)).orElseThrow(() ->
                BraidException.invalid("Host %s is not in 'Peer in Cluster' state", hostText));
        return BrickRecord.newBuilder().setHost(peer.getHostname()).setPath(path).setNodeUuid(peer.getUuid()).build();
    }
}
