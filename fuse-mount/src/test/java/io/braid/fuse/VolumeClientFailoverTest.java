package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.braid.proto.file.Create;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Getattr;
import io.braid.proto.file.Layout;

/** Re-routing to a new primary: two fake servers, the layout moves from the first to the second. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VolumeClientFailoverTest {
    private static final VolumeClient.Timing FAST = new VolumeClient.Timing(5_000, 10_000, 50, 200, 1_000);

    @TempDir
    Path tmp;
    private final AtomicReference<Layout> layout = new AtomicReference<>();
    private FakeFileServer a;
    private FakeFileServer b;
    private VolumeClient client;

    private void start(List<String> bootstrapNames) throws IOException {
        a = new FakeFileServer(tmp.resolve("a"), "web", 1, layout);
        b = new FakeFileServer(tmp.resolve("b"), "web", 1, layout);
        layout.set(withServers(FakeFileServer.layoutOf("web", 1, a.address)));
        List<ServerAddress> bootstrap = bootstrapNames.stream()
                .map(n -> ServerAddress.parse(n.equals("a") ? a.address : b.address, 1)).toList();
        client = new VolumeClient("web", bootstrap, FAST);
        client.connect();
    }

    private Layout withServers(Layout l) {
        return l.toBuilder().clearServers().addServers(a.address).addServers(b.address).build();
    }

    private void failOverToB() {
        layout.set(withServers(FakeFileServer.layoutOf("web", 1, b.address)).toBuilder()
                .setSets(0, FakeFileServer.layoutOf("web", 1, b.address).getSets(0).toBuilder().setEpoch(2)).build());
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    private static FileRequest.Builder create(String path) {
        return FileRequest.newBuilder().setCreate(Create.newBuilder().setPath(path).setMode(0100644));
    }

    @Test
    void anOperationInFlightCompletesOnTheNewPrimary() throws Exception {
        start(List.of("a"));
        assertEquals(0, client.call(0, create("/before")).getErrno());
        assertTrue(Files.exists(a.bricks.get(0).resolve("before")));

        CountDownLatch gate = new CountDownLatch(1);
        a.gate = gate;
        a.held = r -> r.getOpCase() == FileRequest.OpCase.CREATE;
        CompletableFuture<FileReply> inFlight = client.callAsync(0, create("/during"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (a.received.stream().noneMatch(r -> r.getCreate().getPath().equals("/during"))) {
            assertTrue(System.nanoTime() < deadline);
            Thread.sleep(5);
        }
        // The switch: a is no longer the primary, the layout names b.
        a.primary = false;
        failOverToB();
        gate.countDown();

        FileReply reply = inFlight.get(10, TimeUnit.SECONDS);
        assertEquals(0, reply.getErrno(), reply.getMessage());
        assertTrue(Files.exists(b.bricks.get(0).resolve("during")));
        // The same request (client and id) went to both.
        FileRequest first = a.received.stream().filter(r -> r.getCreate().getPath().equals("/during")).findFirst().orElseThrow();
        FileRequest retried = b.received.stream().filter(r -> r.getCreate().getPath().equals("/during")).findFirst().orElseThrow();
        assertEquals(first.getClient(), retried.getClient());
        assertEquals(first.getId(), retried.getId());
        assertTrue(first.getId() > 0);
        // Later calls go straight to b, which now has this mount's session.
        a.received.clear();
        assertEquals(0, client.call(0, FileRequest.newBuilder().setGetattr(Getattr.newBuilder().setPath("/during"))).getErrno());
        assertTrue(a.received.isEmpty());
        assertTrue(b.sessions.contains(client.clientId()));
        assertEquals(2, client.layout().getSets(0).getEpoch());
    }

    @Test
    void aDeadPrimaryIsReplacedThroughABackupServer() throws Exception {
        start(List.of("a", "b"));
        assertEquals(0, client.call(0, create("/x")).getErrno());
        a.close();
        failOverToB();
        long t0 = System.nanoTime();
        FileReply reply = client.call(0, create("/y"));
        assertEquals(0, reply.getErrno(), reply.getMessage());
        assertTrue(Files.exists(b.bricks.get(0).resolve("y")));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
    }

    /**
     * The primary's server is gone and the layout says no brick of the set can be promoted
     * (no_candidate, as when the only up-to-date data brick is down): the call fails with ENOTCONN
     * once layouts have said so for a grace period, long before a one-minute retry budget.
     */
    @Test
    void aSetWithNoCandidateFailsWithoutWaitingOutTheBudget() throws Exception {
        start(List.of("a", "b"));
        client.close();
        client = new VolumeClient("web", List.of(ServerAddress.parse(b.address, 1)),
                new VolumeClient.Timing(1_000, 60_000, 50, 200, 1_000));
        client.connect();
        a.close(); // the primary's server
        Layout l = layout.get();
        layout.set(l.toBuilder().setSets(0, l.getSets(0).toBuilder().setNoCandidate(true)).build());
        FileReply reply = client.callAsync(0, create("/refused")).get(20, TimeUnit.SECONDS);
        assertEquals(Errno.ENOTCONN, reply.getErrno(), reply.getMessage());
        assertTrue(reply.getMessage().contains("no up-to-date data brick"), reply.getMessage());

        // with a candidate again (a failover to b), calls go through as before
        failOverToB();
        assertEquals(0, client.call(0, create("/after")).getErrno());
    }

    @Test
    void noPrimaryForLongerThanTheBudgetIsEnotconn() throws Exception {
        start(List.of("a"));
        client.close();
        client = new VolumeClient("web", List.of(ServerAddress.parse(a.address, 1)),
                new VolumeClient.Timing(1_000, 1_000, 50, 200, 3_000));
        client.connect();
        a.close();
        b.close();
        long t0 = System.nanoTime();
        FileReply reply = client.call(0, create("/z"));
        assertEquals(Errno.ENOTCONN, reply.getErrno());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 700 && ms < 8_000, ms + " ms");
    }

    @Test
    void aStoppedVolumeAnswersEnotconnAtOnce() throws Exception {
        start(List.of("a"));
        layout.set(layout.get().toBuilder().setStarted(false).build());
        a.primary = false;
        FileReply reply = client.call(0, create("/stopped"));
        assertEquals(Errno.ENOTCONN, reply.getErrno());
        // Started again: the next call finds out and goes through.
        layout.set(layout.get().toBuilder().setStarted(true).build());
        a.primary = true;
        assertEquals(0, client.call(0, create("/started")).getErrno());
    }

    @Test
    void mountRefusals() throws Exception {
        start(List.of("a"));
        MountException missing = assertThrows(MountException.class, () -> new VolumeClient("nope",
                List.of(ServerAddress.parse(a.address, 1)), FAST).connect());
        assertEquals("volume nope does not exist", missing.getMessage());
        layout.set(layout.get().toBuilder().setStarted(false).build());
        MountException stopped = assertThrows(MountException.class, () -> new VolumeClient("web",
                List.of(ServerAddress.parse(a.address, 1)), FAST).connect());
        assertEquals("volume web is not started", stopped.getMessage());
        layout.set(layout.get().toBuilder().setStarted(true).clearSets().build());
        MountException block = assertThrows(MountException.class, () -> new VolumeClient("web",
                List.of(ServerAddress.parse(a.address, 1)), FAST).connect());
        assertTrue(block.getMessage().startsWith("volume web has no replica sets"), block.getMessage());
        MountException unreachable = assertThrows(MountException.class, () -> new VolumeClient("web",
                List.of(ServerAddress.parse("127.0.0.1:1", 1)), FAST).connect());
        assertTrue(unreachable.getMessage().startsWith("cannot get the layout of volume web: 127.0.0.1:1: unreachable"),
                unreachable.getMessage());
    }
}
