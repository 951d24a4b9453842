package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * GlusterFS's quorum.t table on a replica 3 file volume: which writes succeed with bricks down
 * under each cluster.quorum-type. The pool has five servers, the bricks are on the first three,
 * so the configuration store keeps its majority while two brick servers are down.
 */
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FileQuorumIT {
    static final String VOL = "quorum";

    static BraidCluster c;
    static Blocks v;
    static FuseMount m;
    static int n;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileQuorumIT.class, 5, VOL);
        v = new Blocks(c);
        // the client's server is not a brick server: it stays up throughout
        m = FuseMount.mount(c.host(3), VOL, c.root().resolve("mnt"), "");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m != null) m.close();
        } finally {
            if (c != null) c.close();
        }
    }

    /** Why the last write() failed. */
    static IOException refusal;

    /** Creates and writes a new file; true if the write and close succeeded (else see refusal). */
    static boolean write() {
        Path f = m.path("f" + (n++));
        try {
            Files.writeString(f, "written with bricks down\n");
            return "written with bricks down\n".equals(Files.readString(f));
        } catch (IOException e) {
            refusal = e;
            return false;
        }
    }

    /** A write without quorum fails with ENOTCONN or EROFS, not with any error. */
    static void assertRefusedForQuorum() {
        System.out.println("[FileQuorumIT] write without quorum: " + FileVolumes.assertRefusedForQuorum(refusal));
    }

    /** The servers of the two secondaries, the primary's server last. */
    static int[] secondaries() throws InterruptedException {
        int p = v.awaitPrimary(VOL, 30_000);
        return new int[] {(p + 1) % 3, (p + 2) % 3};
    }

    static void restore(int... servers) throws Exception {
        for (int s : servers) c.server(s).start();
        v.awaitAllUpToDate(VOL, 120_000);
    }

    @Test
    @Order(1)
    void fixedThreeWithOneBrickDownRefusesWrites() throws Exception {
        v.set(VOL, "cluster.quorum-type", "fixed");
        v.set(VOL, "cluster.quorum-count", "3");
        int s = secondaries()[0];
        c.server(s).kill();
        assertTrue(!write(), "a write succeeded with 2 of 3 bricks up and quorum-count 3");
        assertRefusedForQuorum();
        restore(s);
        assertTrue(write(), "no write after the brick returned");
    }

    @Test
    @Order(2)
    void autoWithOneBrickDownWrites() throws Exception {
        v.set(VOL, "cluster.quorum-type", "auto");
        int s = secondaries()[0];
        c.server(s).kill();
        assertTrue(write(), "no write with 2 of 3 bricks up and quorum auto");
        restore(s);
    }

    @Test
    @Order(3)
    void autoWithTwoBricksDownRefusesWrites() throws Exception {
        int[] s = secondaries();
        c.server(s[0]).kill();
        c.server(s[1]).kill();
        assertTrue(!write(), "a write succeeded with 1 of 3 bricks up and quorum auto");
        assertRefusedForQuorum();
        restore(s);
        assertTrue(write(), "no write after the bricks returned");
    }

    @Test
    @Order(4)
    void noneWithTwoBricksDownWrites() throws Exception {
        v.set(VOL, "cluster.quorum-type", "none");
        int[] s = secondaries();
        c.server(s[0]).kill();
        c.server(s[1]).kill();
        assertTrue(write(), "no write with 1 of 3 bricks up and quorum none");
        restore(s);
        // every brick holds every file written while it was away
        for (int b = 0; b < 3; b++) {
            for (int i = 0; i < n; i++) {
                Path f = c.brickPath(b, VOL).resolve("f" + i);
                if (Files.exists(m.path("f" + i))) {
                    assertEquals(Files.readString(m.path("f" + i)), Files.readString(f), "brick " + b + " f" + i);
                }
            }
        }
    }
}
