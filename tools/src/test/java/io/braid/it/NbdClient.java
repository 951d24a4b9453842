package io.braid.it;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A small NBD client, written from doc/proto.md of NetworkBlockDevice/nbd: fixed-newstyle
 * handshake with NBD_OPT_GO, then one request at a time with simple replies. The tests use it
 * where they need to know exactly which requests were acknowledged, and to speak raw protocol.
 */
final class NbdClient implements AutoCloseable {
    static final int PORT = 10809;

    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454F5054L;
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;

    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 2;

    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_ABORT = 2;
    static final int OPT_LIST = 3;
    static final int OPT_INFO = 6;
    static final int OPT_GO = 7;

    static final int REP_ACK = 1;
    static final int REP_SERVER = 2;
    static final int REP_INFO = 3;
    static final int REP_ERR_UNSUP = 0x80000001;
    static final int INFO_EXPORT = 0;

    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_WRITE_ZEROES = 6;
    static final int CMD_FLAG_FUA = 1;

    static final int TFLAG_SEND_FLUSH = 1 << 2;
    static final int TFLAG_SEND_FUA = 1 << 3;
    static final int TFLAG_SEND_TRIM = 1 << 5;
    static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;
    static final int TFLAG_CAN_MULTI_CONN = 1 << 8;

    static final int EIO = 5;
    static final int EINVAL = 22;

    /** A request the server answered with a non-zero error. */
    static final class NbdError extends IOException {
        final int errno;

        NbdError(String what, int errno) {
            super(what + " failed with NBD error " + errno);
            this.errno = errno;
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final String where;
    private long size;
    private int transmissionFlags;
    private long cookies;

    private NbdClient(Socket socket, String where) throws IOException {
        this.socket = socket;
        this.where = where;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
    }

    static NbdClient connect(String host, String export) throws IOException {
        return connect(host, PORT, export, 60_000);
    }

    /** Connects, handshakes with NBD_OPT_GO; every read on the socket is bounded by {@code timeoutMs}. */
    static NbdClient connect(String host, int port, String export, int timeoutMs) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(host, port), 10_000);
            s.setSoTimeout(timeoutMs);
            s.setTcpNoDelay(true);
            NbdClient c = new NbdClient(s, "nbd://" + host + ":" + port + "/" + export);
            c.go(export);
            return c;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Reads the server's greeting and answers with fixed-newstyle, no zeroes; returns the handshake flags. */
    static int greet(DataInputStream in, DataOutputStream out) throws IOException {
        long magic = in.readLong();
        if (magic != NBDMAGIC) throw new IOException("bad greeting magic 0x" + Long.toHexString(magic));
        long opt = in.readLong();
        if (opt != IHAVEOPT) throw new IOException("not a newstyle server: 0x" + Long.toHexString(opt));
        int flags = in.readUnsignedShort();
        if ((flags & FLAG_FIXED_NEWSTYLE) == 0) throw new IOException("server is not fixed-newstyle");
        out.writeInt(FLAG_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES));
        out.flush();
        return flags;
    }

    static void sendOption(DataOutputStream out, int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    /** NBD_OPT_GO / NBD_OPT_INFO data: name, then no information requests. */
    static byte[] goData(String export) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + name.length + 2);
        b.putInt(name.length).put(name).putShort((short) 0);
        return b.array();
    }

    /** One option reply: its type and data. */
    record OptionReply(int option, int type, byte[] data) {
        boolean isError() {
            return (type & 0x80000000) != 0;
        }
    }

    static OptionReply readOptionReply(DataInputStream in) throws IOException {
        long magic = in.readLong();
        if (magic != OPTION_REPLY_MAGIC) throw new IOException("bad option reply magic 0x" + Long.toHexString(magic));
        int option = in.readInt();
        int type = in.readInt();
        int len = in.readInt();
        if (len < 0 || len > (1 << 20)) throw new IOException("option reply too long: " + Integer.toUnsignedString(len));
        byte[] data = new byte[len];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    private void go(String export) throws IOException {
        greet(in, out);
        sendOption(out, OPT_GO, goData(export));
        boolean sized = false;
        while (true) {
            OptionReply r = readOptionReply(in);
            if (r.option() != OPT_GO) throw new IOException("reply to option " + r.option() + " while waiting for GO");
            if (r.isError()) {
                throw new IOException("NBD_OPT_GO refused with 0x" + Integer.toHexString(r.type()) + ": "
                        + new String(r.data(), StandardCharsets.UTF_8));
            }
            if (r.type() == REP_INFO && r.data().length >= 2) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
                if (b.getShort() == INFO_EXPORT && r.data().length >= 12) {
                    size = b.getLong();
                    transmissionFlags = b.getShort() & 0xffff;
                    sized = true;
                }
            } else if (r.type() == REP_ACK) {
                break;
            }
        }
        if (!sized) throw new IOException("server did not send NBD_INFO_EXPORT");
    }

    long size() {
        return size;
    }

    int transmissionFlags() {
        return transmissionFlags;
    }

    String where() {
        return where;
    }

    /** Sends one request and waits for its simple reply; returns the error (0 on success), with the data of a READ. */
    private synchronized int request(int type, int flags, long offset, int length, byte[] payload, byte[] readInto)
            throws IOException {
        long cookie = ++cookies;
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt(length);
        if (payload != null) out.write(payload);
        out.flush();
        int magic = in.readInt();
        if (magic != SIMPLE_REPLY_MAGIC) throw new IOException(where + ": bad reply magic 0x" + Integer.toHexString(magic));
        int error = in.readInt();
        long got = in.readLong();
        if (got != cookie) throw new IOException(where + ": reply for cookie " + got + ", expected " + cookie);
        if (error == 0 && readInto != null) in.readFully(readInto);
        return error;
    }

    /** Sends a READ without waiting for its reply (pipelining); the cookie is the caller's. */
    synchronized void sendRead(long cookie, long offset, int length) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(CMD_READ);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt(length);
        out.flush();
    }

    /** One simple reply to a pipelined READ of {@code length} bytes: data is null when errno is not 0. */
    record Reply(long cookie, int errno, byte[] data) {}

    synchronized Reply readReply(int length) throws IOException {
        int magic = in.readInt();
        if (magic != SIMPLE_REPLY_MAGIC) throw new IOException(where + ": bad reply magic 0x" + Integer.toHexString(magic));
        int error = in.readInt();
        long cookie = in.readLong();
        byte[] data = null;
        if (error == 0) {
            data = new byte[length];
            in.readFully(data);
        }
        return new Reply(cookie, error, data);
    }

    int writeErrno(long offset, byte[] data, boolean fua) throws IOException {
        return request(CMD_WRITE, fua ? CMD_FLAG_FUA : 0, offset, data.length, data, null);
    }

    void write(long offset, byte[] data) throws IOException {
        int e = writeErrno(offset, data, false);
        if (e != 0) throw new NbdError("WRITE " + offset + "+" + data.length + " on " + where, e);
    }

    byte[] read(long offset, int length) throws IOException {
        byte[] b = new byte[length];
        int e = request(CMD_READ, 0, offset, length, null, b);
        if (e != 0) throw new NbdError("READ " + offset + "+" + length + " on " + where, e);
        return b;
    }

    int readErrno(long offset, int length) throws IOException {
        return request(CMD_READ, 0, offset, length, null, new byte[length]);
    }

    void flush() throws IOException {
        int e = request(CMD_FLUSH, 0, 0, 0, null, null);
        if (e != 0) throw new NbdError("FLUSH on " + where, e);
    }

    int commandErrno(int type, long offset, int length) throws IOException {
        return request(type, 0, offset, length, null, null);
    }

    /** NBD_CMD_DISC, then close. */
    void disconnect() {
        try {
            synchronized (this) {
                out.writeInt(REQUEST_MAGIC);
                out.writeShort(0);
                out.writeShort(CMD_DISC);
                out.writeLong(++cookies);
                out.writeLong(0);
                out.writeInt(0);
                out.flush();
            }
        } catch (IOException e) {
            // closing anyway
        }
        close();
    }

    /** True when the server closed the connection (EOF) within the socket timeout. */
    boolean serverClosed() {
        try {
            return in.read() < 0;
        } catch (EOFException e) {
            return true;
        } catch (IOException e) {
            return e.getMessage() != null && e.getMessage().contains("reset");
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
