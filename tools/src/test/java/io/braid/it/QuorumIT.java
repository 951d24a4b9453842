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
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/** One server of three killed: reads answer, changes need a majority; two killed: "quorum not met". */
@Timeout(400)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QuorumIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.startPool(3);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    @Order(1)
    void aPausedServerIsDisconnectedAndThePoolGoesOn() throws Exception {
        assertEquals(2, c.awaitConnectedPeers(1, 2));
        c.server(0).pause();
        try {
            long deadline = System.currentTimeMillis() + 15_000;
            CliResult status;
            do {
                Thread.sleep(250);
                status = c.cli(1, "peer", "status");
            } while (!status.out().contains("(Disconnected)") && System.currentTimeMillis() < deadline);
            assertEquals(1, Cli.connectedPeers(status), status::toString);
            assertTrue(status.out().contains("Hostname: " + c.host(0) + "\nUuid: ") && status.out().contains("(Disconnected)"),
                    status::toString);
            // two of three answer: the pool still takes changes, whoever led it before
            assertOk(c.cliUntilOk(1, 20_000, "volume", "create", "paused", "replica", "2", c.brick(1, "p"), c.brick(2, "p")));
        } finally {
            c.server(0).resume();
        }
        assertEquals("Created", Cli.field(c.cliUntilOk(0, 20_000, "volume", "info", "paused"), "Status"));
        assertEquals(2, c.awaitConnectedPeers(1, 2));
    }

    @Test
    @Order(2)
    void majorityRules() throws Exception {
        assertOk(c.cli(0, "volume", "create", "before", "replica", "3", c.brick(0, "b"), c.brick(1, "b"), c.brick(2, "b")));
        String info = c.cli(1, "--xml", "volume", "info").out();

        c.server(2).kill();
        assertEquals(info, c.cli(0, "--xml", "volume", "info").out());
        assertEquals(info, c.cli(1, "--xml", "volume", "info").out());
        // whoever led the configuration group may have been killed: a new leader is elected within seconds
        assertOk(c.cliUntilOk(0, 20_000, "volume", "create", "during", "replica", "2", c.brick(0, "d"), c.brick(1, "d")));
        assertEquals("Created", Cli.field(c.cli(1, "volume", "info", "during"), "Status"));
        assertFails(c.cli(0, "volume", "create", "x", "replica", "3", c.brick(0, "x"), c.brick(1, "x"), c.brick(2, "x")),
                "not connected");
        assertOk(c.cli(1, "volume", "start", "during"));

        c.server(1).kill();
        assertFails(c.cli(0, "volume", "create", "lost", c.brick(0, "lost")), "quorum not met");
        assertFails(c.cli(0, "volume", "set", "before", "network.ping-timeout", "7"), "quorum not met");
        assertFails(c.cli(0, "volume", "stop", "during"), "quorum not met");
        CliResult stillReads = c.cli(0, "volume", "info", "during");
        assertOk(stillReads);
        assertEquals("Started", Cli.field(stillReads, "Status"));
        assertOk(c.cli(0, "volume", "list"));
        assertOk(c.cli(0, "peer", "status"));

        c.server(1).start();
        c.server(2).start();
        String after = c.cliUntilOk(2, 20_000, "--xml", "volume", "info", "during").out();
        assertEquals("Started", Cli.xpath(c.cli(2, "--xml", "volume", "info", "during"), "//volume/statusStr"), after);
        assertFails(c.cli(2, "volume", "info", "lost"), "does not exist");
        assertOk(c.cliUntilOk(2, 20_000, "volume", "stop", "during"));
    }
}
