package io.braid.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ActivityLogTest {
    @Test
    void reportsOnlyNewExtentsAndEvictsTheLeastRecentlyUsed() {
        ActivityLog al = new ActivityLog(2);
        assertTrue(al.touch(0, 4096));
        assertFalse(al.touch(4096, 4096));
        assertTrue(al.touch(ActivityLog.EXTENT, 1));
        assertFalse(al.touch(0, 1)); // extent 0 is now the most recent
        assertTrue(al.touch(5 * ActivityLog.EXTENT, 1));
        assertEquals(List.of(0L, 5L), al.extents());
    }

    @Test
    void aWriteAcrossExtentsLogsBoth() {
        ActivityLog al = new ActivityLog(8);
        al.touch(ActivityLog.EXTENT - 10, 20);
        assertEquals(List.of(0L, 1L), al.extents());
    }
}
