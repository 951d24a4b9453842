package io.braid.cli;

import io.braid.proto.admin.Brick;
import io.braid.proto.admin.Volume;

/** Hand-built volumes for formatter tests. */
final class Volumes {
    private Volumes() {
    }

    /** {@code sets} replica sets of {@code replica} bricks, the last of each set an arbiter if asked. */
    static Volume replicated(String name, int replica, int sets, boolean arbiter) {
        Volume.Builder v = Volume.newBuilder()
                .setName(name)
                .setId("6f1c2d3e-0000-4000-8000-000000000001")
                .setType(sets > 1 ? "Distributed-Replicate" : "Replicate")
                .setStatus("Started")
                .setReplicaCount(replica)
                .setArbiterCount(arbiter ? 1 : 0)
                .setDistCount(sets)
                .setBrickCount(replica * sets)
                .setVolumeKind("file");
        for (int s = 0; s < sets; s++) {
            for (int i = 0; i < replica; i++) {
                v.addBricks(Brick.newBuilder()
                        .setName("127.0.0.1" + (i + 1) + ":/srv/" + name + s)
                        .setHostUuid("uuid-" + (i + 1))
                        .setArbiter(arbiter && i == replica - 1));
            }
        }
        return v.build();
    }

    static Volume distribute(String name, int bricks) {
        Volume.Builder v = Volume.newBuilder()
                .setName(name)
                .setId("6f1c2d3e-0000-4000-8000-000000000002")
                .setType("Distribute")
                .setStatus("Created")
                .setReplicaCount(1)
                .setDistCount(bricks)
                .setBrickCount(bricks)
                .setVolumeKind("file");
        for (int i = 0; i < bricks; i++) {
            v.addBricks(Brick.newBuilder().setName("127.0.0.1" + (i + 1) + ":/srv/" + name).setHostUuid("u" + i));
        }
        return v.build();
    }

    static Volume block(String name, long size) {
        return replicated(name, 3, 1, false).toBuilder()
                .setType("Block").setVolumeKind("block").setSize(size).setStatus("Stopped").build();
    }
}
