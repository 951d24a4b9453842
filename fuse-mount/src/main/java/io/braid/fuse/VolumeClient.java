package io.braid.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;

import io.braid.proto.file.BrickLayout;
import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Layout;
import io.braid.proto.file.Lock;
import io.braid.proto.file.Release;
import io.braid.proto.file.SetLayout;
import io.grpc.Status;

/**
 * A mount's connection to one file volume: sends each operation to the primary of its replica
 * set, and when that server is not (or no longer) the primary or cannot be reached, asks for the
 * layout again and retries the same request (same client and request id, so a mutation applied
 * before a failover is answered from its first result, never applied twice) until the retry
 * budget is spent, then answers ENOTCONN. Never throws from a call: a failure is a reply with errno.
 */
public final class VolumeClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeClient.class);

    /**
     * @param callDeadlineMs  deadline of one attempt (none for a blocking lock)
     * @param retryBudgetMs   how long to keep retrying one operation before ENOTCONN
     * @param backoffMinMs    first pause between attempts, doubled each time
     * @param backoffMaxMs    longest pause between attempts
     * @param layoutDeadlineMs deadline of one layout question
     */
    public record Timing(long callDeadlineMs, long retryBudgetMs, long backoffMinMs, long backoffMaxMs,
                         long layoutDeadlineMs) {
        /**
         * A failover takes at most network.ping-timeout (5 s) after the primary's last answer; one
         * minute covers several. Pauses stop doubling at half a second, so the mount reaches the new
         * primary within about that of its promotion.
         */
        public static final Timing DEFAULT = new Timing(15_000, 60_000, 100, 500, 3_000);
    }

    private final String volume;
    private final String clientId = UUID.randomUUID().toString();
    private final Timing timing;
    private final ServerChannels channels = new ServerChannels();
    private final CallStreams streams = new CallStreams(channels);
    private final LayoutSource layouts;
    private final Sessions sessions;
    private final AtomicLong requestIds = new AtomicLong();
    private final ScheduledExecutorService retries;
    private volatile boolean closed;
    /** Handles closed per replica set, not yet told to its primary. */
    private final Map<Integer, java.util.Queue<Long>> released = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_RELEASED = 1024;

    public VolumeClient(String volume, List<ServerAddress> servers, Timing timing) {
        this.volume = volume;
        this.timing = timing;
        List<String> targets = new ArrayList<>();
        for (ServerAddress s : servers) {
            targets.add(s.target());
        }
        this.layouts = new LayoutSource(volume, targets, channels, timing.layoutDeadlineMs());
        this.sessions = new Sessions(volume, clientId, channels, () -> layouts.refresh(layouts.current()));
        this.retries = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "braid-retry");
            t.setDaemon(true);
            return t;
        });
        retries.scheduleWithFixedDelay(() -> {
            flushReleased();
            keepSessions();
            streams.expire();
        }, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Keeps a session with the server of every brick of the volume, not only those called: any of
     * them may become a set's primary, and one holds this mount's locks after a failover only
     * while it has a session with it (and tells it of layout changes through it).
     */
    private void keepSessions() {
        Layout l = layouts.current();
        if (l == null || closed) return;
        for (SetLayout s : l.getSetsList()) {
            for (BrickLayout b : s.getBricksList()) {
                if (!b.getAddress().isEmpty()) sessions.ensure(b.getAddress());
            }
        }
    }

    /**
     * Fetches the layout for the first time.
     *
     * @throws MountException with a one-line reason if the volume cannot be mounted
     */
    public Layout connect() {
        return layouts.fetchFirst();
    }

    public String volume() {
        return volume;
    }

    public String clientId() {
        return clientId;
    }

    /** The number of replica sets K of the volume as last heard. */
    public int sets() {
        Layout l = layouts.current();
        return l == null ? 1 : Math.max(1, l.getSetsCount());
    }

    public Layout layout() {
        return layouts.current();
    }

    /** Sends request to the replica set and waits for the reply. */
    public FileReply call(int set, FileRequest.Builder request) {
        return callAsync(set, request).join();
    }

    /** Sends request to the replica set; the future always completes normally. */
    public CompletableFuture<FileReply> callAsync(int set, FileRequest.Builder request) {
        return callAsync(set, request, 0);
    }

    /**
     * Sends request to the replica set under request id {@code id} (from {@link #nextId}), or a
     * new one when 0; the future always completes normally.
     */
    CompletableFuture<FileReply> callAsync(int set, FileRequest.Builder request, long id) {
        FileRequest.OpCase op = request.getOpCase();
        if (!replicaReadable(op)) {
            // goes to the set's primary, where the handles closed since were kept
            java.util.Queue<Long> q = released.get(set);
            Long fh;
            while (q != null && request.getReleasedCount() < MAX_RELEASED && (fh = q.poll()) != null) {
                request.addReleased(fh);
            }
        }
        boolean retriedSafely = readsOnly(request);
        id = retriedSafely ? 0 : id != 0 ? id : requestIds.incrementAndGet();
        FileRequest built = request.setVolume(volume).setSet(set).setClient(clientId).setId(id).build();
        boolean waits = op == FileRequest.OpCase.LOCK && request.getLock().getCmd() == Lock.Cmd.SETLKW;
        Attempts a = new Attempts(built, replicaReadable(op), waits);
        a.run();
        return a.result;
    }

    /**
     * The open file fh, which the primary of set keeps (OpenFiles), was closed: the next request to
     * that server says so, or a Release within a second when none comes.
     */
    void released(int set, long fh) {
        released.computeIfAbsent(set, k -> new java.util.concurrent.ConcurrentLinkedQueue<>()).add(fh);
    }

    /** Sends the releases no other request took along. */
    private void flushReleased() {
        for (var e : released.entrySet()) {
            if (!e.getValue().isEmpty() && !closed) {
                callAsync(e.getKey(), FileRequest.newBuilder().setRelease(Release.getDefaultInstance()));
            }
        }
    }

    /** A request id for a mutation the caller must name later (see {@link #callAsync(int, FileRequest.Builder, long)}). */
    long nextId() {
        return requestIds.incrementAndGet();
    }

    /** Operations whose repetition changes nothing: the server need not remember their result. */
    static boolean readsOnly(FileRequest.Builder r) {
        return switch (r.getOpCase()) {
            case GETATTR, READDIR, READLINK, READ, STATFS, GETXATTR, LISTXATTR, OPEN, RELEASE -> true;
            case LOCK -> r.getLock().getCmd() == Lock.Cmd.GETLK;
            default -> false;
        };
    }

    /**
     * Whether request may go on the server's Calls stream: everything but a write of
     * {@link #IN_PLACE_BYTES} or more, which the server parses in place from a unary call's
     * buffers (a lock that waits, having no deadline, stays a unary call too: see Attempts).
     */
    static boolean streamed(FileRequest request) {
        return request.getOpCase() != FileRequest.OpCase.WRITE || request.getWrite().getData().size() < IN_PLACE_BYTES;
    }

    /** The size from which the server parses a request in place (ZeroCopy.MIN_BYTES), less its headers. */
    static final int IN_PLACE_BYTES = 30 << 10;

    private static boolean replicaReadable(FileRequest.OpCase op) {
        return switch (op) {
            case GETATTR, READDIR, READLINK, READ, STATFS, GETXATTR, LISTXATTR -> true;
            default -> false;
        };
    }

    /**
     * The server to send to: the set's primary, or for a read with cluster.read-from-replicas on,
     * one in-sync data brick chosen by this mount's id (so mounts spread over the replicas).
     */
    String route(Layout layout, int set, boolean read) {
        if (set < 0 || set >= layout.getSetsCount()) {
            return null;
        }
        SetLayout s = layout.getSets(set);
        if (read && layout.getReadFromReplicas()) {
            List<BrickLayout> readable = new ArrayList<>();
            for (int i = 0; i < s.getBricksCount(); i++) {
                BrickLayout b = s.getBricks(i);
                if (!b.getArbiter() && (b.getInSync() || i == s.getPrimary())) {
                    readable.add(b);
                }
            }
            if (!readable.isEmpty()) {
                return readable.get(Math.floorMod(clientId.hashCode(), readable.size())).getAddress();
            }
        }
        if (s.getPrimary() < 0 || s.getPrimary() >= s.getBricksCount()) {
            return null;
        }
        return s.getBricks(s.getPrimary()).getAddress();
    }

    /** One operation's attempts, each after the previous failed in transport. */
    private final class Attempts {
        final FileRequest request;
        final boolean waits;
        final long giveUpAt;
        final CompletableFuture<FileReply> result = new CompletableFuture<>();
        boolean mayReadReplica;
        long backoffMs = timing.backoffMinMs();
        Status lastFailure;
        String lastAddress;
        /** When a layout first said no brick of the set can serve (SetLayout.no_candidate); 0 if the last did not. */
        long noCandidateSince;

        Attempts(FileRequest request, boolean mayReadReplica, boolean waits) {
            this.request = request;
            this.mayReadReplica = mayReadReplica;
            this.waits = waits;
            this.giveUpAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timing.retryBudgetMs());
        }

        void run() {
            if (closed) {
                result.complete(error(Errno.ENOTCONN, "unmounted"));
                return;
            }
            Layout layout = layouts.current();
            if (!layout.getStarted()) {
                // Maybe started again since: look once more before failing.
                layouts.refresh(layout).thenAccept(l -> {
                    if (!l.getStarted()) {
                        result.complete(error(Errno.ENOTCONN, "volume " + volume + " is not started"));
                    } else {
                        send(l);
                    }
                });
                return;
            }
            send(layout);
        }

        private void send(Layout layout) {
            String address = route(layout, request.getSet(), mayReadReplica);
            if (address == null || address.isEmpty()) {
                failed(layout, null, Status.UNAVAILABLE.withDescription("no primary for set " + request.getSet()));
                return;
            }
            ListenableFuture<FileReply> f;
            try {
                sessions.ensure(address);
                if (!waits && streamed(request) && streams.supported(address)) {
                    // one message on the server's stream
                    streams.call(address, request, timing.callDeadlineMs()).whenComplete((reply, t) -> {
                        if (t == null) {
                            result.complete(reply);
                        } else if (!streams.supported(address)) {
                            send(layout); // a server without streams: as a unary call
                        } else {
                            failed(layout, address, Status.fromThrowable(t));
                        }
                    });
                    return;
                }
                FileIoGrpc.FileIoFutureStub stub = FileIoGrpc.newFutureStub(channels.get(address));
                if (!waits) {
                    stub = stub.withDeadlineAfter(timing.callDeadlineMs(), TimeUnit.MILLISECONDS);
                }
                f = stub.call(request);
            } catch (RuntimeException e) {
                result.complete(error(Errno.ENOTCONN, "unmounted"));
                return;
            }
            Futures.addCallback(f, new FutureCallback<>() {
                @Override
                public void onSuccess(FileReply reply) {
                    result.complete(reply);
                }

                @Override
                public void onFailure(Throwable t) {
                    failed(layout, address, Status.fromThrowable(t));
                }
            }, MoreExecutors.directExecutor());
        }

        private void failed(Layout seen, String address, Status status) {
            lastFailure = status;
            lastAddress = address;
            if (closed) {
                result.complete(error(Errno.ENOTCONN, "unmounted"));
                return;
            }
            if (!Errno.retryable(status.getCode())) {
                LOG.warn("{}: {} on {} failed: {}", volume, request.getOpCase(), address,
                        LayoutSource.describe(status));
                result.complete(error(Errno.of(status.getCode()), LayoutSource.describe(status)));
                return;
            }
            long now = System.nanoTime();
            if (noCandidate(seen, request.getSet())) {
                if (noCandidateSince == 0) {
                    noCandidateSince = now;
                } else if (now - noCandidateSince >= TimeUnit.MILLISECONDS.toNanos(NO_CANDIDATE_GRACE_MS)) {
                    LOG.warn("{}: {} of set {}: no up-to-date data brick of the set is up; last {} said {}", volume,
                            request.getOpCase(), request.getSet(), address, LayoutSource.describe(status));
                    result.complete(error(Errno.ENOTCONN, "no up-to-date data brick of set " + request.getSet() + " is up"));
                    return;
                }
            } else {
                noCandidateSince = 0;
            }
            if (now + TimeUnit.MILLISECONDS.toNanos(backoffMs) - giveUpAt > 0) {
                LOG.warn("{}: {} of set {} gave up after {} s: last {} said {}", volume, request.getOpCase(),
                        request.getSet(), timing.retryBudgetMs() / 1000, address, LayoutSource.describe(status));
                result.complete(error(Errno.ENOTCONN, "no primary reachable for set " + request.getSet()));
                return;
            }
            LOG.debug("{}: {} of set {} on {}: {}; retrying", volume, request.getOpCase(), request.getSet(),
                    address, LayoutSource.describe(status));
            mayReadReplica = false;
            long pause = backoffMs;
            backoffMs = Math.min(backoffMs * 2, timing.backoffMaxMs());
            try {
                retries.schedule(() -> layouts.refresh(seen).whenComplete((l, t) -> run()),
                        pause, TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                result.complete(error(Errno.ENOTCONN, "unmounted"));
            }
        }
    }

    /**
     * How long layouts must keep saying that no brick of a set can serve (no_candidate) before an
     * operation fails with ENOTCONN instead of waiting out the retry budget: a server that has
     * just started may not hear its peers yet.
     */
    static final long NO_CANDIDATE_GRACE_MS = 2_000;

    static boolean noCandidate(Layout layout, int set) {
        return set >= 0 && set < layout.getSetsCount() && layout.getSets(set).getNoCandidate();
    }

    static FileReply error(int errno, String message) {
        return FileReply.newBuilder().setErrno(errno).setMessage(message).build();
    }

    @Override
    public void close() {
        closed = true;
        streams.close();
        sessions.close();
        retries.shutdownNow();
        channels.close();
    }
}
