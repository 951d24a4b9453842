package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.store.KeyValueStore;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-peer dirty index of a file brick: what survives a restart, and what a heal relies on. */
class DirtyIndexTest {
    @TempDir
    Path dir;
    KeyValueStore kv;

    @BeforeEach
    void open() throws Exception {
        kv = KeyValueStore.open(dir.resolve("meta"));
    }

    @AfterEach
    void close() {
        kv.close();
    }

    static List<String> paths(List<DirtyIndex.Item> items) {
        return items.stream().map(DirtyIndex.Item::path).toList();
    }

    @Test
    void parentsComeFirstAndEntriesSurviveARestart() throws Exception {
        DirtyIndex d = new DirtyIndex(kv, "h2:/srv/b");
        d.mark("a/b/c", DirtyIndex.DATA, List.of(4096L, 8192L));
        d.mark("a", DirtyIndex.ENTRY, List.of());
        d.mark("a/b", DirtyIndex.META, List.of());
        assertEquals(List.of("a", "a/b", "a/b/c"), paths(d.snapshot(10)));
        DirtyIndex again = new DirtyIndex(kv, "h2:/srv/b");
        assertEquals(List.of("a", "a/b", "a/b/c"), paths(again.snapshot(10)));
        assertEquals(4096, again.dataBytes());
        assertEquals(List.of("h2:/srv/b"), DirtyIndex.peersIn(kv));
    }

    @Test
    void anEntryMarkedAfterASnapshotIsClearedOnlyThroughItsCurrentVersion() throws Exception {
        DirtyIndex d = new DirtyIndex(kv, "p");
        d.mark("dir/child", DirtyIndex.DATA, List.of(0L, 10L));
        DirtyIndex.Item stale = d.snapshot(10).get(0);
        d.mark("dir/child", DirtyIndex.ENTRY, List.of()); // the heal of dir marks its child whole
        assertFalse(d.clearIf("dir/child", stale.version()), "a stale version must not clear the entry");
        DirtyIndex.Item now = d.current("dir/child");
        assertEquals(DirtyIndex.DATA | DirtyIndex.ENTRY, now.flags());
        assertTrue(d.clearIf("dir/child", now.version()));
        assertNull(d.current("dir/child"));
        assertTrue(d.isEmpty());
    }

    @Test
    void forgetUnderDropsAPathAndItsSubtreeOnly() throws Exception {
        DirtyIndex d = new DirtyIndex(kv, "p");
        for (String p : List.of("espb", "espb/a", "espb/a/x", "espb/ab", "other")) d.mark(p, DirtyIndex.ENTRY, List.of());
        d.forgetUnder("espb/a");
        assertEquals(List.of("espb", "other", "espb/ab"), paths(d.snapshot(10)));
        assertEquals(List.of("espb", "other", "espb/ab"), paths(new DirtyIndex(kv, "p").snapshot(10)));
        // a pulled directory is forgotten alone: what changed under it is pulled on its own
        d.forget("espb");
        assertEquals(List.of("other", "espb/ab"), paths(new DirtyIndex(kv, "p").snapshot(10)));
    }

    @Test
    void underTellsDescendantsApart() {
        assertTrue(DirtyIndex.under("a/b", "a"));
        assertTrue(DirtyIndex.under("a", "a"));
        assertTrue(DirtyIndex.under("anything", ""));
        assertFalse(DirtyIndex.under("ab", "a"));
        assertFalse(DirtyIndex.under("a", "a/b"));
    }

    @Test
    void aSnapshotLeavesOutWhatTheHealMustSkip() throws Exception {
        DirtyIndex d = new DirtyIndex(kv, "p");
        d.mark("dspb/file", DirtyIndex.DATA, List.of());
        d.mark("ok", DirtyIndex.DATA, List.of());
        assertEquals(List.of("ok"), paths(d.snapshot(10, p -> DirtyIndex.under(p, "dspb"))));
    }

    @Test
    void theUnknownHistoryMarkIsKeptUntilSettledAndGoneWhenInSync() throws Exception {
        DirtyIndex d = new DirtyIndex(kv, "p");
        assertEquals(-1, d.unknownSince());
        d.trackFrom(7);
        d.unknownSince(7);
        assertEquals(7, new DirtyIndex(kv, "p").unknownSince());
        d.unknownSince(-1);
        assertEquals(-1, d.unknownSince());
        d.unknownSince(9);
        d.untrack();
        assertEquals(-1, d.unknownSince());
        assertEquals(-1, d.trackedSince());
    }
}
