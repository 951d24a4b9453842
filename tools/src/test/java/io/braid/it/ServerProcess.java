package io.braid.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One real braidd process on a loopback address, with its own data directory. */
public final class ServerProcess {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    private final String address;
    private final Path dataDir;
    private final Path output;
    private Process process;
    private int starts;

    ServerProcess(String address, Path dataDir, Path output) {
        this.address = address;
        this.dataDir = dataDir;
        this.output = output;
    }

    public String address() {
        return address;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path output() {
        return output;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public static List<String> command(String address, Path dataDir) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Dio.netty.tryReflectionSetAccessible=true"); // as bin/braidd
        cmd.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.braid.daemon.Braidd");
        cmd.add("--address");
        cmd.add(address);
        cmd.add("--data-dir");
        cmd.add(dataDir.toString());
        return cmd;
    }

    /** Starts the process without waiting for it to be ready. */
    public Process launch() throws IOException {
        if (isRunning()) throw new IllegalStateException(address + " is already running");
        starts++;
        Files.createDirectories(dataDir);
        ProcessBuilder pb = new ProcessBuilder(command(address, dataDir));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        Files.writeString(output, "---- start " + starts + " ----\n", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        process = pb.start();
        ClusterReaper.register(process);
        return process;
    }

    public void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String marker = "---- start " + starts + " ----";
        while (System.nanoTime() < deadline) {
            String log = Files.readString(output, StandardCharsets.UTF_8);
            int at = log.lastIndexOf(marker);
            if (at >= 0 && log.indexOf("braidd ready", at) >= 0) return;
            if (!process.isAlive()) {
                throw new IOException("braidd " + address + " exited with " + process.exitValue() + ":\n" + log.substring(Math.max(0, at)));
            }
            Thread.sleep(100);
        }
        throw new IOException("braidd " + address + " not ready after " + READY_TIMEOUT);
    }

    public void start() throws IOException, InterruptedException {
        launch();
        awaitReady();
    }

    /** kill -9. */
    public void kill() throws InterruptedException {
        if (process == null) return;
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** kill -TERM, and wait for a clean exit; returns the exit status. */
    public int stop() throws InterruptedException {
        if (process == null || !process.isAlive()) return process == null ? -1 : process.exitValue();
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        return process.exitValue();
    }

    public void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    public void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String sig) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start();
        if (p.waitFor() != 0) throw new IOException("kill -" + sig + " " + process.pid() + " failed");
    }

    public String log() throws IOException {
        return Files.readString(output, StandardCharsets.UTF_8);
    }
}
