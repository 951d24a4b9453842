package io.braid.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real NBD clients (qemu-io from qemu-utils, nbdinfo and nbdcopy from libnbd-bin) against the
 * server on 127.0.0.1, over a file export. Each tool runs as a process bounded by a timeout and is
 * killed (by its own PID) if it overruns.
 */
@Timeout(180)
class TestRealClients {
    private static final long SIZE = 16L << 20;
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private FileExport export;
    private NbdServer server;
    private String uri;

    @BeforeAll
    static void watchLeaks() {
        LeakWatcher.install();
    }

    @AfterAll
    static void noLeaks() throws InterruptedException {
        LeakWatcher.assertNoLeaks();
    }

    @BeforeEach
    void start() throws IOException {
        export = new FileExport(dir.resolve("volume.img"), SIZE);
        server = new NbdServer("127.0.0.1", 0, new TestExports().add("vol1", export).describe("vol1", "test volume"));
        server.start();
        uri = "nbd://127.0.0.1:" + server.port() + "/vol1";
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        export.close();
    }

    @Test
    void nbdinfoShowsSizeAndFeatures() throws Exception {
        String json = run("nbdinfo", "--json", uri);
        Matcher size = Pattern.compile("\"export-size\":\\s*(\\d+)").matcher(json);
        assertTrue(size.find(), json);
        assertEquals(SIZE, Long.parseLong(size.group(1)));
        for (String feature : List.of("can_flush", "can_fua", "can_trim", "can_zero", "can_multi_conn")) {
            assertTrue(Pattern.compile("\"" + feature + "\":\\s*true").matcher(json).find(), feature + " in " + json);
        }
        assertTrue(Pattern.compile("\"is_read_only\":\\s*false").matcher(json).find(), json);
        assertTrue(json.contains("test volume"), "description in " + json);

        String list = run("nbdinfo", "--list", "--json", "nbd://127.0.0.1:" + server.port());
        assertTrue(list.contains("\"vol1\""), list);
    }

    @Test
    void qemuIoWritesAndReadsBack() throws Exception {
        String out = run("qemu-io", "-f", "raw", uri,
                "-c", "write -P 0xab 0 1M",
                "-c", "read -P 0xab 0 1M",
                "-c", "write -f -P 0xcd 3M 64k",
                "-c", "write -z 2M 512k",
                "-c", "read -P 0 2M 512k",
                "-c", "discard 4M 1M",
                "-c", "flush",
                "-c", "aio_write -P 0x11 8M 4k",
                "-c", "aio_write -P 0x22 9M 4k",
                "-c", "aio_flush",
                "-c", "read -P 0xcd 3M 64k");
        assertTrue(!out.contains("Pattern verification failed") && !out.contains("failed"), out);
        byte[] onDisk = Files.readAllBytes(dir.resolve("volume.img"));
        for (int i = 0; i < 1 << 20; i += 4096) assertEquals((byte) 0xab, onDisk[i]);
        assertEquals((byte) 0x11, onDisk[8 << 20]);
        assertEquals((byte) 0x22, onDisk[9 << 20]);
    }

    @Test
    void nbdcopyRoundTripKeepsEveryByte() throws Exception {
        Path in = dir.resolve("in.bin");
        Path out = dir.resolve("out.bin");
        byte[] data = new byte[(int) SIZE];
        new Random(16).nextBytes(data);
        Files.write(in, data);
        run("nbdcopy", "--flush", in.toString(), uri);
        run("nbdcopy", uri, out.toString());
        assertEquals(sha256(in), sha256(out));
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("volume.img")));
    }

    /** Runs a tool to completion and returns its output; fails on a non-zero exit or a timeout. */
    private String run(String... command) throws Exception {
        Assumptions.assumeTrue(onPath(command[0]), command[0] + " is not installed");
        Path log = Files.createTempFile(dir, command[0], ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(TOOL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                fail(command[0] + " (pid " + p.pid() + ") did not finish in " + TOOL_TIMEOUT + ":\n" + Files.readString(log));
            }
            String output = Files.readString(log);
            assertEquals(0, p.exitValue(), () -> String.join(" ", command) + " failed:\n" + output);
            return output;
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static boolean onPath(String tool) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.add("/usr/bin");
        return dirs.stream().anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) digest.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
