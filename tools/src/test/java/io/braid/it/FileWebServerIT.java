package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * The web test: nginx (the Debian package) serves a document root from its own Braid FUSE
 * mount while a load generator requests pages, and a brick's server is killed with -9 and
 * restarted, first a secondary's, then the primary's (the very server the web mount was mounted
 * from, with backup-servers= the others). No request may fail and every page must be what was
 * written.
 */
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(KeepLogsOnFailure.class)
class FileWebServerIT {
    static final String VOL = "www";
    static final int PAGES = 200;
    static final int BINARIES = 6;
    static final int PORT = 8080;
    static final int LOAD_THREADS = 6;

    static BraidCluster c;
    static Blocks v;
    /** The mount the document root is written through (from a server that is never killed). */
    static FuseMount writer;
    /** nginx's own mount, from the server that is killed second, with the other two as backups. */
    static FuseMount web;
    static Process nginx;
    static Path nginxDir;
    static String listen;
    /** Page path (relative to the document root) to the SHA-256 of what was written. */
    static final Map<String, String> pages = new LinkedHashMap<>();
    static long totalBytes;
    /** The primary's server when the volume came up: its host is the web mount's server. */
    static int firstPrimary;

    @BeforeAll
    static void up() throws Exception {
        c = FileVolumes.startReplica3(FileWebServerIT.class, 3, VOL);
        v = new Blocks(c);
        firstPrimary = v.awaitPrimary(VOL, 30_000);
        int p = firstPrimary;
        int other = (p + 2) % 3; // never killed by this test
        writer = FuseMount.mount(c.host(other), VOL, c.root().resolve("mnt-writer"), "");
        web = FuseMount.mount(c.host(p), VOL, c.root().resolve("mnt-web"),
                "backup-servers=" + c.host((p + 1) % 3) + ":" + c.host((p + 2) % 3));
        writeDocumentRoot(writer.dir());
        // nginx's mount sees every page as written before nginx starts
        for (Map.Entry<String, String> e : pages.entrySet()) {
            assertEquals(e.getValue(), Blocks.sha256(web.path(e.getKey())), "read back through the web mount: " + e.getKey());
        }
        String h = c.host(0);
        listen = h.substring(0, h.lastIndexOf('.')) + ".200:" + PORT;
        startNginx();
    }

    @AfterAll
    static void down() throws Exception {
        try {
            stopNginx();
        } finally {
            try {
                if (web != null) web.close();
                if (writer != null) writer.close();
            } finally {
                if (c != null) c.close();
            }
        }
    }

    /** PAGES HTML pages of 1 KiB to 256 KiB (log-uniform), in nested directories, and a few binaries. */
    static void writeDocumentRoot(Path root) throws IOException {
        SplittableRandom r = new SplittableRandom(2024);
        String[] dirs = {"", "blog/", "blog/2023/", "blog/2024/", "docs/", "docs/api/", "docs/api/v2/", "shop/items/"};
        String[] words = ("braid replica brick volume primary heal quorum mount fuse nginx page static content "
                + "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor").split(" ");
        for (int i = 0; i < PAGES; i++) {
            String name = i == 0 ? "index.html" : dirs[r.nextInt(dirs.length)] + "page-" + i + ".html";
            int size = (int) Math.round(Math.pow(2, 10 + r.nextDouble() * 8)); // 1 KiB .. 256 KiB
            StringBuilder sb = new StringBuilder(size + 200);
            sb.append("<!doctype html>\n<html><head><title>Page ").append(i).append("</title></head><body>\n<h1>Page ")
                    .append(i).append("</h1>\n");
            while (sb.length() < size - 20) {
                sb.append("<p>");
                for (int w = 0; w < 12 + r.nextInt(40); w++) sb.append(words[r.nextInt(words.length)]).append(' ');
                sb.append(i).append("</p>\n");
            }
            sb.append("</body></html>\n");
            put(root, name, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 0; i < BINARIES; i++) {
            int size = 100_000 + r.nextInt(3 << 20); // up to ~3 MiB
            put(root, "media/blob-" + i + ".bin", Blocks.randomBytes(r, size));
        }
        // an odd size and an empty file, which nginx serves with a 0-length body
        put(root, "media/odd.bin", Blocks.randomBytes(r, 4097));
        put(root, "media/empty.txt", new byte[0]);
    }

    static void put(Path root, String name, byte[] data) throws IOException {
        Path f = root.resolve(name);
        Files.createDirectories(f.getParent());
        Files.write(f, data);
        pages.put(name, Blocks.sha256(data));
        totalBytes += data.length;
    }

    static void startNginx() throws Exception {
        nginxDir = Files.createDirectories(c.root().resolve("nginx"));
        Path logs = Files.createDirectories(nginxDir.resolve("logs"));
        Path tmp = Files.createDirectories(nginxDir.resolve("tmp"));
        Path conf = nginxDir.resolve("nginx.conf");
        String temps = "";
        for (String t : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
            temps += "    " + t + "_temp_path " + tmp.resolve(t) + ";\n";
        }
        Files.writeString(conf, "user root;\n"
                + "worker_processes 2;\n"
                + "pid " + nginxDir.resolve("nginx.pid") + ";\n"
                + "error_log " + logs.resolve("error.log") + " info;\n"
                + "events { worker_connections 512; }\n"
                + "http {\n"
                + "    include /etc/nginx/mime.types;\n"
                + "    default_type application/octet-stream;\n"
                + "    access_log " + logs.resolve("access.log") + ";\n"
                + temps
                + "    sendfile on;\n"
                + "    tcp_nopush on;\n"
                + "    open_file_cache off;\n"
                + "    keepalive_timeout 65;\n"
                + "    keepalive_requests 1000000;\n"
                + "    server {\n"
                + "        listen " + listen + ";\n"
                + "        server_name localhost;\n"
                + "        root " + web.dir() + ";\n"
                + "        location / { }\n"
                + "    }\n"
                + "}\n");
        Exec.Result check = Exec.run(30, "nginx", "-t", "-p", nginxDir.toString(), "-e", logs.resolve("error.log").toString(),
                "-c", conf.toString());
        assertTrue(check.ok(), check::toString);
        nginx = new ProcessBuilder("nginx", "-p", nginxDir.toString(), "-e", logs.resolve("error.log").toString(),
                "-c", conf.toString(), "-g", "daemon off;")
                .redirectErrorStream(true).redirectOutput(nginxDir.resolve("nginx.out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        ClusterReaper.register(nginx);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            if (!nginx.isAlive()) throw new AssertionError("nginx exited " + nginx.exitValue() + ": " + nginxLogs());
            try {
                HttpResponse<byte[]> resp = http.send(request("index.html"), HttpResponse.BodyHandlers.ofByteArray());
                if (resp.statusCode() == 200) return;
            } catch (IOException e) {
                // not listening yet
            }
            if (System.currentTimeMillis() > deadline) throw new AssertionError("nginx does not answer: " + nginxLogs());
            Thread.sleep(100);
        }
    }

    static void stopNginx() throws InterruptedException {
        if (nginx == null) return;
        // SIGTERM to the master we started (fast shutdown of its workers), then -9 if it lingers
        nginx.destroy();
        if (!nginx.waitFor(20, TimeUnit.SECONDS)) {
            nginx.descendants().forEach(ProcessHandle::destroyForcibly);
            nginx.destroyForcibly();
            nginx.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static HttpRequest request(String page) {
        return HttpRequest.newBuilder(URI.create("http://" + listen + "/" + page)).timeout(Duration.ofSeconds(60)).GET().build();
    }

    static String nginxLogs() {
        StringBuilder sb = new StringBuilder();
        for (String f : List.of("nginx.out", "logs/error.log")) {
            Path p = nginxDir.resolve(f);
            try {
                if (Files.exists(p)) {
                    List<String> lines = Files.readAllLines(p);
                    sb.append("---- nginx ").append(f).append(" (last 60 lines)\n");
                    for (String l : lines.subList(Math.max(0, lines.size() - 60), lines.size())) sb.append(l).append('\n');
                }
            } catch (IOException e) {
                sb.append("(").append(f).append(" unreadable: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Requests random pages from LOAD_THREADS threads until stopped (or a bound is reached). */
    static final class Load implements AutoCloseable {
        static final long MAX_REQUESTS = 5_000_000;
        static final long MAX_MILLIS = 600_000;

        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        final List<String> names = new ArrayList<>(pages.keySet());
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong requests = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong mismatched = new AtomicLong();
        final AtomicLong longestNs = new AtomicLong();
        volatile String longestWhat = "";
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());
        final List<Thread> threads = new ArrayList<>();
        final long t0 = System.nanoTime();

        Load() {
            for (int i = 0; i < LOAD_THREADS; i++) {
                long seed = 77 + i;
                Thread t = new Thread(() -> run(new SplittableRandom(seed)), "web-load-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        private void run(SplittableRandom r) {
            while (!stop.get() && requests.get() < MAX_REQUESTS && System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(MAX_MILLIS)) {
                String page = names.get(r.nextInt(names.size()));
                long start = System.nanoTime();
                String at = String.format("t=%.1fs", (start - t0) / 1e9);
                try {
                    HttpResponse<byte[]> resp = http.send(request(page), HttpResponse.BodyHandlers.ofByteArray());
                    long ns = System.nanoTime() - start;
                    requests.incrementAndGet();
                    if (ns > longestNs.get()) {
                        longestNs.accumulateAndGet(ns, Math::max);
                        longestWhat = at + " " + page;
                    }
                    if (resp.statusCode() != 200) {
                        failed.incrementAndGet();
                        problem(at + " GET /" + page + " -> HTTP " + resp.statusCode() + " after " + ns / 1_000_000 + " ms");
                    } else if (!pages.get(page).equals(Blocks.sha256(resp.body()))) {
                        mismatched.incrementAndGet();
                        problem(at + " GET /" + page + " -> 200 but " + resp.body().length + " bytes that differ from what was written");
                    } else {
                        bytes.addAndGet(resp.body().length);
                    }
                } catch (IOException e) {
                    requests.incrementAndGet();
                    failed.incrementAndGet();
                    problem(at + " GET /" + page + " -> " + e + " after " + (System.nanoTime() - start) / 1_000_000 + " ms");
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private void problem(String s) {
            if (problems.size() < 30) problems.add(s);
        }

        String elapsed() {
            return String.format("t=%.1fs", (System.nanoTime() - t0) / 1e9);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) t.join(120_000);
        }

        String summary() {
            return String.format("%d requests (%d MiB), %d failed, %d mismatched, longest %d ms (%s), in %.1f s",
                    requests.get(), bytes.get() >> 20, failed.get(), mismatched.get(), longestNs.get() / 1_000_000,
                    longestWhat, (System.nanoTime() - t0) / 1e9);
        }
    }

    @Test
    @Order(1)
    void nginxServesEveryPageFromTheMount() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (Map.Entry<String, String> e : pages.entrySet()) {
            HttpResponse<byte[]> resp = http.send(request(e.getKey()), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, resp.statusCode(), () -> e.getKey() + "\n" + nginxLogs());
            assertEquals(e.getValue(), Blocks.sha256(resp.body()), e.getKey());
        }
        System.out.printf("document root: %d files, %d KiB%n", pages.size(), totalBytes >> 10);
    }

    @Test
    @Order(2)
    void noRequestFailsWhileASecondarysServerAndThenThePrimarysServerAreKilledAndRestarted() throws Exception {
        int p = v.awaitPrimary(VOL, 30_000);
        int secondary = (p + 1) % 3;
        List<String> timeline = new ArrayList<>();
        long before;
        long afterLastKill;
        Load load = new Load();
        try {
            Thread.sleep(3000);
            before = load.requests.get();
            timeline.add(load.elapsed() + " kill -9 server " + secondary + " (secondary's, " + c.host(secondary) + ")");
            bounce(load, secondary, timeline);

            p = v.awaitPrimary(VOL, 30_000);
            timeline.add(load.elapsed() + " kill -9 server " + p + " (primary's, " + c.host(p) + ", the web mount's server: "
                    + (p == firstPrimary) + ")");
            long atLastKill = load.requests.get();
            bounce(load, p, timeline);
            afterLastKill = load.requests.get() - atLastKill;
            timeline.add(load.elapsed() + " new primary: server " + v.awaitPrimary(VOL, 30_000));
        } finally {
            load.close();
            timeline.add(load.elapsed() + " load stopped");
            System.out.println("[FileWebServerIT] load: " + load.summary() + "\n" + String.join("\n", timeline)
                    + (load.problems.isEmpty() ? "" : "\nfirst problems:\n" + String.join("\n", load.problems)));
        }
        String details = "load: " + load.summary() + "\n" + String.join("\n", timeline) + "\nproblems:\n"
                + String.join("\n", load.problems) + "\n" + nginxLogs() + "---- web mount log\n" + tail(web.log(), 80)
                + v.logTails(60);
        assertTrue(web.alive(), () -> "the web mount's process died\n" + details);
        assertEquals(0, load.failed.get(), () -> "failed requests\n" + details);
        assertEquals(0, load.mismatched.get(), () -> "pages that differ from what was written\n" + details);
        assertTrue(load.requests.get() >= 1000, () -> "too few requests\n" + details);
        assertTrue(before > 0, () -> "no request before the first kill\n" + details);
        assertTrue(afterLastKill >= 100, () -> "the load did not resume after the primary's server was killed\n" + details);
    }

    /** kill -9 the server, a few seconds of load without it, restart, wait until every brick is UpToDate, a few seconds more. */
    private static void bounce(Load load, int server, List<String> timeline) throws Exception {
        long atKill = load.requests.get();
        c.server(server).kill();
        Thread.sleep(5000);
        timeline.add(load.elapsed() + " restart server " + server + " (" + (load.requests.get() - atKill) + " requests while it was down)");
        c.server(server).start();
        v.awaitAllUpToDate(VOL, 120_000);
        timeline.add(load.elapsed() + " every brick UpToDate");
        Thread.sleep(4000);
    }

    static String tail(String s, int lines) {
        String[] all = s.split("\n", -1);
        return String.join("\n", java.util.Arrays.asList(all).subList(Math.max(0, all.length - lines), all.length)) + "\n";
    }
}
