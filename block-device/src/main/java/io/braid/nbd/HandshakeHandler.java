package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed-newstyle handshake of one connection: greeting, client flags, then option haggling
 * until NBD_OPT_GO or NBD_OPT_EXPORT_NAME picks an export. It then replaces itself with a
 * {@link TransmissionHandler} for that export; bytes the client already sent past the handshake
 * are handed on to it.
 *
 * <p>Anything that breaks the framing (wrong magic, unknown client flags, an unknown export with
 * EXPORT_NAME, which cannot answer an error) closes the connection. Options the server does not
 * know, or cannot parse, get an error reply and the haggling goes on, as the spec asks.
 */
final class HandshakeHandler extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(HandshakeHandler.class);
    private static final int OPTION_HEADER_LENGTH = 16;
    private static final int ZERO_PADDING = 124;

    private enum State { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, SKIP_OPTION, DONE }

    /** An export chosen by name, with the size it is served at for this whole connection. */
    private record Chosen(String name, BlockExport export, long size) {
    }

    private final BlockExports exports;
    private final NbdLimits limits;
    private final String who;
    private State state = State.CLIENT_FLAGS;
    private boolean noZeroes;
    private int option;
    private long optionLength;
    private long skipRemaining;
    private ScheduledFuture<?> timeout;

    HandshakeHandler(BlockExports exports, NbdLimits limits, String who) {
        this.exports = exports;
        this.limits = limits;
        this.who = who;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        LOG.debug("{}: connected", who);
        ByteBuf greeting = ctx.alloc().buffer(18);
        greeting.writeLong(NBDMAGIC).writeLong(IHAVEOPT).writeShort(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting, ctx.voidPromise());
        timeout = ctx.executor().schedule(() -> {
            if (state != State.DONE) disconnect(ctx, "handshake not finished after " + limits.handshakeTimeout());
        }, limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (timeout != null) timeout.cancel(false);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (true) {
            switch (state) {
                case CLIENT_FLAGS -> {
                    if (in.readableBytes() < 4) return;
                    int flags = in.readInt();
                    if ((flags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) != 0) {
                        disconnect(ctx, String.format("unknown client flags 0x%08x", flags));
                        return;
                    }
                    // A client without FLAG_C_FIXED_NEWSTYLE is served fixed newstyle anyway (the spec allows it).
                    noZeroes = (flags & FLAG_C_NO_ZEROES) != 0;
                    state = State.OPTION_HEADER;
                }
                case OPTION_HEADER -> {
                    if (in.readableBytes() < OPTION_HEADER_LENGTH) return;
                    long magic = in.readLong();
                    if (magic != IHAVEOPT) {
                        disconnect(ctx, String.format("wrong option magic 0x%016x", magic));
                        return;
                    }
                    option = in.readInt();
                    optionLength = in.readUnsignedInt();
                    if (optionLength <= limits.maxOptionLength()) {
                        state = State.OPTION_DATA;
                    } else if (option == OPT_EXPORT_NAME) {
                        disconnect(ctx, "EXPORT_NAME with " + optionLength + " bytes of data");
                        return;
                    } else {
                        skipRemaining = optionLength;
                        state = State.SKIP_OPTION;
                    }
                }
                case OPTION_DATA -> {
                    if (in.readableBytes() < optionLength) return;
                    ByteBuf data = in.readSlice((int) optionLength);
                    state = State.OPTION_HEADER;
                    handleOption(ctx, data);
                    if (state == State.DONE) return;
                    if (!ctx.channel().isWritable()) {
                        // Replies pile up unread: the client sends options without reading the answers.
                        disconnect(ctx, "client does not read its option replies");
                        return;
                    }
                }
                case SKIP_OPTION -> {
                    int n = (int) Math.min(skipRemaining, in.readableBytes());
                    in.skipBytes(n);
                    skipRemaining -= n;
                    if (skipRemaining > 0) return;
                    LOG.info("{}: {} with {} bytes of data, over the {}-byte limit", who, optionName(option),
                            optionLength, limits.maxOptionLength());
                    error(ctx, REP_ERR_TOO_BIG, "option data of " + optionLength + " bytes is too big");
                    ctx.flush();
                    state = State.OPTION_HEADER;
                }
                case DONE -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
            }
        }
    }

    private void handleOption(ChannelHandlerContext ctx, ByteBuf data) {
        switch (option) {
            case OPT_EXPORT_NAME -> exportName(ctx, data);
            case OPT_ABORT -> {
                // The spec asks to ignore any data sent with ABORT.
                LOG.debug("{}: client aborted the handshake", who);
                state = State.DONE;
                reply(ctx, REP_ACK, null);
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            case OPT_LIST -> list(ctx, data);
            case OPT_INFO, OPT_GO -> info(ctx, data);
            default -> {
                // STRUCTURED_REPLY, STARTTLS, meta contexts, extended headers and options unknown to us.
                LOG.debug("{}: {} is not supported", who, optionName(option));
                error(ctx, REP_ERR_UNSUP, optionName(option) + " is not supported");
            }
        }
        if (state != State.DONE) ctx.flush();
    }

    /** NBD_OPT_EXPORT_NAME: the whole data is the name; there is no way to answer an error but closing. */
    private void exportName(ChannelHandlerContext ctx, ByteBuf data) {
        String name = decodeString(data, data.readableBytes());
        Chosen chosen = name == null ? null : choose(name);
        if (chosen == null) {
            disconnect(ctx, "EXPORT_NAME of an unknown or invalid export " + printable(data));
            return;
        }
        ByteBuf reply = ctx.alloc().buffer(10 + (noZeroes ? 0 : ZERO_PADDING));
        reply.writeLong(chosen.size()).writeShort(TRANSMISSION_FLAGS);
        if (!noZeroes) reply.writeZero(ZERO_PADDING);
        ctx.write(reply, ctx.voidPromise());
        startTransmission(ctx, chosen);
    }

    private void list(ChannelHandlerContext ctx, ByteBuf data) {
        if (data.isReadable()) {
            error(ctx, REP_ERR_INVALID, "LIST takes no data");
            return;
        }
        List<String> names;
        try {
            names = exports.names();
        } catch (RuntimeException e) {
            LOG.warn("{}: listing exports failed: {}", who, e.toString());
            names = List.of();
        }
        for (String name : names == null ? List.<String>of() : names) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            byte[] details = description(name).getBytes(StandardCharsets.UTF_8);
            reply(ctx, REP_SERVER, buf -> buf.writeInt(bytes.length).writeBytes(bytes).writeBytes(details));
        }
        reply(ctx, REP_ACK, null);
    }

    /**
     * NBD_OPT_INFO and NBD_OPT_GO: name length, name, count of information requests, requests.
     * NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE are always sent; NAME and DESCRIPTION on request.
     */
    private void info(ChannelHandlerContext ctx, ByteBuf data) {
        if (data.readableBytes() < 6) {
            error(ctx, REP_ERR_INVALID, optionName(option) + " data is too short");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2) {
            error(ctx, REP_ERR_INVALID, "export name length is larger than the option data");
            return;
        }
        if (nameLength > MAX_STRING_LENGTH) {
            error(ctx, REP_ERR_TOO_BIG, "export name is longer than " + MAX_STRING_LENGTH + " bytes");
            return;
        }
        String name = decodeString(data, (int) nameLength);
        if (name == null) {
            error(ctx, REP_ERR_INVALID, "export name is not valid UTF-8 without NUL");
            return;
        }
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            error(ctx, REP_ERR_INVALID, "information request count does not match the option length");
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int type = data.readUnsignedShort();
            wantName |= type == INFO_NAME;
            wantDescription |= type == INFO_DESCRIPTION;
        }
        Chosen chosen = choose(name);
        if (chosen == null) {
            LOG.info("{}: {} of unknown export '{}'", who, optionName(option), name);
            error(ctx, REP_ERR_UNKNOWN, name.isEmpty()
                    ? "there is no default export: name one of the exports this server lists"
                    : "no export named '" + name + "'");
            return;
        }
        reply(ctx, REP_INFO, buf -> buf.writeShort(INFO_EXPORT).writeLong(chosen.size()).writeShort(TRANSMISSION_FLAGS));
        reply(ctx, REP_INFO, buf -> buf.writeShort(INFO_BLOCK_SIZE)
                .writeInt(MIN_BLOCK_SIZE).writeInt(PREFERRED_BLOCK_SIZE).writeInt(MAX_PAYLOAD));
        if (wantName) {
            byte[] bytes = chosen.name().getBytes(StandardCharsets.UTF_8);
            reply(ctx, REP_INFO, buf -> buf.writeShort(INFO_NAME).writeBytes(bytes));
        }
        String description = description(chosen.name());
        if (wantDescription && !description.isEmpty()) {
            byte[] bytes = description.getBytes(StandardCharsets.UTF_8);
            reply(ctx, REP_INFO, buf -> buf.writeShort(INFO_DESCRIPTION).writeBytes(bytes));
        }
        reply(ctx, REP_ACK, null);
        if (option == OPT_GO) startTransmission(ctx, chosen);
    }

    /**
     * The export a name stands for, or null. The empty name is the default export, which exists only
     * while the server has exactly one export.
     */
    private Chosen choose(String name) {
        try {
            String canonical = name;
            if (name.isEmpty()) {
                List<String> names = exports.names();
                if (names == null || names.size() != 1) return null;
                canonical = names.get(0);
            }
            BlockExport export = exports.lookup(canonical);
            if (export == null) return null;
            long size = export.size();
            if (size < 0) {
                LOG.warn("{}: export '{}' reports a negative size {}", who, canonical, size);
                return null;
            }
            return new Chosen(canonical, export, size);
        } catch (RuntimeException e) {
            LOG.warn("{}: looking up export '{}' failed: {}", who, name, e.toString());
            return null;
        }
    }

    private String description(String name) {
        try {
            String description = exports.description(name);
            return description == null ? "" : description;
        } catch (RuntimeException e) {
            return "";
        }
    }

    private void startTransmission(ChannelHandlerContext ctx, Chosen chosen) {
        state = State.DONE;
        ctx.flush();
        LOG.debug("{}: serving export '{}' of {} bytes", who, chosen.name(), chosen.size());
        String id = who + " " + chosen.name();
        ctx.pipeline().replace(this, "nbd-transmission",
                new TransmissionHandler(chosen.export(), chosen.size(), limits, id));
    }

    /** Writes one option reply (not flushed); body writes the reply data, or is null for none. */
    private void reply(ChannelHandlerContext ctx, int type, Consumer<ByteBuf> body) {
        ByteBuf buf = ctx.alloc().buffer();
        buf.writeLong(OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(0);
        if (body != null) body.accept(buf);
        buf.setInt(16, buf.readableBytes() - 20);
        ctx.write(buf, ctx.voidPromise());
    }

    /** An error reply, with a message for a human as its data. */
    private void error(ChannelHandlerContext ctx, int type, String message) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        reply(ctx, type, buf -> buf.writeBytes(bytes));
    }

    private void disconnect(ChannelHandlerContext ctx, String reason) {
        LOG.info("{}: {}; closing the connection", who, reason);
        state = State.DONE;
        ctx.close();
    }

    /** Reads length bytes as a strict UTF-8 string without NUL, or returns null (the bytes are consumed either way). */
    private static String decodeString(ByteBuf data, int length) {
        ByteBuffer bytes = data.nioBuffer(data.readerIndex(), length);
        data.skipBytes(length);
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
            return s.indexOf('\0') >= 0 ? null : s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** A name for log lines: at most 64 characters, unprintable ones escaped. */
    private static String printable(ByteBuf data) {
        StringBuilder sb = new StringBuilder("'");
        int end = data.writerIndex();
        for (int i = 0; i < Math.min(end, 64); i++) {
            int c = data.getUnsignedByte(i);
            if (c >= 0x20 && c < 0x7f) sb.append((char) c);
            else sb.append(String.format("\\x%02x", c));
        }
        return sb.append(end > 64 ? "...'" : "'").toString();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException || cause.getCause() instanceof IOException) {
            LOG.debug("{}: connection error during the handshake: {}", who, cause.toString());
        } else {
            LOG.warn("{}: handshake failed", who, cause);
        }
        state = State.DONE;
        ctx.close();
    }
}
