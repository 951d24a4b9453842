package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A block volume with two data bricks and an arbiter ({@code replica 2 arbiter 1}): the arbiter
 * holds no data but counts for quorum, so writes go on with one data brick down and stop when
 * the primary is alone. Real braidd processes, kill -9 for faults.
 */
@Timeout(300)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class BlockArbiterIT {
    static final String VOL = "arb";
    static final long SIZE = 64L << 20;

    static BraidCluster c;
    static Blocks b;
    static final TreeMap<Long, byte[]> acked = new TreeMap<>();

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockArbiterIT.class, 3);
        b = new Blocks(c);
        Cli.assertOk(c.cli(0, "volume", "create", VOL, "replica", "2", "arbiter", "1", "type", "block", "size", "64M",
                c.brick(0, VOL), c.brick(1, VOL), c.brick(2, VOL)));
        Cli.assertOk(c.cli(0, "volume", "start", VOL));
        Cli.assertOk(c.cli(0, "volume", "set", VOL, "network.ping-timeout", "2"));
        b.awaitAllUpToDate(VOL, 60_000);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    @Order(1)
    void theArbiterIsShownAsArbiterAndDataReplicatesBetweenTheDataBricks() throws Exception {
        JsonObject st = b.status(VOL, false);
        assertEquals("arbiter", b.brickOf(st, 2).get("role").getAsString(), st::toString);
        int p = b.awaitPrimary(VOL, 30_000);
        assertTrue(p == 0 || p == 1, "the primary is a data brick: " + st);
        Map<Long, byte[]> blocks = Blocks.scatteredBlocks(0, SIZE, 16, 1);
        try (NbdClient nbd = b.connect(2, VOL)) {
            Blocks.writeAll(nbd, blocks);
            nbd.flush();
        }
        acked.putAll(blocks);
        b.assertImagesIdentical(VOL, 0, 1);
        JsonObject v = b.verify(VOL, false);
        assertEquals(0, v.getAsJsonArray("differing").size(), v::toString);
    }

    @Test
    @Order(2)
    void writesGoOnWithTheDataSecondaryDownAndItCatchesUp() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int s = 1 - p;
        c.server(s).kill();
        Map<Long, byte[]> blocks = Blocks.scatteredBlocks(0, SIZE, 16, 2);
        try (NbdClient nbd = b.connect(2, VOL)) {
            for (Map.Entry<Long, byte[]> e : blocks.entrySet()) {
                assertEquals(0, nbd.writeErrno(e.getKey(), e.getValue(), false),
                        "primary + arbiter are a quorum of the set: the write must succeed");
            }
            nbd.flush();
        }
        acked.putAll(blocks);
        c.server(s).start();
        b.awaitAllUpToDate(VOL, 60_000);
        for (int i = 0; i < 3; i++) {
            try (NbdClient nbd = b.connect(i, VOL)) {
                Blocks.assertReads(nbd, acked);
            }
        }
        b.assertImagesIdentical(VOL, 0, 1);
    }

    @Test
    @Order(3)
    void aPrimaryAloneRefusesWritesAndLosesNothing() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        int s = 1 - p;
        c.server(s).kill();
        c.server(2).kill(); // the arbiter
        Map<Long, byte[]> refused = Blocks.scatteredBlocks(0, SIZE, 4, 3);
        refused.keySet().removeAll(acked.keySet());
        try (NbdClient nbd = NbdClient.connect(c.host(p), NbdClient.PORT, VOL, 60_000)) {
            for (Map.Entry<Long, byte[]> e : refused.entrySet()) {
                assertEquals(NbdClient.EIO, nbd.writeErrno(e.getKey(), e.getValue(), false),
                        "one brick of three is no quorum: the write must fail");
            }
        }
        c.server(s).start();
        c.server(2).start();
        b.awaitAllUpToDate(VOL, 90_000);
        for (int i = 0; i < 3; i++) {
            try (NbdClient nbd = b.connect(i, VOL)) {
                Blocks.assertReads(nbd, acked);
            }
        }
        b.assertVerifyClean(VOL, SIZE);
    }
}
