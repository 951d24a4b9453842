package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A 2 x 2 distributed-replicated file volume: each file lives on the two bricks of one replica
 * set, chosen by a hash of its name; directories exist on every brick; a mount lists them all.
 */
@Timeout(600)
@ExtendWith(KeepLogsOnFailure.class)
class FileDistributeIT {
    static final String VOL = "dist";

    static BraidCluster c;
    static FuseMount m;

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(FileDistributeIT.class, 2);
        // set 0: server 0 b0 + server 1 b0; set 1: server 0 b1 + server 1 b1
        Cli.assertOk(c.cli(0, "--mode=script", "volume", "create", VOL, "replica", "2",
                c.host(0) + ":" + c.brickPath(0, VOL) + "0", c.host(1) + ":" + c.brickPath(1, VOL) + "0",
                c.host(0) + ":" + c.brickPath(0, VOL) + "1", c.host(1) + ":" + c.brickPath(1, VOL) + "1"));
        Cli.assertOk(c.cli(0, "volume", "start", VOL));
        new Blocks(c).awaitStatus(VOL, 60_000, "every brick online and UpToDate", st -> {
            for (JsonObject b : Blocks.bricks(st)) {
                if (!b.get("online").getAsBoolean() || !"UpToDate".equals(b.get("state").getAsString())) return false;
            }
            return true;
        });
        m = FuseMount.mount(c.host(0), VOL, c.root().resolve("mnt"), "");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m != null) m.close();
        } finally {
            if (c != null) c.close();
        }
    }

    static Path brick(int server, int set) {
        return Path.of(c.brickPath(server, VOL) + Integer.toString(set));
    }

    @Test
    void filesAreSpreadOverTheSetsAndListedWhole() throws Exception {
        JsonObject info = Blocks.json(c.cli(0, "--json", "volume", "info", VOL)).getAsJsonArray("volumes").get(0)
                .getAsJsonObject();
        assertEquals("Distributed-Replicate", info.get("type").getAsString(), info::toString);
        String text = c.cli(0, "volume", "info", VOL).out();
        assertTrue(text.contains("Number of Bricks: 2 x 2 = 4"), text);
        assertTrue(text.contains("Type: Distributed-Replicate"), text);

        Files.createDirectories(m.path("site/pages"));
        Set<String> names = new TreeSet<>();
        for (int i = 0; i < 40; i++) {
            String name = "page-" + i + ".html";
            Files.writeString(m.path("site/pages/" + name), "page " + i + "\n");
            names.add(name);
        }
        int[] perSet = new int[2];
        for (String name : names) {
            int found = 0;
            for (int set = 0; set < 2; set++) {
                boolean on0 = Files.exists(brick(0, set).resolve("site/pages/" + name));
                boolean on1 = Files.exists(brick(1, set).resolve("site/pages/" + name));
                assertEquals(on0, on1, name + ": both bricks of set " + set + " must agree");
                if (on0) {
                    found++;
                    perSet[set]++;
                    // the set is a function of the name: CRC32C of the basename, modulo K
                    assertEquals(io.braid.fuse.Placement.setOf("/site/pages/" + name, 2), set, name + " is on the wrong set");
                    assertEquals(Files.readString(m.path("site/pages/" + name)),
                            Files.readString(brick(1, set).resolve("site/pages/" + name)));
                }
            }
            assertEquals(1, found, name + " must be on exactly one replica set");
        }
        assertTrue(perSet[0] > 0 && perSet[1] > 0, () -> "all files on one set: " + perSet[0] + "/" + perSet[1]);
        for (int s = 0; s < 2; s++) {
            for (int set = 0; set < 2; set++) {
                assertTrue(Files.isDirectory(brick(s, set).resolve("site/pages")), "directory on every brick");
            }
        }
        Set<String> listed = new TreeSet<>();
        try (Stream<Path> l = Files.list(m.path("site/pages"))) {
            l.forEach(p -> listed.add(p.getFileName().toString()));
        }
        assertEquals(names, listed);

        // mv between names on different sets still works (the client copies on EXDEV)
        Exec.Result r = Exec.run(60, "sh", "-c", "cd " + m.path("site/pages") + " && for i in $(seq 0 39); do"
                + " mv page-$i.html moved-$i.html || exit 1; done");
        assertTrue(r.ok(), r::toString);
        for (int i = 0; i < 40; i++) assertEquals("page " + i + "\n", Files.readString(m.path("site/pages/moved-" + i + ".html")));
        Exec.Result rm = Exec.run(60, "rm", "-rf", m.path("site").toString());
        assertTrue(rm.ok(), rm::toString);
        for (int s = 0; s < 2; s++) {
            for (int set = 0; set < 2; set++) {
                assertTrue(!Files.exists(brick(s, set).resolve("site")), "removed from every brick");
            }
        }
    }
}
