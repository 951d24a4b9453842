package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** braidd itself: one daemon per data directory, logs, clean SIGTERM, state across kill -9. */
@Timeout(300)
class DaemonIT {
    static BraidCluster c;

    @BeforeAll
    static void up() throws Exception {
        c = BraidCluster.start(1);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    @Test
    void secondDaemonOnTheSameDataDirectoryIsRefused() throws Exception {
        ServerProcess s = c.server(0);
        // same directory, another address: the lock is checked before anything else
        ProcessBuilder pb = new ProcessBuilder(ServerProcess.command("127.0.0.254", s.dataDir()));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("is in use by another braidd (pid " + s.pid() + ")"), out);
        assertTrue(s.isRunning());
    }

    @Test
    void logsGoToStdoutAndTheDataDirectory() throws Exception {
        assertTrue(c.server(0).log().contains("braidd ready"));
        String file = Files.readString(c.server(0).dataDir().resolve("log").resolve("braidd.log"));
        assertTrue(file.contains("braidd ready"), file);
    }

    @Test
    void stopsCleanlyOnSigtermAndKeepsStateAcrossKill9() throws Exception {
        ServerProcess s = c.server(0);
        Cli.assertOk(c.cli(0, "volume", "create", "solo", c.brick(0, "solo")));
        Cli.assertOk(c.cli(0, "volume", "start", "solo"));
        assertEquals(143, s.stop());
        assertTrue(s.log().contains("braidd stopping"));
        s.start();
        assertEquals("Started", Cli.field(c.cli(0, "volume", "info", "solo"), "Status"));
        s.kill();
        s.start();
        assertEquals("Started", Cli.field(c.cli(0, "volume", "info", "solo"), "Status"));
        Cli.assertOk(c.cliUntilOk(0, 20_000, "volume", "stop", "solo"));
    }

    @Test
    void aBadAddressIsRefusedWithOneLine() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ServerProcess.command("127.0.0.1:99999", c.root().resolve("bad")));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.exitValue() != 0);
        assertEquals(1, out.strip().lines().count(), out);
    }
}
