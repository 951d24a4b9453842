package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.nbd.NbdTestClient.OptionReply;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Option haggling of the fixed-newstyle handshake, with a raw-socket client. */
@Timeout(60)
class TestHandshake {
    private static final int SIZE = 1 << 20;

    private MemoryExport disk;
    private NbdServer server;

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
        server = new NbdServer("127.0.0.1", 0, new TestExports()
                .add("disk", disk).describe("disk", "a test disk")
                .add("small", new MemoryExport(8192)));
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void listNamesEveryExport() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            List<OptionReply> replies = c.option(OPT_LIST, new byte[0]);
            assertEquals(3, replies.size());
            assertEquals(REP_ACK, replies.get(2).type());
            ByteBuffer first = ByteBuffer.wrap(replies.get(0).data());
            assertEquals(REP_SERVER, replies.get(0).type());
            byte[] name = new byte[first.getInt()];
            first.get(name);
            assertEquals("disk", new String(name, StandardCharsets.UTF_8));
            byte[] details = new byte[first.remaining()];
            first.get(details);
            assertEquals("a test disk", new String(details, StandardCharsets.UTF_8));
            assertEquals("small", new String(replies.get(1).data(), 4, 5, StandardCharsets.UTF_8));

            // LIST takes no data; the connection stays usable after the error.
            List<OptionReply> invalid = c.option(OPT_LIST, new byte[] {1});
            assertEquals(List.of(REP_ERR_INVALID), invalid.stream().map(OptionReply::type).toList());
            assertEquals(SIZE, c.go("disk"));
        }
    }

    @Test
    void infoDescribesTheExportAndLeavesHaggling() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            List<OptionReply> replies = c.option(OPT_INFO, NbdTestClient.infoData("disk",
                    INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE, 0x7777));
            assertEquals(REP_ACK, replies.get(replies.size() - 1).type());
            Map<Integer, ByteBuffer> infos = infos(replies);
            assertEquals(4, infos.size(), "EXPORT, NAME, DESCRIPTION and BLOCK_SIZE; unknown requests ignored");
            ByteBuffer export = infos.get(INFO_EXPORT);
            assertEquals(SIZE, export.getLong());
            assertEquals(TRANSMISSION_FLAGS, export.getShort() & 0xffff);
            assertEquals(FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES
                    | FLAG_CAN_MULTI_CONN, TRANSMISSION_FLAGS);
            ByteBuffer blockSize = infos.get(INFO_BLOCK_SIZE);
            assertEquals(1, blockSize.getInt());
            assertEquals(4096, blockSize.getInt());
            assertEquals(32 << 20, blockSize.getInt());
            assertEquals("disk", text(infos.get(INFO_NAME)));
            assertEquals("a test disk", text(infos.get(INFO_DESCRIPTION)));

            // INFO does not leave option haggling: GO still works on this connection.
            assertEquals(SIZE, c.go("disk"));
            assertEquals(0, c.write(0, new byte[] {1, 2, 3}, 0));
            assertArrayEquals(new byte[] {1, 2, 3}, c.read(0, 3));
        }
    }

    @Test
    void unknownExportIsAnErrorThatKeepsTheConnection() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            for (int option : new int[] {OPT_INFO, OPT_GO}) {
                List<OptionReply> replies = c.option(option, NbdTestClient.infoData("nope"));
                assertEquals(1, replies.size());
                assertEquals(REP_ERR_UNKNOWN, replies.get(0).type());
                assertTrue(replies.get(0).text().contains("nope"), replies.get(0).text());
            }
            // Two exports: the empty name names no default export.
            assertEquals(REP_ERR_UNKNOWN, c.option(OPT_GO, NbdTestClient.infoData("")).get(0).type());
            assertEquals(8192, c.go("small"));
        }
    }

    @Test
    void emptyNameIsTheOnlyExport() throws IOException {
        try (NbdServer single = new NbdServer("127.0.0.1", 0, new TestExports().add("only", new MemoryExport(4096)))) {
            single.start();
            try (NbdTestClient c = NbdTestClient.negotiating(single.port())) {
                Map<Integer, ByteBuffer> infos = infos(c.option(OPT_INFO, NbdTestClient.infoData("", INFO_NAME)));
                assertEquals("only", text(infos.get(INFO_NAME)), "the canonical name of the default export");
                assertEquals(4096, c.go(""));
            }
        }
    }

    @Test
    void malformedInfoIsInvalid() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            byte[] good = NbdTestClient.infoData("disk", INFO_NAME);
            byte[] nameTooLong = good.clone();
            nameTooLong[3] = 100;
            byte[] countTooHigh = good.clone();
            countTooHigh[good.length - 3] = 2;
            byte[] badUtf8 = NbdTestClient.infoData("d\u00e9");
            badUtf8[5] = (byte) 0xff;
            byte[] withNul = NbdTestClient.infoData("di\0k");
            for (byte[] data : new byte[][] {new byte[0], new byte[5], nameTooLong, countTooHigh, badUtf8, withNul}) {
                for (int option : new int[] {OPT_INFO, OPT_GO}) {
                    List<OptionReply> replies = c.option(option, data);
                    assertEquals(List.of(REP_ERR_INVALID), replies.stream().map(OptionReply::type).toList());
                }
            }
            String huge = "x".repeat(MAX_STRING_LENGTH + 1);
            assertEquals(REP_ERR_TOO_BIG, c.option(OPT_GO, NbdTestClient.infoData(huge)).get(0).type());
            assertEquals(SIZE, c.go("disk"));
        }
    }

    @Test
    void unknownOptionsAreUnsupported() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            int[] options = {OPT_STRUCTURED_REPLY, OPT_STARTTLS, 4, 9, 10, 11, 0, 0x7fffffff, 0xffffffff};
            for (int option : options) {
                List<OptionReply> replies = c.option(option, option == 10 ? new byte[40] : new byte[0]);
                assertEquals(List.of(REP_ERR_UNSUP), replies.stream().map(OptionReply::type).toList(), "option " + option);
            }
            assertEquals(SIZE, c.go("disk"));
        }
    }

    @Test
    void oversizeOptionIsSkippedAndRefused() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            List<OptionReply> replies = c.option(OPT_LIST, new byte[100 << 10]);
            assertEquals(List.of(REP_ERR_TOO_BIG), replies.stream().map(OptionReply::type).toList());
            assertEquals(SIZE, c.go("disk"));
        }
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            c.sendOption(OPT_EXPORT_NAME, new byte[100 << 10]); // EXPORT_NAME cannot answer an error
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void exportNameWithAndWithoutZeroes() throws IOException {
        try (NbdTestClient c = NbdTestClient.connect(server.port())) {
            c.out.writeInt(FLAG_C_FIXED_NEWSTYLE);
            c.sendOption(OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            assertEquals(SIZE, c.in.readLong());
            assertEquals(TRANSMISSION_FLAGS, c.in.readUnsignedShort());
            byte[] zeroes = new byte[124];
            c.in.readFully(zeroes);
            assertArrayEquals(new byte[124], zeroes);
            assertEquals(0, c.write(10, new byte[] {9}, 0));
            assertArrayEquals(new byte[] {9}, c.read(10, 1));
        }
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            c.sendOption(OPT_EXPORT_NAME, "small".getBytes(StandardCharsets.UTF_8));
            assertEquals(8192, c.in.readLong());
            assertEquals(TRANSMISSION_FLAGS, c.in.readUnsignedShort());
            assertArrayEquals(new byte[4], c.read(0, 4), "the reply follows the flags directly");
        }
        // A client that does not even set FIXED_NEWSTYLE is served too.
        try (NbdTestClient c = NbdTestClient.connect(server.port())) {
            c.out.writeInt(0);
            c.sendOption(OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            c.in.readFully(new byte[8 + 2 + 124]);
            assertArrayEquals(new byte[1], c.read(0, 1));
        }
    }

    @Test
    void exportNameOfUnknownExportCloses() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            c.sendOption(OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer());
        }
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            c.sendOption(OPT_EXPORT_NAME, new byte[0]); // no default export with two exports
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void abortIsAcknowledgedThenClosed() throws IOException {
        try (NbdTestClient c = NbdTestClient.negotiating(server.port())) {
            List<OptionReply> replies = c.option(OPT_ABORT, new byte[3]); // data is ignored
            assertEquals(List.of(REP_ACK), replies.stream().map(OptionReply::type).toList());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void unknownClientFlagsClose() throws IOException {
        try (NbdTestClient c = NbdTestClient.connect(server.port())) {
            c.out.writeInt(FLAG_C_FIXED_NEWSTYLE | 1 << 2);
            c.out.flush();
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void slowHandshakeIsClosedButTransmissionIsNot() throws Exception {
        NbdLimits limits = new NbdLimits(64, 128 << 20, 64 << 10, Duration.ofSeconds(1));
        try (NbdServer quick = new NbdServer("127.0.0.1", 0, new TestExports().add("disk", disk), limits)) {
            quick.start();
            try (NbdTestClient idle = NbdTestClient.negotiating(quick.port());
                 NbdTestClient busy = NbdTestClient.opened(quick.port(), "disk")) {
                idle.out.flush();
                assertTrue(idle.closedByServer());
                Thread.sleep(1200);
                assertArrayEquals(new byte[2], busy.read(100, 2), "the timeout ends with the handshake");
            }
        }
    }

    @Test
    void takenPortFailsWithAClearMessage() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            NbdServer second = new NbdServer("127.0.0.1", taken.getLocalPort(), new TestExports());
            IOException e = assertThrows(IOException.class, second::start);
            assertTrue(e.getMessage().contains("127.0.0.1:" + taken.getLocalPort()), e.getMessage());
            second.close();
        }
        IOException wildcard = assertThrows(IOException.class, () -> new NbdServer("0.0.0.0", 0, new TestExports()).start());
        assertTrue(wildcard.getMessage().contains("wildcard"), wildcard.getMessage());
    }

    @Test
    void closeEndsEveryConnection() throws IOException {
        try (NbdTestClient negotiating = NbdTestClient.negotiating(server.port());
             NbdTestClient transmitting = NbdTestClient.opened(server.port(), "disk")) {
            negotiating.out.flush();
            server.close();
            assertTrue(negotiating.closedByServer());
            assertTrue(transmitting.closedByServer());
        }
    }

    private static Map<Integer, ByteBuffer> infos(List<OptionReply> replies) {
        Map<Integer, ByteBuffer> infos = new HashMap<>();
        for (OptionReply r : replies) {
            if (r.type() != REP_INFO) continue;
            ByteBuffer data = ByteBuffer.wrap(r.data());
            int type = data.getShort() & 0xffff;
            assertTrue(infos.put(type, data.slice()) == null, "information type " + type + " sent twice");
        }
        return infos;
    }

    private static String text(ByteBuffer data) {
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
