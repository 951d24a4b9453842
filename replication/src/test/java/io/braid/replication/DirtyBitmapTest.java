package io.braid.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DirtyBitmapTest {
    @Test
    void marksEveryBlockARangeTouches() {
        DirtyBitmap b = new DirtyBitmap(1 << 20);
        b.mark(4095, 2); // straddles blocks 0 and 1
        assertEquals(2, b.dirtyBlocks());
        b.mark(0, 4096);  // already dirty
        assertEquals(2, b.dirtyBlocks());
        b.mark(8192, 4096 * 3);
        assertEquals(5, b.dirtyBlocks());
        assertEquals(0, b.nextDirty(0));
        assertEquals(5, b.runLength(0, 100));
        b.clearBlocks(1, 2);
        assertEquals(3, b.dirtyBlocks());
        assertFalse(b.isDirty(1));
        assertTrue(b.isDirty(3));
        assertEquals(3, b.nextDirty(1));
    }

    @Test
    void markAllStopsAtTheVolumeEnd() {
        DirtyBitmap b = new DirtyBitmap(10 * 4096 + 1);
        b.markAll();
        assertEquals(11, b.dirtyBlocks());
        b.mark(1L << 40, 4096); // beyond the end: ignored
        assertEquals(11, b.dirtyBlocks());
        b.resize(20 * 4096);
        b.markAll();
        assertEquals(20, b.dirtyBlocks());
    }

    @Test
    void changedPagesRoundTrip() {
        long size = 3L * DirtyBitmap.PAGE_BITS * 4096;
        DirtyBitmap b = new DirtyBitmap(size);
        b.mark(0, 4096);
        b.mark((long) DirtyBitmap.PAGE_BITS * 2 * 4096 + 8192, 4096);
        Map<Integer, byte[]> pages = b.takeChangedPages();
        assertEquals(java.util.Set.of(0, 2), pages.keySet());
        assertTrue(b.takeChangedPages().isEmpty());
        DirtyBitmap copy = new DirtyBitmap(size);
        pages.forEach(copy::loadPage);
        assertEquals(2, copy.dirtyBlocks());
        assertArrayEquals(b.toBytes(), copy.toBytes());
        b.clearAll();
        assertEquals(0, b.dirtyBlocks());
        assertEquals(0, b.takeChangedPages().get(0).length);
    }

    @Test
    void orMergesAnotherBitmap() {
        DirtyBitmap a = new DirtyBitmap(1 << 20);
        DirtyBitmap b = new DirtyBitmap(1 << 20);
        a.mark(0, 4096);
        b.mark(4096 * 10, 4096 * 2);
        a.or(DirtyBitmap.fromBytes(1 << 20, b.toBytes()));
        assertEquals(3, a.dirtyBlocks());
    }
}
