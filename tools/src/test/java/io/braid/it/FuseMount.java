package io.braid.it;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real FUSE mount of a Braid file volume, run by the test as its own foreground process
 * ({@code io.braid.fuse.MountMain -f}, the code behind {@code braid mount}) so that the test owns
 * its pid. {@link #close()} unmounts lazily and waits for the process, even after a failure.
 */
final class FuseMount implements AutoCloseable {
    private final Path dir;
    private final Path log;
    private final Process process;

    private FuseMount(Path dir, Path log, Process process) {
        this.dir = dir;
        this.log = log;
        this.process = process;
    }

    /** Mounts host:/volume on dir with extra -o options (may be empty), waiting until it is mounted. */
    static FuseMount mount(String host, String volume, Path dir, String options) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx512m",
                "-Dio.netty.tryReflectionSetAccessible=true", "--add-opens=java.base/java.nio=ALL-UNNAMED", // as ChildJvm
                "-cp", System.getProperty("java.class.path"),
                "io.braid.fuse.MountMain", "-f"));
        if (!options.isEmpty()) {
            cmd.add("-o");
            cmd.add(options);
        }
        cmd.add(host + ":/" + volume);
        cmd.add(dir.toString());
        Path log = dir.resolveSibling(dir.getFileName() + ".mount.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        FuseMount m = new FuseMount(dir, log, p);
        long deadline = System.currentTimeMillis() + 60_000;
        while (!isMounted(dir)) {
            if (!p.isAlive()) {
                throw new IOException("mount of " + host + ":/" + volume + " exited " + p.exitValue() + ": " + m.log());
            }
            if (System.currentTimeMillis() > deadline) {
                m.close();
                throw new IOException("not mounted within 60 s: " + m.log());
            }
            Thread.sleep(100);
        }
        return m;
    }

    /** Whether /proc/self/mountinfo lists dir as a FUSE mount. */
    static boolean isMounted(Path dir) throws IOException {
        String want = " " + dir.toAbsolutePath() + " ";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(want) && line.contains(" - fuse")) return true;
        }
        return false;
    }

    Path dir() {
        return dir;
    }

    Path path(String relative) {
        return dir.resolve(relative);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        try {
            if (isMounted(dir)) Exec.run(30, "fusermount", "-u", "-z", dir.toString());
        } catch (IOException ignored) {
            // mountinfo unreadable: unmount anyway below
            Exec.run(30, "fusermount", "-u", "-z", dir.toString());
        }
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
