package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A raw-socket NBD client for tests: every field is written by hand, so a test can send anything,
 * well-formed or not, and read exactly what the server answers.
 */
final class NbdTestClient implements Closeable {
    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    record Reply(int error, long cookie, byte[] data) {
    }

    private final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    private NbdTestClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
    }

    /** Connects and reads the greeting, sending nothing. */
    static NbdTestClient connect(int port) throws IOException {
        NbdTestClient c = new NbdTestClient(port);
        assertEquals(NBDMAGIC, c.in.readLong(), "NBDMAGIC");
        assertEquals(IHAVEOPT, c.in.readLong(), "IHAVEOPT");
        assertEquals(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, c.in.readUnsignedShort(), "handshake flags");
        return c;
    }

    /** Connects and answers the greeting with FIXED_NEWSTYLE and NO_ZEROES: ready for options. */
    static NbdTestClient negotiating(int port) throws IOException {
        NbdTestClient c = connect(port);
        c.out.writeInt(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
        return c;
    }

    /** Connects and enters transmission on the named export with NBD_OPT_GO. */
    static NbdTestClient opened(int port, String export) throws IOException {
        NbdTestClient c = negotiating(port);
        c.go(export);
        return c;
    }

    // ---- handshake ----

    void sendOption(int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        assertEquals(OPTION_REPLY_MAGIC, in.readLong(), "option reply magic");
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** Sends an option and reads its replies up to the final one (ACK or an error), which is last. */
    List<OptionReply> option(int option, byte[] data) throws IOException {
        sendOption(option, data);
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply r = readOptionReply();
            assertEquals(option, r.option(), "reply names the option");
            replies.add(r);
            if (r.type() != REP_INFO && r.type() != REP_SERVER) return replies;
        }
    }

    static byte[] infoData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int info : infos) b.putShort((short) info);
        return b.array();
    }

    /** NBD_OPT_GO; returns the export size from NBD_INFO_EXPORT. */
    long go(String export) throws IOException {
        List<OptionReply> replies = option(OPT_GO, infoData(export));
        OptionReply last = replies.get(replies.size() - 1);
        assertEquals(REP_ACK, last.type(), () -> "GO " + export + " failed: " + last.text());
        for (OptionReply r : replies) {
            ByteBuffer d = ByteBuffer.wrap(r.data());
            if (r.type() == REP_INFO && d.getShort() == INFO_EXPORT) {
                long size = d.getLong();
                assertEquals(TRANSMISSION_FLAGS, d.getShort() & 0xffff, "transmission flags");
                return size;
            }
        }
        throw new AssertionError("no NBD_INFO_EXPORT before ACK");
    }

    // ---- transmission ----

    void request(int flags, int type, long cookie, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) out.write(payload);
        out.flush();
    }

    /** Reads one simple reply; dataLength bytes follow it when it reports success. */
    Reply readReply(int dataLength) throws IOException {
        assertEquals(SIMPLE_REPLY_MAGIC, in.readInt(), "simple reply magic");
        int error = in.readInt();
        long cookie = in.readLong();
        byte[] data = new byte[error == 0 ? dataLength : 0];
        in.readFully(data);
        return new Reply(error, cookie, data);
    }

    byte[] read(long offset, int length) throws IOException {
        request(0, CMD_READ, 1, offset, length, null);
        Reply r = readReply(length);
        assertEquals(0, r.error(), "read error");
        assertEquals(1, r.cookie());
        return r.data();
    }

    /** Sends one command (payload for WRITE) and returns the reply's error. */
    int command(int flags, int type, long offset, long length, byte[] payload) throws IOException {
        request(flags, type, 7, offset, length, payload);
        Reply r = readReply(0);
        assertEquals(7, r.cookie());
        return r.error();
    }

    int write(long offset, byte[] data, int flags) throws IOException {
        return command(flags, CMD_WRITE, offset, data.length, data);
    }

    /** Writes raw bytes, ignoring a server that has already closed the connection. */
    void sendQuietly(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            // the server hung up part-way: what the test wants to see next
        }
    }

    /** True once the server has closed the connection: EOF (or a reset) within the socket timeout. */
    boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) return true;
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (EOFException e) {
            return true;
        } catch (IOException e) {
            return true; // connection reset
        }
    }

    /** Shuts the sending half, as a client dying mid-request would. */
    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
