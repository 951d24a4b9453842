package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SyncPolicyTest {
    private static final long MS = 1_000_000L;

    @Test
    void oneWriterAloneForTheWholeWindowFlushesInline() {
        SyncPolicy p = new SyncPolicy();
        long t = 1_000 * MS;
        assertFalse(p.alone("c1", "/f", t));
        assertFalse(p.alone("c1", "/f", t + SyncPolicy.ALONE_NANOS - 1));
        assertTrue(p.alone("c1", "/f", t + SyncPolicy.ALONE_NANOS));
        assertTrue(p.alone("c1", "/f", t + 10 * SyncPolicy.ALONE_NANOS));
    }

    @Test
    void writersTakingTurnsNeverFlushInline() {
        SyncPolicy p = new SyncPolicy();
        long t = 5 * MS;
        for (int i = 0; i < 1000; i++, t += MS) {
            assertFalse(p.alone("c" + (i % 2), "/f", t));
        }
        // another file of the same client is another writer too
        for (int i = 0; i < 1000; i++, t += MS) {
            assertFalse(p.alone("c1", i % 2 == 0 ? "/a" : "/b", t));
        }
        // once one alone has kept at it for the window, inline again
        long from = t;
        for (; t < from + SyncPolicy.ALONE_NANOS; t += MS) assertFalse(p.alone("c2", "/a", t));
        assertTrue(p.alone("c2", "/a", t));
        assertFalse(p.alone("c3", "/a", t + MS));
    }

    @Test
    void aSlowFlushOnTheLoopKeepsFlushesOffItForAWhile() {
        SyncPolicy p = new SyncPolicy();
        long t = 7 * MS;
        assertFalse(p.benched(t));
        p.took(t, t + SyncPolicy.SLOW_NANOS); // at the limit: still fine
        assertFalse(p.benched(t + SyncPolicy.SLOW_NANOS));
        p.took(t, t + SyncPolicy.SLOW_NANOS + 1);
        long end = t + SyncPolicy.SLOW_NANOS + 1;
        assertTrue(p.benched(end));
        assertTrue(p.benched(end + SyncPolicy.BENCHED_NANOS - 1));
        assertFalse(p.benched(end + SyncPolicy.BENCHED_NANOS));
    }
}
