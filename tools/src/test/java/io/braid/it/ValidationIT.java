package io.braid.it;

import static io.braid.it.Cli.assertFails;
import static io.braid.it.Cli.assertOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** volume create's checks, volume set/get/reset, and bad input that must change nothing. */
@Timeout(300)
class ValidationIT {
    static BraidCluster c;
    static String outsider;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.startPool(2);
        ServerProcess extra = c.addServer();
        extra.start();
        outsider = extra.address();
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    private String state() {
        return c.cli(0, "--xml", "volume", "info").out() + c.cli(0, "--xml", "pool", "list").out();
    }

    @Test
    void createIsValidated() {
        assertOk(c.cli(0, "volume", "create", "taken", "replica", "2", c.brick(0, "t"), c.brick(1, "t")));
        String before = state();
        assertFails(c.cli(0, "volume", "create", "taken", "replica", "2", c.brick(0, "t2"), c.brick(1, "t2")), "already exists");
        assertFails(c.cli(0, "volume", "create", "odd", "replica", "2", c.brick(0, "o1"), c.brick(1, "o1"), c.brick(0, "o2")),
                "Incorrect number of bricks supplied 3 with count 2");
        assertFails(c.cli(0, "volume", "create", "foreign", "replica", "2", c.brick(0, "f"), outsider + ":/tmp/braid-f"),
                "not in 'Peer in Cluster' state");
        assertFails(c.cli(0, "volume", "create", "rel", "replica", "2", c.brick(0, "r"), c.host(1) + ":relative/path"));
        assertFails(c.cli(0, "volume", "create", "reuse", "replica", "2", c.brick(0, "t"), c.brick(1, "fresh")),
                "already part of volume taken");
        assertFails(c.cli(0, "volume", "create", "nested", "replica", "2", c.brick(0, "t/inner"), c.brick(1, "fresh")),
                "already part of volume taken");
        assertFails(c.cli(0, "volume", "create", "same", "replica", "2", c.brick(0, "s1"), c.brick(0, "s2")),
                "same server");
        assertFails(c.cli(0, "volume", "create", "blk", "replica", "2", "type", "block", c.brick(0, "k"), c.brick(1, "k")),
                "needs a size");
        assertFails(c.cli(0, "volume", "create", "blk", "replica", "2", "type", "block", "size", "lots", c.brick(0, "k"), c.brick(1, "k")));
        assertFails(c.cli(0, "volume", "create", "bad/name", c.brick(0, "n")));
        assertFails(c.cli(0, "volume", "create", "all", c.brick(0, "n")));
        assertFails(c.cli(0, "volume", "create", "arb", "replica", "4", "arbiter", "1",
                c.brick(0, "a1"), c.brick(1, "a1"), c.brick(0, "a2"), c.brick(1, "a2")));
        assertEquals(before, state(), "refused creates changed nothing");

        assertOk(c.cli(0, "volume", "create", "same", "replica", "2", c.brick(0, "s1"), c.brick(0, "s2"), "force"));
    }

    @Test
    void replicaTwoWarnsAboutSplitBrain() {
        CliResult r = c.cli(1, "volume", "create", "pair", "replica", "2", c.brick(0, "p"), c.brick(1, "p"));
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("Replica 2 volumes are prone to split-brain"), r::toString);
        // without --mode=script the question is asked, and "n" leaves everything as it was
        String before = state();
        CliResult no = BraidCluster.run(new String[] {"--remote-host", c.host(0), "volume", "create", "pair2", "replica", "2",
                c.brick(0, "p2"), c.brick(1, "p2")}, "n\n");
        assertTrue(no.exit() != 0, no::toString);
        assertEquals(before, state());
        CliResult yes = BraidCluster.run(new String[] {"--remote-host", c.host(0), "volume", "create", "pair2", "replica", "2",
                c.brick(0, "p2"), c.brick(1, "p2")}, "y\n");
        assertEquals(0, yes.exit(), yes::toString);
    }

    @Test
    void optionsAreTyped() {
        assertOk(c.cli(0, "volume", "create", "opts", "replica", "2", c.brick(0, "opts"), c.brick(1, "opts")));
        String before = state();
        assertFails(c.cli(0, "volume", "set", "opts", "no.such-key", "1"), "does not exist");
        assertFails(c.cli(0, "volume", "set", "opts", "network.ping-timeout", "soon"), "network.ping-timeout");
        assertFails(c.cli(0, "volume", "set", "opts", "network.ping-timeout", "0"));
        assertFails(c.cli(0, "volume", "set", "opts", "cluster.quorum-type", "most"));
        assertFails(c.cli(0, "volume", "set", "opts", "cluster.quorum-count", "3"), "1 to 2");
        assertFails(c.cli(0, "volume", "set", "opts", "replication.protocol", "D"));
        assertFails(c.cli(0, "volume", "set", "opts", "heal.rate-limit", "fast"));
        assertFails(c.cli(0, "volume", "set", "nosuchvol", "network.ping-timeout", "3"), "does not exist");
        assertEquals(before, state(), "refused sets changed nothing");

        CliResult all = c.cli(1, "volume", "get", "opts", "all");
        assertOk(all);
        for (String key : new String[] {"network.ping-timeout", "cluster.quorum-type", "cluster.quorum-count",
                "replication.protocol", "heal.rate-limit", "auth.allow"}) {
            assertTrue(all.out().lines().anyMatch(l -> l.startsWith(key + " ")), key + " in " + all);
        }
        assertTrue(all.out().lines().anyMatch(l -> l.matches("network\\.ping-timeout\\s+5\\s+5\\s*")), all::toString);
        assertTrue(all.out().lines().anyMatch(l -> l.matches("cluster\\.quorum-type\\s+none\\s+none\\s*")), all::toString);

        assertOk(c.cli(0, "volume", "set", "opts", "network.ping-timeout", "12"));
        assertOk(c.cli(0, "volume", "set", "opts", "cluster.quorum-type", "fixed"));
        assertOk(c.cli(0, "volume", "set", "opts", "cluster.quorum-count", "2"));
        assertOk(c.cli(0, "volume", "set", "opts", "heal.rate-limit", "64M"));
        assertOk(c.cli(0, "volume", "set", "opts", "auth.allow", "127.0.0.1,127.0.1.*"));
        assertTrue(c.cli(1, "volume", "get", "opts", "network.ping-timeout").out().lines()
                .anyMatch(l -> l.matches("network\\.ping-timeout\\s+12\\s+5\\s*")));
        assertEquals("12", Cli.field(c.cli(1, "volume", "info", "opts"), "network.ping-timeout"));
        assertOk(c.cli(0, "volume", "reset", "opts", "network.ping-timeout"));
        assertEquals(null, Cli.field(c.cli(1, "volume", "info", "opts"), "network.ping-timeout"));
        assertEquals("fixed", Cli.field(c.cli(1, "volume", "info", "opts"), "cluster.quorum-type"));
        assertOk(c.cli(0, "volume", "reset", "opts"));
        assertEquals(null, Cli.field(c.cli(1, "volume", "info", "opts"), "cluster.quorum-type"));
        CliResult json = c.cli(0, "--json", "volume", "get", "opts", "all");
        assertTrue(json.out().contains("\"default\""), json::toString);
    }

    @Test
    void badArgumentsChangeNothing() {
        String before = state();
        assertFails(c.cli(0, "volume", "create"));
        assertFails(c.cli(0, "volume", "create", "x", "replica"));
        assertFails(c.cli(0, "volume", "create", "x", "replica", "three", c.brick(0, "x")));
        assertFails(c.cli(0, "volume", "create", "x", "replica", "2", "arbiter", "2", c.brick(0, "x"), c.brick(1, "x")));
        assertFails(c.cli(0, "volume", "create", "x", "replica", "2", "nobrickhere", "alsonot"));
        assertFails(c.cli(0, "volume", "start"));
        assertFails(c.cli(0, "volume", "start", "nosuch"), "does not exist");
        assertFails(c.cli(0, "volume", "stop", "nosuch"), "does not exist");
        assertFails(c.cli(0, "volume", "delete", "nosuch"), "does not exist");
        assertFails(c.cli(0, "volume", "frobnicate"));
        assertFails(c.cli(0, "peer", "probe"));
        assertFails(c.cli(0, "peer", "detach", "127.0.0.250"), "not part of cluster");
        assertFails(c.cli(0, "volume", "get", "nosuch", "all"), "does not exist");
        assertFails(c.cli(0, "volume", "reset", "nosuch"), "does not exist");
        assertFails(c.cli(0, "--json", "volume", "info", "nosuch"), "does not exist");
        assertEquals(before, state());
    }
}
