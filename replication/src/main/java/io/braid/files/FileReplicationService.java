package io.braid.files;

import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.FileHello;
import io.braid.proto.filerep.FileHelloReply;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.FileReplicationGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

/** The secondary side between daemons: handshakes and replication streams into local file bricks. */
public final class FileReplicationService extends FileReplicationGrpc.FileReplicationImplBase {
    private final FileRegistry registry;

    public FileReplicationService(FileRegistry registry) {
        this.registry = registry;
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
