package io.braid.files;

import io.braid.proto.file.FileRequest;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileHello;
import io.braid.proto.filerep.FileHelloReply;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.braid.proto.filerep.FetchRequest;
import io.braid.proto.filerep.ForgetReply;
import io.braid.proto.filerep.ForgetRequest;
import io.braid.proto.filerep.HealItem;
import io.braid.proto.filerep.ResolveReply;
import io.braid.proto.filerep.ResolveRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** The secondary side between daemons: handshakes and replication streams into local file bricks. */
public final class FileReplicationService extends FileReplicationGrpc.FileReplicationImplBase {
    private final FileRegistry registry;
    // Pulls, forgets and resolutions read and write bricks: off the transport threads.
    private final ExecutorService work = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "file-heal-rpc");
        t.setDaemon(true);
        return t;
    });

    public FileReplicationService(FileRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void fetch(FetchRequest req, StreamObserver<HealItem> out) {
        ServerCallStreamObserver<HealItem> call = (ServerCallStreamObserver<HealItem>) out;
        work.execute(() -> {
            try {
                FileReplica r = replica(req.getTargetBrick());
                r.fetch(req, item -> {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!call.isReady()) {
                        if (call.isCancelled() || System.nanoTime() > deadline) throw new java.io.IOException("puller gone");
                        Thread.sleep(1);
                    }
                    call.onNext(item);
                });
                call.onCompleted();
            } catch (StatusRuntimeException e) {
                fail(call, e);
            } catch (FsError e) {
                fail(call, Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
            } catch (Exception e) {
                fail(call, Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
            }
        });
    }

    @Override
    public void forget(ForgetRequest req, StreamObserver<ForgetReply> out) {
        unary(out, () -> {
            FileReplica r = replica(req.getTargetBrick());
            if (!req.getVolumeId().equals(r.view().volumeId())) {
                throw Status.FAILED_PRECONDITION.withDescription("volume id mismatch").asRuntimeException();
            }
            r.forget(req.getPrimaryBrick(), req.getPathsList(), req.getSubtree());
            return ForgetReply.getDefaultInstance();
        });
    }

    @Override
    public void resolve(ResolveRequest req, StreamObserver<ResolveReply> out) {
        unary(out, () -> {
            FileReplica r = registry.replica(req.getVolume(), req.getSet());
            FilePrimary p = r == null ? null : r.primary();
            if (p == null) {
                throw Status.FAILED_PRECONDITION.withDescription("not primary of " + req.getVolume() + " set "
                        + req.getSet() + " here").asRuntimeException();
            }
            return SplitBrains.resolve(p, req);
        });
    }

    /** Answers a unary call on a worker thread: the reply, or the error as a status. */
    private <T> void unary(StreamObserver<T> out, java.util.concurrent.Callable<T> body) {
        work.execute(() -> {
            try {
                out.onNext(body.call());
                out.onCompleted();
            } catch (StatusRuntimeException e) {
                fail(out, e);
            } catch (Exception e) {
                fail(out, Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
            }
        });
    }

    private static void fail(StreamObserver<?> out, StatusRuntimeException e) {
        try {
            out.onError(e);
        } catch (RuntimeException ignored) {
            // the caller went away
        }
    }

    private FileReplica replica(String brick) {
        FileReplica r = registry.byBrick(brick);
        if (r == null) throw Status.NOT_FOUND.withDescription("no open file brick " + brick + " here").asRuntimeException();
        return r;
    }

    @Override
    public void handshake(FileHello req, StreamObserver<FileHelloReply> out) {
        try {
            out.onNext(replica(req.getTargetBrick()).handshake(req));
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
        }
    }

    /** Operations with a large payload (writes, heal data) are parsed in place; each is given back once applied (a secondary applies an operation before it takes the next). */
    private final ZeroCopy<FileOp> ops = new ZeroCopy<>(FileOp.getDefaultInstance(),
            op -> op.getOpCase() == FileOp.OpCase.HEAL
                    || op.getOpCase() == FileOp.OpCase.MUTATION && op.getMutation().getOpCase() == FileRequest.OpCase.WRITE);

    /** This service as the server binds it: {@link #replicate} messages parsed in place ({@link ZeroCopy}). */
    public io.grpc.ServerServiceDefinition definition() {
        return ops.bind(bindService(), FileReplicationGrpc.getReplicateMethod().getFullMethodName());
    }

    @Override
    public StreamObserver<FileOp> replicate(StreamObserver<FileAck> acks) {
        return new StreamObserver<>() {
            private StreamObserver<FileOp> target;

            @Override
            public void onNext(FileOp op) {
                if (target == null) {
                    if (op.getOpCase() != FileOp.OpCase.OPEN) {
                        acks.onError(Status.INVALID_ARGUMENT.withDescription("a stream starts with open").asRuntimeException());
                        return;
                    }
                    try {
                        target = replica(op.getOpen().getTargetBrick()).replicate(acks);
                    } catch (StatusRuntimeException e) {
                        acks.onError(e);
                        return;
                    }
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
}
