package io.braid.rpc;

import io.braid.proto.admin.Empty;
import io.braid.proto.admin.ManagementGrpc;
import io.braid.proto.admin.OpReply;
import io.braid.proto.admin.PeerDetachRequest;
import io.braid.proto.admin.PeerProbeReply;
import io.braid.proto.admin.PeerProbeRequest;
import io.braid.proto.admin.PoolReply;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeGetRequest;
import io.braid.proto.admin.VolumeInfoReply;
import io.braid.proto.admin.VolumeInfoRequest;
import io.braid.proto.admin.VolumeListReply;
import io.braid.proto.admin.VolumeRequest;
import io.braid.proto.admin.VolumeResetRequest;
import io.braid.proto.admin.VolumeSetRequest;
import io.braid.proto.admin.VolumeStatusReply;
import io.braid.proto.admin.VolumeStatusRequest;
import io.grpc.stub.StreamObserver;

/** The operator's gRPC service; every call is answered from or ordered through the pool. */
public final class ManagementServiceImpl extends ManagementGrpc.ManagementImplBase {
    private static final OpReply OK = OpReply.getDefaultInstance();

    private final PoolCommands pool;
    private final VolumeCommands volumes;
    private final BlockCommands blocks;

    public ManagementServiceImpl(PoolCommands pool, VolumeCommands volumes, BlockCommands blocks) {
        this.blocks = blocks;
        this.pool = pool;
        this.volumes = volumes;
    }

    @Override
    public void peerProbe(PeerProbeRequest req, StreamObserver<PeerProbeReply> out) {
        Rpc.reply(out, () -> PeerProbeReply.newBuilder().setMessage(pool.probe(req.getHost())).build());
    }

    @Override
    public void peerDetach(PeerDetachRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            pool.detach(req.getHost(), req.getForce());
            return OK;
        });
    }

    @Override
    public void poolList(Empty req, StreamObserver<PoolReply> out) {
        Rpc.reply(out, pool::list);
    }

    @Override
    public void volumeCreate(VolumeCreateRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.create(req);
            return OK;
        });
    }

    @Override
    public void volumeStart(VolumeRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.start(req.getName(), req.getForce());
            return OK;
        });
    }

    @Override
    public void volumeStop(VolumeRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.stop(req.getName(), req.getForce());
            return OK;
        });
    }

    @Override
    public void volumeDelete(VolumeRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.delete(req.getName());
            return OK;
        });
    }

    @Override
    public void volumeInfo(VolumeInfoRequest req, StreamObserver<VolumeInfoReply> out) {
        Rpc.reply(out, () -> VolumeInfoReply.newBuilder().addAllVolumes(volumes.info(req.getName())).build());
    }

    @Override
    public void volumeList(Empty req, StreamObserver<VolumeListReply> out) {
        Rpc.reply(out, () -> VolumeListReply.newBuilder().addAllNames(volumes.list()).build());
    }

    @Override
    public void volumeStatus(VolumeStatusRequest req, StreamObserver<VolumeStatusReply> out) {
        Rpc.reply(out, () -> VolumeStatusReply.newBuilder().addAllVolumes(volumes.status(req.getName())).build());
    }

    @Override
    public void volumeSet(VolumeSetRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.set(req.getName(), req.getKey(), req.getValue());
            return OK;
        });
    }

    @Override
    public void volumeGet(VolumeGetRequest req, StreamObserver<VolumeGetReply> out) {
        Rpc.reply(out, () -> volumes.get(req.getName(), req.getKey()));
    }

    @Override
    public void volumeReset(VolumeResetRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> {
            volumes.reset(req.getName(), req.getKey());
            return OK;
        });
    }

    @Override
    public void optionHelp(Empty req, StreamObserver<VolumeGetReply> out) {
        Rpc.reply(out, VolumeCommands::help);
    }

    @Override
    public void volumeHeal(io.braid.proto.admin.HealRequest req, StreamObserver<io.braid.proto.admin.HealReply> out) {
        Rpc.reply(out, () -> blocks.heal(req));
    }

    @Override
    public void volumeVerify(io.braid.proto.admin.VerifyRequest req, StreamObserver<io.braid.proto.admin.VerifyReply> out) {
        Rpc.reply(out, () -> blocks.verify(req.getName(), req.getRepair()));
    }

    @Override
    public void volumeResize(io.braid.proto.admin.ResizeRequest req, StreamObserver<OpReply> out) {
        Rpc.reply(out, () -> OpReply.newBuilder().setMessage(blocks.resize(req.getName(), req.getSize())).build());
    }
}
