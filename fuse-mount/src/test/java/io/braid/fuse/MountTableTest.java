package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MountTableTest {
    private static final List<String> MOUNTINFO = List.of(
            "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
            "80 22 0:45 / /mnt/x rw,nosuid,nodev,relatime shared:40 - fuse.braid 127.0.0.11:/web rw,user_id=0,group_id=0",
            "81 22 0:46 / /mnt/web\\040data rw,relatime - fuse.braid 127.0.0.11:/web rw",
            "82 22 0:47 / /mnt/stacked rw - tmpfs tmpfs rw",
            "83 82 0:48 / /mnt/stacked rw - fuse.braid h:/v rw");

    @Test
    void findsTheTopmostMount() {
        assertEquals("fuse.braid", MountTable.fsTypeAt(Path.of("/mnt/x"), MOUNTINFO));
        assertEquals("fuse.braid", MountTable.fsTypeAt(Path.of("/mnt/web data"), MOUNTINFO));
        assertEquals("fuse.braid", MountTable.fsTypeAt(Path.of("/mnt/stacked"), MOUNTINFO));
        assertEquals("ext4", MountTable.fsTypeAt(Path.of("/"), MOUNTINFO));
        assertNull(MountTable.fsTypeAt(Path.of("/mnt"), MOUNTINFO));
    }

    @Test
    void unescape() {
        assertEquals("a b\tc\\d", MountTable.unescape("a\\040b\\011c\\134d"));
        assertEquals("plain", MountTable.unescape("plain"));
    }

    @Test
    void logFileNames(@TempDir Path tmp) throws IOException {
        assertEquals("mnt-x", Background.escape(Path.of("/mnt/x")));
        assertEquals("srv-web_data", Background.escape(Path.of("/srv/web data")));
        assertEquals("root", Background.escape(Path.of("/")));
        Path log = tmp.resolve("m.log");
        Files.writeString(log, "old\nmount: an old failure\n");
        long from = Files.size(log);
        Files.writeString(log, "fuse: noise\nmount: volume web is not started\nlater noise\n",
                java.nio.file.StandardOpenOption.APPEND);
        assertEquals("volume web is not started", Background.lastError(log, from, "none"));
        assertEquals("none", Background.lastError(log, Files.size(log), "none"));
    }
}
