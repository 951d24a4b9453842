package io.braid.replication;

import io.braid.proto.replication.Generations;

/**
 * Decides, from generation identifiers, how a replica catches up with the primary: the DRBD
 * handshake. The primary's current identifier changes at the first write after a peer dropped
 * out; the peer's bitmap then starts from the identifier the two last shared (its base).
 */
public final class SyncPlanner {
    public enum Decision {
        /** Same lineage, and the primary's bitmap for the target covers what it missed (maybe nothing). */
        PARTIAL,
        /** The target is new, wiped, or behind by more than any bitmap covers. */
        FULL,
        /** Both sides wrote while apart: no resync until the operator picks a source. */
        SPLIT_BRAIN
    }

    private SyncPlanner() {}

    /**
     * @param primary the primary's identifiers
     * @param primaryBrick the primary's brick name, as the target names it in its bitmap bases
     * @param targetBrick the target's brick name, as the primary names it
     * @param target the target's identifiers
     * @param discard the operator chose the primary's side in a split-brain
     */
    public static Decision decide(Generations primary, String primaryBrick, String targetBrick,
                                  Generations target, boolean discard) {
        String tc = target.getCurrent();
        if (tc.isEmpty()) return Decision.FULL;
        String base = primary.getBitmapBaseMap().get(targetBrick);
        boolean targetWroteAlone = !tc.equals(primary.getCurrent()) && !tc.equals(base)
                && !primary.getHistoryList().contains(tc);
        if (targetWroteAlone) {
            // The target has a generation the primary never had.
            if (discard) {
                String targetBase = target.getBitmapBaseMap().get(primaryBrick);
                // Both bitmaps started at one shared generation: undo the target's writes and copy
                // the primary's, block by block. Otherwise nothing bounds the damage: copy it all.
                return targetBase != null && targetBase.equals(base) ? Decision.PARTIAL : Decision.FULL;
            }
            return Decision.SPLIT_BRAIN;
        }
        if (tc.equals(primary.getCurrent()) || tc.equals(base)) return Decision.PARTIAL;
        return Decision.FULL; // an older generation of ours, with no bitmap from there
    }
}
