package io.braid.rpc;

import io.braid.proto.admin.HealProgress;
import io.braid.proto.peer.PeerSync;

/** The progress of the resyncs and heals running in a volume, summed over what primaries report. */
final class ResyncProgress {
    private long remaining;
    private long total;
    private double rate;
    private boolean running;

    /** Counts a peer's heal or resync if one is running. */
    void add(PeerSync ps) {
        if (ps == null || !ps.getResyncing()) return;
        running = true;
        remaining += ps.getOutOfSyncBytes();
        total += ps.getResyncTotalBytes();
        rate += ps.getResyncBytesPerSecond();
    }

    boolean running() {
        return running;
    }

    /** done (0..1), bytes remaining and an ETA in seconds (-1 when no rate is known yet). */
    HealProgress toProto() {
        double done = total <= 0 ? 0 : Math.max(0, Math.min(1, 1 - (double) remaining / total));
        long eta = rate > 0 ? (long) Math.ceil(remaining / rate) : -1;
        return HealProgress.newBuilder().setDone(done).setBytesRemaining(remaining).setEtaSeconds(eta).build();
    }
}
