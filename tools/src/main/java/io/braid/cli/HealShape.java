package io.braid.cli;

import java.util.Locale;

import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealProgress;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.LastResync;

/** Derived facts about heal and resync replies, shared by the formatters. */
final class HealShape {
    static final String NOT_CONNECTED = "Transport endpoint is not connected";
    private static final int BAR_WIDTH = 20;

    private HealShape() {
    }

    /** The daemon's status string, or GlusterFS's "Connected" / "Transport endpoint is not connected". */
    static String status(HealBrick b) {
        if (!b.getStatus().isBlank()) {
            return b.getStatus();
        }
        return b.getConnected() ? "Connected" : NOT_CONNECTED;
    }

    /** Entries waiting for a heal that can run: every entry except those in split-brain. */
    static long healPending(HealBrick b) {
        return Math.max(0, b.getEntries() - b.getSplitBrain());
    }

    /** Whether a heal is running: the daemon sets progress only then. */
    static boolean running(HealReply reply) {
        return reply.hasProgress();
    }

    /** The done fraction clamped to 0..1. */
    static double done(HealProgress p) {
        double done = p.getDone();
        return Double.isNaN(done) ? 0 : Math.max(0, Math.min(1, done));
    }

    /** {@code Resync: [#########...........] 45.0%  123.4 MiB remaining, ETA 12s}. */
    static String progressLine(HealProgress p) {
        double done = done(p);
        int filled = (int) Math.floor(done * BAR_WIDTH + 1e-9); // 0.35 * 20 must fill 7, not 6
        return "Resync: [" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] "
                + String.format(Locale.ROOT, "%.1f%%", done * 100) + "  "
                + ByteSizes.iec(Math.max(0, p.getBytesRemaining())) + " remaining, ETA " + eta(p.getEtaSeconds());
    }

    /** 12 → "12s", 185 → "3m05s", 7500 → "2h05m"; negative (not known) → "unknown". */
    static String eta(long seconds) {
        if (seconds < 0) {
            return "unknown";
        }
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
    }

    /** {@code partial, 4.0 KiB sent in 0.2 s}. */
    static String lastResync(LastResync r) {
        String kind = r.getKind().isBlank() ? "resync" : r.getKind();
        return kind + ", " + ByteSizes.iec(r.getBytes()) + " sent in "
                + String.format(Locale.ROOT, "%.1f s", r.getSeconds());
    }
}
