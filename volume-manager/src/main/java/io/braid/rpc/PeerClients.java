package io.braid.rpc;

import io.braid.proto.peer.PeerServiceGrpc;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** One channel per other member, opened on first use and kept. */
public final class PeerClients implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final Map<String, ManagedChannel> dataChannels = new ConcurrentHashMap<>();
    private volatile io.netty.channel.EventLoopGroup dataLoops;

    /** The event loops data channels run on (shared with the NBD server); null: gRPC's own. */
    public void dataLoops(io.netty.channel.EventLoopGroup group) {
        this.dataLoops = group;
    }

    /**
     * gRPC's own retries for the control calls that change nothing or may run twice: one that
     * fails UNAVAILABLE (a connection reset or closed under it) is sent again, twice at most,
     * within its deadline, instead of making a command report a live member "not connected".
     */
    private static final Map<String, ?> RETRIES = Map.of("methodConfig", List.of(Map.of(
            "name", List.of(method("Hello"), method("CheckBrick"), method("PrepareBrick"), method("SyncBricks"),
                    method("BrickStatus")),
            "retryPolicy", Map.of(
                    "maxAttempts", 3.0,
                    "initialBackoff", "0.2s",
                    "maxBackoff", "1s",
                    "backoffMultiplier", 2.0,
                    "retryableStatusCodes", List.of("UNAVAILABLE")))));

    private static Map<String, String> method(String name) {
        return Map.of("service", "braid.peer.PeerService", "method", name);
    }

    /** A stub for the member at canonical "ip:port", with the given deadline. */
    public PeerServiceGrpc.PeerServiceBlockingStub peer(String address, long deadlineMs) {
        return PeerServiceGrpc.newBlockingStub(channel(address)).withWaitForReady()
                .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    public PeerServiceGrpc.PeerServiceStub peerAsync(String address, long deadlineMs) {
        return PeerServiceGrpc.newStub(channel(address)).withWaitForReady()
                .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    /**
     * The member's channel. A member that was down leaves its channel backing off for up to two
     * minutes; the backoff is reset on every use, so a restarted member is reached at once, and
     * calls wait for the connection until their deadline instead of failing fast.
     */
    public ManagedChannel channel(String address) {
        ManagedChannel ch = channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a)
                .usePlaintext()
                .maxInboundMessageSize(64 << 20) // forwarded NBD reads of up to 32 MiB
                .keepAliveWithoutCalls(false)
                .defaultServiceConfig(RETRIES)
                .enableRetry()
                .build());
        if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) ch.resetConnectBackoff();
        return ch;
    }

    /**
     * A second channel to the member for the data plane (replication streams, forwarded I/O), so
     * that bulk traffic never queues control calls. Its callbacks run on the transport's own
     * threads: every data-plane callback is short and never blocks.
     */
    public ManagedChannel dataChannel(String address) {
        ManagedChannel ch = dataChannels.computeIfAbsent(address, a -> {
            NettyChannelBuilder b = NettyChannelBuilder.forTarget(a)
                    .usePlaintext()
                    .directExecutor()
                    .flowControlWindow(io.braid.daemon.BraidDaemon.FLOW_WINDOW)
                    .maxInboundMessageSize(64 << 20) // forwarded NBD reads of up to 32 MiB
                    .keepAliveWithoutCalls(false);
            if (dataLoops != null) b.eventLoopGroup(dataLoops).channelType(io.braid.nbd.EventLoops.socketChannel(dataLoops));
            return b.build();
        });
        if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) ch.resetConnectBackoff();
        return ch;
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
        dataChannels.values().forEach(ManagedChannel::shutdownNow);
        dataChannels.clear();
    }
}
