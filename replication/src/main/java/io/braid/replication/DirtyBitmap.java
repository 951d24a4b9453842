package io.braid.replication;

import java.util.BitSet;

/**
 * One bit per 4 KiB block of a volume: the blocks one peer is missing. Pages of
 * {@link #PAGE_BITS} bits are the unit of persistence; {@link #takeChangedPages()} tells which
 * pages changed since it was last asked.
 */
public final class DirtyBitmap {
    public static final int PAGE_BITS = 1 << 15; // 32768 blocks = 128 MiB of volume per page

    private final BitSet bits = new BitSet();
    private final BitSet changedPages = new BitSet();
    private long blocks;
    private long cardinality;

    public DirtyBitmap(long volumeBytes) {
        this.blocks = blocksFor(volumeBytes);
    }

    static long blocksFor(long bytes) {
        return (bytes + BlockImage.BLOCK - 1) / BlockImage.BLOCK;
    }

    public synchronized void resize(long volumeBytes) {
        blocks = Math.max(blocks, blocksFor(volumeBytes));
    }

    /** Marks every block touched by [offset, offset+length). */
    public synchronized void mark(long offset, long length) {
        if (length <= 0) return;
        int from = (int) (offset / BlockImage.BLOCK);
        int to = (int) Math.min(blocks, (offset + length + BlockImage.BLOCK - 1) / BlockImage.BLOCK);
        setRange(from, to);
    }

    public synchronized void markAll() {
        setRange(0, (int) blocks);
    }

    private void setRange(int from, int to) {
        for (int i = bits.nextClearBit(from); i < to; i = bits.nextClearBit(i + 1)) {
            int end = bits.nextSetBit(i);
            if (end < 0 || end > to) end = to;
            bits.set(i, end);
            cardinality += end - i;
            changedPages.set(i / PAGE_BITS, (end - 1) / PAGE_BITS + 1);
            i = end - 1;
        }
    }

    /** Clears blocks [firstBlock, firstBlock+count). */
    public synchronized void clearBlocks(long firstBlock, int count) {
        int from = (int) firstBlock;
        int to = from + count;
        for (int i = bits.nextSetBit(from); i >= 0 && i < to; i = bits.nextSetBit(i + 1)) {
            int end = bits.nextClearBit(i);
            if (end > to) end = to;
            bits.clear(i, end);
            cardinality -= end - i;
            changedPages.set(i / PAGE_BITS, (end - 1) / PAGE_BITS + 1);
            i = end;
        }
    }

    public synchronized void clearAll() {
        if (cardinality == 0) return;
        int last = bits.length();
        changedPages.set(0, last / PAGE_BITS + 1);
        bits.clear();
        cardinality = 0;
    }

    public synchronized void or(DirtyBitmap other) {
        BitSet copy;
        synchronized (other) {
            copy = (BitSet) other.bits.clone();
        }
        for (int i = copy.nextSetBit(0); i >= 0; i = copy.nextSetBit(i + 1)) {
            int end = copy.nextClearBit(i);
            setRange(i, (int) Math.min(end, blocks));
            i = end;
        }
    }

    public synchronized long dirtyBlocks() {
        return cardinality;
    }

    public long dirtyBytes() {
        return dirtyBlocks() * BlockImage.BLOCK;
    }

    public synchronized boolean isDirty(long block) {
        return bits.get((int) block);
    }

    /** The first dirty block at or after from, or -1. */
    public synchronized long nextDirty(long from) {
        return bits.nextSetBit((int) from);
    }

    /** How many dirty blocks follow start without a gap, at most max. */
    public synchronized int runLength(long start, int max) {
        int end = bits.nextClearBit((int) start);
        return (int) Math.min(max, end - start);
    }

    /** Pages changed since the last call, each with its bits as bytes (empty array: all clear). */
    public synchronized java.util.Map<Integer, byte[]> takeChangedPages() {
        java.util.Map<Integer, byte[]> out = new java.util.TreeMap<>();
        for (int p = changedPages.nextSetBit(0); p >= 0; p = changedPages.nextSetBit(p + 1)) {
            out.put(p, bits.get(p * PAGE_BITS, (p + 1) * PAGE_BITS).toByteArray());
        }
        changedPages.clear();
        return out;
    }

    /** Loads one persisted page (at open). */
    public synchronized void loadPage(int page, byte[] data) {
        BitSet b = BitSet.valueOf(data);
        for (int i = b.nextSetBit(0); i >= 0; i = b.nextSetBit(i + 1)) {
            int abs = page * PAGE_BITS + i;
            if (abs >= blocks) break;
            if (!bits.get(abs)) {
                bits.set(abs);
                cardinality++;
            }
        }
    }

    public synchronized byte[] toBytes() {
        return bits.toByteArray();
    }

    public static DirtyBitmap fromBytes(long volumeBytes, byte[] data) {
        DirtyBitmap d = new DirtyBitmap(volumeBytes);
        BitSet b = BitSet.valueOf(data);
        for (int i = b.nextSetBit(0); i >= 0 && i < d.blocks; i = b.nextSetBit(i + 1)) {
            d.bits.set(i);
            d.cardinality++;
        }
        return d;
    }
}
