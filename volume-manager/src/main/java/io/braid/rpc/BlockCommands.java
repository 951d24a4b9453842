package io.braid.rpc;

import io.braid.block.BlockVolumes;
import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.nbd.BlockExport;
import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.HealRequest;
import io.braid.proto.admin.VerifyDifference;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.ResizeVolume;
import io.braid.proto.config.ResolveSplitBrain;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.config.VolumeType;
import io.braid.proto.peer.BrickState;
import io.braid.proto.peer.PeerSync;
import io.braid.proto.replication.ChecksumReply;
import io.braid.proto.replication.ChecksumRequest;
import io.braid.proto.replication.ReplicationGrpc;
import io.braid.replication.BlockImage;
import io.braid.util.BraidException;
import io.braid.util.Sizes;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** heal, verify and resize for block volumes (file volumes heal through {@link FileHeal}). */
public final class BlockCommands {
    private static final long VERIFY_CHUNK = 64L << 20;

    private final PoolGroup pool;
    private final PeerClients clients;
    private final PoolCommands poolCommands;
    private final VolumeCommands volumes;
    private final BlockVolumes blocks;

    public BlockCommands(PoolGroup pool, PeerClients clients, PoolCommands poolCommands, VolumeCommands volumes,
                         BlockVolumes blocks) {
        this.pool = pool;
        this.clients = clients;
        this.poolCommands = poolCommands;
        this.volumes = volumes;
        this.blocks = blocks;
    }

    private VolumeRecord started(String name) {
        PoolState s = pool.state();
        VolumeRecord v = volumes.existing(s, name);
        if (v.getStatus() != VolumeStatus.STARTED) throw BraidException.conflict("Volume %s is not started", name);
        return v;
    }

    private VolumeRecord startedBlockVolume(String name) {
        VolumeRecord v = started(name);
        if (v.getType() != VolumeType.BLOCK) throw BraidException.invalid("volume %s is not a block volume", name);
        return v;
    }

    public HealReply heal(HealRequest req) {
        VolumeRecord v = started(req.getName());
        PoolState s = pool.state();
        boolean block = v.getType() == VolumeType.BLOCK;
        if (!block) return new FileHeal(clients, volumes).heal(s, v, req);
        switch (req.getAction()) {
            case "", "full" -> {
                return HealReply.newBuilder().setVolume(v.getName()).setMessage("Launching heal operation to perform "
                        + (req.getAction().isEmpty() ? "index" : "full") + " self heal on volume " + v.getName()
                        + " has been successful. " + (block ? "Block volumes resync" : "File volumes heal")
                        + " by themselves when a brick returns; use 'volume heal " + v.getName() + " info' to follow it.")
                        .build();
            }
            case "split-brain" -> {
                return resolve(v, req);
            }
            case "info", "info-summary", "info-split-brain" -> {
                return info(s, v, req.getAction().equals("info-summary"));
            }
            default -> throw BraidException.invalid("unknown heal action %s", req.getAction());
        }
    }

    private HealReply info(PoolState s, VolumeRecord v, boolean summary) {
        Map<String, BrickState> states = volumes.gather(s, v);
        Map<String, PeerSync> peers = VolumeCommands.peerSync(states);
        HealReply.Builder out = HealReply.newBuilder().setVolume(v.getName());
        ResyncProgress progress = new ResyncProgress();
        for (BrickRecord r : v.getBricksList()) {
            String name = r.getHost() + ":" + r.getPath();
            BrickState bs = states.get(r.getNodeUuid() + ":" + r.getPath());
            boolean connected = bs != null && bs.getOnline();
            PeerSync ps = peers.get(name);
            long dirty = ps == null ? 0 : ps.getOutOfSyncBytes();
            boolean split = ps != null && ps.getSplitBrain();
            HealBrick.Builder b = HealBrick.newBuilder().setName(name).setConnected(connected)
                    .setEntries(dirty / BlockImage.BLOCK).setOutOfSyncBytes(dirty).setSplitBrain(split ? 1 : 0)
                    .setStatus(!connected ? "Transport endpoint is not connected" : split ? "split-brain" : "Connected");
            out.addBricks(b);
            progress.add(ps);
        }
        if (summary && progress.running()) out.setProgress(progress.toProto());
        return out.build();
    }

    private HealReply resolve(VolumeRecord v, HealRequest req) {
        if (!req.getResolution().equals("source-brick")) {
            throw BraidException.invalid("%s applies to files of file volumes; a block volume takes source-brick HOST:PATH",
                    req.getResolution());
        }
        if (!req.getFile().isEmpty()) throw BraidException.invalid("a block volume has no files: give only source-brick");
        int source = -1;
        for (int i = 0; i < v.getReplicaCount(); i++) {
            BrickRecord b = v.getBricks(i);
            if ((b.getHost() + ":" + b.getPath()).equals(req.getSourceBrick()) && !b.getArbiter()) source = i;
        }
        if (source < 0) throw BraidException.invalid("%s is not a data brick of volume %s", req.getSourceBrick(), v.getName());
        poolCommands.requireQuorum(pool.state());
        poolCommands.commit(ConfigCommand.newBuilder().setResolveSplitBrain(ResolveSplitBrain.newBuilder()
                .setName(v.getName()).setSet(0).setSource(source)).build());
        return HealReply.newBuilder().setVolume(v.getName()).setMessage("Healed volume " + v.getName() + " from source "
                + req.getSourceBrick() + ": the other bricks resync from it, overwriting the blocks written on them while apart")
                .build();
    }

    /** Compares every data brick against the primary, 4 KiB block by block, by xxhash64. */
    public VerifyReply verify(String name, boolean repair) {
        VolumeRecord v = startedBlockVolume(name);
        PoolState s = pool.state();
        int primary = v.getSets(0).getPrimary();
        BrickRecord p = v.getBricks(primary);
        List<BrickRecord> others = new ArrayList<>();
        for (int i = 0; i < v.getReplicaCount(); i++) {
            if (i != primary && !v.getBricks(i).getArbiter()) others.add(v.getBricks(i));
        }
        VerifyReply.Builder out = VerifyReply.newBuilder().setVolume(name);
        List<Long> toRepair = new ArrayList<>();
        long compared = 0;
        for (long off = 0; off < v.getSize(); off += VERIFY_CHUNK) {
            long len = Math.min(VERIFY_CHUNK, v.getSize() - off);
            List<Long> reference = sums(s, p, v.getName(), off, len);
            for (BrickRecord o : others) {
                List<Long> theirs = sums(s, o, v.getName(), off, len);
                for (int i = 0; i < reference.size(); i++) {
                    if (i >= theirs.size() || !reference.get(i).equals(theirs.get(i))) {
                        long at = off + (long) i * BlockImage.BLOCK;
                        out.addDiffering(VerifyDifference.newBuilder().setBrick(o.getHost() + ":" + o.getPath())
                                .setOffset(at).setLength(BlockImage.BLOCK));
                        if (!toRepair.contains(at)) toRepair.add(at);
                    }
                }
            }
            compared += len;
        }
        out.setBytesCompared(compared);
        if (repair && !toRepair.isEmpty()) {
            BlockExport export = blocks.lookup(name);
            try {
                for (long at : toRepair) {
                    // Read from the primary and write it back through it: every live replica gets the block.
                    ByteBuffer data = export.read(at, BlockImage.BLOCK).get(30, TimeUnit.SECONDS);
                    export.write(at, data, false).get(30, TimeUnit.SECONDS);
                }
                export.flush().get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw BraidException.conflict("repair interrupted");
            } catch (ExecutionException | TimeoutException e) {
                throw BraidException.conflict("repair failed: %s", e.getCause() == null ? e : e.getCause().getMessage());
            }
            out.setRepaired(toRepair.size());
        }
        return out.build();
    }

    private List<Long> sums(PoolState s, BrickRecord b, String volume, long off, long len) {
        PeerRecord host = s.peer(b.getNodeUuid()).orElseThrow();
        try {
            ChecksumReply r = ReplicationGrpc.newBlockingStub(clients.channel(host.getAddress()))
                    .withDeadlineAfter(60, TimeUnit.SECONDS)
                    .checksums(ChecksumRequest.newBuilder().setVolume(volume).setBrick(b.getHost() + ":" + b.getPath())
                            .setOffset(off).setLength(len).build());
            return r.getSumsList();
        } catch (StatusRuntimeException e) {
            throw BraidException.conflict("cannot read brick %s:%s: %s", b.getHost(), b.getPath(),
                    e.getStatus().getDescription() == null ? e.getStatus().getCode() : e.getStatus().getDescription());
        }
    }

    public String resize(String name, String sizeText) {
        PoolState s = pool.state();
        VolumeRecord v = volumes.existing(s, name);
        if (v.getType() != VolumeType.BLOCK) throw BraidException.invalid("volume %s is not a block volume", name);
        long size;
        try {
            size = Sizes.parse(sizeText);
        } catch (IllegalArgumentException e) {
            throw BraidException.invalid("%s", e.getMessage());
        }
        if (size % BlockImage.BLOCK != 0) throw BraidException.invalid("size must be a multiple of 4096 bytes");
        if (size < v.getSize()) {
            throw BraidException.invalid("shrinking is not supported: %s is smaller than the current size %d bytes",
                    sizeText, v.getSize());
        }
        if (size == v.getSize()) return "volume " + name + " already has size " + size;
        poolCommands.requireQuorum(s);
        poolCommands.commit(ConfigCommand.newBuilder().setResizeVolume(ResizeVolume.newBuilder().setName(name).setSize(size)).build());
        return "";
    }
}
