package io.braid.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real FUSE mount of a {@link BraidFs} served from this JVM; close() always unmounts. */
final class TestMount implements AutoCloseable {
    final Path dir;
    final VolumeClient client;
    final BraidFs fs;
    private LowLevelFs lowLevel;

    TestMount(String volume, List<ServerAddress> servers, Path dir, boolean readOnly, VolumeClient.Timing timing)
            throws IOException {
        this(volume, servers, dir, readOnly ? "ro" : "rw", timing);
    }

    /** With the mount options given as braid mount -o takes them. */
    TestMount(String volume, List<ServerAddress> servers, Path dir, String options, VolumeClient.Timing timing)
            throws IOException {
        this.dir = dir.toRealPath();
        this.client = new VolumeClient(volume, servers, timing);
        BraidFs made = null;
        try {
            client.connect();
            MountOptions o = MountOptions.parse(List.of("-o", options,
                    servers.get(0).target() + ":/" + volume, dir.toString()));
            made = new BraidFs(client, o);
            // Served by a thread of its own, through the low-level API as braid mount does.
            LowLevelFs fs = new LowLevelFs(made, o.attrTimeout(), o.entryTimeout());
            lowLevel = fs;
            List<String> fuseOptions = FuseOptions.of(o);
            Thread serving = new Thread(() -> fs.mount(this.dir, fuseOptions), "fuse-" + dir.getFileName());
            serving.setDaemon(true);
            serving.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!MountTable.isBraidMount(this.dir)) {
                if (System.nanoTime() > deadline || !serving.isAlive()) {
                    throw new IOException("not mounted: " + dir);
                }
                Thread.sleep(10);
            }
        } catch (IOException | RuntimeException e) {
            unmount(this.dir, lowLevel);
            client.close();
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        this.fs = made;
    }

    static TestMount of(FakeFileServer server, Path dir, boolean readOnly) throws IOException {
        return new TestMount(server.volume, List.of(ServerAddress.parse(server.address, 1)), dir, readOnly,
                VolumeClient.Timing.DEFAULT);
    }

    Path path(String name) {
        return dir.resolve(name);
    }

    @Override
    public void close() {
        unmount(dir, lowLevel);
        client.close();
    }

    private static void unmount(Path dir, LowLevelFs fs) {
        if (fs != null) {
            fs.umount(); // fusermount -u -z
        }
        if (!MountMain.awaitUnmounted(dir, 5_000)) {
            run("fusermount", "-u", "-z", dir.toString());
            MountMain.awaitUnmounted(dir, 5_000);
        }
    }

    /** Runs a shell command line with the C locale; its status and output. */
    static Sh sh(String command) {
        return run("sh", "-c", command);
    }

    static Sh run(String... command) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + String.join(" ", command));
            }
            return new Sh(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    record Sh(int exit, String out, String err) {
        Sh ok() {
            if (exit != 0) {
                throw new AssertionError("exit " + exit + ": " + err + out);
            }
            return this;
        }

        Sh fails(String message) {
            if (exit == 0 || !err.contains(message)) {
                throw new AssertionError("expected a failure with '" + message + "', got exit " + exit + ": " + err + out);
            }
            return this;
        }
    }
}
