package io.braid.it;

import static io.braid.it.Cli.assertOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The whole pool restarted, cleanly and by kill -9: members, volumes and options are exactly as before. */
@Timeout(400)
class ClusterRestartIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.startPool(3);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    private String snapshot(int server) {
        return c.cli(server, "--xml", "volume", "info").out() + c.cli(server, "--json", "pool", "list").out()
                .replaceAll("\"connected\"\\s*:\\s*(true|false)", "");
    }

    @Test
    void restartKeepsEverything() throws Exception {
        assertOk(c.cli(0, "volume", "create", "web", "replica", "3", c.brick(0, "web"), c.brick(1, "web"), c.brick(2, "web")));
        assertOk(c.cli(0, "volume", "create", "disk", "replica", "3", "arbiter", "1", "type", "block", "size", "16M",
                c.brick(0, "disk"), c.brick(1, "disk"), c.brick(2, "disk")));
        assertOk(c.cli(0, "volume", "create", "idle", c.brick(1, "idle")));
        assertOk(c.cli(0, "volume", "start", "web"));
        assertOk(c.cli(1, "volume", "start", "disk"));
        assertOk(c.cli(2, "volume", "set", "web", "network.ping-timeout", "9"));
        assertOk(c.cli(2, "volume", "set", "disk", "replication.protocol", "A"));
        String[] before = new String[3];
        for (int i = 0; i < 3; i++) before[i] = snapshot(i);

        for (int i = 0; i < 3; i++) assertEquals(143, c.server(i).stop());
        for (int i = 0; i < 3; i++) c.server(i).launch();
        for (int i = 0; i < 3; i++) c.server(i).awaitReady();
        for (int i = 0; i < 3; i++) assertEquals(before[i], snapshot(i), "server " + i + " after SIGTERM restart");
        assertBricksOnline();

        for (int i = 0; i < 3; i++) c.server(i).kill();
        for (int i = 0; i < 3; i++) c.server(i).launch();
        for (int i = 0; i < 3; i++) c.server(i).awaitReady();
        for (int i = 0; i < 3; i++) assertEquals(before[i], snapshot(i), "server " + i + " after kill -9 restart");
        assertBricksOnline();
        // and the pool still takes changes
        assertOk(c.cliUntilOk(1, 20_000, "volume", "set", "web", "auth.allow", "127.0.0.*"));
        assertEquals("127.0.0.*", c.cli(2, "volume", "get", "web", "auth.allow").out().lines()
                .filter(l -> l.startsWith("auth.allow")).findFirst().orElse("").split("\\s+")[1]);
    }

    private void assertBricksOnline() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        String online;
        do {
            online = Cli.xpath(c.cli(0, "--xml", "volume", "status", "all"), "count(//node[status='1'])");
            if (online.equals("6")) return;
            Thread.sleep(250);
        } while (System.currentTimeMillis() < deadline);
        assertTrue(false, "bricks online after restart: " + online + " of 6");
    }
}
