package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class InodeTableTest {
    private final InodeTable t = new InodeTable();

    @Test
    void theRootIsNodeOne() {
        assertEquals("/", t.path(InodeTable.ROOT));
        assertEquals("/a", InodeTable.child("/", "a"));
        assertEquals("/d/a", InodeTable.child("/d", "a"));
        t.forget(InodeTable.ROOT, 5);
        assertEquals("/", t.path(InodeTable.ROOT));
    }

    @Test
    void aNameLookedUpTwiceIsOneNode() {
        long a = t.looked("/a", 10, false, 1, true);
        assertEquals(a, t.looked("/a", 10, false, 1, true));
        t.forget(a, 1);
        assertEquals("/a", t.path(a), "one lookup left");
        t.forget(a, 1);
        assertNull(t.path(a), "forgotten");
        assertNotEquals(a, t.looked("/a", 10, false, 1, true), "ids are not reused");
    }

    @Test
    void theNamesOfAHardLinkAreOneNode() {
        long a = t.looked("/a", 10, false, 1, true);
        assertEquals(a, t.linked(a, "/b"));
        assertEquals(a, t.looked("/b", 10, false, 2, true));
        assertEquals("/a", t.path(a));
        // a third name, made elsewhere and found by its inode number once a server confirmed it
        assertEquals("/a", t.linkedTo("/c", 10, false, 3));
        assertEquals(a, t.looked("/c", 10, false, 3, true));
        assertNull(t.linkedTo("/c", 10, false, 3), "known by its name now");
        // calls go through a name that still exists
        t.removed("/a");
        assertEquals("/b", t.path(a));
        t.renamed("/b", "/d");
        assertEquals("/d", t.path(a));
        t.removed("/d");
        assertEquals("/c", t.path(a));
    }

    @Test
    void anUnconfirmedInodeNumberIsAnotherFile() {
        // the same number from another brick (a failover, or read-from-replicas) is not a hard link
        long a = t.looked("/a", 10, false, 2, true);
        long b = t.looked("/b", 10, false, 2, false);
        assertNotEquals(a, b);
        assertEquals("/b", t.linkedTo("/z", 10, false, 2), "the newest node with that number is asked about");
        assertNull(t.linkedTo("/z", 10, false, 1), "one link: nothing to ask");
        assertNull(t.linkedTo("/z", 10, true, 2), "directories have no hard links");
    }

    @Test
    void aNameRenamedOverKeepsItsPathForWhoeverLookedItUp() {
        long old = t.looked("/x", 1, false, 1, true);
        long tmp = t.looked("/tmp", 2, false, 1, true);
        t.renamed("/tmp", "/x");
        assertEquals("/x", t.path(tmp));
        assertEquals("/x", t.path(old), "the old node still answers, with what the name holds now");
        assertEquals(tmp, t.looked("/x", 2, false, 1, true));
        // a name that now means another file (made by another client) is a new node
        long other = t.looked("/x", 3, false, 1, true);
        assertNotEquals(tmp, other);
        assertEquals("/x", t.path(other));
    }

    @Test
    void theNamesUnderARenamedDirectoryFollowIt() {
        long d = t.looked("/d", 5, true, 2, true);
        long e = t.looked("/d/e", 6, true, 2, true);
        long f = t.looked("/d/e/f", 7, false, 1, true);
        long g = t.looked("/dg", 8, false, 1, true);
        t.renamed("/d", "/n");
        assertEquals("/n", t.path(d));
        assertEquals("/n/e", t.path(e));
        assertEquals("/n/e/f", t.path(f));
        assertEquals("/dg", t.path(g), "a sibling whose name only starts the same");
        assertEquals(f, t.looked("/n/e/f", 7, false, 1, true));
        assertNotEquals(f, t.looked("/d/e/f", 9, false, 1, true), "the old path is a new file");
    }

    @Test
    void aHardLinkUnderARenamedDirectoryFollowsIt() {
        long a = t.looked("/a", 10, false, 1, true);
        t.looked("/d", 5, true, 2, true);
        t.linked(a, "/d/b");
        t.renamed("/d", "/e");
        t.removed("/a");
        assertEquals("/e/b", t.path(a));
        assertEquals(a, t.looked("/e/b", 10, false, 2, true));
    }
}
