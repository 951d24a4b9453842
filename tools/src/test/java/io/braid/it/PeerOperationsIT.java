package io.braid.it;

import static io.braid.it.Cli.assertFails;
import static io.braid.it.Cli.assertOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.TestMethodOrder;

/** The peer edge cases of GlusterFS's tests/line-coverage/cli-peer-and-volume-operations.t. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(300)
class PeerOperationsIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.start(3);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    @Order(1)
    void probeSecondServer() throws Exception {
        assertOk(c.cli(0, "peer", "probe", c.host(1)));
        assertEquals(1, Cli.connectedPeers(c.cliUntilOk(0, 1, "peer", "status")));
        assertEquals(1, c.awaitConnectedPeers(1, 1));
    }

    @Test
    @Order(2)
    void unreachableServerCannotBeProbedOrDetached() throws Exception {
        c.server(2).kill();
        assertFails(c.cli(0, "peer", "probe", c.host(2)), "not connected");
        assertFails(c.cli(0, "peer", "detach", c.host(2)), "not part of cluster");
        assertFails(c.cli(0, "peer", "detach", c.host(2), "force"), "not part of cluster");
    }

    @Test
    @Order(3)
    void probeThirdAfterRestart() throws Exception {
        c.server(2).start();
        assertOk(c.cli(0, "peer", "probe", c.host(2)));
        for (int i = 0; i < 3; i++) {
            assertEquals(2, c.awaitConnectedPeers(i, 2), "server " + i);
        }
    }

    @Test
    @Order(4)
    void probingAMemberAgainChangesNothing() {
        String before = c.cli(0, "--xml", "pool", "list").out();
        CliResult again = c.cli(0, "peer", "probe", c.host(2));
        assertOk(again);
        assertTrue(again.out().contains("already in peer list"), again::toString);
        assertEquals(before, c.cli(0, "--xml", "pool", "list").out());
    }

    @Test
    @Order(5)
    void probingLocalhostIsNotNeeded() {
        for (String self : new String[] {"localhost", c.host(0)}) {
            CliResult r = c.cli(0, "peer", "probe", self);
            assertOk(r);
            assertTrue(r.out().contains("Probe on localhost not needed"), r::toString);
        }
    }

    @Test
    @Order(6)
    void probingAnInvalidAddressFails() {
        assertFails(c.cli(0, "peer", "probe", "1024.1024.1024.1024"));
        assertFails(c.cli(0, "peer", "probe", "no_such host"));
    }

    @Test
    @Order(7)
    void poolListShowsEveryMember() {
        CliResult r = c.cli(1, "pool", "list");
        assertOk(r);
        assertEquals(4, r.out().lines().count(), r::toString); // header + 3 members
        assertTrue(r.out().contains("localhost"), r::toString);
        CliResult json = c.cli(1, "--json", "pool", "list");
        assertOk(json);
        assertTrue(json.out().contains("\"hostname\": \"localhost\"") || json.out().contains("\"hostname\":\"localhost\""), json::toString);
        assertEquals("3", Cli.xpath(c.cli(1, "--xml", "pool", "list"), "count(/cliOutput/peerStatus/peer)"));
        assertEquals("2", Cli.xpath(c.cli(1, "--xml", "peer", "status"), "count(/cliOutput/peerStatus/peer)"));
    }

    @Test
    @Order(8)
    void volumeNamesAreUnique() {
        assertOk(c.cli(0, "volume", "create", "v0", c.brick(0, "v0"), c.brick(1, "v0"), c.brick(2, "v0")));
        assertFails(c.cli(0, "volume", "create", "v0", c.brick(0, "v1"), c.brick(1, "v1")), "v0 already exists");
        assertOk(c.cli(0, "volume", "start", "v0"));
        assertEquals("Started", Cli.field(c.cli(2, "volume", "info", "v0"), "Status"));
    }

    @Test
    @Order(9)
    void aPeerWithBricksCannotBeDetached() {
        assertFails(c.cli(0, "peer", "detach", c.host(2)), "hosts one or more bricks");
        assertFails(c.cli(0, "peer", "detach", c.host(2), "force"), "hosts one or more bricks");
        assertEquals(2, Cli.connectedPeers(c.cli(0, "peer", "status")));
    }

    @Test
    @Order(10)
    void aPeerWithoutBricksCanBeDetachedAndProbedAgain() throws Exception {
        assertOk(c.cli(0, "volume", "stop", "v0"));
        assertOk(c.cli(0, "volume", "delete", "v0"));
        assertOk(c.cli(0, "peer", "detach", c.host(2)));
        assertEquals(1, Cli.connectedPeers(c.cli(0, "peer", "status")));
        // The detached server is a pool of one again and can be probed back in.
        CliResult alone = c.cliUntilOk(2, 20_000, "peer", "status");
        long deadline = System.currentTimeMillis() + 20_000;
        while (!alone.out().contains("Number of Peers: 0") && System.currentTimeMillis() < deadline) {
            Thread.sleep(250);
            alone = c.cli(2, "peer", "status");
        }
        assertTrue(alone.out().contains("Number of Peers: 0"), alone::toString);
        assertOk(c.cliUntilOk(0, 20_000, "peer", "probe", c.host(2)));
        assertEquals(2, Cli.connectedPeers(c.cliUntilOk(0, 1, "peer", "status")));
    }
}
