package io.braid.replication;

import com.google.protobuf.ByteString;
import io.braid.nbd.BlockExport;
import io.braid.nbd.NbdError;
import io.braid.proto.replication.ChecksumReply;
import io.braid.proto.replication.ChecksumRequest;
import io.braid.proto.replication.HandshakeReply;
import io.braid.proto.replication.HandshakeRequest;
import io.braid.proto.replication.IoReply;
import io.braid.proto.replication.IoRequest;
import io.braid.proto.replication.ReplicaAck;
import io.braid.proto.replication.ReplicaOp;
import io.braid.proto.replication.ReplicationGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The server side of the data plane: handshakes and replication streams into local replicas,
 * client I/O forwarded by other servers to a local primary, and block checksums for verify.
 * Every request is checked; a bad one gets an error status, never a crash.
 */
public final class ReplicationService extends ReplicationGrpc.ReplicationImplBase {
    /** errno sent back when this server holds no primary of the volume: the sender re-resolves. */
    public static final int NOT_PRIMARY = NbdError.ESHUTDOWN;
    public static final long MAX_IO = 32L << 20;

    private final ReplicaRegistry registry;

    public ReplicationService(ReplicaRegistry registry) {
        this.registry = registry;
    }

    private ReplicaNode node(String brick) {
        ReplicaNode n = registry.byBrick(brick);
        if (n == null) throw Status.NOT_FOUND.withDescription("no open replica " + brick + " here").asRuntimeException();
        return n;
    }

    @Override
    public void handshake(HandshakeRequest req, StreamObserver<HandshakeReply> out) {
        try {
            out.onNext(node(req.getTargetBrick()).handshake(req));
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
        }
    }

    @Override
    public StreamObserver<ReplicaOp> replicate(StreamObserver<ReplicaAck> acks) {
        return new StreamObserver<>() {
            private StreamObserver<ReplicaOp> target;

            @Override
            public void onNext(ReplicaOp op) {
                if (target == null) {
                    if (!op.hasOpen()) {
                        acks.onError(Status.INVALID_ARGUMENT.withDescription("stream must start with open").asRuntimeException());
                        target = NOOP;
                        return;
                    }
                    ReplicaNode n = registry.byBrick(op.getOpen().getTargetBrick());
                    if (n == null) {
                        acks.onError(Status.NOT_FOUND.withDescription("no open replica " + op.getOpen().getTargetBrick())
                                .asRuntimeException());
                        target = NOOP;
                        return;
                    }
                    target = n.replicate(acks);
                }
                target.onNext(op);
            }

            @Override
            public void onError(Throwable t) {
                if (target != null) target.onError(t);
            }

            @Override
            public void onCompleted() {
                if (target != null) target.onCompleted();
                else acks.onCompleted();
            }
        };
    }

    private static final StreamObserver<ReplicaOp> NOOP = new StreamObserver<>() {
        @Override
        public void onNext(ReplicaOp value) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    };

    @Override
    public StreamObserver<IoRequest> blockIo(StreamObserver<IoReply> replies) {
        return new StreamObserver<>() {
            @Override
            public void onNext(IoRequest req) {
                CompletableFuture<IoReply.Builder> f;
                try {
                    f = serve(req);
                } catch (RuntimeException e) {
                    f = CompletableFuture.failedFuture(e);
                }
                f.whenComplete((r, e) -> {
                    IoReply reply = e == null ? r.setId(req.getId()).build() : error(req.getId(), e);
                    synchronized (replies) {
                        try {
                            replies.onNext(reply);
                        } catch (RuntimeException ignored) {
                            // the caller went away
                        }
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
                synchronized (replies) {
                    replies.onCompleted();
                }
            }
        };
    }

    private CompletableFuture<IoReply.Builder> serve(IoRequest req) {
        ReplicaNode n = registry.localPrimary(req.getVolume());
        PrimaryEngine p = n == null ? null : n.primary();
        if (p == null) throw new NbdError(NOT_PRIMARY, "not the primary of " + req.getVolume());
        return dispatch(p, req);
    }

    /**
     * Runs one forwarded request against an export: the one place an {@link IoRequest} becomes a
     * block operation, used here and by {@link RoutedExport} when the primary turns out local.
     */
    static CompletableFuture<IoReply.Builder> dispatch(BlockExport e, IoRequest req) {
        long off = req.getOffset();
        long len = req.getLength();
        if (off < 0 || len < 0 || off + len > e.size() || off + len < 0) {
            throw new NbdError(NbdError.EINVAL, "range outside the volume");
        }
        return switch (req.getKind()) {
            case READ -> {
                if (len > MAX_IO) throw new NbdError(NbdError.EOVERFLOW, "read too large");
                yield e.read(off, (int) len).thenApply(b -> IoReply.newBuilder().setData(ByteString.copyFrom(b)));
            }
            case WRITE -> e.write(off, req.getData().asReadOnlyByteBuffer(), req.getFua()).thenApply(v -> IoReply.newBuilder());
            case FLUSH -> e.flush().thenApply(v -> IoReply.newBuilder());
            case TRIM -> e.trim(off, len, req.getFua()).thenApply(v -> IoReply.newBuilder());
            case WRITE_ZEROES -> e.writeZeroes(off, len, req.getFua(), req.getNoHole()).thenApply(v -> IoReply.newBuilder());
            default -> throw new NbdError(NbdError.EINVAL, "unknown request kind");
        };
    }

    /** The failure inside a CompletionException (what a future's callback receives). */
    static Throwable cause(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /** Whether a failure says "not the primary here": the caller re-resolves and tries again. */
    static boolean notPrimary(Throwable e) {
        return cause(e) instanceof NbdError n && n.errno() == NOT_PRIMARY;
    }

    private static IoReply error(long id, Throwable e) {
        Throwable t = cause(e);
        int errno = t instanceof NbdError n ? n.errno() : NbdError.EIO;
        return IoReply.newBuilder().setId(id).setErrno(errno).setMessage(String.valueOf(t.getMessage())).build();
    }

    @Override
    public void checksums(ChecksumRequest req, StreamObserver<ChecksumReply> out) {
        try {
            ReplicaNode n = node(req.getBrick());
            if (req.getOffset() < 0 || req.getLength() < 0 || req.getLength() > (1L << 30)) {
                throw Status.INVALID_ARGUMENT.withDescription("bad checksum range").asRuntimeException();
            }
            out.onNext(ChecksumReply.newBuilder().addAllSums(n.checksums(req.getOffset(), req.getLength())).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (IOException | RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
        }
    }
}
