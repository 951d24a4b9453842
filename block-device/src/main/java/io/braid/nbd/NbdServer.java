package io.braid.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link BlockExports} over the NBD protocol (fixed-newstyle handshake, simple replies) on
 * one TCP address, with Netty's NIO transport. The daemon binds its own address on port 10809
 * ({@link #DEFAULT_PORT}); tests pass port 0 and ask {@link #port()}.
 *
 * <p>Each connection starts with a {@link HandshakeHandler}, which hands over to a
 * {@link TransmissionHandler} once the client picks an export. A misbehaving client only ever
 * loses its own connection.
 */
public final class NbdServer implements Closeable {
    /** The IANA port of NBD. */
    public static final int DEFAULT_PORT = 10809;

    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    /** Replies queued past this pause reading requests until they drain below the low mark. */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(2 << 20, 8 << 20);

    private final String bindHost;
    private final int requestedPort;
    private final BlockExports exports;
    private final NbdLimits limits;
    private EventLoopGroup acceptor;
    private EventLoopGroup workers;
    private EventLoopGroup sharedWorkers; // given by the caller, who also shuts it down
    private ChannelGroup channels;
    private Channel listener;
    private volatile int boundPort = -1;

    public NbdServer(String bindHost, int port, BlockExports exports) {
        this(bindHost, port, exports, NbdLimits.DEFAULT);
    }

    public NbdServer(String bindHost, int port, BlockExports exports, NbdLimits limits) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        this.bindHost = Objects.requireNonNull(bindHost, "bindHost");
        this.requestedPort = port;
        this.exports = Objects.requireNonNull(exports, "exports");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * Serves connections on the caller's event loops instead of the server's own, so that the
     * caller's other traffic for the same requests (the replication streams) runs on the same
     * threads without a hand-off. Call before {@link #start()}.
     */
    public NbdServer workers(EventLoopGroup group) {
        this.sharedWorkers = group;
        return this;
    }

    /** Binds the listening socket; fails with a one-line reason if the address is taken or unknown. */
    public synchronized void start() throws IOException {
        if (listener != null) throw new IllegalStateException("NBD server already started");
        // Daemons on one machine share port 10809, each on its own address: a wildcard bind would take them all.
        if (InetAddress.getByName(bindHost).isAnyLocalAddress()) {
            throw new IOException("cannot listen for NBD on " + bindHost + ":" + requestedPort
                    + ": bind the server's own address, not the wildcard address");
        }
        workers = sharedWorkers != null ? sharedWorkers : EventLoops.group(
                Math.max(2, Runtime.getRuntime().availableProcessors()), new DefaultThreadFactory("nbd-io", true));
        acceptor = workers instanceof io.netty.channel.epoll.EpollEventLoopGroup
                ? EventLoops.group(1, new DefaultThreadFactory("nbd-accept", true))
                : new NioEventLoopGroup(1, new DefaultThreadFactory("nbd-accept", true));
        channels = new DefaultChannelGroup("nbd", GlobalEventExecutor.INSTANCE);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptor, workers)
                .channel(EventLoops.serverChannel(workers))
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        InetSocketAddress remote = ch.remoteAddress();
                        String who = remote == null ? "nbd " + ch.id()
                                : "nbd " + remote.getAddress().getHostAddress() + ":" + remote.getPort();
                        // Consolidates the flushes of replies completed together into one write(2).
                        ch.pipeline().addLast("flush", new FlushConsolidationHandler(64, true));
                        ch.pipeline().addLast("nbd-handshake", new HandshakeHandler(exports, limits, who));
                    }
                });
        ChannelFuture bound;
        try {
            bound = bootstrap.bind(bindHost, requestedPort).awaitUninterruptibly();
        } catch (RuntimeException e) {
            shutdownGroups();
            throw new IOException("cannot listen for NBD on " + bindHost + ":" + requestedPort + ": " + e.getMessage(), e);
        }
        if (!bound.isSuccess()) {
            shutdownGroups();
            Throwable cause = bound.cause();
            String reason = cause == null ? "bind failed" : cause.getMessage();
            throw new IOException("cannot listen for NBD on " + bindHost + ":" + requestedPort + ": " + reason, cause);
        }
        listener = bound.channel();
        channels.add(listener);
        boundPort = ((InetSocketAddress) listener.localAddress()).getPort();
        LOG.info("NBD server listening on {}:{}", bindHost, boundPort);
    }

    /** The port actually bound (the ephemeral one when constructed with port 0). */
    public int port() {
        if (boundPort < 0) throw new IllegalStateException("NBD server not started");
        return boundPort;
    }

    /** Closes the listener and every connection; requests still in an export complete unanswered. */
    @Override
    public synchronized void close() {
        if (acceptor == null) return;
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        shutdownGroups();
        if (listener != null) LOG.info("NBD server on {}:{} stopped", bindHost, boundPort);
        listener = null;
    }

    private void shutdownGroups() {
        acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (workers != sharedWorkers) {
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        acceptor = null;
        workers = null;
    }
}
