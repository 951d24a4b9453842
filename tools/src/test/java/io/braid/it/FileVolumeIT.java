package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A replica 3 file volume on three servers, used through real FUSE mounts: bricks hold the files
 * under their own names and stay identical, a second client sees what the first wrote, a brick
 * that was away is healed in the background with only what it missed, and a writer keeps going
 * through the loss of the primary's server.
 */
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FileVolumeIT {
    static final String VOL = "docs";

    static BraidCluster c;
    static Blocks v;
    static FuseMount m0;
    static FuseMount m1;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileVolumeIT.class, 3, VOL);
        v = new Blocks(c);
        m0 = FuseMount.mount(c.host(0), VOL, c.root().resolve("mnt0"), "");
        m1 = FuseMount.mount(c.host(1), VOL, c.root().resolve("mnt1"), "attr-timeout=0,entry-timeout=0");
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (m0 != null) m0.close();
            if (m1 != null) m1.close();
        } finally {
            if (c != null) c.close();
        }
    }

    static void sh(String script) {
        Exec.Result r = Exec.run(120, "sh", "-c", script);
        assertTrue(r.ok(), r::toString);
    }

    static void awaitBricksEqual(long timeoutMs) throws InterruptedException {
        FileVolumes.awaitBricksEqual(c, VOL, timeoutMs);
    }

    @Test
    @Order(1)
    void filesLandOnEveryBrickUnderTheirOwnNames() throws Exception {
        Path root = m0.dir();
        sh("set -e; cd " + root + "; mkdir -p www/img; echo '<h1>hello</h1>' > www/index.html;"
                + " head -c 300000 /dev/urandom > www/img/logo.bin; ln -s index.html www/home.html;"
                + " ln www/index.html www/hard.html; chmod 640 www/img/logo.bin; echo old > www/a; echo new > www/b;"
                + " mv www/b www/a; touch -d '2020-01-02 03:04:05' www/a; mkdir gone; rmdir gone");
        for (int s = 0; s < 3; s++) {
            Path b = c.brickPath(s, VOL);
            assertEquals("<h1>hello</h1>\n", Files.readString(b.resolve("www/index.html")), "brick " + s);
            assertEquals("new\n", Files.readString(b.resolve("www/a")), "brick " + s);
            assertTrue(Files.isSymbolicLink(b.resolve("www/home.html")), "brick " + s);
            assertEquals(2, (int) Files.getAttribute(b.resolve("www/index.html"), "unix:nlink"), "brick " + s);
            assertEquals(0640, (int) Files.getAttribute(b.resolve("www/img/logo.bin"), "unix:mode") & 0777, "brick " + s);
            assertFalse(Files.exists(b.resolve("www/b")) || Files.exists(b.resolve("gone")), "brick " + s);
        }
        assertEquals("", FileVolumes.diff(c, VOL, 0, 1) + FileVolumes.diff(c, VOL, 0, 2));
        assertArrayEquals(Files.readAllBytes(c.brickPath(0, VOL).resolve("www/img/logo.bin")),
                Files.readAllBytes(m1.path("www/img/logo.bin")));
        assertEquals(Files.getLastModifiedTime(c.brickPath(0, VOL).resolve("www/a")),
                Files.getLastModifiedTime(c.brickPath(2, VOL).resolve("www/a")));
    }

    @Test
    @Order(2)
    void aFileClosedOnOneClientIsReadWholeOnAnother() throws Exception {
        byte[] data = new byte[3 << 20];
        new SplittableRandom(7).nextBytes(data);
        Files.write(m0.path("shared.bin"), data);
        assertArrayEquals(data, Files.readAllBytes(m1.path("shared.bin")));
        Files.writeString(m1.path("from-other.txt"), "written on mount 1\n");
        assertEquals("written on mount 1\n", Files.readString(m0.path("from-other.txt")));
    }

    @Test
    @Order(3)
    void aBrickThatWasAwayIsHealedWithOnlyWhatItMissed() throws Exception {
        int p = v.awaitPrimary(VOL, 30_000);
        int down = (p + 1) % 3;
        Path big = m0.path("big.bin");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < 200; i++) {
                r.nextBytes(chunk);
                f.write(chunk);
            }
        }
        Files.writeString(m0.path("doomed.txt"), "delete me while a brick is away\n");
        awaitBricksEqual(30_000);
        JsonElement before = Blocks.lastResync(v.status(VOL, true), v, down);

        c.server(down).kill();
        byte[] patch = new byte[4096];
        new SplittableRandom(2).nextBytes(patch);
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.seek(123L << 20);
            f.write(patch);
        }
        Files.delete(m0.path("doomed.txt"));
        Files.writeString(m0.path("new-while-away.txt"), "created while a brick was away\n");
        c.server(down).start();

        JsonObject lr = v.awaitNewResync(VOL, down, before, 120_000);
        long bytes = lr.get("bytes").getAsLong();
        assertEquals("partial", lr.get("kind").getAsString(), lr::toString);
        assertTrue(bytes >= 4096 && bytes < 64 * 1024, () -> "heal sent " + bytes + " bytes for a 4 KiB change: " + lr);
        awaitBricksEqual(30_000);
        Path healed = c.brickPath(down, VOL);
        assertFalse(Files.exists(healed.resolve("doomed.txt")), "a file deleted while the brick was away came back");
        assertEquals("created while a brick was away\n", Files.readString(healed.resolve("new-while-away.txt")));
    }

    @Test
    @Order(4)
    void aWriterKeepsGoingWhenThePrimarysServerIsKilled() throws Exception {
        int p = v.awaitPrimary(VOL, 30_000);
        // the writer's mount is on the server that dies, and knows the others from backup-servers=
        FuseMount w = FuseMount.mount(c.host(p), VOL, c.root().resolve("mnt-writer"),
                "backup-servers=" + c.host((p + 1) % 3) + ":" + c.host((p + 2) % 3));
        try {
            Path dir = Files.createDirectories(w.path("writer"));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger written = new AtomicInteger();
            AtomicLong longestMs = new AtomicLong();
            List<Throwable> errors = new ArrayList<>();
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        int i = written.get();
                        Files.writeString(dir.resolve("f" + i), "line " + i + "\n", StandardCharsets.UTF_8);
                        written.incrementAndGet();
                        longestMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            t.start();
            Thread.sleep(1500);
            c.server(p).kill();
            int atKill = written.get();
            long deadline = System.currentTimeMillis() + 60_000;
            while (written.get() < atKill + 200 && System.currentTimeMillis() < deadline && t.isAlive()) Thread.sleep(100);
            stop.set(true);
            t.join(60_000);
            assertTrue(errors.isEmpty(), () -> "the writer failed: " + errors + "\n" + w.log());
            assertTrue(written.get() >= atKill + 200, () -> "the writer stalled: " + written.get() + " after " + atKill);
            for (int i = 0; i < written.get(); i++) {
                assertEquals("line " + i + "\n", Files.readString(dir.resolve("f" + i)), "f" + i);
            }
            System.out.printf("writer: %d files, %d after the kill, longest write %d ms%n", written.get(),
                    written.get() - atKill, longestMs.get());
        } finally {
            w.close();
        }
        c.server(p).start();
        v.awaitAllUpToDate(VOL, 120_000);
        awaitBricksEqual(60_000);
    }

    /**
     * Writes to a file that is flushed after each one leave the file's times to each brick's
     * kernel (OwedTimes); the primary copies its own once the file rests. The last write reaches
     * one secondary 50 ms late (its server is stopped meanwhile, by a shell started beforehand, as
     * starting a process can take longer than the ping timeout), so that brick's kernel gives it a
     * later time than the primary's: a copy that never came would show.
     */
    @Test
    @Order(5)
    void aFileFlushedAfterEveryWriteHasThePrimarysTimesOnEveryBrickOnceItRests() throws Exception {
        v.awaitAllUpToDate(VOL, 120_000);
        int late = (v.awaitPrimary(VOL, 30_000) + 1) % 3;
        Path file = m0.path("flushed.db");
        byte[] block = new byte[4096];
        SplittableRandom r = new SplittableRandom(5);
        long pid = c.server(late).pid();
        Process stopper = new ProcessBuilder("sh", "-c", "read go; kill -STOP " + pid + "; echo stopped; read go; kill -CONT " + pid)
                .redirectErrorStream(true).start();
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw");
                var toStopper = new java.io.PrintStream(stopper.getOutputStream(), true);
                var fromStopper = new java.io.BufferedReader(new java.io.InputStreamReader(stopper.getInputStream()))) {
            for (int i = 0; i < 300; i++) {
                r.nextBytes(block);
                f.seek((long) r.nextInt(64) * 4096);
                boolean last = i == 299;
                if (last) {
                    toStopper.println("go");
                    assertEquals("stopped", fromStopper.readLine());
                }
                try {
                    f.write(block); // the mount answers at once and sends it behind
                    if (last) Thread.sleep(50);
                } finally {
                    if (last) toStopper.println("go");
                }
                f.getChannel().force(true);
            }
        } finally {
            stopper.destroy();
            c.server(late).resume(); // in case the shell did not get that far
        }
        long deadline = System.currentTimeMillis() + 15_000;
        List<Object> times;
        do {
            Thread.sleep(200);
            times = new ArrayList<>();
            for (int s = 0; s < 3; s++) times.add(Files.getLastModifiedTime(c.brickPath(s, VOL).resolve("flushed.db")).toInstant());
        } while (times.stream().distinct().count() > 1 && System.currentTimeMillis() < deadline);
        assertEquals(1, times.stream().distinct().count(), "the bricks' mtimes: " + times);
        assertEquals(times.get(0), Files.getLastModifiedTime(m1.path("flushed.db")).toInstant(), "mtime through a mount");
        assertEquals("", FileVolumes.diff(c, VOL, 0, 1) + FileVolumes.diff(c, VOL, 0, 2));
    }

    /** Every name under a brick (outside .braid) with its type, mode, owner, size, links, target, user xattrs and file mtime. */
    static String manifest(Path brick) {
        Exec.Result r = Exec.run(120, "python3", "-c", String.join("\n",
                "import os, stat, sys",
                "root = sys.argv[1]",
                "out = []",
                "for d, dirs, files in os.walk(root):",
                "    dirs[:] = [x for x in dirs if not (d == root and x == '.braid')]",
                "    for n in sorted(dirs + files):",
                "        p = os.path.join(d, n); st = os.lstat(p); rel = os.path.relpath(p, root)",
                "        x = sorted((k, os.getxattr(p, k, follow_symlinks=False)) for k in os.listxattr(p, follow_symlinks=False) if k.startswith('user.'))",
                "        if stat.S_ISDIR(st.st_mode):",
                "            out.append((rel, 'dir', oct(st.st_mode), st.st_uid, st.st_gid, x))",
                "        elif stat.S_ISLNK(st.st_mode):",
                "            out.append((rel, 'link', os.readlink(p)))",
                "        else:",
                "            out.append((rel, 'file', oct(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_nlink, st.st_mtime_ns, x))",
                "for e in sorted(out): print(e)"), brick.toString());
        assertTrue(r.ok(), r::toString);
        return r.out();
    }

    /**
     * A brick that was away while files were chmod-ed, chown-ed, given new times and xattrs (and
     * had one removed), renamed, linked, truncated, and while directories were made, renamed and
     * removed, comes back with the same names, modes, owners, links, times and xattrs as the others.
     */
    @Test
    @Order(6)
    void metadataAndNamesChangedWhileABrickWasAwayAreHealed() throws Exception {
        v.awaitAllUpToDate(VOL, 120_000);
        int p = v.awaitPrimary(VOL, 30_000);
        int down = (p + 2) % 3;
        Path m = m0.dir();
        sh("set -e; cd " + m + "; mkdir -p meta/d/sub meta/empty; echo data > meta/f; echo g > meta/g;"
                + " head -c 50000 /dev/urandom > meta/h; echo x > meta/x; echo in-d > meta/d/sub/inner;"
                + " setfattr -n user.old -v 1 meta/g");
        awaitBricksEqual(30_000);
        JsonElement before = Blocks.lastResync(v.status(VOL, true), v, down);

        c.server(down).kill();
        sh("set -e; cd " + m + "; chmod 600 meta/f; chown 1234:2345 meta/f; chmod 750 meta/d;"
                + " setfattr -n user.k -v value meta/x; setfattr -x user.old meta/g;"
                + " touch -d '2019-05-06 07:08:09' meta/g; mv meta/g meta/g2; mv meta/d meta/d2;"
                + " mkdir meta/newdir; chown 42:43 meta/newdir; ln meta/f meta/f-link; ln -s f meta/sym;"
                + " truncate -s 100 meta/h; rmdir meta/empty; mv meta/x meta/d2/sub/x-moved");
        c.server(down).start();
        v.awaitNewResync(VOL, down, before, 120_000);
        v.awaitAllUpToDate(VOL, 120_000);
        awaitBricksEqual(30_000);

        String want = manifest(c.brickPath(p, VOL));
        String healed = manifest(c.brickPath(down, VOL));
        assertEquals(want, healed, "the healed brick differs from the primary's");
        assertTrue(want.contains("('meta/f', 'file', '0o100600', 1234, 2345, 5, 2,"), want);
        assertTrue(want.contains("('meta/d2/sub/x-moved', 'file', '0o100644', 0, 0, 2, 1,") && want.contains("b'value'"), want);
        assertTrue(want.contains("('meta/sym', 'link', 'f')") && want.contains("('meta/newdir', 'dir', '0o40755', 42, 43"), want);
        assertFalse(want.contains("'meta/g'") || want.contains("'meta/empty'") || want.contains("user.old"), want);
    }

    /**
     * A heal slowed by heal.rate-limit shows its progress (done, bytes remaining, ETA) in heal info
     * summary, in text, --xml and --json; heal and heal full answer in every format too.
     */
    @Test
    @Order(7)
    void aRateLimitedHealShowsItsProgressInEveryFormat() throws Exception {
        v.awaitAllUpToDate(VOL, 120_000);
        int down = (v.awaitPrimary(VOL, 30_000) + 1) % 3;
        JsonElement before = Blocks.lastResync(v.status(VOL, true), v, down);
        v.set(VOL, "heal.rate-limit", "4M");
        try {
            c.server(down).kill();
            byte[] data = new byte[24 << 20];
            new SplittableRandom(9).nextBytes(data);
            Files.write(m0.path("slow.bin"), data);
            c.server(down).start();

            String text = null;
            String xml = null;
            JsonObject json = null;
            long deadline = System.currentTimeMillis() + 90_000;
            while (text == null && System.currentTimeMillis() < deadline) {
                JsonObject sum = v.healInfo(VOL, true);
                JsonElement pr = sum.get("progress");
                if (pr != null && pr.isJsonObject() && pr.getAsJsonObject().get("bytesRemaining").getAsLong() > 0) {
                    json = sum;
                    CliResult t = c.cli(0, "volume", "heal", VOL, "info", "summary");
                    CliResult x = c.cli(0, "--xml", "volume", "heal", VOL, "info", "summary");
                    Cli.assertOk(t);
                    Cli.assertOk(x);
                    if (t.out().contains("ETA") && x.out().contains("<progress>")) {
                        text = t.out();
                        xml = x.out();
                    }
                }
                Thread.sleep(100);
            }
            assertTrue(text != null, "heal info summary never showed progress in all three formats while the heal ran");
            JsonObject po = json.getAsJsonObject("progress");
            double done = po.get("done").getAsDouble();
            assertTrue(done >= 0 && done < 1, po::toString);
            assertTrue(po.has("etaSeconds"), po::toString);
            assertTrue(text.contains("remaining, ETA "), text);
            assertTrue(xml.contains("<bytesRemaining>") && xml.contains("<etaSeconds>") && xml.contains("<opRet>0</opRet>"), xml);
        } finally {
            v.set(VOL, "heal.rate-limit", "0");
        }
        JsonObject lr = v.awaitNewResync(VOL, down, before, 120_000);
        assertEquals("partial", lr.get("kind").getAsString(), lr::toString);
        awaitBricksEqual(60_000);

        // heal and heal full, in every format
        Cli.assertOk(c.cli(1, "volume", "heal", VOL));
        CliResult x = c.cli(1, "--xml", "volume", "heal", VOL, "full");
        Cli.assertOk(x);
        assertTrue(x.out().contains("<opRet>0</opRet>"), x.out());
        JsonObject j = Blocks.json(c.cli(1, "--json", "volume", "heal", VOL));
        assertFalse(j.entrySet().isEmpty(), j::toString);
        v.awaitAllUpToDate(VOL, 120_000);
        awaitBricksEqual(60_000);
    }
}
