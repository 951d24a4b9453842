package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** bin/braidd and bin/braid, as the README tells people to use them after the build. */
@Timeout(180)
class LaunchersIT {
    private static final Path BIN = Path.of(System.getProperty("user.dir")).getParent().resolve("bin");

    @TempDir
    Path dir;

    private static CliResult run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void launchersRunTheBuiltDaemonAndCli() throws Exception {
        String address = "127.0." + (100 + ProcessHandle.current().pid() % 100) + ".251";
        Path log = dir.resolve("braidd.out");
        Process braidd = new ProcessBuilder(BIN.resolve("braidd").toString(), "--address", address, "--data-dir",
                dir.resolve("data").toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ClusterReaper.register(braidd);
        try {
            long deadline = System.currentTimeMillis() + 90_000;
            while (!(Files.exists(log) && Files.readString(log).contains("braidd ready")) && System.currentTimeMillis() < deadline) {
                assertTrue(braidd.isAlive(), () -> "braidd exited: " + readQuietly(log));
                Thread.sleep(100);
            }
            CliResult pool = run(List.of(BIN.resolve("braid").toString(), "--remote-host", address, "pool", "list"));
            assertEquals(0, pool.exit(), pool::toString);
            assertTrue(pool.out().contains("localhost"), pool::toString);
            CliResult bad = run(List.of(BIN.resolve("braid").toString(), "--remote-host", address, "volume", "create"));
            assertEquals(2, bad.exit(), bad::toString);
            assertEquals(1, bad.err().strip().lines().count(), bad::toString);
        } finally {
            braidd.destroy();
            assertTrue(braidd.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(143, braidd.exitValue());
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "";
        }
    }
}
