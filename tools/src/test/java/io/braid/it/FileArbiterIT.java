package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A replica 2 arbiter 1 file volume: the arbiter keeps names and metadata with zero-length files;
 * writes go on with one data brick down, and are refused while the only up-to-date data brick is
 * down, so nothing acknowledged is lost when it returns.
 */
@Timeout(900)
@ExtendWith(KeepLogsOnFailure.class)
class FileArbiterIT {
    static final String VOL = "arb";

    static BraidCluster c;
    static Blocks v;
    static FuseMount m;

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(FileArbiterIT.class, 4);
        v = new Blocks(c);
        Cli.assertOk(c.cli(0, "volume", "create", VOL, "replica", "2", "arbiter", "1",
                c.brick(0, VOL), c.brick(1, VOL), c.brick(2, VOL)));
        Cli.assertOk(c.cli(0, "volume", "start", VOL));
        Cli.assertOk(c.cli(0, "volume", "set", VOL, "network.ping-timeout", "2"));
        allUp();
        m = FuseMount.mount(c.host(3), VOL, c.root().resolve("mnt"), "backup-servers=" + c.host(0));
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m != null) m.close();
        } finally {
            if (c != null) c.close();
        }
    }

    static void allUp() throws InterruptedException {
        v.awaitStatus(VOL, 120_000, "every brick online and UpToDate", st -> {
            for (JsonObject b : Blocks.bricks(st)) {
                if (!b.get("online").getAsBoolean() || !"UpToDate".equals(b.get("state").getAsString())) return false;
            }
            return true;
        });
    }

    /** Why the last write() failed. */
    static IOException refusal;

    static boolean write(String name, String text) {
        try {
            Files.writeString(m.path(name), text);
            return text.equals(Files.readString(m.path(name)));
        } catch (IOException e) {
            refusal = e;
            return false;
        }
    }

    @Test
    void writesNeedAnUpToDateDataBrick() throws Exception {
        assertTrue(write("a.txt", "before anything\n"));
        Path arbiter = c.brickPath(2, VOL);
        assertTrue(Files.exists(arbiter.resolve("a.txt")), "the arbiter has the name");
        assertEquals(0, Files.size(arbiter.resolve("a.txt")), "the arbiter stores no data");

        int p = v.awaitPrimary(VOL, 30_000);
        int other = 1 - p;
        c.server(other).kill();
        assertTrue(write("b.txt", "one data brick down\n"), "no write with a data brick and the arbiter up");

        // the only up-to-date data brick goes too; the stale one comes back alone
        c.server(p).kill();
        c.server(other).start();
        // the volume sees it: the stale data brick and the arbiter online, the up-to-date one not
        v.awaitStatus(VOL, 120_000, "brick " + other + " and the arbiter online, brick " + p + " offline", st -> {
            List<JsonObject> b = Blocks.bricks(st);
            return b.get(other).get("online").getAsBoolean() && b.get(2).get("online").getAsBoolean()
                    && !b.get(p).get("online").getAsBoolean();
        });
        long t0 = System.nanoTime();
        assertFalse(write("c.txt", "must be refused\n"), "a write succeeded with only an out-of-date data brick");
        System.out.printf("[FileArbiterIT] refused after %d ms: %s%n", (System.nanoTime() - t0) / 1_000_000, refusal);
        FileVolumes.assertRefusedForQuorum(refusal);
        assertFalse(Files.exists(c.brickPath(other, VOL).resolve("c.txt")), "the stale data brick took the refused file");

        c.server(p).start();
        allUp();
        assertTrue(write("d.txt", "all back\n"));
        for (int s = 0; s < 2; s++) {
            assertEquals("one data brick down\n", Files.readString(c.brickPath(s, VOL).resolve("b.txt")), "brick " + s);
        }
        assertEquals(0, Files.size(arbiter.resolve("b.txt")));
        // the arbiter keeps names and metadata: directories, symlinks, modes, owners, times, xattrs
        Files.createDirectories(m.path("dir/sub"));
        Files.writeString(m.path("dir/sub/f"), "data\n");
        Files.setPosixFilePermissions(m.path("dir/sub/f"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        Files.setAttribute(m.path("dir/sub/f"), "unix:uid", 1234);
        Files.setLastModifiedTime(m.path("dir/sub/f"), java.nio.file.attribute.FileTime.fromMillis(1_500_000_000_000L));
        Files.getFileAttributeView(m.path("dir/sub/f"), java.nio.file.attribute.UserDefinedFileAttributeView.class)
                .write("k", java.nio.ByteBuffer.wrap("v".getBytes()));
        Files.createSymbolicLink(m.path("dir/link"), Path.of("sub/f"));
        Path af = arbiter.resolve("dir/sub/f");
        Path df = c.brickPath(p, VOL).resolve("dir/sub/f");
        assertEquals(0, Files.size(af));
        assertEquals(5, Files.size(df));
        for (String attr : List.of("unix:mode", "unix:uid", "unix:gid", "lastModifiedTime")) {
            assertEquals(Files.getAttribute(df, attr), Files.getAttribute(af, attr), attr);
        }
        var xa = Files.getFileAttributeView(af, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        assertEquals(List.of("k"), xa.list());
        assertEquals(Path.of("sub/f"), Files.readSymbolicLink(arbiter.resolve("dir/link")));
    }
}
