package io.braid.cli;

import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealProgress;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.LastResync;
import io.braid.proto.admin.VerifyDifference;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.VolumeStatusEntry;

/** Hand-built heal, verify and resync replies for formatter tests. */
final class Heals {
    private Heals() {
    }

    /**
     * Brick 1 healthy; brick 2 missing two files, one in split-brain, 8 KiB out of sync;
     * brick 3 not reachable.
     */
    static HealReply info() {
        return HealReply.newBuilder().setVolume("web")
                .addBricks(HealBrick.newBuilder().setName("127.0.0.11:/srv/b").setConnected(true)
                        .setStatus("Connected"))
                .addBricks(HealBrick.newBuilder().setName("127.0.0.12:/srv/b").setConnected(true)
                        .setStatus("Connected").setEntries(2).setOutOfSyncBytes(8192).setSplitBrain(1)
                        .addPaths("/docs/a.txt").addPaths("/docs/b.txt"))
                .addBricks(HealBrick.newBuilder().setName("127.0.0.13:/srv/b").setConnected(false))
                .build();
    }

    /** A block volume resyncing 123.4 MiB more into brick 2, 45 % done, 12 s to go. */
    static HealReply running() {
        return HealReply.newBuilder().setVolume("vm")
                .addBricks(HealBrick.newBuilder().setName("127.0.0.11:/srv/vm").setConnected(true))
                .addBricks(HealBrick.newBuilder().setName("127.0.0.12:/srv/vm").setConnected(true)
                        .setEntries(31590).setOutOfSyncBytes(129394278))
                .setProgress(HealProgress.newBuilder().setDone(0.45).setBytesRemaining(129394278).setEtaSeconds(12))
                .build();
    }

    static VerifyReply clean() {
        return VerifyReply.newBuilder().setVolume("vm").setBytesCompared(67108864).build();
    }

    /** One block of a block volume and one range of a file differ on brick 2. */
    static VerifyReply differing(long repaired) {
        return VerifyReply.newBuilder().setVolume("vm").setBytesCompared(67108864)
                .addDiffering(VerifyDifference.newBuilder().setBrick("127.0.0.12:/srv/vm").setOffset(4096)
                        .setLength(4096))
                .addDiffering(VerifyDifference.newBuilder().setBrick("127.0.0.12:/srv/vm").setOffset(0)
                        .setLength(10).setFile("/docs/a.txt"))
                .setRepaired(repaired)
                .build();
    }

    /** Brick 1 primary, never resynced; brick 2 caught up by a partial resync; brick 3 in split-brain. */
    static VolumeStatusEntry status() {
        return VolumeStatusEntry.newBuilder().setName("vm")
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.11:/srv/vm").setHostUuid("U1").setOnline(true)
                        .setPort(24100).setPid(11).setRole("primary").setState("UpToDate"))
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.12:/srv/vm").setHostUuid("U2").setOnline(true)
                        .setPort(24100).setPid(12).setRole("secondary").setState("UpToDate")
                        .setLastResync(LastResync.newBuilder().setKind("partial").setBytes(4096).setSeconds(0.2)))
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.13:/srv/vm").setHostUuid("U3").setOnline(true)
                        .setPort(24100).setPid(13).setRole("secondary").setState("Outdated").setSplitBrain(true)
                        .setOutOfSyncBytes(1 << 20))
                .build();
    }
}
