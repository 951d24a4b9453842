package io.braid.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirTest {
    @TempDir
    Path dir;

    @Test
    void theScratchDirectoryIsEmptiedOfWhatAKilledServerLeft() throws Exception {
        Path tmp = dir.resolve("tmp");
        Files.createDirectories(tmp);
        Files.writeString(tmp.resolve("librocksdbjni123.so"), "left by kill -9");
        Files.writeString(tmp.resolve("liblz4-java-1.so.lck"), "");
        Files.writeString(dir.resolve("node.properties"), "address=127.0.0.1:24007\n");
        try (DataDir held = DataDir.acquire(dir)) {
            assertEquals(tmp, held.scratch());
            try (var left = Files.list(tmp)) {
                assertEquals(List.of(), left.toList());
            }
        }
        assertTrue(Files.exists(dir.resolve("node.properties")), "nothing outside tmp/ is touched");
    }

    @Test
    void aFileNamedTmpIsReplacedByTheDirectory() throws Exception {
        Files.writeString(dir.resolve("tmp"), "not a directory");
        try (DataDir held = DataDir.acquire(dir)) {
            assertTrue(Files.isDirectory(held.scratch()));
        }
        assertFalse(Files.isRegularFile(dir.resolve("tmp")));
    }
}
