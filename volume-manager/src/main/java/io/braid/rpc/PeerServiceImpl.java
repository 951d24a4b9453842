package io.braid.rpc;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.daemon.Member;
import io.braid.proto.peer.BrickStatusReply;
import io.braid.proto.peer.BrickStatusRequest;
import io.braid.proto.peer.CheckBrickRequest;
import io.braid.proto.peer.Done;
import io.braid.proto.peer.HelloReply;
import io.braid.proto.peer.HelloRequest;
import io.braid.proto.peer.JoinPoolRequest;
import io.braid.proto.peer.LeavePoolRequest;
import io.braid.proto.peer.PeerServiceGrpc;
import io.braid.proto.peer.PrepareBrickRequest;
import io.braid.proto.peer.RaftMember;
import io.braid.proto.peer.SyncBricksRequest;
import io.braid.util.BraidException;
import io.braid.volume.BrickManager;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What members ask each other: hello, join and leave the pool, and brick work. */
public final class PeerServiceImpl extends PeerServiceGrpc.PeerServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(PeerServiceImpl.class);
    private static final long SYNC_WAIT_MS = 10_000;

    private final Member self;
    private final PoolGroup pool;
    private final BrickManager bricks;
    private final ExecutorService background = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "pool-leave");
        t.setDaemon(true);
        return t;
    });

    public PeerServiceImpl(Member self, PoolGroup pool, BrickManager bricks) {
        this.self = self;
        this.pool = pool;
        this.bricks = bricks;
    }

    @Override
    public void hello(HelloRequest req, StreamObserver<HelloReply> out) {
        Rpc.reply(out, () -> {
            PoolState s = pool.state();
            return HelloReply.newBuilder()
                    .setUuid(self.uuid())
                    .setAddress(self.canonicalAddress())
                    .setPoolId(pool.poolId())
                    .setMemberCount(s.peers().size())
                    .setVolumeCount(s.volumes().size())
                    .setPid(self.pid())
                    .build();
        });
    }

    @Override
    public void joinPool(JoinPoolRequest req, StreamObserver<Done> out) {
        Rpc.reply(out, () -> {
            PoolState s = pool.state();
            if (s.peers().size() > 1 || !s.volumes().isEmpty()) {
                throw BraidException.conflict("%s is either already part of another cluster or having volumes configured",
                        self.name());
            }
            List<RaftPeer> peers = new ArrayList<>();
            boolean includesSelf = false;
            for (RaftMember m : req.getMembersList()) {
                peers.add(RaftPeer.newBuilder().setId(RaftPeerId.valueOf(m.getUuid())).setAddress(m.getRaftAddress()).build());
                includesSelf |= m.getUuid().equals(self.uuid());
            }
            if (!includesSelf) throw BraidException.invalid("the new configuration does not include %s", self.name());
            RaftGroupId gid;
            try {
                gid = RaftGroupId.valueOf(UUID.fromString(req.getPoolId()));
            } catch (IllegalArgumentException e) {
                throw BraidException.invalid("invalid pool id %s", req.getPoolId());
            }
            pool.join(RaftGroup.valueOf(gid, peers));
            return Done.getDefaultInstance();
        });
    }

    @Override
    public void leavePool(LeavePoolRequest req, StreamObserver<Done> out) {
        Rpc.reply(out, () -> {
            background.execute(() -> {
                try {
                    pool.leave(req.getPoolId());
                } catch (Exception e) {
                    LOG.warn("{}: leaving pool {} failed: {}", self.name(), req.getPoolId(), e.toString());
                }
            });
            return Done.getDefaultInstance();
        });
    }

    @Override
    public void checkBrick(CheckBrickRequest req, StreamObserver<Done> out) {
        Rpc.reply(out, () -> {
            bricks.check(req.getPath(), req.getVolumeId());
            return Done.getDefaultInstance();
        });
    }

    @Override
    public void prepareBrick(PrepareBrickRequest req, StreamObserver<Done> out) {
        Rpc.reply(out, () -> {
            bricks.prepare(req.getVolume(), req.getPath());
            return Done.getDefaultInstance();
        });
    }

    @Override
    public void syncBricks(SyncBricksRequest req, StreamObserver<Done> out) {
        Rpc.reply(out, () -> {
            long deadline = System.currentTimeMillis() + SYNC_WAIT_MS;
            while (pool.state().appliedIndex() < req.getAppliedIndex()) {
                if (System.currentTimeMillis() > deadline) {
                    throw BraidException.conflict("%s has not caught up with the configuration", self.name());
                }
                Thread.sleep(20);
            }
            bricks.reconcile(pool.state());
            return Done.getDefaultInstance();
        });
    }

    @Override
    public void brickStatus(BrickStatusRequest req, StreamObserver<BrickStatusReply> out) {
        Rpc.reply(out, () -> BrickStatusReply.newBuilder()
                .addAllBricks(bricks.status(pool.state(), req.getVolume()))
                .build());
    }

    public void close() {
        background.shutdownNow();
    }
}
