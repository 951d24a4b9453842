package io.braid.daemon;

import io.braid.config.PoolState;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeType;
import io.braid.proto.peer.BrickState;
import io.braid.volume.Brick;
import io.braid.volume.BrickManager;
import java.io.IOException;

/** Hands each brick to the replication side of its volume's type. */
final class TypedReplicas implements BrickManager.Replicas {
    private final BrickManager.Replicas block;
    private final BrickManager.Replicas file;

    TypedReplicas(BrickManager.Replicas block, BrickManager.Replicas file) {
        this.block = block;
        this.file = file;
    }

    private BrickManager.Replicas of(VolumeRecord v) {
        return v.getType() == VolumeType.BLOCK ? block : file;
    }

    @Override
    public void opened(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        of(v).opened(brick, v, state);
    }

    @Override
    public void changed(Brick brick, VolumeRecord v, PoolState state) throws IOException {
        of(v).changed(brick, v, state);
    }

    @Override
    public void status(Brick brick, BrickState.Builder s) {
        block.status(brick, s);
        file.status(brick, s);
    }
}
