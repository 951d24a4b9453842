package io.braid.rpc;

import io.braid.proto.peer.PeerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** One channel per other member, opened on first use and kept. */
public final class PeerClients implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /** A stub for the member at canonical "ip:port", with the given deadline. */
    public PeerServiceGrpc.PeerServiceBlockingStub peer(String address, long deadlineMs) {
        return PeerServiceGrpc.newBlockingStub(channel(address)).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    public PeerServiceGrpc.PeerServiceStub peerAsync(String address, long deadlineMs) {
        return PeerServiceGrpc.newStub(channel(address)).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    private ManagedChannel channel(String address) {
        return channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a)
                .usePlaintext()
                .keepAliveWithoutCalls(false)
                .build());
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
