package io.braid.replication;

import com.google.protobuf.ByteString;
import io.braid.nbd.BlockExport;
import io.braid.nbd.NbdError;
import io.braid.proto.replication.IoKind;
import io.braid.proto.replication.IoReply;
import io.braid.proto.replication.IoRequest;
import io.braid.proto.replication.ReplicationGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A block volume as any server exports it: requests go to the local primary when this server
 * holds it, else over a BlockIo stream to the server that does. When the primary's server goes
 * away, requests in flight wait and are sent again to the new primary, for up to the ping
 * timeout plus {@link #FAILOVER_GRACE_SECONDS}: every NBD request is idempotent, so a client
 * connected here rides through a failover.
 */
public final class RoutedExport implements BlockExport {
    private static final Logger LOG = LoggerFactory.getLogger(RoutedExport.class);
    static final int FAILOVER_GRACE_SECONDS = 15;
    private static final ScheduledExecutorService RETRY = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "io-retry");
        t.setDaemon(true);
        return t;
    });

    private final String volume;
    private final Supplier<SetView> view;
    private final Supplier<PrimaryEngine> local;
    private final Coordinator coordinator;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Call> inflight = new ConcurrentHashMap<>();
    private StreamObserver<IoRequest> stream;   // guarded by this
    private String streamAddress;               // guarded by this

    /** One forwarded request: where it went last and when, so a silent primary is noticed. */
    private static final class Call {
        final IoRequest request;
        final CompletableFuture<IoReply> done = new CompletableFuture<>();
        final long deadlineNanos;
        volatile String sentTo;
        volatile long sentNanos;

        Call(IoRequest request, long deadlineNanos) {
            this.request = request;
            this.deadlineNanos = deadlineNanos;
        }

        IoRequest request() {
            return request;
        }

        CompletableFuture<IoReply> done() {
            return done;
        }

        long deadlineNanos() {
            return deadlineNanos;
        }
    }

    public RoutedExport(String volume, Supplier<SetView> view, Supplier<PrimaryEngine> local, Coordinator coordinator) {
        this.volume = volume;
        this.view = view;
        this.local = local;
        this.coordinator = coordinator;
    }

    @Override
    public long size() {
        return view.get().size();
    }

    @Override
    public CompletableFuture<ByteBuffer> read(long offset, int length) {
        return route(p -> p.read(offset, length),
                () -> IoRequest.newBuilder().setKind(IoKind.READ).setOffset(offset).setLength(length),
                r -> r.getData().asReadOnlyByteBuffer());
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return route(p -> p.write(offset, data.duplicate(), fua),
                () -> IoRequest.newBuilder().setKind(IoKind.WRITE).setOffset(offset).setLength(data.remaining())
                        .setData(ByteString.copyFrom(data.duplicate())).setFua(fua),
                r -> null);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return route(PrimaryEngine::flush, () -> IoRequest.newBuilder().setKind(IoKind.FLUSH), r -> null);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return route(p -> p.trim(offset, length, fua),
                () -> IoRequest.newBuilder().setKind(IoKind.TRIM).setOffset(offset).setLength(length).setFua(fua),
                r -> null);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
        return route(p -> p.writeZeroes(offset, length, fua, noHole),
                () -> IoRequest.newBuilder().setKind(IoKind.WRITE_ZEROES).setOffset(offset).setLength(length)
                        .setFua(fua).setNoHole(noHole),
                r -> null);
    }

    /**
     * Runs a request on the local primary when this server holds it, else forwards it. A local
     * primary that answers NOT_PRIMARY (its lease not confirmed yet, or deposed a moment ago) is
     * waited for like a forwarded request: it acknowledged nothing, so the request goes to
     * whichever brick is primary next.
     */
    private <T> CompletableFuture<T> route(Function<PrimaryEngine, CompletableFuture<T>> here,
                                           Supplier<IoRequest.Builder> request, Function<IoReply, T> result) {
        PrimaryEngine p = local.get();
        if (p == null) return call(request.get()).thenApply(result);
        return here.apply(p).exceptionallyCompose(e -> ReplicationService.notPrimary(e)
                ? call(request.get()).thenApply(result)
                : CompletableFuture.failedFuture(ReplicationService.cause(e)));
    }

    private CompletableFuture<IoReply> call(IoRequest.Builder b) {
        long id = ids.incrementAndGet();
        long grace = TimeUnit.SECONDS.toNanos(view.get().options().pingTimeoutSeconds() + FAILOVER_GRACE_SECONDS);
        Call c = new Call(b.setId(id).setVolume(volume).build(), System.nanoTime() + grace);
        ensureSweeper();
        inflight.put(id, c);
        send(c);
        return c.done();
    }

    private void send(Call c) {
        if (c.done().isDone()) return;
        PrimaryEngine p = local.get();
        if (p != null) {
            // This server became the primary while the call waited.
            inflight.remove(c.request().getId());
            runLocally(p, c);
            return;
        }
        try {
            synchronized (this) {
                String target = view.get().primaryMember().address();
                if (stream == null || !target.equals(streamAddress)) {
                    if (stream != null) stream.onCompleted();
                    streamAddress = target;
                    stream = ReplicationGrpc.newStub(coordinator.channel(target)).blockIo(new Replies(target));
                }
                c.sentTo = target;
                c.sentNanos = System.nanoTime();
                stream.onNext(c.request());
            }
        } catch (RuntimeException e) {
            retryLater(c, e.getMessage());
        }
    }

    private void runLocally(PrimaryEngine p, Call c) {
        CompletableFuture<IoReply.Builder> f;
        try {
            f = ReplicationService.dispatch(p, c.request());
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((r, e) -> {
            if (e != null && ReplicationService.notPrimary(e)) {
                inflight.put(c.request().getId(), c);
                retryLater(c, ReplicationService.cause(e).getMessage());
            } else if (e != null) {
                c.done().completeExceptionally(ReplicationService.cause(e));
            } else {
                c.done().complete(r.build());
            }
        });
    }

    private boolean sweeping; // guarded by this

    private synchronized void ensureSweeper() {
        if (sweeping) return;
        sweeping = true;
        RETRY.scheduleWithFixedDelay(this::sweep, 500, 500, TimeUnit.MILLISECONDS);
    }

    /**
     * A primary that is frozen (not dead) keeps its stream open and never answers. Calls that
     * wait past their deadline fail; calls sent to a server that is no longer the primary are
     * sent again to the one that is (every NBD request is idempotent; the first answer wins).
     */
    private void sweep() {
        if (inflight.isEmpty()) return;
        long now = System.nanoTime();
        String primary;
        long silent;
        try {
            SetView v = view.get();
            primary = v.primaryMember().address();
            silent = TimeUnit.SECONDS.toNanos(v.options().pingTimeoutSeconds());
        } catch (RuntimeException e) {
            return; // the volume is gone: the calls end at their deadline
        }
        for (Call c : inflight.values()) {
            if (now > c.deadlineNanos()) {
                retryLater(c, "no answer from " + c.sentTo);
            } else if (c.sentTo != null && now - c.sentNanos > silent && !primary.equals(c.sentTo)) {
                LOG.info("{}: resending request {} to the new primary at {}", volume, c.request().getId(), primary);
                send(c);
            }
        }
    }

    private void retryLater(Call c, String why) {
        if (System.nanoTime() > c.deadlineNanos()) {
            inflight.remove(c.request().getId());
            c.done().completeExceptionally(new NbdError(NbdError.EIO, "primary of " + volume + " unreachable: " + why));
            return;
        }
        RETRY.schedule(() -> send(c), 300, TimeUnit.MILLISECONDS);
    }

    private final class Replies implements StreamObserver<IoReply> {
        private final String address;

        Replies(String address) {
            this.address = address;
        }

        @Override
        public void onNext(IoReply r) {
            Call c = inflight.get(r.getId());
            if (c == null) return;
            if (r.getErrno() == ReplicationService.NOT_PRIMARY) {
                retryLater(c, r.getMessage());
                return;
            }
            inflight.remove(r.getId());
            if (r.getErrno() != 0) c.done().completeExceptionally(new NbdError(r.getErrno(), r.getMessage()));
            else c.done().complete(r);
        }

        @Override
        public void onError(Throwable t) {
            streamGone(t.getMessage());
        }

        @Override
        public void onCompleted() {
            streamGone("stream closed");
        }

        private void streamGone(String why) {
            synchronized (RoutedExport.this) {
                if (address.equals(streamAddress)) {
                    stream = null;
                    streamAddress = null;
                }
            }
            LOG.debug("{}: forwarding stream to {} ended: {}", volume, address, why);
            // Only what went down this stream: a call already sent again elsewhere must not be
            // sent twice more (a late copy of a write could land after a newer write).
            for (Call c : inflight.values()) if (address.equals(c.sentTo)) retryLater(c, why);
        }
    }
}
