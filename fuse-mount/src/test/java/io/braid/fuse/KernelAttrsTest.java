package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.braid.proto.file.Attr;

/** What the kernel was told, and when an open must make it look again. */
class KernelAttrsTest {
    private static Attr attr(long size, long mtime) {
        return Attr.newBuilder().setSize(size).setMtimeNs(mtime).build();
    }

    @Test
    void staleWhenSizeOrMtimeDiffer() {
        KernelAttrs k = new KernelAttrs(1, 1);
        assertFalse(k.stale("/f", attr(10, 1))); // never told: the kernel looks it up
        k.told("/f", attr(10, 1));
        assertFalse(k.stale("/f", attr(10, 1)));
        assertTrue(k.stale("/f", attr(20, 1)));
        assertTrue(k.stale("/f", attr(10, 2)));
        k.told("/f", attr(20, 2));
        assertFalse(k.stale("/f", attr(20, 2)));
    }

    @Test
    void outlivesNeitherTimeout() throws InterruptedException {
        KernelAttrs none = new KernelAttrs(0, 0);
        none.told("/f", attr(10, 1));
        assertFalse(none.stale("/f", attr(20, 1)));
        assertEquals(0, none.size());
        // The entry timeout counts too: while the name is valid, the kernel opens it without a lookup.
        KernelAttrs entry = new KernelAttrs(0, 0.05);
        entry.told("/f", attr(10, 1));
        assertTrue(entry.stale("/f", attr(20, 1)));
        Thread.sleep(250); // 50 ms plus the 100 ms margin
        assertFalse(entry.stale("/f", attr(20, 1)));
        entry.told("/g", attr(1, 1)); // expired entries go as new ones come
        assertEquals(1, entry.size());
    }

    @Test
    void ownWritesGrowTheSizeAndLeaveTheMtimeToTheKernel() {
        KernelAttrs k = new KernelAttrs(1, 1);
        k.told("/f", attr(0, 1));
        k.wrote("/f", 4096);
        k.wrote("/f", 100);
        assertFalse(k.stale("/f", attr(4096, 99)));
        assertTrue(k.stale("/f", attr(5000, 99)));
        k.wrote("/unknown", 10); // nothing told: nothing to track
        assertEquals(1, k.size());
    }

    @Test
    void renameMovesAndUnlinkForgets() {
        KernelAttrs k = new KernelAttrs(1, 1);
        k.told("/a", attr(1, 1));
        k.told("/b", attr(2, 2));
        k.renamed("/a", "/b");
        assertFalse(k.stale("/a", attr(9, 9)));
        assertTrue(k.stale("/b", attr(2, 2)));
        assertFalse(k.stale("/b", attr(1, 1)));
        k.forget("/b");
        assertEquals(0, k.size());
    }

    @Test
    void theRetryOfAnOpenAnsweredEstaleIsKnownByThreadAndPath() {
        KernelAttrs k = new KernelAttrs(1, 1);
        assertFalse(k.relookupsPending());
        assertFalse(k.retrying("/f", 7));
        k.askedRelookup("/f", 7);
        assertTrue(k.relookupsPending());
        assertFalse(k.retrying("/f", 8)); // another thread: its own open
        assertFalse(k.retrying("/g", 7));
        assertTrue(k.retrying("/f", 7));
        assertFalse(k.retrying("/f", 7)); // once
        assertFalse(k.relookupsPending());
        for (int i = 0; i < KernelAttrs.BOUND + 10; i++) {
            k.askedRelookup("/f", i);
        }
        assertFalse(k.retrying("/f", 0)); // the oldest went first
        assertTrue(k.retrying("/f", KernelAttrs.BOUND + 9));
    }

    @Test
    void bounded() {
        KernelAttrs k = new KernelAttrs(60, 60);
        for (int i = 0; i < KernelAttrs.BOUND + 10; i++) {
            k.told("/f" + i, attr(i, i));
        }
        assertEquals(KernelAttrs.BOUND, k.size());
        assertFalse(k.stale("/f0", attr(99, 99))); // the oldest went first
        assertTrue(k.stale("/f" + (KernelAttrs.BOUND + 9), attr(99, 99)));
    }
}
