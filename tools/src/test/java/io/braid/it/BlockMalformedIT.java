package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Raw sockets against a real braidd's NBD port: broken magics, truncated packets, out-of-range
 * and oversize requests, unknown commands and options, and a megabyte of noise in either phase.
 * Each gets the spec's error or a clean disconnect; meanwhile a well-behaved client keeps
 * writing and reading correctly, and afterwards the daemon is alive and serves new clients.
 * The attacks go to the primary's server and to a server without a brick (which forwards).
 */
@Timeout(600)
@ExtendWith(KeepLogsOnFailure.class)
class BlockMalformedIT {
    static final String VOL = "mal";
    static final long SIZE = 64L << 20;

    static BraidCluster c;
    static Blocks b;

    @BeforeAll
    static void up() throws Exception {
        c = Blocks.startPool(BlockMalformedIT.class, 3);
        b = new Blocks(c);
        b.createStarted(VOL, "64M", 0, 1);
    }

    @AfterAll
    static void down() {
        if (c != null) c.close();
    }

    /** One raw connection; every read bounded by 10 s. */
    static final class Raw implements AutoCloseable {
        final Socket s = new Socket();
        final DataInputStream in;
        final DataOutputStream out;
        final String what;

        Raw(String host, String what) throws IOException {
            this.what = what;
            s.connect(new InetSocketAddress(host, NbdClient.PORT), 10_000);
            s.setSoTimeout(10_000);
            in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            out = new DataOutputStream(s.getOutputStream());
        }

        /** Reads the greeting and sends the client flags. */
        Raw greeted() throws IOException {
            NbdClient.greet(in, out);
            return this;
        }

        /** Handshake with GO for the volume; returns the export size. */
        Raw go() throws IOException {
            greeted();
            NbdClient.sendOption(out, NbdClient.OPT_GO, NbdClient.goData(VOL));
            while (true) {
                NbdClient.OptionReply r = NbdClient.readOptionReply(in);
                assertFalse(r.isError(), what + ": GO refused: 0x" + Integer.toHexString(r.type()));
                if (r.type() == NbdClient.REP_ACK) return this;
            }
        }

        /** Writes bytes; false when the server already closed the connection under us. */
        boolean send(byte[] bytes) {
            try {
                out.write(bytes);
                out.flush();
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        void request(int flags, int type, long cookie, long offset, int length) throws IOException {
            ByteBuffer h = ByteBuffer.allocate(28);
            h.putInt(NbdClient.REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie)
                    .putLong(offset).putInt(length);
            out.write(h.array());
            out.flush();
        }

        /** The error of the simple reply to cookie (reading a READ's data when it succeeded with {@code dataLength}). */
        int reply(long cookie, int dataLength) throws IOException {
            int magic = in.readInt();
            assertEquals(NbdClient.SIMPLE_REPLY_MAGIC, magic, what + ": reply magic");
            int error = in.readInt();
            assertEquals(cookie, in.readLong(), what + ": reply cookie");
            if (error == 0 && dataLength > 0) in.readFully(new byte[dataLength]);
            return error;
        }

        /** Either an error reply for the cookie, or the server closes the connection: -1 then. */
        int replyOrClose(long cookie) throws IOException {
            try {
                return reply(cookie, 0);
            } catch (EOFException e) {
                return -1;
            } catch (IOException e) {
                if (e instanceof SocketTimeoutException) throw e;
                return -1; // reset
            }
        }

        /** The server closes the connection (reading and dropping whatever it still sends) within 10 s. */
        void assertClosed() {
            byte[] buf = new byte[65536];
            try {
                while (in.read(buf) >= 0) {
                    // drain replies that were in flight
                }
            } catch (SocketTimeoutException e) {
                fail(what + ": the server neither answered nor closed the connection within 10 s");
            } catch (IOException e) {
                // reset: closed too
            }
        }

        /** A valid READ still works on this connection. */
        void assertStillServes() throws IOException {
            request(0, NbdClient.CMD_READ, 4242, 0, 4096);
            assertEquals(0, reply(4242, 4096), what + ": a valid READ after the bad request");
        }

        @Override
        public void close() {
            try {
                s.close();
            } catch (IOException e) {
                // gone
            }
        }
    }

    /** Keeps writing and reading back 64 KiB blocks through one connection until stopped. */
    static final class GoodClient extends Thread {
        final AtomicLong rounds = new AtomicLong();
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        private final int server;
        private volatile boolean stop;

        GoodClient(int server) {
            super("good-nbd-client");
            setDaemon(true);
            this.server = server;
        }

        @Override
        public void run() {
            SplittableRandom r = new SplittableRandom(server);
            try (NbdClient nbd = b.connect(server, VOL)) {
                while (!stop) {
                    long off = (16L << 20) + r.nextLong(256) * 65536; // [16 MiB, 32 MiB): no attack touches it
                    byte[] data = Blocks.randomBytes(r, 65536);
                    nbd.write(off, data);
                    if (!Arrays.equals(data, nbd.read(off, data.length))) errors.add("read back differs at " + off);
                    rounds.incrementAndGet();
                }
            } catch (IOException | RuntimeException e) {
                errors.add(e.toString());
            }
        }

        void finish() throws InterruptedException {
            stop = true;
            join(60_000);
        }
    }

    private static byte[] noise(long seed, int n) {
        return Blocks.randomBytes(new SplittableRandom(seed), n);
    }

    private static byte[] optionHeader(long magic, int option, int length) {
        return ByteBuffer.allocate(16).putLong(magic).putInt(option).putInt(length).array();
    }

    @Test
    void malformedTrafficNeverHurtsTheDaemonOrOtherClients() throws Exception {
        int p = b.awaitPrimary(VOL, 30_000);
        GoodClient good = new GoodClient(p);
        good.start();
        try {
            for (int target : new int[] {p, 2}) {
                attack(target);
                assertTrue(c.server(target).isRunning(), "braidd on server " + target + " is alive");
            }
        } finally {
            good.finish();
        }
        System.out.println("[BlockMalformedIT] the well-behaved client did " + good.rounds.get() + " write+read rounds meanwhile");
        assertTrue(good.errors.isEmpty(), "the well-behaved client failed: " + good.errors);
        assertTrue(good.rounds.get() > 10, "the well-behaved client made progress: " + good.rounds.get());

        for (int i = 0; i < 3; i++) {
            assertTrue(c.server(i).isRunning(), "braidd " + i + " alive");
            Exec.Result info = Exec.run(60, "nbdinfo", "--json", b.nbdUri(i, VOL));
            assertTrue(info.ok() && info.out().contains("\"export-size\": " + SIZE), info::toString);
            Exec.Result q = Exec.run(60, "qemu-io", "-f", "raw", b.nbdUri(i, VOL),
                    "-c", "write -P 0x3" + i + " " + (i * 4) + "M 1M", "-c", "read -P 0x3" + i + " " + (i * 4) + "M 1M");
            assertTrue(q.ok() && !q.out().contains("Pattern verification failed") && q.out().contains("read 1048576/1048576"),
                    q::toString);
            String log = Files.readString(c.server(i).output());
            assertFalse(log.contains("OutOfMemoryError"), "server " + i + " ran out of memory");
            assertFalse(log.contains("LEAK:"), "server " + i + " leaked Netty buffers");
        }
        b.assertVerifyClean(VOL, SIZE);
    }

    private static void attack(int t) throws Exception {
        String host = c.host(t);
        String at = " (server " + t + ")";

        // ---- handshake phase ----
        try (Raw r = new Raw(host, "1 MiB of noise instead of a handshake" + at)) {
            r.send(noise(1, 1 << 20));
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "1 MiB of noise after the greeting" + at)) {
            r.greeted();
            r.send(noise(2, 1 << 20));
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "unknown client flags" + at)) {
            NbdClient.greet(r.in, new DataOutputStream(java.io.OutputStream.nullOutputStream()));
            r.send(ByteBuffer.allocate(4).putInt(0xfff0).array());
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "wrong option magic" + at)) {
            r.greeted();
            r.send(optionHeader(0x1122334455667788L, NbdClient.OPT_GO, 0));
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "truncated option header" + at)) {
            r.greeted();
            r.send(Arrays.copyOf(optionHeader(NbdClient.IHAVEOPT, NbdClient.OPT_GO, 20), 10));
            // the server waits for the rest; we hang up
        }
        try (Raw r = new Raw(host, "option data shorter than announced" + at)) {
            r.greeted();
            r.send(optionHeader(NbdClient.IHAVEOPT, NbdClient.OPT_GO, 100));
            r.send(new byte[7]);
        }
        try (Raw r = new Raw(host, "unknown option, then GO" + at)) {
            r.greeted();
            NbdClient.sendOption(r.out, 0x7777, new byte[] {1, 2, 3});
            NbdClient.OptionReply rep = NbdClient.readOptionReply(r.in);
            assertEquals(0x7777, rep.option(), r.what);
            assertEquals(NbdClient.REP_ERR_UNSUP, rep.type(), r.what);
            NbdClient.sendOption(r.out, NbdClient.OPT_GO, NbdClient.goData(VOL));
            NbdClient.OptionReply next;
            do {
                next = NbdClient.readOptionReply(r.in);
                assertFalse(next.isError(), r.what);
            } while (next.type() != NbdClient.REP_ACK);
            r.assertStillServes();
        }
        try (Raw r = new Raw(host, "GO of an unknown export, then of the right one" + at)) {
            r.greeted();
            NbdClient.sendOption(r.out, NbdClient.OPT_GO, NbdClient.goData("no-such-volume"));
            NbdClient.OptionReply rep = NbdClient.readOptionReply(r.in);
            assertTrue(rep.isError(), r.what + ": 0x" + Integer.toHexString(rep.type()));
            NbdClient.sendOption(r.out, NbdClient.OPT_GO, NbdClient.goData(VOL));
            NbdClient.OptionReply next;
            do {
                next = NbdClient.readOptionReply(r.in);
                assertFalse(next.isError(), r.what);
            } while (next.type() != NbdClient.REP_ACK);
            r.assertStillServes();
        }
        try (Raw r = new Raw(host, "GO whose name length exceeds its data" + at)) {
            r.greeted();
            byte[] bad = ByteBuffer.allocate(10).putInt(1000).put("mal".getBytes(StandardCharsets.UTF_8)).putShort((short) 0).array();
            NbdClient.sendOption(r.out, NbdClient.OPT_GO, bad);
            NbdClient.OptionReply rep = NbdClient.readOptionReply(r.in);
            assertTrue(rep.isError(), r.what + ": 0x" + Integer.toHexString(rep.type()));
            NbdClient.sendOption(r.out, NbdClient.OPT_ABORT, new byte[0]);
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "1 MiB of option data" + at)) {
            r.greeted();
            r.send(optionHeader(NbdClient.IHAVEOPT, NbdClient.OPT_INFO, 1 << 20));
            boolean sent = r.send(noise(3, 1 << 20));
            if (sent) {
                // an error reply (too big) and the haggling goes on, or a clean disconnect
                try {
                    NbdClient.OptionReply rep = NbdClient.readOptionReply(r.in);
                    assertTrue(rep.isError(), r.what + ": 0x" + Integer.toHexString(rep.type()));
                    NbdClient.sendOption(r.out, NbdClient.OPT_LIST, new byte[0]);
                    NbdClient.OptionReply list = NbdClient.readOptionReply(r.in);
                    assertEquals(NbdClient.REP_SERVER, list.type(), r.what);
                } catch (EOFException e) {
                    // closed: allowed
                }
            }
        }
        try (Raw r = new Raw(host, "LIST, INFO, ABORT" + at)) {
            r.greeted();
            NbdClient.sendOption(r.out, NbdClient.OPT_LIST, new byte[0]);
            List<String> names = new ArrayList<>();
            NbdClient.OptionReply rep;
            while ((rep = NbdClient.readOptionReply(r.in)).type() == NbdClient.REP_SERVER) {
                ByteBuffer d = ByteBuffer.wrap(rep.data());
                byte[] name = new byte[d.getInt()];
                d.get(name);
                names.add(new String(name, StandardCharsets.UTF_8));
            }
            assertEquals(NbdClient.REP_ACK, rep.type(), r.what);
            assertTrue(names.contains(VOL), r.what + ": " + names);
            NbdClient.sendOption(r.out, NbdClient.OPT_INFO, NbdClient.goData(VOL));
            long size = -1;
            while ((rep = NbdClient.readOptionReply(r.in)).type() == NbdClient.REP_INFO) {
                ByteBuffer d = ByteBuffer.wrap(rep.data());
                if (d.getShort() == NbdClient.INFO_EXPORT) size = d.getLong();
            }
            assertEquals(NbdClient.REP_ACK, rep.type(), r.what);
            assertEquals(SIZE, size, r.what);
            NbdClient.sendOption(r.out, NbdClient.OPT_ABORT, new byte[0]);
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "EXPORT_NAME of an unknown export" + at)) {
            r.greeted();
            NbdClient.sendOption(r.out, NbdClient.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "EXPORT_NAME" + at)) {
            r.greeted(); // we asked for no zeroes, the server offered it
            NbdClient.sendOption(r.out, NbdClient.OPT_EXPORT_NAME, VOL.getBytes(StandardCharsets.UTF_8));
            assertEquals(SIZE, r.in.readLong(), r.what);
            r.in.readUnsignedShort();
            r.assertStillServes();
        }

        // ---- transmission phase ----
        try (Raw r = new Raw(host, "wrong request magic" + at)) {
            r.go();
            r.send(ByteBuffer.allocate(28).putInt(0xdeadbeef).array());
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "truncated request header" + at)) {
            r.go();
            r.send(Arrays.copyOf(ByteBuffer.allocate(28).putInt(NbdClient.REQUEST_MAGIC).array(), 13));
        }
        try (Raw r = new Raw(host, "WRITE with half its payload, then hang up" + at)) {
            r.go();
            r.request(0, NbdClient.CMD_WRITE, 1, 40L << 20, 1 << 20);
            r.send(noise(4, 512 << 10));
        }
        try (Raw r = new Raw(host, "out-of-range and overflowing requests" + at)) {
            r.go();
            long cookie = 100;
            r.request(0, NbdClient.CMD_READ, ++cookie, SIZE, 4096);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 4096), r.what + ": READ at the end");
            r.request(0, NbdClient.CMD_READ, ++cookie, SIZE - 4096, 8192);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 8192), r.what + ": READ across the end");
            r.request(0, NbdClient.CMD_READ, ++cookie, Long.MAX_VALUE - 100, 4096);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 4096), r.what + ": READ near 2^63");
            r.request(0, NbdClient.CMD_READ, ++cookie, -4096L, 4096);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 4096), r.what + ": READ at 2^64 - 4096");
            r.request(0, NbdClient.CMD_WRITE, ++cookie, SIZE - 2048, 4096);
            r.send(new byte[4096]);
            int we = r.reply(cookie, 0);
            assertTrue(we == 28 || we == NbdClient.EINVAL, r.what + ": WRITE across the end got " + we + " (ENOSPC or EINVAL)");
            r.request(0, NbdClient.CMD_TRIM, ++cookie, SIZE, 1 << 20);
            assertTrue(r.reply(cookie, 0) != 0, r.what + ": TRIM past the end");
            r.request(0, NbdClient.CMD_WRITE_ZEROES, ++cookie, Long.MAX_VALUE, 1 << 20);
            assertTrue(r.reply(cookie, 0) != 0, r.what + ": WRITE_ZEROES near 2^63");
            r.request(0, 0x55, ++cookie, 0, 4096);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 0), r.what + ": unknown command");
            r.request(0, 5, ++cookie, 0, 4096); // NBD_CMD_CACHE, not advertised
            assertTrue(r.reply(cookie, 0) != 0, r.what + ": CACHE without SEND_CACHE");
            r.request(0x8000, NbdClient.CMD_READ, ++cookie, 0, 4096);
            assertEquals(NbdClient.EINVAL, r.reply(cookie, 4096), r.what + ": unknown command flag");
            // nothing of the above changed the volume: the last block is still zeros
            r.request(0, NbdClient.CMD_READ, ++cookie, SIZE - 4096, 4096);
            assertEquals(0, r.in.readInt() == NbdClient.SIMPLE_REPLY_MAGIC ? r.in.readInt() : -1, r.what);
            assertEquals(cookie, r.in.readLong());
            byte[] last = new byte[4096];
            r.in.readFully(last);
            assertArrayEquals(new byte[4096], last, r.what + ": the last block");
            r.assertStillServes();
        }
        try (Raw r = new Raw(host, "READ over 32 MiB" + at)) {
            r.go();
            r.request(0, NbdClient.CMD_READ, 7, 0, 64 << 20);
            int e = r.replyOrClose(7);
            assertTrue(e != 0, r.what + ": answered success");
            if (e > 0) r.assertStillServes();
        }
        try (Raw r = new Raw(host, "WRITE header over 32 MiB" + at)) {
            r.go();
            r.request(0, NbdClient.CMD_WRITE, 8, 0, 48 << 20);
            int e = r.replyOrClose(8);
            assertTrue(e != 0, r.what + ": answered success");
        }
        try (Raw r = new Raw(host, "many pipelined requests, then DISC" + at)) {
            r.go();
            for (int i = 0; i < 200; i++) r.request(0, NbdClient.CMD_READ, 1000 + i, (long) i * 65536, 65536);
            boolean[] seen = new boolean[200];
            for (int i = 0; i < 200; i++) {
                assertEquals(NbdClient.SIMPLE_REPLY_MAGIC, r.in.readInt(), r.what);
                assertEquals(0, r.in.readInt(), r.what);
                long ck = r.in.readLong();
                assertTrue(ck >= 1000 && ck < 1200 && !seen[(int) (ck - 1000)], r.what + ": cookie " + ck);
                seen[(int) (ck - 1000)] = true;
                r.in.readFully(new byte[65536]);
            }
            r.request(0, NbdClient.CMD_DISC, 1, 0, 0);
            r.assertClosed();
        }
        try (Raw r = new Raw(host, "1 MiB of noise after GO" + at)) {
            r.go();
            r.send(noise(5, 1 << 20));
            r.assertClosed();
        }
        // a burst of connections that go away at once
        List<Raw> burst = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) burst.add(new Raw(host, "burst " + i + at));
        } finally {
            burst.forEach(Raw::close);
        }
    }
}
