package io.braid.it;

import static io.braid.it.Cli.assertOk;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * GlusterFS's tests/basic/glusterd/volume-brick-count.t: the "Number of Bricks" string and the
 * --xml counts for each layout, also after every server was restarted.
 */
@Timeout(300)
class BrickCountIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.startPool(3);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    private String[] bricks(String vol, int n) {
        String[] out = new String[n];
        for (int i = 0; i < n; i++) out[i] = c.brick(i % 3, vol + "-b" + i);
        return out;
    }

    private void create(String vol, String[] layout, int bricks) {
        String[] words = new String[3 + layout.length + bricks];
        words[0] = "volume";
        words[1] = "create";
        words[2] = vol;
        System.arraycopy(layout, 0, words, 3, layout.length);
        System.arraycopy(bricks(vol, bricks), 0, words, 3 + layout.length, bricks);
        assertOk(c.cli(0, words));
    }

    private void check(String vol, String numberOfBricks, int brickCount, int distCount, int replicaCount, int arbiterCount) {
        assertEquals(numberOfBricks, Cli.field(c.cli(1, "volume", "info", vol), "Number of Bricks"), vol);
        CliResult xml = c.cli(2, "--xml", "volume", "info", vol);
        String v = "/cliOutput/volInfo/volumes/volume/";
        assertEquals(String.valueOf(brickCount), Cli.xpath(xml, v + "brickCount"), vol);
        assertEquals(String.valueOf(distCount), Cli.xpath(xml, v + "distCount"), vol);
        assertEquals(String.valueOf(replicaCount), Cli.xpath(xml, v + "replicaCount"), vol);
        assertEquals(String.valueOf(arbiterCount), Cli.xpath(xml, v + "arbiterCount"), vol);
        assertEquals("0", Cli.xpath(xml, v + "disperseCount"), vol);
        assertEquals("0", Cli.xpath(xml, v + "redundancyCount"), vol);
    }

    @Test
    void brickCounts() throws Exception {
        create("v1", new String[] {"replica", "3", "arbiter", "1"}, 3);
        check("v1", "1 x (2 + 1) = 3", 3, 1, 3, 1);
        create("v2", new String[] {"replica", "3", "arbiter", "1"}, 6);
        check("v2", "2 x (2 + 1) = 6", 6, 2, 3, 1);
        create("v3", new String[] {"replica", "2", "arbiter", "1"}, 3);
        check("v3", "1 x (2 + 1) = 3", 3, 1, 3, 1);
        create("v4", new String[] {"replica", "3"}, 3);
        check("v4", "1 x 3 = 3", 3, 1, 3, 0);
        create("v5", new String[] {"replica", "3"}, 6);
        check("v5", "2 x 3 = 6", 6, 2, 3, 0);
        create("v8", new String[] {}, 3);
        check("v8", "3", 3, 3, 1, 0);
        assertEquals("Distributed-Replicate", Cli.field(c.cli(0, "volume", "info", "v5"), "Type"));
        assertEquals("Distribute", Cli.field(c.cli(0, "volume", "info", "v8"), "Type"));
        CliResult arbiter = c.cli(0, "--json", "volume", "info", "v1");
        assertEquals(1, arbiter.out().split("\"arbiter\"\\s*:\\s*true", -1).length - 1, arbiter::toString);

        // as the GlusterFS test does with killall -15 glusterd: every server restarted, counts unchanged
        for (int i = 0; i < 3; i++) assertEquals(143, c.server(i).stop(), "braidd exits on SIGTERM");
        for (int i = 0; i < 3; i++) c.server(i).launch();
        for (int i = 0; i < 3; i++) c.server(i).awaitReady();
        check("v1", "1 x (2 + 1) = 3", 3, 1, 3, 1);
        check("v5", "2 x 3 = 6", 6, 2, 3, 0);
        check("v8", "3", 3, 3, 1, 0);
    }
}
