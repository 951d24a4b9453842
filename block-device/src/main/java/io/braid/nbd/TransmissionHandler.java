package io.braid.nbd;

import static io.braid.nbd.NbdProtocol.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection: parses pipelined requests, hands each to the export
 * at once, and writes each simple reply as soon as its future completes, so replies may leave out
 * of order (the client matches them by cookie).
 *
 * <p>Everything here runs on the channel's event loop; a future completing on another thread hops
 * back to it once, to write the reply. While the connection has as many requests or payload bytes
 * in flight as {@link NbdLimits} allows, or its outbound buffer is over the high watermark, parsing
 * stops and autoRead is turned off; the bytes already read wait in {@code buffered} until a reply
 * makes room. A WRITE's payload is copied, as it arrives, into a pooled buffer of its own; the
 * export sees it as a ByteBuffer and the buffer is released when the export's future completes.
 *
 * <p>Protocol breaches end the connection: a wrong request magic after the replies in flight are
 * written, a WRITE longer than the maximum payload at once (its payload cannot be skipped safely).
 * Every other bad request gets its error reply and the connection goes on.
 */
final class TransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(TransmissionHandler.class);

    private final BlockExport export;
    private final long size;
    private final NbdLimits limits;
    private final String who;
    private ChannelHandlerContext ctx;

    /** Bytes read from the socket and not parsed yet (null when there are none). */
    private ByteBuf buffered;
    /** The WRITE whose payload is arriving, and how many payload bytes are still to come. */
    private NbdRequest receiving;
    private int payloadRemaining;

    private int inFlight;
    private long inFlightBytes;
    private boolean parsing;
    private boolean paused;
    /** Set by DISC or a framing error: read nothing more, close once the replies in flight are written. */
    private boolean closing;
    private boolean closeScheduled;

    TransmissionHandler(BlockExport export, long size, NbdLimits limits, String who) {
        this.export = export;
        this.size = size;
        this.limits = limits;
        this.who = who;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in) || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        buffered = buffered == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), buffered, in);
        parse();
    }

    /** Parses and starts every complete request in {@code buffered}, until it runs out or the connection is full. */
    private void parse() {
        if (parsing) return; // a request completed inline while we were starting it; the outer loop goes on
        parsing = true;
        try {
            while (buffered != null && !closing) {
                if (receiving != null) {
                    if (!receivePayload()) break;
                } else if (atCapacity()) {
                    pause();
                    break;
                } else if (buffered.readableBytes() >= REQUEST_HEADER_LENGTH) {
                    readRequest();
                } else {
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: unexpected failure while parsing requests; closing the connection", who, e);
            closing = true;
            ctx.close();
        } finally {
            parsing = false;
            if (buffered != null) {
                if (closing || !buffered.isReadable()) {
                    buffered.release();
                    buffered = null;
                } else {
                    buffered.discardSomeReadBytes();
                }
            }
        }
    }

    private void readRequest() {
        int magic = buffered.readInt();
        if (magic != REQUEST_MAGIC) {
            LOG.info("{}: wrong request magic 0x{}; closing the connection", who, Integer.toHexString(magic));
            closeWhenIdle();
            return;
        }
        int flags = buffered.readUnsignedShort();
        int type = buffered.readUnsignedShort();
        long cookie = buffered.readLong();
        long offset = buffered.readLong();
        long length = buffered.readUnsignedInt();
        if (type == CMD_DISC) {
            LOG.debug("{}: client disconnects", who);
            closeWhenIdle();
            return;
        }
        if (type == CMD_WRITE && length > MAX_PAYLOAD) {
            LOG.info("{}: WRITE of {} bytes is over the {}-byte maximum payload; closing the connection",
                    who, length, MAX_PAYLOAD);
            closing = true;
            ctx.close();
            return;
        }
        NbdRequest request = new NbdRequest(type, flags, cookie, offset, length, size);
        if (request.error != 0) LOG.debug("{}: {} flags 0x{} rejected with errno {}", who, request,
                Integer.toHexString(flags), request.error);
        inFlight++;
        inFlightBytes += request.cost;
        if (type == CMD_WRITE) {
            // The payload follows the header; a rejected WRITE's payload is skipped to stay in step.
            if (request.error == 0 && length > 0) request.payload = ctx.alloc().directBuffer((int) length);
            receiving = request;
            payloadRemaining = (int) length;
        } else {
            execute(request);
        }
    }

    /** Moves what has arrived of the current WRITE's payload; true once it is complete (and started). */
    private boolean receivePayload() {
        int n = Math.min(payloadRemaining, buffered.readableBytes());
        if (receiving.payload != null) {
            receiving.payload.writeBytes(buffered, n);
        } else {
            buffered.skipBytes(n);
        }
        payloadRemaining -= n;
        if (payloadRemaining > 0) return false;
        NbdRequest request = receiving;
        receiving = null;
        execute(request);
        return true;
    }

    private void execute(NbdRequest request) {
        if (request.error != 0) {
            finish(request, request.error, null);
            return;
        }
        if (request.length == 0 && request.type != CMD_FLUSH) {
            finish(request, 0, null); // nothing to do; the spec leaves zero-length requests to the server
            return;
        }
        CompletableFuture<?> future;
        try {
            future = switch (request.type) {
                case CMD_READ -> export.read(request.offset, (int) request.length);
                case CMD_WRITE -> export.write(request.offset, request.payload.nioBuffer(), request.fua());
                case CMD_FLUSH -> export.flush();
                case CMD_TRIM -> export.trim(request.offset, request.length, request.fua());
                case CMD_WRITE_ZEROES -> export.writeZeroes(request.offset, request.length, request.fua(),
                        request.noHole());
                default -> throw new IllegalStateException("unchecked command " + request.type);
            };
            if (future == null) throw new IllegalStateException("export returned no future");
        } catch (RuntimeException e) {
            future = CompletableFuture.failedFuture(e);
        }
        future.whenComplete((result, failure) -> completed(request, result, failure));
    }

    /** Runs wherever the export completes the future; the reply is written on the event loop. */
    private void completed(NbdRequest request, Object result, Throwable failure) {
        if (ctx.executor().inEventLoop()) {
            finish(request, errno(request, failure), result);
            return;
        }
        try {
            ctx.executor().execute(() -> finish(request, errno(request, failure), result));
        } catch (RejectedExecutionException e) {
            request.releasePayload(); // the server is shutting down; nobody will read the reply
        }
    }

    /** Answers one request: the simple reply (with data for a successful READ), then room for more requests. */
    private void finish(NbdRequest request, int errno, Object result) {
        inFlight--;
        inFlightBytes -= request.cost;
        request.releasePayload();
        if (ctx.channel().isActive()) writeReply(request, errno, result);
        if (closing) {
            if (inFlight == 0) closeAfterFlush();
        } else {
            resumeIfRoom();
        }
    }

    private void writeReply(NbdRequest request, int errno, Object result) {
        ByteBuf data = null;
        if (errno == 0 && request.type == CMD_READ && request.length > 0) {
            ByteBuffer bytes = (ByteBuffer) result;
            if (bytes == null || bytes.remaining() != request.length) {
                LOG.warn("{}: export returned {} bytes for {}", who, bytes == null ? "no" : bytes.remaining(), request);
                errno = NbdError.EIO;
            } else {
                data = Unpooled.wrappedBuffer(bytes);
            }
        }
        ByteBuf header = ctx.alloc().ioBuffer(SIMPLE_REPLY_LENGTH);
        header.writeInt(SIMPLE_REPLY_MAGIC).writeInt(errno).writeLong(request.cookie);
        if (data == null) {
            ctx.writeAndFlush(header, ctx.voidPromise());
        } else {
            ctx.write(header, ctx.voidPromise());
            ctx.writeAndFlush(data, ctx.voidPromise());
        }
    }

    /** The NBD errno for a failed future: NbdError's own (if the spec knows it), EIO for anything else. */
    private int errno(NbdRequest request, Throwable failure) {
        if (failure == null) return 0;
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof NbdError error) {
            LOG.debug("{}: {} failed: errno {} ({})", who, request, error.errno(), error.getMessage());
            return isSpecErrno(error.errno()) ? error.errno() : NbdError.EIO;
        }
        LOG.warn("{}: {} failed: {}", who, request, cause.toString());
        LOG.debug("{}: {} failure", who, request, cause);
        return NbdError.EIO;
    }

    private static boolean isSpecErrno(int errno) {
        return switch (errno) {
            case NbdError.EPERM, NbdError.EIO, NbdError.ENOMEM, NbdError.EINVAL, NbdError.ENOSPC, NbdError.EOVERFLOW,
                    NbdError.ENOTSUP, NbdError.ESHUTDOWN -> true;
            default -> false;
        };
    }

    private boolean atCapacity() {
        return inFlight >= limits.maxInFlightRequests() || inFlightBytes >= limits.maxInFlightBytes()
                || !ctx.channel().isWritable();
    }

    private void pause() {
        if (!paused) {
            paused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void resumeIfRoom() {
        if (!paused || atCapacity()) return;
        paused = false;
        parse();
        if (!paused && !closing) ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (!closing) resumeIfRoom();
        ctx.fireChannelWritabilityChanged();
    }

    /** DISC or a broken request stream: read nothing more; close once every reply in flight is written. */
    private void closeWhenIdle() {
        closing = true;
        ctx.channel().config().setAutoRead(false);
        if (inFlight == 0) closeAfterFlush();
    }

    private void closeAfterFlush() {
        if (closeScheduled) return;
        closeScheduled = true;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        LOG.debug("{}: disconnected with {} requests in flight", who, inFlight);
        closing = true;
        releaseBuffers();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseBuffers();
    }

    /** Frees what this connection holds itself; requests in the export free their payload when they complete. */
    private void releaseBuffers() {
        if (buffered != null) {
            buffered.release();
            buffered = null;
        }
        if (receiving != null) {
            receiving.releasePayload();
            receiving = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.debug("{}: connection error: {}", who, cause.toString());
        } else {
            LOG.warn("{}: unexpected error; closing the connection", who, cause);
        }
        closing = true;
        ctx.close();
    }
}
