package io.braid.cli;

import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import io.braid.proto.admin.ManagementGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;

/** One plaintext gRPC channel to one daemon's Management service, for one CLI invocation. */
final class ManagementClient implements AutoCloseable {
    static final long DEADLINE_SECONDS = 30;
    /** For operations that read or copy a whole volume ({@code volume verify}, split-brain resolution). */
    static final long LONG_DEADLINE_SECONDS = 6 * 3600;
    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

    private final RemoteHost remote;
    private final ManagedChannel channel;
    private final ManagementGrpc.ManagementBlockingStub stub;

    ManagementClient(RemoteHost remote) {
        this.remote = remote;
        this.channel = NettyChannelBuilder.forAddress(remote.host(), remote.port())
                .usePlaintext()
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                .userAgent("braid-cli")
                .build();
        this.stub = ManagementGrpc.newBlockingStub(channel);
    }

    /**
     * Runs one RPC with the 30 s deadline.
     *
     * @param command the command words for a failure message, e.g. "volume start"
     * @param name the volume name to show in a failure message, or null
     * @throws CliFailure if the RPC fails
     */
    <T> T call(String command, String name, Function<ManagementGrpc.ManagementBlockingStub, T> rpc) {
        return call(command, name, DEADLINE_SECONDS, rpc);
    }

    /** Like {@link #call(String, String, Function)} with another deadline. */
    <T> T call(String command, String name, long deadlineSeconds,
               Function<ManagementGrpc.ManagementBlockingStub, T> rpc) {
        try {
            return rpc.apply(stub.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS));
        } catch (StatusRuntimeException e) {
            throw RpcErrors.toFailure(e, command, name, remote);
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
