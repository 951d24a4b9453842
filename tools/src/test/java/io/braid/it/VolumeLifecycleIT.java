package io.braid.it;

import static io.braid.it.Cli.assertFails;
import static io.braid.it.Cli.assertOk;
import static io.braid.it.Cli.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The lifecycle of GlusterFS's tests/basic/volume.t, for file and block volumes. */
@Timeout(300)
@ExtendWith(KeepLogsOnFailure.class)
class VolumeLifecycleIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.startPool(3);
        KeepLogsOnFailure.watch(VolumeLifecycleIT.class, c);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    void fileVolumeLifecycle() throws Exception {
        CliResult none = c.cli(0, "volume", "info");
        assertOk(none);

        assertOk(c.cli(0, "volume", "create", "web", "replica", "3", c.brick(0, "web"), c.brick(1, "web"), c.brick(2, "web")));
        CliResult info = c.cli(1, "volume", "info", "web");
        assertEquals("web", field(info, "Volume Name"));
        assertEquals("Created", field(info, "Status"));
        assertEquals("Replicate", field(info, "Type"));
        assertEquals("1 x 3 = 3", field(info, "Number of Bricks"));
        assertFails(c.cli(0, "volume", "status", "web"), "not started");

        assertOk(c.cli(0, "volume", "start", "web"));
        assertEquals("Started", field(c.cli(2, "volume", "info", "web"), "Status"));
        assertFails(c.cli(0, "volume", "start", "web"), "already started");
        for (int i = 0; i < 3; i++) {
            Path brick = c.brickPath(i, "web");
            assertTrue(Files.isDirectory(brick.resolve(".braid")), "brick metadata on server " + i);
        }

        CliResult status = c.cli(2, "--json", "volume", "status", "web");
        assertOk(status);
        for (int i = 0; i < 3; i++) {
            long pid = c.server(i).pid();
            assertTrue(status.out().contains(String.valueOf(pid)), "pid of server " + i + " in " + status);
        }
        assertEquals("3", Cli.xpath(c.cli(0, "--xml", "volume", "status", "web"),
                "count(/cliOutput/volStatus/volumes/volume/node[status='1'])"));
        CliResult text = c.cli(0, "volume", "status", "web");
        assertEquals(3, text.out().lines().filter(l -> l.startsWith("Brick ") && l.contains(" Y ")).count(), text::toString);

        assertOk(c.cli(0, "volume", "stop", "web"));
        assertEquals("Stopped", field(c.cli(0, "volume", "info", "web"), "Status"));
        assertFails(c.cli(0, "volume", "stop", "web"), "not in the started state");

        // restart after stop works, and a started volume cannot be deleted
        assertOk(c.cli(0, "volume", "start", "web"));
        assertFails(c.cli(0, "volume", "delete", "web"), "stopped before deletion");
        assertOk(c.cli(0, "volume", "stop", "web"));

        Files.writeString(c.brickPath(0, "web").resolve("kept.txt"), "data");
        assertOk(c.cli(0, "volume", "delete", "web"));
        assertFails(c.cli(0, "volume", "info", "web"), "does not exist");
        assertTrue(Files.exists(c.brickPath(0, "web").resolve("kept.txt")), "brick data stays after delete");
        // A brick that belonged to a deleted volume is not silently reused.
        assertFails(c.cli(0, "volume", "create", "web2", "replica", "3", c.brick(0, "web"), c.brick(1, "web"), c.brick(2, "web")),
                "already part of a volume");
    }

    @Test
    void blockVolumeLifecycle() throws Exception {
        assertFails(c.cli(0, "volume", "create", "disk0", "replica", "2", "type", "block",
                c.brick(0, "disk0"), c.brick(1, "disk0")), "needs a size");
        assertOk(c.cli(0, "volume", "create", "disk", "replica", "2", "type", "block", "size", "64M",
                c.brick(0, "disk"), c.brick(1, "disk")));
        CliResult info = c.cli(2, "--json", "volume", "info", "disk");
        assertTrue(info.out().contains("\"Block\""), info::toString);
        assertTrue(info.out().contains("67108864"), info::toString);
        assertOk(c.cli(0, "volume", "start", "disk"));
        for (int i = 0; i < 2; i++) {
            Path image = c.brickPath(i, "disk").resolve("block.img");
            assertEquals(64L << 20, Files.size(image), "backing image size on server " + i);
            Process stat = new ProcessBuilder("stat", "-c", "%b", image.toString()).start();
            long allocated = Long.parseLong(new String(stat.getInputStream().readAllBytes()).trim()) * 512;
            stat.waitFor();
            assertTrue(allocated < (1 << 20), "backing image is sparse, allocated " + allocated);
        }
        assertFalse(Files.exists(c.brickPath(2, "disk")));
        assertOk(c.cli(0, "volume", "stop", "disk"));
        assertOk(c.cli(0, "volume", "delete", "disk"));
        assertTrue(Files.exists(c.brickPath(0, "disk").resolve("block.img")), "block data stays after delete");
    }
}
