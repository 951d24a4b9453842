package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Write;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Large requests through a real Netty server on loopback: parsed in place, intact, and given back. */
@Timeout(60)
class ZeroCopyTest {
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void tearDown() throws Exception {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (server != null) server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private void start(io.grpc.ServerServiceDefinition def) throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .directExecutor().maxInboundMessageSize(64 << 20).addService(def).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    private static ByteString random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return ByteString.copyFrom(b);
    }

    private static boolean inPlace(ByteString data) {
        for (ByteBuffer b : data.asReadOnlyByteBufferList()) if (!b.isDirect()) return false;
        return true;
    }

    @Test
    void largeUnaryRequestsArriveIntactInTheReceiveBuffersUntilTheServiceGivesThemBack() throws Exception {
        ZeroCopy<FileRequest> zc = new ZeroCopy<>(FileRequest.getDefaultInstance(), r -> r.getOpCase() == FileRequest.OpCase.WRITE);
        List<Boolean> seenInPlace = new CopyOnWriteArrayList<>();
        List<Integer> heldDuringCall = new CopyOnWriteArrayList<>();
        FileIoGrpc.FileIoImplBase impl = new FileIoGrpc.FileIoImplBase() {
            @Override
            public void call(FileRequest req, StreamObserver<FileReply> out) {
                ByteString data = req.getWrite().getData();
                seenInPlace.add(inPlace(data));
                heldDuringCall.add(zc.holding());
                // the answer carries a digest of what arrived, to compare with what was sent
                out.onNext(FileReply.newBuilder().setWritten(data.hashCode()).setMessage(req.getWrite().getPath()).build());
                out.onCompleted();
                zc.release(req); // a service with one request per call gives it back itself (FileService.call)
            }
        };
        start(zc.bind(impl.bindService(), FileIoGrpc.getCallMethod().getFullMethodName()));
        FileIoGrpc.FileIoBlockingStub stub = FileIoGrpc.newBlockingStub(channel);
        int[] sizes = {1 << 20, 3 << 20, 100, ZeroCopy.MIN_BYTES + 1, 5 << 20};
        for (int i = 0; i < sizes.length; i++) {
            ByteString data = random(sizes[i], i);
            FileReply r = stub.call(FileRequest.newBuilder().setId(i)
                    .setWrite(Write.newBuilder().setPath("/f" + i).setOffset(7).setData(data)).build());
            assertEquals(data.hashCode(), r.getWritten(), "payload of " + sizes[i] + " bytes arrived changed");
            assertEquals("/f" + i, r.getMessage());
        }
        assertEquals(List.of(true, true, false, true, true), seenInPlace, "large requests parsed in place, small ones copied");
        assertEquals(List.of(1, 1, 0, 1, 1), heldDuringCall);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (zc.holding() != 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(0, zc.holding(), "every request's buffers given back");
    }

    @Test
    void aLargeRequestThatIsNotWorthItIsCopiedOutAndHoldsNothing() throws Exception {
        ZeroCopy<FileRequest> zc = new ZeroCopy<>(FileRequest.getDefaultInstance(), r -> r.getOpCase() == FileRequest.OpCase.WRITE);
        List<Boolean> seenInPlace = new CopyOnWriteArrayList<>();
        List<Integer> held = new CopyOnWriteArrayList<>();
        FileIoGrpc.FileIoImplBase impl = new FileIoGrpc.FileIoImplBase() {
            @Override
            public void call(FileRequest req, StreamObserver<FileReply> out) {
                seenInPlace.add(inPlace(req.getSetxattr().getValue()));
                held.add(zc.holding());
                out.onNext(FileReply.newBuilder().setWritten(req.getSetxattr().getValue().hashCode()).build());
                out.onCompleted();
                zc.release(req); // nothing to give back: no-op
            }
        };
        start(zc.bind(impl.bindService(), FileIoGrpc.getCallMethod().getFullMethodName()));
        ByteString value = random(200 << 10, 42);
        FileReply r = FileIoGrpc.newBlockingStub(channel).call(FileRequest.newBuilder()
                .setSetxattr(io.braid.proto.file.Setxattr.newBuilder().setPath("/x").setName("user.big").setValue(value)).build());
        assertEquals(value.hashCode(), r.getWritten());
        assertEquals(List.of(false), seenInPlace, "copied out of the receive buffers");
        assertEquals(List.of(0), held);
    }

    @Test
    void aStreamOfLargeMessagesIsDeliveredInOrderAndEachIsGivenBackAfterItsTurn() throws Exception {
        ZeroCopy<FileOp> zc = new ZeroCopy<>(FileOp.getDefaultInstance(), op -> true);
        List<Integer> digests = new CopyOnWriteArrayList<>();
        List<Integer> held = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        FileReplicationGrpc.FileReplicationImplBase impl = new FileReplicationGrpc.FileReplicationImplBase() {
            @Override
            public StreamObserver<FileOp> replicate(StreamObserver<FileAck> acks) {
                return new StreamObserver<>() {
                    @Override
                    public void onNext(FileOp op) {
                        ByteString data = op.getMutation().getWrite().getData();
                        assertTrue(inPlace(data));
                        held.add(zc.holding());
                        digests.add(data.hashCode());
                        acks.onNext(FileAck.newBuilder().setSeq(op.getSeq()).build());
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        acks.onCompleted();
                        done.countDown();
                    }
                };
            }
        };
        start(zc.bind(impl.bindService(), FileReplicationGrpc.getReplicateMethod().getFullMethodName()));
        CountDownLatch acked = new CountDownLatch(1);
        StreamObserver<FileOp> ops = FileReplicationGrpc.newStub(channel).replicate(new StreamObserver<>() {
            @Override
            public void onNext(FileAck a) {
            }

            @Override
            public void onError(Throwable t) {
                acked.countDown();
            }

            @Override
            public void onCompleted() {
                acked.countDown();
            }
        });
        List<Integer> sent = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ByteString data = random((1 << 20) + i * 4099, 100 + i);
            sent.add(data.hashCode());
            ops.onNext(FileOp.newBuilder().setSeq(i).setMutation(FileRequest.newBuilder()
                    .setWrite(Write.newBuilder().setPath("/s").setOffset((long) i << 20).setData(data))).build());
        }
        ops.onCompleted();
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertTrue(acked.await(30, TimeUnit.SECONDS));
        assertEquals(sent, digests);
        assertFalse(held.isEmpty());
        for (int h : held) assertEquals(1, h, "only the message being handled holds buffers");
        assertEquals(0, zc.holding());
    }
}
