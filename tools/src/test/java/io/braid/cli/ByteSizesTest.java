package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteSizesTest {

    @Test
    void parsesTheDaemonsGrammar() {
        assertEquals(4096, ByteSizes.parse("4096"));
        assertEquals(64L << 20, ByteSizes.parse("64M"));
        assertEquals(64L << 20, ByteSizes.parse("64m"));
        assertEquals(64L << 20, ByteSizes.parse("64MiB"));
        assertEquals(64L << 20, ByteSizes.parse("64MB"));
        assertEquals(10L << 30, ByteSizes.parse("10G"));
        assertEquals(1L << 40, ByteSizes.parse("1T"));
        assertEquals(3L << 39, ByteSizes.parse("1.5T"));
        assertEquals(1L << 50, ByteSizes.parse("1P"));
        assertEquals(2, ByteSizes.parse("1.5"));
        assertEquals(0, ByteSizes.parse("0"));
    }

    @Test
    void rejectsGarbage() {
        for (String bad : new String[] {"", " ", "G", "10X", "-1", "1.5.2G", "1e9", "ten", "10 G", "64KK", "0x10",
            "512B", "99999999999P", "1,5G"}) {
            assertThrows(IllegalArgumentException.class, () -> ByteSizes.parse(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> ByteSizes.parse(null));
    }

    @Test
    void printsIecUnits() {
        assertEquals("0 B", ByteSizes.iec(0));
        assertEquals("1023 B", ByteSizes.iec(1023));
        assertEquals("4.0 KiB", ByteSizes.iec(4096));
        assertEquals("1.5 KiB", ByteSizes.iec(1536));
        assertEquals("123.4 MiB", ByteSizes.iec(129394278));
        assertEquals("1.0 MiB", ByteSizes.iec((1L << 20) - 1));
        assertEquals("10.0 GiB", ByteSizes.iec(10L << 30));
        assertEquals("8.0 EiB", ByteSizes.iec(Long.MAX_VALUE));
        assertEquals("4.0 KiB (4096 bytes)", ByteSizes.withBytes(4096));
        assertEquals("1 B (1 byte)", ByteSizes.withBytes(1));
    }
}
