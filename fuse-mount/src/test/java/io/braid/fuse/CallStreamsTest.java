package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Getattr;
import io.braid.proto.file.Layout;
import io.braid.proto.file.Read;

/**
 * Reads on the servers' Calls streams ({@link CallStreams}): replies matched to their requests
 * out of order, a status in a reply retried like a failed call, a stream that ends or hangs
 * failing over, and a server without the stream asked with unary calls.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CallStreamsTest {
    @TempDir
    Path tmp;
    private final AtomicReference<Layout> layout = new AtomicReference<>();
    private FakeFileServer a;
    private FakeFileServer b;
    private VolumeClient client;

    private void start(boolean streams, VolumeClient.Timing timing) throws Exception {
        a = new FakeFileServer(tmp.resolve("a"), "web", 1, layout);
        b = new FakeFileServer(tmp.resolve("b"), "web", 1, layout);
        a.streams = streams;
        b.streams = streams;
        layout.set(on(a));
        client = new VolumeClient("web", List.of(ServerAddress.parse(a.address, 1), ServerAddress.parse(b.address, 1)), timing);
        client.connect();
        for (FakeFileServer s : List.of(a, b)) {
            Files.writeString(s.bricks.get(0).resolve("f"), "content of f on " + (s == a ? "a" : "b"));
        }
    }

    private Layout on(FakeFileServer primary) {
        Layout l = FakeFileServer.layoutOf("web", 1, primary.address);
        long epoch = layout.get() == null ? 1 : layout.get().getSets(0).getEpoch() + 1;
        return l.toBuilder().clearServers().addServers(a.address).addServers(b.address)
                .setSets(0, l.getSets(0).toBuilder().setEpoch(epoch)).build();
    }

    @AfterEach
    void stop() {
        if (client != null) client.close();
        if (a != null) a.close();
        if (b != null) b.close();
    }

    /** Waits until server has received n requests of op (answered or held). */
    private static void awaitReceived(FakeFileServer server, FileRequest.OpCase op, int n) throws InterruptedException {
        while (server.received.stream().filter(r -> r.getOpCase() == op).count() < n) {
            Thread.sleep(5);
        }
    }

    private static FileRequest.Builder read(String path) {
        return FileRequest.newBuilder().setRead(Read.newBuilder().setPath(path).setOffset(0).setSize(100));
    }

    private static String text(FileReply r) {
        assertEquals(0, r.getErrno(), r.getMessage());
        return r.getData().toString(StandardCharsets.UTF_8);
    }

    @Test
    void readsShareOneStreamAndRepliesFindTheirRequestsOutOfOrder() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        for (int i = 0; i < 5; i++) {
            Files.writeString(a.bricks.get(0).resolve("g" + i), "file " + i);
        }
        CountDownLatch gate = new CountDownLatch(1);
        a.gate = gate;
        a.held = r -> r.getRead().getPath().equals("/g0");
        CompletableFuture<FileReply> first = client.callAsync(0, read("/g0"));
        List<CompletableFuture<FileReply>> rest = new ArrayList<>();
        for (int i = 1; i < 5; i++) {
            rest.add(client.callAsync(0, read("/g" + i)));
        }
        for (int i = 1; i < 5; i++) {
            assertEquals("file " + i, text(rest.get(i - 1).get(10, TimeUnit.SECONDS))); // passed the held one
        }
        assertFalse(first.isDone());
        gate.countDown();
        assertEquals("file 0", text(first.get(10, TimeUnit.SECONDS)));
        FileReply attr = client.call(0, FileRequest.newBuilder().setGetattr(Getattr.newBuilder().setPath("/g3")));
        assertEquals(6, attr.getAttr().getSize());
        assertEquals(1, a.streamsOpened.get());
        assertEquals(5, a.count(FileRequest.OpCase.READ));
        // the tags the client gave are unique on the stream
        assertEquals(6, a.received.stream().mapToLong(FileRequest::getTag).distinct().count());
    }

    @Test
    void notPrimaryInAReplyIsRetriedOnTheNewPrimary() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        assertEquals("content of f on a", text(client.call(0, read("/f"))));
        a.primary = false;
        layout.set(on(b));
        assertEquals("content of f on b", text(client.call(0, read("/f"))));
        assertEquals(1, b.streamsOpened.get());
        // a's stream is still open and still works for what goes there
        a.primary = true;
        b.primary = false;
        layout.set(on(a));
        assertEquals("content of f on a", text(client.call(0, read("/f"))));
        assertEquals(1, a.streamsOpened.get());
    }

    @Test
    void aReadWaitingOnAServerThatDiesGoesToTheNextPrimary() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        assertEquals("content of f on a", text(client.call(0, read("/f"))));
        CountDownLatch gate = new CountDownLatch(1);
        a.gate = gate;
        a.held = r -> r.getOpCase() == FileRequest.OpCase.READ;
        CompletableFuture<FileReply> waiting = client.callAsync(0, read("/f"));
        awaitReceived(a, FileRequest.OpCase.READ, 2);
        layout.set(on(b));
        a.close(); // the stream ends with the server
        gate.countDown();
        assertEquals("content of f on b", text(waiting.get(10, TimeUnit.SECONDS)));
    }

    @Test
    void aReadThatIsNotAnsweredInTimeIsSentAgainOnANewStream() throws Exception {
        start(true, new VolumeClient.Timing(1_000, 20_000, 50, 200, 1_000));
        assertEquals("content of f on a", text(client.call(0, read("/f"))));
        CountDownLatch gate = new CountDownLatch(1);
        a.gate = gate;
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        a.held = r -> r.getOpCase() == FileRequest.OpCase.READ && once.compareAndSet(false, true);
        long t0 = System.nanoTime();
        FileReply r = client.call(0, read("/f")); // the first attempt hangs; the expiry gives up on it
        gate.countDown();
        assertEquals("content of f on a", text(r));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 900, ms + " ms");
        assertEquals(2, a.streamsOpened.get());
    }

    @Test
    void aServerWithoutStreamsIsAskedWithUnaryCalls() throws Exception {
        start(false, VolumeClient.Timing.DEFAULT);
        for (int i = 0; i < 3; i++) {
            assertEquals("content of f on a", text(client.call(0, read("/f"))));
        }
        assertEquals(3, a.count(FileRequest.OpCase.READ));
        assertEquals(0, a.streamsOpened.get());
        assertTrue(a.received.stream().allMatch(r -> r.getTag() == 0));
    }

    @Test
    void mutationsGoOnTheStreamButLargeWritesAreUnaryCalls() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        assertEquals(0, client.call(0, FileRequest.newBuilder().setCreate(
                io.braid.proto.file.Create.newBuilder().setPath("/m").setMode(0100644))).getErrno());
        byte[] small = new byte[4096];
        byte[] large = new byte[VolumeClient.IN_PLACE_BYTES];
        java.util.Arrays.fill(small, (byte) 's');
        java.util.Arrays.fill(large, (byte) 'L');
        for (byte[] data : List.of(small, large)) {
            FileReply r = client.call(0, FileRequest.newBuilder().setWrite(io.braid.proto.file.Write.newBuilder()
                    .setPath("/m").setOffset(data == small ? 0 : 4096).setData(com.google.protobuf.ByteString.copyFrom(data))));
            assertEquals(0, r.getErrno(), r.getMessage());
        }
        List<FileRequest> got = a.received.stream().filter(r -> r.getOpCase() != FileRequest.OpCase.OPEN).toList();
        assertEquals(List.of(FileRequest.OpCase.CREATE, FileRequest.OpCase.WRITE, FileRequest.OpCase.WRITE),
                got.stream().map(FileRequest::getOpCase).toList());
        assertTrue(got.get(0).getTag() > 0 && got.get(1).getTag() > 0, "create and the small write on the stream");
        assertEquals(0, got.get(2).getTag(), "the large write as a unary call");
        assertTrue(got.stream().allMatch(r -> r.getId() > 0), "every mutation has its request id");
        byte[] onBrick = Files.readAllBytes(a.bricks.get(0).resolve("m"));
        assertEquals(4096 + large.length, onBrick.length);
        assertEquals('s', onBrick[0]);
        assertEquals('L', onBrick[onBrick.length - 1]);
    }

    @Test
    void aMutationOnAStreamThatEndsIsAppliedOnceOnTheNextPrimary() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        assertEquals("content of f on a", text(client.call(0, read("/f"))));
        CountDownLatch gate = new CountDownLatch(1);
        a.gate = gate;
        a.held = r -> r.getOpCase() == FileRequest.OpCase.MKDIR;
        CompletableFuture<FileReply> mkdir = client.callAsync(0, FileRequest.newBuilder().setMkdir(
                io.braid.proto.file.Mkdir.newBuilder().setPath("/dir").setMode(040755)));
        awaitReceived(a, FileRequest.OpCase.MKDIR, 1);
        layout.set(on(b));
        a.close();
        gate.countDown();
        FileReply r = mkdir.get(10, TimeUnit.SECONDS);
        assertEquals(0, r.getErrno(), r.getMessage());
        assertTrue(Files.isDirectory(b.bricks.get(0).resolve("dir")));
        FileRequest first = a.received.stream().filter(q -> q.getOpCase() == FileRequest.OpCase.MKDIR).findFirst().orElseThrow();
        FileRequest again = b.received.stream().filter(q -> q.getOpCase() == FileRequest.OpCase.MKDIR).findFirst().orElseThrow();
        assertEquals(first.getId(), again.getId(), "the same request id, so a primary that applied it answers from its first result");
        assertEquals(first.getClient(), again.getClient());
    }

    @Test
    void theReplyCarriesTheFileBytes() throws Exception {
        start(true, VolumeClient.Timing.DEFAULT);
        byte[] data = new byte[256 << 10];
        new java.util.Random(7).nextBytes(data);
        Files.write(a.bricks.get(0).resolve("big"), data);
        FileReply r = client.call(0, FileRequest.newBuilder()
                .setRead(Read.newBuilder().setPath("/big").setOffset(4096).setSize(128 << 10)));
        assertEquals(0, r.getErrno(), r.getMessage());
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 4096, 4096 + (128 << 10)), r.getData().toByteArray());
    }

    @Test
    void aServerThatWasUnreachableIsReachedOnceItListens() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = free.getLocalPort();
        }
        String address = "127.0.0.1:" + port;
        FileRequest get = FileRequest.newBuilder().setVolume("web")
                .setGetattr(Getattr.newBuilder().setPath("/")).build();
        try (ServerChannels channels = new ServerChannels(); CallStreams streams = new CallStreams(channels)) {
            for (int i = 0; i < 5; i++) { // nothing listens: each stream ends, some while it is being made
                var e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> streams.call(address, get, 5_000).get(10, TimeUnit.SECONDS));
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, io.grpc.Status.fromThrowable(e.getCause()).getCode());
            }
            a = new FakeFileServer(tmp.resolve("a"), "web", 1, layout, port);
            a.streams = true;
            layout.set(FakeFileServer.layoutOf("web", 1, a.address));
            FileReply r = null;
            for (int i = 0; i < 50 && r == null; i++) { // the channel's reconnect may take a try or two
                try {
                    r = streams.call(address, get, 5_000).get(10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    Thread.sleep(100);
                }
            }
            assertTrue(r != null, "no stream to the server once it listened");
            assertEquals(0, r.getErrno(), r.getMessage());
            assertEquals(1, a.streamsOpened.get());
        }
    }
}
