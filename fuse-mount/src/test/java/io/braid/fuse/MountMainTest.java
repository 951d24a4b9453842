package io.braid.fuse;

import static io.braid.fuse.TestMount.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The mount command end to end: a detached child JVM, the foreground mode, and its refusals. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MountMainTest {
    private Path tmp;
    private FakeFileServer server;
    private Path dir;

    @BeforeEach
    void start() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        tmp = Files.createTempDirectory("mountmain");
        server = FakeFileServer.start(tmp.resolve("server"), "web", 1);
        dir = Files.createDirectories(tmp.resolve("mnt")).toRealPath();
    }

    @AfterEach
    void stop() {
        try {
            if (dir != null && MountTable.isBraidMount(dir)) {
                sh("fusermount -u -z " + dir);
                MountMain.awaitUnmounted(dir, 5_000);
            }
        } finally {
            if (server != null) {
                server.close();
            }
            if (tmp != null) {
                sh("rm -rf " + tmp);
            }
        }
    }

    private String spec() {
        return server.address + ":/web";
    }

    @Test
    void backgroundMountUntilUmount() throws Exception {
        Path log = tmp.resolve("mount.log");
        assertEquals(0, MountMain.execute(List.of("-o", "log-file=" + log + ",attr-timeout=0", spec(), dir.toString())));
        assertTrue(MountTable.isBraidMount(dir));
        sh("echo hello > " + dir.resolve("f")).ok();
        assertEquals("hello\n", Files.readString(server.bricks.get(0).resolve("f")));
        // A second mount on the same directory is refused.
        MountException again = assertThrows(MountException.class,
                () -> MountMain.execute(List.of(spec(), dir.toString())));
        assertEquals(dir + " is already a Braid mount", again.getMessage());
        // umount ends the child cleanly.
        sh("umount " + dir).ok();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(log).contains(dir + " unmounted")) {
            assertTrue(System.nanoTime() < deadline, Files.readString(log));
            Thread.sleep(50);
        }
        assertTrue(Files.readString(log).contains("mounting 127.0.0.1:/web at " + dir), Files.readString(log));
    }

    @Test
    void foregroundMountReturnsZeroWhenUnmounted() throws Exception {
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(
                () -> MountMain.execute(List.of("-f", "-o", "ro", spec(), dir.toString())));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!MountTable.isBraidMount(dir)) {
            assertTrue(System.nanoTime() < deadline && !run.isDone(), "not mounted");
            Thread.sleep(20);
        }
        sh("touch " + dir.resolve("x")).fails("Read-only file system");
        assertTrue(sh("grep ' " + dir + " ' /proc/self/mounts").ok().out().contains(" fuse.braid ro,"));
        sh("fusermount -u " + dir).ok();
        assertEquals(0, run.get(20, TimeUnit.SECONDS));
        long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!server.sessions.isEmpty() && System.nanoTime() < gone) Thread.sleep(20); // the cancel arrives on its own
        assertTrue(server.sessions.isEmpty(), "the session ended with the mount");
    }

    @Test
    void refusalsAreOneLine() throws IOException {
        assertEquals("mount: volume nope does not exist", failure(1, server.address + ":/nope", dir.toString()));
        assertEquals("mount: mount point " + tmp.resolve("missing") + " does not exist",
                failure(1, spec(), tmp.resolve("missing").toString()));
        Path file = Files.writeString(tmp.resolve("file"), "");
        assertEquals("mount: mount point " + file + " is not a directory", failure(1, spec(), file.toString()));
        assertTrue(failure(1, "127.0.0.1:1:/web", dir.toString())
                .startsWith("mount: cannot get the layout of volume web: 127.0.0.1:1: unreachable"));
        server.layout.set(server.layout.get().toBuilder().setStarted(false).build());
        assertEquals("mount: volume web is not started", failure(1, spec(), dir.toString()));
        assertEquals("mount: unknown option 'bogus'", failure(2, "-o", "bogus", spec(), dir.toString()));
    }

    private static String failure(int code, String... argsArray) {
        List<String> args = List.of(argsArray);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MountMain.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(code, exit, text);
        assertTrue(text.endsWith("\n") && text.indexOf('\n') == text.length() - 1, text);
        return text.strip();
    }
}
