package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class OwedTimesTest {
    static final long MS = 1_000_000L;

    @Test
    void onlyWritesToAFileFlushedLatelyLeaveTheirTimes() {
        OwedTimes o = new OwedTimes();
        assertFalse(o.defer("/a", 0), "never flushed");
        o.synced("a", 10 * MS);
        assertTrue(o.defer("/a/", 20 * MS), "flushed 10 ms before");
        assertFalse(o.defer("/b", 20 * MS), "another file");
        assertFalse(o.defer("a", 10 * MS + OwedTimes.SYNCED_NANOS + 1), "flushed too long ago");
        assertFalse(o.isEmpty());
    }

    @Test
    void timesAreDueOnceTheFileRestsOrHasWaitedTooLong() {
        OwedTimes o = new OwedTimes();
        o.synced("busy", 0);
        o.synced("rests", 0);
        long t = MS;
        o.defer("rests", t);
        o.defer("busy", t);
        assertEquals(List.of(), o.due(t + OwedTimes.QUIET_NANOS - 1));
        for (long w = t; w < t + OwedTimes.MAX_NANOS; w += 10 * MS) {
            o.synced("busy", w);
            o.defer("busy", w);
        }
        // "rests" went quiet long ago; "busy" is still written but has waited its longest
        assertEquals(List.of("rests", "busy"), o.due(t + OwedTimes.MAX_NANOS));
        assertTrue(o.isEmpty(), "handed out once");
        assertEquals(List.of(), o.due(t + 10 * OwedTimes.MAX_NANOS));
    }

    @Test
    void timesSentWithAMutationAreOwedNoMore() {
        OwedTimes o = new OwedTimes();
        o.synced("f", 0);
        o.defer("f", 0);
        o.covered("/f");
        assertTrue(o.isEmpty());
        assertEquals(List.of(), o.due(OwedTimes.MAX_NANOS));
    }

    @Test
    void aRenameTakesWhatIsOwedAndTheFlushesToTheNewName() {
        OwedTimes o = new OwedTimes();
        o.synced("old", 0);
        o.defer("old", 0);
        o.synced("over", 0);
        o.defer("over", 0);
        o.renamed("/old", "/dir/new");
        assertTrue(o.defer("dir/new", MS), "the flushes go with the name");
        assertFalse(o.defer("old", MS), "nothing left under the old name");
        o.renamed("dir/new", "over"); // over an existing file: its own debt goes with it
        assertEquals(List.of("over"), o.due(MS + OwedTimes.QUIET_NANOS));
    }
}
