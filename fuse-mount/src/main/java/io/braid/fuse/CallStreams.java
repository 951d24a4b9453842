package io.braid.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * One long-lived {@code Calls} stream per server, for nearly every request of a mount (all but
 * large writes, which the server parses in place from a unary call, and locks that wait): a
 * request is one message on an open stream, where a unary call would set a stream up, send and
 * parse headers and trailers, and arm a deadline timer each time. Replies find their request by
 * its tag; a mutation keeps its request id, so one sent again after its stream ended is answered
 * from its first result as on a unary call.
 *
 * <p>A call fails (its future completes exceptionally with a {@link StatusRuntimeException}) with
 * the status the server put in its reply, with UNAVAILABLE when the stream ends, or with
 * DEADLINE_EXCEEDED when it is not answered within its deadline ({@link #expire}, which also
 * drops the stream so the next call starts a new one). A server that does not know the method
 * (UNIMPLEMENTED) is asked with unary calls from then on ({@link #supported}).
 */
final class CallStreams implements AutoCloseable {
    private final ServerChannels channels;
    private final Map<String, Stream> streams = new ConcurrentHashMap<>();
    private final Set<String> unsupported = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    CallStreams(ServerChannels channels) {
        this.channels = channels;
    }

    /** Whether requests to address may go on a stream (false once it answered UNIMPLEMENTED). */
    boolean supported(String address) {
        return !unsupported.contains(address);
    }

    /** Sends request to address on its stream; the reply, or a failure, within deadlineMs. */
    CompletableFuture<FileReply> call(String address, FileRequest request, long deadlineMs) {
        CompletableFuture<FileReply> f = new CompletableFuture<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        for (int i = 0; i < 2; i++) { // a stream that ended just now: once more on a new one
            if (closed) {
                f.completeExceptionally(Status.UNAVAILABLE.withDescription("unmounted").asRuntimeException());
                return f;
            }
            Stream s = streams.get(address);
            if (s == null) {
                // made outside the map: a stream can end while it is being made (the server
                // unreachable), and its end() then finds nothing to take out
                Stream made = new Stream(address);
                s = streams.putIfAbsent(address, made);
                if (s == null) {
                    s = made;
                    if (closed) { // close() ran meanwhile and may not have seen it: it must not outlive the mount
                        made.end(Status.UNAVAILABLE.withDescription("unmounted"), true);
                    }
                } else {
                    made.end(Status.CANCELLED.withDescription("another stream to " + address), true);
                }
            }
            if (s.send(request, f, deadline)) return f;
            streams.remove(address, s); // it ended, perhaps before it was put in
        }
        f.completeExceptionally(Status.UNAVAILABLE.withDescription("stream to " + address + " ended").asRuntimeException());
        return f;
    }

    /** Fails the calls past their deadline, and drops their streams (run every second or so). */
    void expire() {
        long now = System.nanoTime();
        for (Stream s : streams.values()) {
            s.expire(now);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Stream s : streams.values()) {
            s.end(Status.UNAVAILABLE.withDescription("unmounted"), true);
        }
        streams.clear();
    }

    private record Pending(CompletableFuture<FileReply> future, long deadline) {
    }

    /** One stream to one server and the calls waiting on it. */
    private final class Stream implements ClientResponseObserver<FileRequest, FileReply> {
        private final String address;
        private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
        private long nextTag; // guarded by this
        private boolean ended; // guarded by this
        private ClientCallStreamObserver<FileRequest> requests; // guarded by this

        Stream(String address) {
            this.address = address;
            FileIoGrpc.newStub(channels.get(address)).calls(this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<FileRequest> requests) {
            this.requests = requests; // before calls() returns, so before any send
        }

        /** false when the stream has ended (the caller tries a new one) */
        synchronized boolean send(FileRequest request, CompletableFuture<FileReply> f, long deadline) {
            if (ended) return false;
            long tag = ++nextTag;
            pending.put(tag, new Pending(f, deadline));
            try {
                requests.onNext(request.toBuilder().setTag(tag).build());
            } catch (RuntimeException e) {
                pending.remove(tag);
                end(Status.fromThrowable(e), true);
                return false;
            }
            return true;
        }

        @Override
        public void onNext(FileReply reply) {
            Pending p = pending.remove(reply.getTag());
            if (p == null) return; // expired meanwhile
            if (reply.getStatus() != 0) {
                p.future.completeExceptionally(Status.fromCodeValue(reply.getStatus())
                        .withDescription(reply.getMessage()).asRuntimeException());
            } else {
                p.future.complete(reply);
            }
        }

        @Override
        public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            if (s.getCode() != Status.Code.UNIMPLEMENTED) {
                // whatever ended the stream (a server going away cancels it), what waited on it
                // is retried like a call to an unreachable server (a read is safe to send again,
                // a mutation keeps its request id)
                s = Status.UNAVAILABLE.withDescription("stream to " + address + " ended: "
                        + s.getCode() + (s.getDescription() == null ? "" : " " + s.getDescription()));
            }
            end(s, false);
        }

        @Override
        public void onCompleted() {
            end(Status.UNAVAILABLE.withDescription("the server ended the stream"), false);
        }

        void expire(long now) {
            List<Pending> late = new ArrayList<>();
            for (var e : pending.entrySet()) {
                if (now - e.getValue().deadline > 0 && pending.remove(e.getKey(), e.getValue())) {
                    late.add(e.getValue());
                }
            }
            if (late.isEmpty()) return;
            Status s = Status.DEADLINE_EXCEEDED.withDescription("no reply from " + address + " in time");
            for (Pending p : late) {
                p.future.completeExceptionally(s.asRuntimeException());
            }
            end(s, true);
        }

        /** Ends the stream (cancelling it when it is still open) and fails what waits on it. */
        void end(Status status, boolean cancel) {
            synchronized (this) {
                if (ended) return;
                ended = true;
                streams.remove(address, this);
                if (status.getCode() == Status.Code.UNIMPLEMENTED) {
                    unsupported.add(address);
                }
                if (cancel) {
                    try {
                        requests.cancel(status.getDescription(), null);
                    } catch (RuntimeException ignored) {
                        // already over
                    }
                }
            }
            // no send adds to pending once ended is set
            for (Long tag : List.copyOf(pending.keySet())) {
                Pending p = pending.remove(tag);
                if (p != null) p.future.completeExceptionally(status.asRuntimeException());
            }
        }
    }
}
