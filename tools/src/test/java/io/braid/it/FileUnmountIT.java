package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A mount whose session ends while it still owes the kernel an answer: a read is on its way to
 * the servers (all three stopped with SIGSTOP, so its reply cannot come) when the FUSE connection
 * is aborted. The mount must give up on that answer rather than write it into the destroyed
 * libfuse session once the reply comes, and exit on its own without a JVM crash.
 */
@Timeout(180)
@ExtendWith(KeepLogsOnFailure.class)
class FileUnmountIT {
    static final String VOL = "gone";
    static final Path FUSECTL = Path.of("/sys/fs/fuse/connections");

    static BraidCluster c;
    static boolean mountedFusectl;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileUnmountIT.class, 3, VOL);
        if (!fusectlMounted()) {
            Exec.Result r = Exec.run(30, "mount", "-t", "fusectl", "fusectl", FUSECTL.toString());
            assertTrue(r.ok(), () -> "cannot mount fusectl: " + r);
            mountedFusectl = true;
        }
    }

    @AfterAll
    static void down() throws Exception {
        try {
            for (int i = 0; i < 3; i++) {
                if (c != null && c.server(i).isRunning()) c.server(i).resume();
            }
        } finally {
            if (c != null) c.close();
            if (mountedFusectl) Exec.run(30, "umount", FUSECTL.toString());
        }
    }

    static boolean fusectlMounted() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.contains(" " + FUSECTL + " ") && l.contains(" - fusectl "));
    }

    @Test
    void anAnswerOwedWhenTheSessionEndsIsDropped() throws Exception {
        Path dir = c.root().resolve("mnt");
        FuseMount m = FuseMount.mount(c.host(0), VOL, dir, "");
        Process reader = null;
        boolean paused = false;
        try {
            byte[] data = new byte[64 * 1024];
            new java.util.Random(7).nextBytes(data);
            Files.write(m.path("f"), data);

            // the connection's number in fusectl is the minor of the mount's device
            Exec.Result dev = Exec.run(30, "mountpoint", "-d", dir.toString());
            assertTrue(dev.ok(), () -> "mountpoint -d: " + dev);
            Path abort = FUSECTL.resolve(dev.out().trim().split(":")[1]).resolve("abort");
            assertTrue(Files.exists(abort), () -> abort + " is missing");

            // opened (O_DIRECT: its reads skip the page cache and go to the mount) while the servers run;
            // it reads once told to on stdin
            reader = new ProcessBuilder("python3", "-c", String.join("\n",
                    "import mmap, os, sys",
                    "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)",
                    "print('open', flush=True)",
                    "sys.stdin.readline()",
                    "buf = mmap.mmap(-1, 4096)",
                    "os.preadv(fd, [buf], 0)"), m.path("f").toString())
                    .redirectErrorStream(true).start();
            String first = new java.io.BufferedReader(new java.io.InputStreamReader(reader.getInputStream())).readLine();
            assertEquals("open", first, "the reader could not open the file");

            for (int i = 0; i < 3; i++) c.server(i).pause();
            paused = true;
            reader.getOutputStream().write('\n');
            reader.getOutputStream().flush();
            Thread.sleep(1_000);
            assertTrue(reader.isAlive(), "the read was answered although every server is stopped");

            Files.writeString(abort, "1");
            assertTrue(reader.waitFor(30, TimeUnit.SECONDS), "the read did not end when the connection was aborted");
            assertFalse(reader.exitValue() == 0, "the read succeeded although every server is stopped");

            // the mount now waits a little for its owed answer, then ends the session without it
            long deadline = System.currentTimeMillis() + 30_000;
            while (!m.log().contains("still owed") && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(m.log().contains("unmounted with 1 answer(s) to the kernel still owed: dropped"), m::log);

            // the reply (or the failure of the call) comes now, after the session is gone
            for (int i = 0; i < 3; i++) c.server(i).resume();
            paused = false;
            deadline = System.currentTimeMillis() + 60_000;
            while (m.alive() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertFalse(m.alive(), () -> "the mount did not exit after its session ended: " + m.log());
            String log = m.log();
            assertFalse(log.contains("A fatal error has been detected") || log.contains("SIGSEGV"), log);
            // as with any FUSE file system, the kernel keeps an aborted connection's mount point
            // (ENOTCONN) until it is unmounted; that unmount must work
            Exec.Result u = Exec.run(30, "umount", dir.toString());
            assertTrue(u.ok(), () -> "umount of the aborted mount: " + u);
            assertFalse(FuseMount.isMounted(dir), dir + " is still mounted");
        } finally {
            if (reader != null && reader.isAlive()) reader.destroyForcibly();
            if (paused) {
                for (int i = 0; i < 3; i++) c.server(i).resume();
            }
            m.close();
        }
        // the volume still serves a new mount
        FuseMount again = FuseMount.mount(c.host(1), VOL, c.root().resolve("mnt2"), "");
        try {
            assertEquals(64 * 1024, Files.size(again.path("f")));
        } finally {
            again.close();
        }
    }
}
