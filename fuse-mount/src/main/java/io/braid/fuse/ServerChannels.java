package io.braid.fuse;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

/**
 * One gRPC channel per server address, made on first use and kept until the mount ends. A channel
 * to a server that was down is told to reconnect at once on its next use, so a restarted server
 * is reached without waiting out gRPC's reconnect backoff.
 *
 * <p>Replies are handled on the transport's thread ({@code directExecutor}): every callback only
 * completes a future or wakes a waiting FUSE thread, so a reply reaches its caller without a
 * hand-off through gRPC's executor.
 */
final class ServerChannels implements AutoCloseable {
    /** Reads and writes of up to 128 KiB, readdir of large directories. */
    static final int MAX_MESSAGE = 64 << 20;
    /** The HTTP/2 flow-control window (gRPC's default of 1 MiB would hold the writes behind to one 1 MiB request per round trip). */
    static final int FLOW_WINDOW = 16 << 20;
    /** gRPC-Java's smallest keepalive interval; the server must permit pings this often. */
    static final long KEEPALIVE_SECONDS = 10;
    static final long KEEPALIVE_TIMEOUT_SECONDS = 5;

    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private volatile boolean closed;

    ManagedChannel get(String address) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        ManagedChannel ch = channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a)
                .usePlaintext()
                .directExecutor()
                .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(false)
                .maxInboundMessageSize(MAX_MESSAGE)
                .flowControlWindow(FLOW_WINDOW)
                .build());
        if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            ch.resetConnectBackoff();
        }
        return ch;
    }

    @Override
    public void close() {
        closed = true;
        for (ManagedChannel ch : channels.values()) {
            ch.shutdownNow();
        }
        for (ManagedChannel ch : channels.values()) {
            try {
                ch.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        channels.clear();
    }
}
