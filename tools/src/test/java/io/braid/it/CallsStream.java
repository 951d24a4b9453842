package io.braid.it;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The Calls stream a mount sends its requests on, opened to one server by a test that speaks to
 * it directly, as a client (or a hostile one) would: requests go out as given, replies are kept in
 * the order they come, and {@link #ended} completes with how the stream ended.
 */
final class CallsStream implements AutoCloseable {
    private final ManagedChannel channel;
    private final StreamObserver<FileRequest> out;
    private final BlockingQueue<FileReply> replies = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();

    /** A stream to the braidd serving on host's file port. */
    CallsStream(String host) {
        channel = NettyChannelBuilder.forTarget(host + ":24100").usePlaintext().build();
        out = FileIoGrpc.newStub(channel).calls(new StreamObserver<>() {
            @Override
            public void onNext(FileReply r) {
                replies.add(r);
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
    }

    void send(FileRequest request) {
        out.onNext(request);
    }

    /** The next reply, or null if none came within the time. */
    FileReply next(long seconds) throws InterruptedException {
        return replies.poll(seconds, TimeUnit.SECONDS);
    }

    /** Ends this side of the stream and waits for the server to end its side. */
    Status finish(long seconds) throws Exception {
        out.onCompleted();
        return ended.get(seconds, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
