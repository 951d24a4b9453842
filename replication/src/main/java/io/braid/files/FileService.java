package io.braid.files;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Layout;
import io.braid.proto.file.LayoutRequest;
import io.braid.proto.file.Lock;
import io.braid.proto.file.SessionEvent;
import io.braid.proto.file.SessionRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The file volume service that mounts talk to: layouts, and every operation on a path, answered
 * by the local primary of the path's replica set (or, for reads when the volume allows it, by an
 * in-sync replica). A server that holds no such brick answers FAILED_PRECONDITION and the client
 * looks the layout up again. Bad requests get an errno, never a crash.
 */
public final class FileService extends FileIoGrpc.FileIoImplBase {
    /**
     * Where a mount keeps files that were unlinked (or renamed over) while it still had them open,
     * at the root of every replica set: {@code .braid-unlinked/SET-CLIENT-N}. The mount removes
     * each when its last handle closes; a server removes a client's when its session has been
     * gone for {@link #ORPHAN_GRACE_SECONDS} (the client died).
     */
    public static final String UNLINKED_DIR = ".braid-unlinked";
    static final int ORPHAN_GRACE_SECONDS = 10;
    /**
     * How long, in multiples of the volume's {@code network.ping-timeout}, a client that holds
     * locks on a primary here may have no session with this server before they go: after a
     * failover the new primary holds the locks of clients that may have died with the old one (a
     * live mount keeps a session with every server of the pool, and tries again every second).
     * 15 s at the default ping-timeout of 5 s.
     */
    static final int LOCK_GRACE_PINGS = 3;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FileService.class);

    private final FileRegistry registry;
    private final Set<ServerCallStreamObserver<SessionEvent>> sessions = ConcurrentHashMap.newKeySet();
    private final Map<String, Integer> clients = new ConcurrentHashMap<>(); // open sessions per client
    private final java.util.concurrent.ScheduledExecutorService sweeper =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "session-sweeper");
                t.setDaemon(true);
                return t;
            });

    /** Clients holding locks on a primary here without a session with this server, since when. */
    private final Map<String, Long> sessionless = new ConcurrentHashMap<>();

    public FileService(FileRegistry registry) {
        this.registry = registry;
        sweeper.scheduleWithFixedDelay(this::expireLocks, 5, 5, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Releases the locks of clients that have had no session here for {@link #LOCK_GRACE_PINGS} ping timeouts. */
    private void expireLocks() {
        try {
            long now = System.nanoTime();
            Set<String> seen = new java.util.HashSet<>();
            for (FileReplica r : registry.replicas()) {
                FilePrimary p = r.primary();
                if (p == null) continue;
                for (String client : p.locks().clients()) {
                    if (clients.containsKey(client)) continue;
                    seen.add(client);
                    long since = sessionless.computeIfAbsent(client, k -> now);
                    long grace = (long) LOCK_GRACE_PINGS * p.view().options().pingTimeoutSeconds();
                    if (now - since >= java.util.concurrent.TimeUnit.SECONDS.toNanos(grace)) {
                        LOG.info("{}: client {} has had no session here for {} s: its locks go", p.view().volume(), client,
                                grace);
                        p.releaseLocks(client);
                    }
                }
            }
            sessionless.keySet().retainAll(seen);
        } catch (RuntimeException e) {
            LOG.warn("lock expiry: {}", e.toString());
        }
    }

    @Override
    public void getLayout(LayoutRequest req, StreamObserver<Layout> out) {
        try {
            out.onNext(registry.layout(req.getVolume()));
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
        }
    }

    /** How many requests of one {@link #calls} stream may wait for their answers at once. */
    static final int CALLS_IN_FLIGHT = 1024;

    /** Requests with a large payload are parsed in place; {@link #call} gives each back. */
    private final ZeroCopy<FileRequest> requests = new ZeroCopy<>(FileRequest.getDefaultInstance(),
            r -> r.getOpCase() == FileRequest.OpCase.WRITE);

    /** This service as the server binds it: {@link #call} requests parsed in place ({@link ZeroCopy}). */
    public io.grpc.ServerServiceDefinition definition() {
        return requests.bind(bindService(), FileIoGrpc.getCallMethod().getFullMethodName());
    }

    /**
     * Answers the request and then gives its buffers back ({@link ZeroCopy}): once its answer is
     * sent, or, for a mutation, once the primary is done with it (one that waits for quorum is
     * applied later, even when the caller has given up meanwhile).
     */
    @Override
    public void call(FileRequest req, StreamObserver<FileReply> out) {
        java.util.concurrent.CompletableFuture<?> done = null;
        try {
            done = serve(req, out);
        } finally {
            if (done == null) requests.release(req);
            else done.whenComplete((x, e) -> requests.release(req));
        }
    }

    /**
     * Many requests on one stream (a mount's reads): each is served as a {@link #call} would be,
     * and its reply carries its tag; a failure that would end a call is a reply with its status
     * instead, so the stream goes on. Requests on it are parsed as usual (not in place), so a
     * mutation that outlives its message is safe here too. The stream ends once the client has
     * half-closed it and every request on it is answered.
     */
    @Override
    public StreamObserver<FileRequest> calls(StreamObserver<FileReply> out) {
        ServerCallStreamObserver<FileReply> stream = (ServerCallStreamObserver<FileReply>) out;
        // paced: at most CALLS_IN_FLIGHT requests unanswered, and no new one taken while the
        // client is not reading the replies, so a client that only sends cannot make the server
        // queue replies without bound (gRPC would otherwise ask for the next message at once)
        stream.disableAutoRequest();
        java.util.concurrent.atomic.AtomicInteger owed = new java.util.concurrent.atomic.AtomicInteger();
        Runnable drain = () -> {
            if (stream.isReady()) {
                int n = owed.getAndSet(0);
                if (n > 0) stream.request(n);
            }
        };
        stream.setOnReadyHandler(drain);
        stream.request(CALLS_IN_FLIGHT);
        return new StreamObserver<>() {
            private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger(1);

            @Override
            public void onNext(FileRequest req) {
                open.incrementAndGet();
                serve(req, new Tagged(stream, req.getTag(), () -> {
                    owed.incrementAndGet();
                    drain.run(); // or the next onReady
                    answered();
                }));
            }

            @Override
            public void onError(Throwable t) {
                // the client went away: what is still being served answers into a closed stream
            }

            @Override
            public void onCompleted() {
                answered();
            }

            private void answered() {
                if (open.decrementAndGet() == 0) {
                    synchronized (stream) {
                        try {
                            stream.onCompleted();
                        } catch (RuntimeException ignored) {
                            // cancelled meanwhile
                        }
                    }
                }
            }
        };
    }

    /** The answer to one request of a {@link #calls} stream: tagged, and sent on the shared stream. */
    private static final class Tagged implements StreamObserver<FileReply> {
        private final ServerCallStreamObserver<FileReply> stream;
        private final long tag;
        private final Runnable answered;
        private boolean done;

        Tagged(ServerCallStreamObserver<FileReply> stream, long tag, Runnable answered) {
            this.stream = stream;
            this.tag = tag;
            this.answered = answered;
        }

        @Override
        public void onNext(FileReply r) {
            send(r.toBuilder().setTag(tag).build());
        }

        @Override
        public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            send(FileReply.newBuilder().setTag(tag).setStatus(s.getCode().value())
                    .setMessage(s.getDescription() == null ? s.getCode().name() : s.getDescription()).build());
        }

        @Override
        public void onCompleted() {
            // the reply was the answer
        }

        private void send(FileReply r) {
            if (done) return; // one answer per request
            done = true;
            synchronized (stream) {
                try {
                    if (!stream.isCancelled()) stream.onNext(r);
                } catch (RuntimeException ignored) {
                    // the client went away
                }
            }
            answered.run();
        }
    }

    /** @return what completes when the request is no longer used, or null when that is now */
    private java.util.concurrent.CompletableFuture<?> serve(FileRequest req, StreamObserver<FileReply> out) {
        try {
            if (req.getOpCase() == FileRequest.OpCase.OP_NOT_SET) {
                reply(out, FileOps.error(Errno.EINVAL, "no operation"));
                return null;
            }
            FileReplica r = registry.replica(req.getVolume(), req.getSet());
            FilePrimary p = r == null ? null : r.primary();
            if (p != null) {
                for (long fh : req.getReleasedList()) p.openFiles().release(req.getClient(), fh);
                if (!FileOps.isMutation(req)) req = p.openFiles().through(req); // a mutation's, under its order
            }
            if (req.getOpCase() == FileRequest.OpCase.RELEASE) {
                reply(out, FileReply.getDefaultInstance()); // what it released was held here, or nowhere
                return null;
            }
            if (p == null) {
                boolean read = !FileOps.isMutation(req) && req.getOpCase() != FileRequest.OpCase.LOCK;
                boolean allowed = r != null && read && registry.layout(req.getVolume()).getReadFromReplicas() && r.readable();
                if (allowed && readsContent(req) && r.owesPrimary(FileOps.normalize(FileOps.pathOf(req)))) {
                    // in split-brain (or still to be pulled into the primary): the content is the primary's to refuse
                    if (req.getOpCase() == FileRequest.OpCase.GETATTR) req = withoutPrefetch(req);
                    else allowed = false;
                }
                if (!allowed) {
                    out.onError(Status.FAILED_PRECONDITION.withDescription("not primary of " + req.getVolume()
                            + " set " + req.getSet() + " here").asRuntimeException());
                    return null;
                }
                reply(out, r.read(req));
                return null;
            }
            String split = splitBrain(p, req);
            if (split != null) {
                if (req.getOpCase() != FileRequest.OpCase.GETATTR) {
                    reply(out, FileOps.error(Errno.EIO, split));
                    return null;
                }
                req = withoutPrefetch(req); // a lookup still works in split-brain; the content stays behind
            }
            if (req.getOpCase() == FileRequest.OpCase.LOCK) {
                Lock l = req.getLock();
                String key = p.openFiles().lockKey(req.getClient(), req.getFh(), l.getPath(),
                        l.getCmd() != Lock.Cmd.GETLK && l.getType() != Lock.Type.UNLCK);
                return p.lock(key, req.getClient(), l).whenComplete((rep, e) -> finish(out, rep, e));
            } else if (FileOps.isMutation(req)) {
                FileRequest q = req;
                return p.mutate(req).whenComplete((rep, e) -> {
                    if (e == null && rep.getErrno() == 0 && q.getOpCase() == FileRequest.OpCase.CREATE) {
                        p.openFiles().bind(q.getClient(), q.getFh(), q.getCreate().getPath());
                    }
                    finish(out, rep, e);
                });
            } else {
                FileReply rep = r.read(req);
                if (req.getOpCase() == FileRequest.OpCase.OPEN && rep.getErrno() == 0 && OpenFiles.readsFollow(rep)) {
                    p.openFiles().bind(req.getClient(), req.getFh(), req.getOpen().getPath());
                }
                reply(out, rep);
            }
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            reply(out, FileOps.error(Errno.EIO, "internal error: " + e));
        }
        return null;
    }

    /**
     * Why req is refused: a path of it is in split-brain (or being pulled from a peer), or null.
     * Looking a name up, its attributes and a directory's listing still work (as in GlusterFS);
     * opening, reading and changing it fail.
     */
    private static String splitBrain(FilePrimary p, FileRequest req) {
        if (!readsContent(req)) return null;
        boolean any = false;
        for (FileLink l : p.links()) any |= l.refusesSome();
        if (!any) return null; // the usual case: nothing to look up
        String a = FileOps.normalize(FileOps.pathOf(req));
        String b = switch (req.getOpCase()) {
            case RENAME -> FileOps.normalize(req.getRename().getTo());
            case LINK -> FileOps.normalize(req.getLink().getTo());
            default -> null;
        };
        for (FileLink l : p.links()) {
            if (l.inSplitBrain(a)) return splitMessage(req, a);
            if (l.pulling(a)) return "/" + a + " is being healed from " + l.brick() + ": try again";
            if (b != null && l.inSplitBrain(b)) return splitMessage(req, b);
        }
        return null;
    }

    /**
     * Whether req opens, reads or changes what a path holds; a lookup (getattr without prefetch),
     * a listing, statfs and locks do not, and still work on a path in split-brain.
     */
    private static boolean readsContent(FileRequest req) {
        return switch (req.getOpCase()) {
            case GETATTR -> req.getGetattr().getPrefetch() > 0;
            case READDIR, STATFS, LOCK -> false;
            default -> true;
        };
    }

    private static FileRequest withoutPrefetch(FileRequest req) {
        return req.toBuilder().setGetattr(req.getGetattr().toBuilder().setPrefetch(0)).build();
    }

    private static String splitMessage(FileRequest req, String path) {
        return "/" + path + " is in split-brain: see 'volume heal " + req.getVolume() + " info split-brain'";
    }

    private static void finish(StreamObserver<FileReply> out, FileReply rep, Throwable e) {
        try {
            if (e == null) {
                reply(out, rep);
            } else {
                Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (c instanceof FilePrimary.NotPrimaryException) {
                    out.onError(Status.FAILED_PRECONDITION.withDescription("not primary").asRuntimeException());
                } else {
                    reply(out, FileOps.error(Errno.EIO, String.valueOf(c.getMessage())));
                }
            }
        } catch (RuntimeException ignored) {
            // the client went away
        }
    }

    private static void reply(StreamObserver<FileReply> out, FileReply r) {
        out.onNext(r);
        out.onCompleted();
    }

    @Override
    public void session(SessionRequest req, StreamObserver<SessionEvent> out) {
        ServerCallStreamObserver<SessionEvent> s = (ServerCallStreamObserver<SessionEvent>) out;
        String client = req.getClient();
        sessions.add(s);
        clients.merge(client, 1, Integer::sum);
        s.setOnCancelHandler(() -> {
            sessions.remove(s);
            clients.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
            for (FileReplica r : registry.replicas()) {
                FilePrimary p = r.primary();
                if (p != null) {
                    p.releaseLocks(client);
                    if (!clients.containsKey(client)) p.openFiles().releaseAll(client);
                }
            }
            try {
                sweeper.schedule(() -> sweepUnlinked(client), ORPHAN_GRACE_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.RejectedExecutionException ignored) {
                // stopping
            }
        });
    }

    /**
     * Removes the unlinked-but-open files a client left on the sets this server leads, unless the
     * client has a session again (it only lost its connection for a while).
     */
    void sweepUnlinked(String client) {
        if (clients.containsKey(client) || client.isEmpty() || client.contains("/")) return;
        for (FileReplica r : registry.replicas()) {
            FilePrimary p = r.primary();
            if (p == null) continue;
            String prefix = r.view().set() + "-" + client + "-";
            p.removeUnlinked(name -> name.startsWith(prefix), "left open by client " + client + " that is gone");
        }
    }

    /** Tells every open session that a volume's layout changed. */
    public void layoutChanged(String volume) {
        for (ServerCallStreamObserver<SessionEvent> s : sessions) {
            try {
                synchronized (s) {
                    s.onNext(SessionEvent.newBuilder().setLayoutChanged(volume).build());
                }
            } catch (RuntimeException e) {
                sessions.remove(s);
            }
        }
    }
}
