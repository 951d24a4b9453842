package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;
import static io.braid.nbd.TestTransmission.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.nbd.NbdTestClient.OptionReply;
import io.braid.nbd.NbdTestClient.Reply;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Broken and hostile clients. Each test ends by checking that a fresh client is served, while a
 * client connected before it all began keeps doing I/O in the background the whole time.
 */
@Timeout(120)
class TestMalformedTraffic {
    private static final int SIZE = 1 << 20;
    private static final int SURVIVOR_AREA = SIZE / 2;

    private MemoryExport disk;
    private NbdServer server;
    private int port;
    private Thread survivor;
    private volatile boolean stopSurvivor;
    private final AtomicInteger survivorRounds = new AtomicInteger();
    private final AtomicReference<Throwable> survivorFailure = new AtomicReference<>();

    @BeforeAll
    static void watchLeaks() {
        LeakWatcher.install();
    }

    @AfterAll
    static void noLeaks() throws InterruptedException {
        LeakWatcher.assertNoLeaks();
    }

    @BeforeEach
    void start() throws IOException {
        disk = new MemoryExport(SIZE);
        server = new NbdServer("127.0.0.1", 0, new TestExports().add("disk", disk));
        server.start();
        port = server.port();
        NbdTestClient client = NbdTestClient.opened(port, "disk");
        survivor = new Thread(() -> {
            try (client) {
                for (int round = 0; !stopSurvivor; round++) {
                    byte[] data = pattern(4096, round);
                    long offset = SURVIVOR_AREA + (round % 64) * 4096L;
                    assertEquals(0, client.write(offset, data, round % 2 == 0 ? CMD_FLAG_FUA : 0));
                    assertArrayEquals(data, client.read(offset, 4096));
                    survivorRounds.incrementAndGet();
                }
            } catch (Throwable t) {
                survivorFailure.set(t);
            }
        }, "survivor");
        survivor.start();
    }

    @AfterEach
    void stop() throws Exception {
        try {
            assertFreshClientIsServed();
            int before = survivorRounds.get();
            long deadline = System.currentTimeMillis() + 10_000;
            while (survivorRounds.get() < before + 10 && survivorFailure.get() == null
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            stopSurvivor = true;
            survivor.join(10_000);
            assertNull(survivorFailure.get(), () -> "the connected client failed: " + survivorFailure.get());
            assertTrue(survivorRounds.get() >= before + 10, "the connected client kept working");
        } finally {
            server.close();
        }
    }

    private void assertFreshClientIsServed() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            byte[] data = pattern(1000, 99);
            assertEquals(0, c.write(12345, data, 0));
            assertArrayEquals(data, c.read(12345, 1000));
        }
    }

    @Test
    void wrongMagicsClose() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            c.out.writeLong(0x1122334455667788L); // not IHAVEOPT
            c.out.writeInt(OPT_LIST);
            c.out.writeInt(0);
            c.out.flush();
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            // A good READ and then a bad magic: the READ is answered before the connection ends.
            c.request(0, CMD_READ, 1, 0, 16, null);
            c.out.writeInt(0xdeadbeef);
            c.out.write(new byte[24]);
            c.out.flush();
            assertEquals(1, c.readReply(16).cookie());
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.request(0, CMD_WRITE, 1, 0, 8, new byte[8]);
            c.out.writeInt(SIMPLE_REPLY_MAGIC); // a reply is not a request
            c.out.write(new byte[24]);
            c.out.flush();
            assertEquals(0, c.readReply(0).error());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void truncatedPacketsAreCleanedUp() throws Exception {
        // Hang up at every point of the conversation.
        NbdTestClient.connect(port).close();
        try (NbdTestClient c = NbdTestClient.connect(port)) {
            c.sendQuietly(new byte[] {0, 0});
        }
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            c.out.writeLong(IHAVEOPT);
            c.sendQuietly(new byte[] {0, 0, 0});
        }
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            c.out.writeLong(IHAVEOPT);
            c.out.writeInt(OPT_GO);
            c.out.writeInt(100);
            c.sendQuietly(new byte[10]);
            c.shutdownOutput();
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.out.writeInt(REQUEST_MAGIC);
            c.sendQuietly(new byte[10]);
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.request(0, CMD_WRITE, 1, 0, 64 << 10, null);
            c.sendQuietly(new byte[1000]); // 1000 of the promised 64 KiB
            c.shutdownOutput();
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            for (int i = 0; i < 5; i++) c.request(0, CMD_READ, i, 0, 65536, null);
            // and leave without reading the replies
        }
        Thread.sleep(200);
    }

    @Test
    void outOfRangeAndOversizeRequestsKeepOrEndTheConnectionAsTheSpecSays() throws IOException {
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            assertEquals(NbdError.ENOSPC, c.write(SIZE - 1, new byte[2], 0));
            assertEquals(NbdError.EINVAL, c.command(0, CMD_READ, SIZE, 1, null));
            assertEquals(NbdError.EINVAL, c.command(0, CMD_READ, 0, MAX_PAYLOAD + 1L, null));
            assertEquals(NbdError.EINVAL, c.command(0, 77, 0, 0, null));
            assertArrayEquals(new byte[1], c.read(0, 1));
        }
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.request(0, CMD_WRITE, 1, 0, 0xffffffffL, null);
            c.sendQuietly(new byte[1 << 16]);
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void randomBytesAtEachStage() throws IOException {
        Random random = new Random(20240601);
        byte[] noise = new byte[1 << 20];

        // Instead of the client flags.
        random.nextBytes(noise);
        try (NbdTestClient c = NbdTestClient.connect(port)) {
            c.sendQuietly(noise);
            assertTrue(c.closedByServer());
        }
        // Instead of an option.
        random.nextBytes(noise);
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            c.sendQuietly(noise);
            assertTrue(c.closedByServer());
        }
        // As the data of an option: skipped, refused as too big, and the haggling goes on.
        random.nextBytes(noise);
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            for (int option : new int[] {OPT_GO, OPT_INFO, OPT_LIST, 12345}) {
                c.sendOption(option, noise);
                OptionReply r = c.readOptionReply();
                assertEquals(REP_ERR_TOO_BIG, r.type());
            }
            c.go("disk");
            assertArrayEquals(new byte[3], c.read(0, 3));
        }
        // Small random options: each gets an answer, none breaks the haggling.
        try (NbdTestClient c = NbdTestClient.negotiating(port)) {
            for (int i = 0; i < 500; i++) {
                byte[] data = new byte[random.nextInt(40)];
                random.nextBytes(data);
                int option = random.nextBoolean() ? OPT_INFO : random.nextInt(16);
                if (option == OPT_EXPORT_NAME || option == OPT_ABORT || option == OPT_GO) continue;
                List<OptionReply> replies = c.option(option, data);
                OptionReply last = replies.get(replies.size() - 1);
                assertTrue(last.type() == REP_ACK || last.type() < 0, "final reply " + last.type());
            }
            c.go("disk");
        }
        // Instead of requests.
        random.nextBytes(noise);
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.sendQuietly(noise);
            assertTrue(c.closedByServer());
        }
        // As the payload of a WRITE (which is fine), and then instead of the next request.
        random.nextBytes(noise);
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            c.request(0, CMD_WRITE, 42, 0, 4096, Arrays.copyOf(noise, 4096));
            assertEquals(42, c.readReply(0).cookie());
            assertArrayEquals(Arrays.copyOf(noise, 4096), disk.bytes(0, 4096));
            c.sendQuietly(Arrays.copyOfRange(noise, 4096, noise.length));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void requestsWithRandomFieldsGetErrorsNotDisconnects() throws IOException {
        Random random = new Random(7);
        Set<Integer> allowed = Set.of(0, NbdError.EINVAL, NbdError.ENOSPC);
        try (NbdTestClient c = NbdTestClient.opened(port, "disk")) {
            for (int batch = 0; batch < 20; batch++) {
                Map<Long, Integer> readLengths = new HashMap<>();
                for (int i = 0; i < 100; i++) {
                    long cookie = random.nextLong();
                    int type = random.nextInt(3) == 0 ? random.nextInt(1 << 16) : random.nextInt(10);
                    if (type == CMD_WRITE || type == CMD_DISC) type = CMD_READ;
                    int flags = random.nextBoolean() ? 0 : random.nextInt(1 << 16);
                    long offset = random.nextBoolean() ? random.nextInt(SURVIVOR_AREA) : random.nextLong();
                    long length = random.nextBoolean() ? random.nextInt(8192) : random.nextInt() & 0xffffffffL;
                    if (type == CMD_TRIM || type == CMD_WRITE_ZEROES) {
                        offset = Math.min(offset, SURVIVOR_AREA); // leave the survivor's area alone
                        length = Math.min(length, SURVIVOR_AREA - Math.max(offset, 0));
                    }
                    readLengths.put(cookie, type == CMD_READ ? (int) length : 0);
                    c.request(flags, type, cookie, offset, length, null);
                }
                for (int i = 0; i < 100; i++) {
                    Reply r = readReplyOfAny(c, readLengths);
                    assertTrue(allowed.contains(r.error()), "errno " + r.error());
                }
            }
            assertArrayEquals(disk.bytes(0, 10), c.read(0, 10));
        }
    }

    /** Reads one reply whose data length depends on its cookie (a successful READ carries data). */
    private static Reply readReplyOfAny(NbdTestClient c, Map<Long, Integer> readLengths) throws IOException {
        assertEquals(SIMPLE_REPLY_MAGIC, c.in.readInt());
        int error = c.in.readInt();
        long cookie = c.in.readLong();
        Integer length = readLengths.remove(cookie);
        assertTrue(length != null, "reply to a cookie never sent or answered twice");
        byte[] data = new byte[error == 0 ? length : 0];
        c.in.readFully(data);
        return new Reply(error, cookie, data);
    }
}
