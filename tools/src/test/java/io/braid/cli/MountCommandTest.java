package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.Layout;
import io.braid.proto.file.LayoutRequest;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

/** {@code braid mount}: its command line and its refusals, against a canned layout service (no FUSE needed). */
class MountCommandTest {
    private static Server server;
    private static String host;

    /** "web" exists but is stopped, "vm" is a block volume, anything else does not exist. */
    private static final class Layouts extends FileIoGrpc.FileIoImplBase {
        @Override
        public void getLayout(LayoutRequest request, StreamObserver<Layout> out) {
            switch (request.getVolume()) {
                case "web" -> {
                    out.onNext(Layout.newBuilder().setVolume("web").setStarted(false).build());
                    out.onCompleted();
                }
                case "vm" -> out.onError(Status.INVALID_ARGUMENT
                        .withDescription("volume vm is a block volume: attach it with NBD").asRuntimeException());
                case "old" -> out.onError(Status.INVALID_ARGUMENT.asRuntimeException());
                default -> out.onError(Status.NOT_FOUND.withDescription("no such volume").asRuntimeException());
            }
        }
    }

    @BeforeAll
    static void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new Layouts())
                .build().start();
        host = "127.0.0.1:" + server.getPort();
    }

    @AfterAll
    static void stop() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void usageErrors(@TempDir Path dir) {
        CliRun none = CliRun.of("mount");
        assertEquals(2, none.exit());
        assertEquals("mount: failed: missing argument. Usage: " + MountCommand.USAGE, none.errLine());
        CliRun bogus = CliRun.of("mount", "-o", "ro,bogus", host + ":/web", dir.toString());
        assertEquals(2, bogus.exit());
        assertEquals("mount: failed: unknown option 'bogus'", bogus.errLine());
        CliRun spec = CliRun.of("mount", "nohost", dir.toString());
        assertEquals(2, spec.exit());
        assertTrue(spec.errLine().startsWith("mount: failed: invalid volume 'nohost'"), spec.err());
        CliRun extra = CliRun.of("mount", host + ":/web", dir.toString(), "more");
        assertEquals(2, extra.exit());
        assertEquals("", extra.out());
    }

    @Test
    void refusals(@TempDir Path dir) throws Exception {
        assertEquals("mount: failed: volume web is not started", fails(host + ":/web", dir.toString()));
        assertEquals("mount: failed: volume nope does not exist", fails(host + ":/nope", dir.toString()));
        assertEquals("mount: failed: volume vm is a block volume: attach it with NBD", fails(host + ":/vm", dir.toString()));
        assertEquals("mount: failed: volume old is not a file volume (a block volume is used through NBD)",
                fails(host + ":/old", dir.toString()));
        assertTrue(fails("127.0.0.1:1:/web", dir.toString())
                .startsWith("mount: failed: cannot get the layout of volume web: 127.0.0.1:1: unreachable"));
        assertEquals("mount: failed: mount point " + dir.resolve("nowhere") + " does not exist",
                fails(host + ":/web", dir.resolve("nowhere").toString()));
        Path file = Files.writeString(dir.resolve("file"), "");
        assertEquals("mount: failed: mount point " + file + " is not a directory", fails("-f", host + ":/web", file.toString()));
        // The backup server answers when the first one cannot.
        assertEquals("mount: failed: volume web is not started",
                fails("-o", "backup-servers=127.0.0.1:" + server.getPort(), "127.0.0.1:1:/web", dir.toString()));
    }

    private static String fails(String... args) {
        String[] line = new String[args.length + 1];
        line[0] = "mount";
        System.arraycopy(args, 0, line, 1, args.length);
        CliRun run = CliRun.of(line);
        assertEquals(1, run.exit(), run.err());
        assertEquals("", run.out());
        return run.errLine();
    }
}
