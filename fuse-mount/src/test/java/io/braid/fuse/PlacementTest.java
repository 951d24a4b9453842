package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

class PlacementTest {
    @Test
    void crc32cOfTheBasename() {
        // The CRC-32C check value: crc32c("123456789") = 0xE3069283.
        assertEquals(Integer.remainderUnsigned(0xE3069283, 3), Placement.setOf("/a/b/123456789", 3));
        assertEquals(Integer.remainderUnsigned(0xE3069283, 7), Placement.setOf("123456789", 7));
        // Unsigned: 0xE3069283 is negative as an int.
        assertEquals((int) (0xE3069283L % 5), Placement.setOf("/123456789", 5));
    }

    @Test
    void oneSetIsAlwaysSetZero() {
        assertEquals(0, Placement.setOf("/anything", 1));
        assertEquals(0, Placement.setOf("/", 1));
    }

    @Test
    void directoryOfAPathDoesNotMatter() {
        for (int k = 2; k < 9; k++) {
            assertEquals(Placement.setOf("/x/y/name.txt", k), Placement.setOf("name.txt", k));
            assertEquals(Placement.setOf("/dir/", k), Placement.setOf("dir", k));
        }
    }

    @Test
    void rootIsTheEmptyName() {
        assertEquals("", Placement.basename("/"));
        assertEquals("", Placement.basename(""));
        assertEquals("c", Placement.basename("/a/b/c"));
        assertEquals("c", Placement.basename("a/b/c//"));
        assertEquals(0, Placement.setOf("/", 4)); // crc32c("") = 0
    }

    @Test
    void utf8Names() {
        CRC32C c = new CRC32C();
        byte[] b = "été".getBytes(StandardCharsets.UTF_8);
        c.update(b, 0, b.length);
        assertEquals(Integer.remainderUnsigned((int) c.getValue(), 6), Placement.setOf("/d/été", 6));
    }

    @Test
    void namesSpreadOverSets() {
        int[] n = new int[4];
        for (int i = 0; i < 4000; i++) {
            n[Placement.setOf("/f" + i, 4)]++;
        }
        for (int c : n) {
            assertTrue(c > 800, java.util.Arrays.toString(n));
        }
    }

    @Test
    void aFileKeptAsideAfterItsUnlinkStaysOnItsSet() {
        assertEquals(2, Placement.setOf("/.braid-unlinked/2-0b7c-client-7", 3));
        assertEquals(0, Placement.setOf(".braid-unlinked/0-x-1", 3));
        assertEquals(Placement.setOf("/elsewhere/2-x-1", 3), Placement.setOf("/elsewhere/2-x-1", 3));
        assertEquals(-1, Placement.unlinkedSet("/.braid-unlinked/not-a-number"));
        assertEquals(-1, Placement.unlinkedSet("/a/.braid-unlinked/1-x-1"));
    }
}
