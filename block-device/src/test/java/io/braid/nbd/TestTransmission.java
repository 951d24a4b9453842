package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.nbd.NbdTestClient.Reply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Requests and replies of the transmission phase, with a raw-socket client. */
@Timeout(60)
class TestTransmission {
    private static final int SIZE = 1 << 20;

    private final MemoryExport disk = new MemoryExport(SIZE);
    private NbdServer server;

    @BeforeAll
    static void watchLeaks() {
        LeakWatcher.install();
    }

    @AfterAll
    static void noLeaks() throws InterruptedException {
        LeakWatcher.assertNoLeaks();
    }

    private int start(BlockExport export) throws IOException {
        return start(export, NbdLimits.DEFAULT);
    }

    private int start(BlockExport export, NbdLimits limits) throws IOException {
        server = new NbdServer("127.0.0.1", 0, new TestExports().add("disk", export), limits);
        server.start();
        return server.port();
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    @Test
    void writesReadBack() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            byte[] block = pattern(4096, 1);
            assertEquals(0, c.write(8192, block, 0));
            assertArrayEquals(block, c.read(8192, 4096));
            byte[] odd = pattern(5000, 2);
            assertEquals(0, c.write(3, odd, 0));
            assertArrayEquals(odd, c.read(3, 5000));
            assertArrayEquals(odd, disk.bytes(3, 5000));
            byte[] last = pattern(100, 3);
            assertEquals(0, c.write(SIZE - 100, last, 0));
            assertArrayEquals(last, c.read(SIZE - 100, 100));
        }
    }

    @Test
    void flushTrimAndZeroesReachTheExportWithTheirFlags() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            assertEquals(0, c.write(0, pattern(512, 4), CMD_FLAG_FUA));
            assertEquals(0, c.write(512, pattern(512, 5), 0));
            assertEquals(0, c.command(0, CMD_FLUSH, 0, 0, null));
            assertEquals(0, c.command(CMD_FLAG_FUA, CMD_TRIM, 0, 100, null));
            assertArrayEquals(new byte[100], c.read(0, 100));
            assertEquals(0, c.command(CMD_FLAG_FUA | CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, 512, 256, null));
            assertEquals(0, c.command(0, CMD_WRITE_ZEROES, 768, 10, null));
            assertArrayEquals(new byte[266], c.read(512, 266));
            // FUA is accepted on every command once advertised, even where it means nothing.
            assertEquals(0, c.command(CMD_FLAG_FUA, CMD_FLUSH, 0, 0, null));
            c.request(CMD_FLAG_FUA, CMD_READ, 9, 0, 4, null);
            assertEquals(0, c.readReply(4).error());
            assertEquals(List.of(
                    "write 0 512 fua=true", "write 512 512 fua=false", "flush", "trim 0 100 fua=true", "read 0 100",
                    "zero 512 256 fua=true noHole=true", "zero 768 10 fua=false noHole=false", "read 512 266",
                    "flush", "read 0 4"), disk.calls);
        }
    }

    @Test
    void outOfRangeRequestsFailWithoutReachingTheExport() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            long[][] ranges = {{SIZE - 10, 20}, {SIZE + 1, 0}, {SIZE, 1}, {Long.MAX_VALUE - 10, 100}, {-4096, 4096}};
            for (long[] r : ranges) {
                assertEquals(NbdError.EINVAL, c.command(0, CMD_READ, r[0], r[1], null), Arrays.toString(r));
                assertEquals(NbdError.EINVAL, c.command(0, CMD_TRIM, r[0], r[1], null), Arrays.toString(r));
                assertEquals(NbdError.ENOSPC, c.command(0, CMD_WRITE_ZEROES, r[0], r[1], null), Arrays.toString(r));
                // The refused WRITE's payload is still read, so the next request is understood.
                assertEquals(NbdError.ENOSPC, c.write(r[0], new byte[(int) r[1]], 0), Arrays.toString(r));
            }
            assertEquals(NbdError.EINVAL, c.command(0, CMD_TRIM, 0, 0xffffffffL, null));
            assertEquals(List.of(), disk.calls);
            assertArrayEquals(new byte[8], c.read(SIZE - 8, 8));
        }
    }

    @Test
    void lengthsOverTheMaximumPayload() throws IOException {
        int port = start(new MemoryExport(64 << 20));
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            assertEquals(NbdError.EINVAL, c.command(0, CMD_READ, 0, MAX_PAYLOAD + 1L, null));
            // The largest payload works both ways.
            byte[] big = pattern(MAX_PAYLOAD, 6);
            assertEquals(0, c.write(1, big, 0));
            assertArrayEquals(big, c.read(1, MAX_PAYLOAD));
            // Without payload, lengths over the maximum are fine.
            assertEquals(0, c.command(0, CMD_WRITE_ZEROES, 0, 40 << 20, null));
            assertArrayEquals(new byte[16], c.read((40 << 20) - 8, 16));
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            // A WRITE whose payload cannot be taken in: the connection ends.
            c.request(0, CMD_WRITE, 1, 0, MAX_PAYLOAD + 1L, null);
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void zeroLengthRequestsSucceedAndDoNothing() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            assertEquals(0, c.write(SIZE, new byte[0], 0));
            assertArrayEquals(new byte[0], c.read(0, 0));
            assertEquals(0, c.command(0, CMD_TRIM, 5, 0, null));
            assertEquals(List.of(), disk.calls);
        }
    }

    @Test
    void unknownCommandsAndFlagsAreInvalid() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            for (int type : new int[] {5, 7, 8, 9, 0x7fff, 0xffff}) {
                assertEquals(NbdError.EINVAL, c.command(0, type, 0, 512, null), "command " + type);
            }
            assertEquals(NbdError.EINVAL, c.command(CMD_FLAG_NO_HOLE, CMD_READ, 0, 4, null));
            assertEquals(NbdError.EINVAL, c.command(1 << 2, CMD_READ, 0, 4, null)); // DF needs structured replies
            assertEquals(NbdError.EINVAL, c.command(1 << 4, CMD_WRITE_ZEROES, 0, 4, null)); // FAST_ZERO not offered
            assertEquals(NbdError.EINVAL, c.command(1 << 15, CMD_FLUSH, 0, 0, null));
            assertEquals(NbdError.EINVAL, c.write(0, pattern(64, 7), CMD_FLAG_NO_HOLE));
            assertEquals(List.of(), disk.calls);
            assertEquals(0, c.write(0, pattern(64, 8), 0));
            assertArrayEquals(pattern(64, 8), c.read(0, 64));
        }
    }

    @Test
    void exportFailuresBecomeErrnos() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(disk), "disk")) {
            disk.failure = new NbdError(NbdError.ENOSPC, "brick full");
            assertEquals(NbdError.ENOSPC, c.write(0, new byte[10], 0));
            disk.failure = new NbdError(NbdError.EPERM, "not the primary");
            assertEquals(NbdError.EPERM, c.command(0, CMD_FLUSH, 0, 0, null));
            disk.failure = new NbdError(4242, "not an NBD errno");
            assertEquals(NbdError.EIO, c.command(0, CMD_TRIM, 0, 1, null));
            disk.failure = new IllegalStateException("disk on fire");
            assertEquals(NbdError.EIO, c.command(0, CMD_READ, 0, 10, null), "a failed READ sends no data");
            disk.failure = null;
            assertEquals(0, c.write(0, new byte[] {5}, 0));
            assertArrayEquals(new byte[] {5}, c.read(0, 1));
        }
    }

    @Test
    void exportsThatThrowOrMisbehaveGiveEio() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(start(new BrokenExport()), "disk")) {
            assertEquals(NbdError.EIO, c.command(0, CMD_READ, 0, 1, null));
            assertEquals(NbdError.EIO, c.command(0, CMD_READ, 0, 2, null));
            assertEquals(NbdError.EIO, c.command(0, CMD_READ, 0, 3, null), "a short read is an error, never short data");
            assertEquals(NbdError.EIO, c.write(0, new byte[4], 0));
        }
    }

    @Test
    void pipelinedRepliesGoOutOfOrder() throws Exception {
        HeldExport held = new HeldExport(disk);
        try (NbdTestClient c = NbdTestClient.opened(start(held), "disk")) {
            for (int i = 1; i <= 8; i++) c.request(0, CMD_WRITE, i, i * 4096L, 4096, pattern(4096, i));
            held.awaitHeld(8);
            held.releaseReversed();
            for (int i = 8; i >= 1; i--) {
                Reply r = c.readReply(0);
                assertEquals(0, r.error());
                assertEquals(i, r.cookie(), "the newest write completed first and was answered first");
            }
            for (int i = 1; i <= 8; i++) c.request(0, CMD_READ, 100 + i, i * 4096L, 4096, null);
            held.awaitHeld(8);
            held.releaseReversed();
            for (int i = 8; i >= 1; i--) {
                Reply r = c.readReply(4096);
                assertEquals(100 + i, r.cookie());
                assertArrayEquals(pattern(4096, i), r.data(), "data belongs to its cookie");
            }
        }
    }

    @Test
    void requestsInFlightAreCapped() throws Exception {
        HeldExport held = new HeldExport(disk);
        try (NbdTestClient c = NbdTestClient.opened(start(held), "disk")) {
            int total = 200;
            Future<?> sent = inBackground(() -> {
                for (int i = 0; i < total; i++) c.request(0, CMD_READ, i, i * 4096L, 4096, null);
                return null;
            });
            held.awaitHeld(64);
            Thread.sleep(200);
            assertEquals(64, held.heldCount(), "the server stops taking requests at 64 in flight");
            List<Long> cookies = drain(c, held, total, 4096);
            sent.get();
            assertEquals(64, held.maxHeld(), "at most 64 requests in the export at once");
            assertEquals(total, cookies.stream().distinct().count(), "reading resumed after each pause");
        }
    }

    @Test
    void payloadBytesInFlightAreCapped() throws Exception {
        HeldExport held = new HeldExport(disk);
        NbdLimits limits = new NbdLimits(64, 64 << 10, 64 << 10, Duration.ofSeconds(30));
        try (NbdTestClient c = NbdTestClient.opened(start(held, limits), "disk")) {
            Future<?> sent = inBackground(() -> {
                for (int i = 0; i < 20; i++) c.request(0, CMD_WRITE, i, i * 16384L, 16384, pattern(16384, i));
                return null;
            });
            held.awaitHeld(4);
            Thread.sleep(200);
            assertEquals(4, held.heldCount(), "the server stops taking requests at 64 KiB in flight");
            drain(c, held, 20, 0);
            sent.get();
            assertEquals(4, held.maxHeld(), "64 KiB of 16 KiB writes");
            for (int i = 0; i < 20; i++) assertArrayEquals(pattern(16384, i), disk.bytes(i * 16384, 16384));
        }
    }

    @Test
    void discAnswersWhatIsInFlightThenCloses() throws Exception {
        HeldExport held = new HeldExport(disk);
        try (NbdTestClient c = NbdTestClient.opened(start(held), "disk")) {
            for (int i = 1; i <= 3; i++) c.request(CMD_FLAG_FUA, CMD_WRITE, i, 0, 512, pattern(512, i));
            c.request(0, CMD_DISC, 4, 0, 0, null);
            held.awaitHeld(3);
            Thread.sleep(100);
            assertEquals(0, c.in.available(), "no reply, and no close, while the writes are in flight");
            held.releaseReversed();
            List<Long> cookies = new ArrayList<>();
            for (int i = 0; i < 3; i++) cookies.add(c.readReply(0).cookie());
            assertEquals(List.of(3L, 2L, 1L), cookies);
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.opened(server.port(), "disk")) {
            c.request(0, CMD_DISC, 1, 0, 0, null);
            assertTrue(c.closedByServer(), "DISC with nothing in flight closes at once");
        }
    }

    @Test
    void manyConnectionsAtOnce() throws Exception {
        int port = start(disk);
        List<NbdTestClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) clients.add(NbdTestClient.opened(port, "disk"));
            for (int i = 0; i < clients.size(); i++) assertEquals(0, clients.get(i).write(i * 512L, pattern(512, i), 0));
            for (int i = 0; i < clients.size(); i++) {
                assertArrayEquals(pattern(512, i), clients.get((i + 1) % clients.size()).read(i * 512L, 512),
                        "what one connection wrote, another reads");
            }
        } finally {
            for (NbdTestClient c : clients) c.close();
        }
    }

    /** Releases held requests batch by batch until count replies are read; returns their cookies. */
    private static List<Long> drain(NbdTestClient c, HeldExport held, int count, int dataLength) throws Exception {
        List<Long> cookies = new ArrayList<>();
        while (cookies.size() < count) {
            held.awaitHeld(1);
            Thread.sleep(100); // let the server take in all it will
            int batch = held.heldCount();
            held.releaseReversed();
            for (int i = 0; i < batch; i++) {
                Reply r = c.readReply(dataLength);
                assertEquals(0, r.error());
                cookies.add(r.cookie());
            }
        }
        assertFalse(cookies.size() > count);
        return cookies;
    }

    /** Sends from another thread, so a client that writes more than the socket buffers hold cannot block the test. */
    private static Future<?> inBackground(Callable<Void> sender) {
        FutureTask<Void> task = new FutureTask<>(sender);
        Thread t = new Thread(task, "test-sender");
        t.setDaemon(true);
        t.start();
        return task;
    }

    /** READ answers 1 byte too few, throws, or returns no future; WRITE fails with a plain exception. */
    private static final class BrokenExport implements BlockExport {
        @Override
        public long size() {
            return SIZE;
        }

        @Override
        public CompletableFuture<ByteBuffer> read(long offset, int length) {
            if (length == 1) throw new IllegalArgumentException("thrown, not returned");
            if (length == 2) return null;
            return CompletableFuture.completedFuture(ByteBuffer.allocate(length - 1));
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
            return CompletableFuture.supplyAsync(() -> {
                throw new IllegalStateException("failed off the event loop");
            });
        }

        @Override
        public CompletableFuture<Void> flush() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
            return CompletableFuture.completedFuture(null);
        }
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
