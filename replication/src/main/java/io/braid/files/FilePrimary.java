package io.braid.files;

import io.braid.proto.file.Attr;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Lock;
import io.braid.proto.file.Setattr;
import io.braid.proto.file.Utimens;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.proto.filerep.FileOp;
import io.braid.proto.filerep.LockSync;
import io.braid.proto.filerep.LockedFile;
import io.braid.proto.filerep.TimeFix;
import io.braid.replication.SetView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary of one replica set of a file volume. Every mutation takes the order lock: it is
 * applied to the local brick, given the next sequence number, and sent to every live secondary
 * (those that are in sync and streaming), or recorded in the dirty index of each secondary that
 * is not. The client gets its reply once every live secondary has applied it (protocol C).
 */
public final class FilePrimary implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FilePrimary.class);

    private final FileReplica replica;
    private final ReentrantLock order = new ReentrantLock();
    private final List<FileLink> links = new ArrayList<>();
    private final OpenFiles openFiles;
    private volatile SetView view;
    private long seq;
    private final java.util.TreeSet<Long> outstanding = new java.util.TreeSet<>(); // guarded by order
    /**
     * Settled mutations not yet pruned from the recent log: the next mutation's record takes the
     * prune along in its one metadata write, or {@link #TIMERS} does it a moment later when none
     * comes. Guarded by order.
     */
    private boolean pruneDue;
    private boolean pruneScheduled;
    /** Files whose writes left their times to each brick's kernel, to be copied later. Guarded by order. */
    private final OwedTimes owedTimes = new OwedTimes();
    private boolean owedTimesScheduled;
    /** Runs the recent log's prunes that no mutation took along, and a new primary's sweep of kept names. */
    private static final java.util.concurrent.ScheduledExecutorService TIMERS =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "file-primary-timer");
                t.setDaemon(true);
                return t;
            });
    private static final long PRUNE_DELAY_MS = 50;
    private volatile boolean closed;
    /** Threads that wait for the quorum of a mutation that arrived without it. */
    private static final java.util.concurrent.ExecutorService QUORUM_WAITS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "file-quorum-wait");
        t.setDaemon(true);
        return t;
    });

    FilePrimary(FileReplica replica, SetView view) throws IOException {
        this.replica = replica;
        this.view = view;
        this.openFiles = new OpenFiles(replica.store(), this::dropKept);
        for (int i = 0; i < view.members().size(); i++) {
            SetView.Member m = view.members().get(i);
            if (m.brick().equals(replica.brick())) continue;
            FileLink l = new FileLink(this, m, i, new DirtyIndex(replica.meta(), m.brick()));
            l.checkHistory();
            links.add(l);
        }
    }

    void start() {
        for (FileLink l : links) l.start();
        TIMERS.schedule(this::dropKeptNames, KEPT_SWEEP_DELAY_S, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** How long a new primary lets its links come up before it removes the names kept by an earlier one. */
    private static final long KEPT_SWEEP_DELAY_S = 5;

    FileReplica replica() {
        return replica;
    }

    SetView view() {
        return view;
    }

    ReentrantLock order() {
        return order;
    }

    public LockTable locks() {
        return replica.locks();
    }

    /**
     * A lock request on the file named by key, answered once the change it made to the lock table
     * is on every live secondary; a request that waits is answered when a later change grants it,
     * once that is.
     */
    public CompletableFuture<FileReply> lock(String key, String client, Lock req) {
        CompletableFuture<FileReply> reply = locks().lock(key, client, req);
        CompletableFuture<Void> synced = syncLocks();
        return reply.isDone() ? synced.thenCompose(x -> reply) : reply;
    }

    /** Drops every lock of a client (its session here ended, or it has none after a failover). */
    public void releaseLocks(String client) {
        locks().release(client);
        syncLocks();
    }

    /**
     * Sends what changed in the lock table to the live secondaries, in the set's order, and then
     * answers the waiters it granted. Completes once they acknowledged it (or their links failed:
     * a link that turns live again gets the whole table).
     */
    private CompletableFuture<Void> syncLocks() {
        if (!locks().hasChanges()) return CompletableFuture.completedFuture(null); // a test, a refusal: no order taken
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        LockTable.Changes ch;
        order.lock();
        try {
            ch = locks().drain(this::currentPathOfLock);
            if (!ch.keys().isEmpty() && !closed) {
                LockSync.Builder b = LockSync.newBuilder();
                for (int i = 0; i < ch.keys().size(); i++) {
                    b.addFiles(LockedFile.newBuilder().setPath(ch.paths().get(i)).addAllHeld(ch.held().get(i)));
                }
                FileOp op = FileOp.newBuilder().setSeq(++seq).setLocks(b).build();
                for (FileLink l : links) {
                    if (!l.live()) continue;
                    try {
                        CompletableFuture<Void> f = l.send(op, List.of());
                        if (f != null) acks.add(f.handle((x, e) -> null));
                    } catch (IOException e) {
                        LOG.debug("{}: locks not sent to {}: {}", view.volume(), l.brick(), e.getMessage());
                    }
                }
            }
        } finally {
            order.unlock();
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(acks.toArray(new CompletableFuture[0]));
        if (!ch.granted().isEmpty()) all.whenComplete((x, e) -> ch.granted().forEach(f -> f.complete(FileReply.getDefaultInstance())));
        return all;
    }

    /** Sends the whole lock table to a link that just turned live. Under order. */
    void sendLocks(FileLink l) {
        try {
            l.send(FileOp.newBuilder().setSeq(++seq).setLocks(locks().snapshot(this::currentPathOfLock)).build(), List.of());
        } catch (IOException e) {
            LOG.debug("{}: locks not sent to {}: {}", view.volume(), l.brick(), e.getMessage());
        }
    }

    /** The name the file of a lock key has now, through a handle kept for it; null if none is. */
    private String currentPathOfLock(String key) {
        String now = openFiles.pathOfLock(key);
        return now == null ? null : "/" + now;
    }

    /** The files clients have open through this primary. */
    OpenFiles openFiles() {
        return openFiles;
    }

    public List<FileLink> links() {
        return links;
    }

    void update(SetView v) {
        this.view = v;
    }

    /**
     * Whether writes may be acknowledged now: the quorum policy over this brick and the peers it
     * is connected to. A peer being healed counts, as in GlusterFS; it is never promoted before it
     * is in sync, so this cannot diverge.
     */
    boolean quorum() {
        Set<Integer> up = new HashSet<>();
        SetView v = view;
        up.add(v.indexOf(replica.brick()));
        for (FileLink l : links) if (l.connected()) up.add(l.index);
        return v.quorumMet(up);
    }

    /**
     * Waits up to the ping timeout for the quorum: a new primary's links are still connecting,
     * and a peer that just returned is still being healed.
     */
    private boolean awaitQuorum() {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(view.options().pingTimeoutSeconds());
        while (!quorum()) {
            if (closed || System.nanoTime() > deadline) return false;
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /**
     * Applies a mutation and replicates it; completes when the client may be answered. Never
     * parks the caller, which is a transport thread: without the quorum now, the wait for it runs
     * on a helper thread.
     */
    public CompletableFuture<FileReply> mutate(FileRequest req) {
        if (!quorum()) {
            return CompletableFuture.supplyAsync(this::awaitQuorum, QUORUM_WAITS).thenCompose(ok -> apply(req));
        }
        return apply(req);
    }

    /**
     * Under the order lock, before a mutation is applied: the first answer of a retried request,
     * NOT_PRIMARY once closed, ENOTCONN without quorum; null to go on.
     */
    private CompletableFuture<FileReply> answeredOrRefused(FileRequest req) {
        FileReply cached = replica.replies().get(req.getClient(), req.getId());
        if (cached != null) return CompletableFuture.completedFuture(cached);
        if (closed) return CompletableFuture.failedFuture(new NotPrimaryException());
        if (!quorum()) {
            return CompletableFuture.completedFuture(FileOps.error(Errno.ENOTCONN,
                    "quorum not met for volume " + view.volume() + " (cluster.quorum-type " + view.options().quorumType() + ")"));
        }
        return null;
    }

    /**
     * EAGAIN when one of the client's changes a request must follow has not been applied here (it
     * failed, is still on its way, or went elsewhere); null when all of them were. Under order.
     */
    private CompletableFuture<FileReply> notAfter(String client, List<Long> after) {
        for (long id : after) {
            if (replica.replies().get(client, id) == null) {
                return CompletableFuture.completedFuture(FileOps.error(Errno.EAGAIN,
                        "change " + id + " of this client is not applied here"));
            }
        }
        return null;
    }

    private CompletableFuture<FileReply> apply(FileRequest req) {
        if (req.getOpCase() == FileRequest.OpCase.FSYNC) return fsync(req);
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        FileReply reply;
        order.lock();
        try {
            CompletableFuture<FileReply> early = answeredOrRefused(req);
            if (early != null) return early;
            early = notAfter(req.getClient(), req.getAfterList());
            if (early != null) return early;
            req = openFiles.through(req); // under order: no rename comes between
            keepOpenVictim(req);
            FileStore store = replica.store();
            FileOps.Applied a = FileOps.apply(store, req, false, true);
            reply = a.reply();
            if (!a.ok()) return CompletableFuture.completedFuture(reply);
            FileRequest resolved = resolve(req, reply);
            long mine = ++seq;
            FileOp.Builder op = FileOp.newBuilder().setSeq(mine).setMutation(resolved).setCommitted(committed());
            if (req.getOpCase() == FileRequest.OpCase.RENAME) owedTimes.renamed(req.getRename().getFrom(), req.getRename().getTo());
            boolean leaveTimes = req.getOpCase() == FileRequest.OpCase.WRITE
                    && owedTimes.defer(req.getWrite().getPath(), System.nanoTime());
            if (leaveTimes) {
                scheduleOwedTimes();
            } else {
                for (String p : a.timePaths()) {
                    Attr t = a.known(req, p);
                    if (t == null) t = FileOps.attrOrNull(store, p);
                    if (t != null) op.addTimes(timeFix(p, t));
                    owedTimes.covered(p);
                }
            }
            FileOp built = op.build();
            for (FileLink l : links) {
                CompletableFuture<Void> f = l.send(built, a.changes());
                if (f != null) acks.add(f);
            }
            // with the prune the last settled mutations left due: one metadata write for both
            replica.recent().update(pruneDue ? view.epoch() : -1, committed(), false, a.changes(), view.epoch(), mine);
            pruneDue = false;
            replica.replies().put(req.getClient(), req.getId(), reply);
            if (acks.isEmpty()) {
                replica.recent().prune(view.epoch(), committed(), false);
            } else {
                outstanding.add(mine);
                CompletableFuture.allOf(acks.toArray(new CompletableFuture[0])).whenComplete((x, e) -> settled(mine));
            }
        } catch (IOException e) {
            return CompletableFuture.completedFuture(FileOps.error(Errno.EIO, "metadata: " + e.getMessage()));
        } finally {
            order.unlock();
        }
        if (acks.isEmpty()) return CompletableFuture.completedFuture(reply);
        FileReply done = reply;
        return CompletableFuture.allOf(acks.toArray(new CompletableFuture[0])).handle((v, e) -> {
            if (e == null) return done;
            return FileOps.error(Errno.EIO, "not replicated: " + e.getMessage());
        });
    }

    /**
     * An fsync changes nothing, so it needs no place in the recent log, and the bricks may run it
     * at once: the secondaries get it first, then this brick's fsync(2) runs where {@link SyncPolicy}
     * says (a helper thread, or this event loop once the secondaries' streams are flushed;
     * secondaries do the same). It covers every mutation applied before it here; the reply waits
     * for this brick and every live secondary. The client's writes it names in {@code after} must
     * have been applied here before it (they were sent just before it, on the same connection).
     */
    private CompletableFuture<FileReply> fsync(FileRequest req) {
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        long mine;
        FileStore.Sync sync = null;
        String path;
        order.lock();
        try {
            CompletableFuture<FileReply> early = answeredOrRefused(req);
            if (early != null) return early;
            early = notAfter(req.getClient(), req.getFsync().getAfterList());
            if (early != null) return early;
            FileRequest named = openFiles.through(req);
            path = named.getFsync().getPath();
            owedTimes.synced(path, System.nanoTime());
            try {
                // resolved in order: a rename or unlink after it does not change the file it flushes
                sync = replica.store().openForSync(path, named.getFsync().getDatasync());
            } catch (FsError e) {
                return CompletableFuture.completedFuture(FileOps.error(e.errno(), e.getMessage()));
            }
            mine = ++seq;
            FileOp built = FileOp.newBuilder().setSeq(mine).setMutation(named).setCommitted(committed()).build();
            for (FileLink l : links) {
                CompletableFuture<Void> f = l.send(built, List.of());
                if (f != null) acks.add(f);
            }
            if (!acks.isEmpty()) outstanding.add(mine);
        } catch (IOException e) {
            if (sync != null) sync.abandon();
            return CompletableFuture.completedFuture(FileOps.error(Errno.EIO, "metadata: " + e.getMessage()));
        } finally {
            order.unlock();
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(acks.toArray(new CompletableFuture[0]));
        if (!acks.isEmpty()) all.whenComplete((x, e) -> settled(mine));
        CompletableFuture<FileReply> local = replica.syncPolicy().flush(sync, req.getClient(), path, true);
        return local.thenCombine(all.handle((v, e) -> e), (reply, e) -> {
            if (reply.getErrno() != 0) return reply;
            if (e != null) return FileOps.error(Errno.EIO, "not replicated: " + e.getMessage());
            replica.replies().put(req.getClient(), req.getId(), reply);
            return reply;
        });
    }

    private static TimeFix timeFix(String path, Attr t) {
        return TimeFix.newBuilder().setPath(path).setAtimeNs(t.getAtimeNs()).setMtimeNs(t.getMtimeNs()).build();
    }

    /** Looks for owed times that are due a moment from now, unless a look is scheduled already. Under order. */
    private void scheduleOwedTimes() {
        if (owedTimesScheduled || closed) return;
        owedTimesScheduled = true;
        TIMERS.schedule(this::sendOwedTimes, OwedTimes.CHECK_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Copies the times of the files whose writes left them to each brick's kernel ({@link
     * OwedTimes}) and that are due now: this brick's times as they are now, in the set's order, so
     * every secondary sets them after the writes that moved them. A secondary that is not live
     * gets the file's metadata marked in its dirty index. A file gone or renamed in a renamed
     * directory meanwhile is skipped: its times stay as each brick's kernel left them.
     */
    private void sendOwedTimes() {
        order.lock();
        try {
            owedTimesScheduled = false;
            if (closed) return;
            List<String> due = owedTimes.due(System.nanoTime());
            FileOp.Builder op = FileOp.newBuilder().setTimesOnly(true);
            List<DirtyEntry> changes = new ArrayList<>(due.size());
            for (String p : due) {
                Attr t = FileOps.attrOrNull(replica.store(), p);
                if (t == null) continue;
                op.addTimes(timeFix(p, t));
                changes.add(FileOps.change(p, DirtyIndex.META));
            }
            if (op.getTimesCount() > 0) {
                FileOp built = op.setSeq(++seq).build();
                for (FileLink l : links) {
                    try {
                        CompletableFuture<Void> f = l.send(built, changes);
                        if (f != null) f.exceptionally(e -> null);
                    } catch (IOException e) {
                        LOG.debug("{}: times not sent to {}: {}", view.volume(), l.brick(), e.getMessage());
                    }
                }
            }
            if (!owedTimes.isEmpty()) scheduleOwedTimes();
        } finally {
            order.unlock();
        }
    }

    /** Who the primary's own changes (names kept for open files, and their removal) come from. */
    private static final String OWN_CLIENT = "braidd";

    /**
     * Before req takes the last name of a regular file a client has open here (an unlink, or a
     * rename over it), links the file to a name under .braid-unlinked on every brick, so that
     * client keeps reading and writing it (see {@link OpenFiles}). Under order.
     */
    private void keepOpenVictim(FileRequest req) {
        String victim = switch (req.getOpCase()) {
            case UNLINK -> req.getUnlink().getPath();
            case RENAME -> (req.getRename().getFlags() & (LibC.RENAME_EXCHANGE | LibC.RENAME_NOREPLACE)) == 0
                    ? req.getRename().getTo() : null;
            default -> null;
        };
        if (victim == null || openFiles.size() == 0) return;
        if (req.getOpCase() == FileRequest.OpCase.RENAME
                && FileOps.normalize(req.getRename().getFrom()).equals(FileOps.normalize(victim))) {
            return; // renamed onto itself: nothing goes
        }
        FileStore store = replica.store();
        Attr a;
        try {
            a = store.getattr(victim);
        } catch (FsError e) {
            return; // nothing there to lose
        }
        if ((a.getMode() & LibC.S_IFMT) != LibC.S_IFREG || a.getNlink() != 1) return;
        String holder = openFiles.holderOf(a.getIno());
        if (holder == null) return;
        try {
            store.getattr(FileService.UNLINKED_DIR);
        } catch (FsError e) {
            apply(own().setMkdir(io.braid.proto.file.Mkdir.newBuilder().setPath("/" + FileService.UNLINKED_DIR)
                    .setMode(0700)).build());
        }
        String name = FileService.UNLINKED_DIR + "/" + view.set() + "-" + holder + "-o" + System.nanoTime();
        CompletableFuture<FileReply> linked = apply(own().setLink(io.braid.proto.file.Link.newBuilder()
                .setFrom("/" + FileOps.normalize(victim)).setTo("/" + name)).build());
        if (linked.isDone() && (linked.isCompletedExceptionally() || linked.join().getErrno() != 0)) {
            LOG.warn("{}: cannot keep /{}, open on client {}, under /{}", view.volume(), FileOps.normalize(victim),
                    holder, name);
            return;
        }
        openFiles.kept(a.getIno(), name);
    }

    private FileRequest.Builder own() {
        return FileRequest.newBuilder().setVolume(view.volume()).setSet(view.set()).setClient(OWN_CLIENT); // id 0: never retried
    }

    /** Removes a name (relative to the brick) kept for a file no client has open here any more. */
    private void dropKept(String name) {
        removeUnlinked(name.substring(FileService.UNLINKED_DIR.length() + 1), "its last handle was released");
    }

    /**
     * Removes the names an earlier primary kept for open files: its handles did not come along, so
     * nobody reaches those files any more.
     */
    private void dropKeptNames() {
        if (closed) return;
        String kept = view.set() + "-.+-o[0-9]+";
        removeUnlinked(n -> n.matches(kept) && !openFiles.keeps(FileService.UNLINKED_DIR + "/" + n),
                "kept by an earlier primary for a file open there");
    }

    /** Removes every entry of .braid-unlinked that which accepts, as replicated unlinks; why goes to the log. */
    void removeUnlinked(java.util.function.Predicate<String> which, String why) {
        List<io.braid.proto.file.DirEntry> entries;
        try {
            entries = replica.store().readdir(FileService.UNLINKED_DIR);
        } catch (FsError e) {
            return; // no such directory: nothing was left
        }
        for (io.braid.proto.file.DirEntry e : entries) if (which.test(e.getName())) removeUnlinked(e.getName(), why);
    }

    private void removeUnlinked(String entry, String why) {
        String path = "/" + FileService.UNLINKED_DIR + "/" + entry;
        mutate(own().setUnlink(io.braid.proto.file.Unlink.newBuilder().setPath(path)).build()).whenComplete((r, e) -> {
            if (e == null && r.getErrno() == 0) {
                LOG.info("{}: removed {}, {}", view.volume(), path, why);
            } else if (e != null || r.getErrno() != Errno.ENOENT) {
                LOG.warn("{}: cannot remove {}: {}", view.volume(), path, e != null ? e : r.getMessage());
            }
        });
    }

    /** Every mutation up to this sequence number is on every peer or in its dirty index. Under order. */
    private long committed() {
        return outstanding.isEmpty() ? seq : outstanding.first() - 1;
    }

    /**
     * Mutation s is on every live peer (or in the dirty index of the others). Its entry leaves the
     * recent log with the next mutation's record, or within {@link #PRUNE_DELAY_MS} when none comes;
     * until then a failover would heal its paths once more, which changes nothing.
     */
    private void settled(long s) {
        order.lock();
        try {
            outstanding.remove(s);
            pruneDue = true;
            if (!pruneScheduled && !closed) {
                pruneScheduled = true;
                TIMERS.schedule(this::pruneIfDue, PRUNE_DELAY_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        } finally {
            order.unlock();
        }
    }

    private void pruneIfDue() {
        order.lock();
        try {
            pruneScheduled = false;
            if (pruneDue && !closed) {
                pruneDue = false;
                replica.recent().prune(view.epoch(), committed(), false);
            }
        } catch (IOException e) {
            LOG.warn("{}: recent log: {}", view.volume(), e.getMessage());
        } finally {
            order.unlock();
        }
    }

    /**
     * The request as secondaries must apply it: "now" replaced by the time the primary used, and
     * without {@code after} (only the primary checks it). The same request when neither applies.
     */
    private static FileRequest resolve(FileRequest req, FileReply reply) {
        boolean setattr = req.getOpCase() == FileRequest.OpCase.SETATTR;
        boolean utimens = req.getOpCase() == FileRequest.OpCase.UTIMENS;
        long at = setattr ? (req.getSetattr().hasAtimeNs() ? req.getSetattr().getAtimeNs() : -2)
                : utimens ? req.getUtimens().getAtimeNs() : -2;
        long mt = setattr ? (req.getSetattr().hasMtimeNs() ? req.getSetattr().getMtimeNs() : -2)
                : utimens ? req.getUtimens().getMtimeNs() : -2;
        boolean now = reply.hasAttr() && (at == -1 || mt == -1);
        if (!now && req.getAfterCount() == 0) return req;
        FileRequest.Builder b = req.toBuilder().clearAfter();
        if (now && setattr) {
            Setattr.Builder t = b.getSetattrBuilder();
            if (at == -1) t.setAtimeNs(reply.getAttr().getAtimeNs());
            if (mt == -1) t.setMtimeNs(reply.getAttr().getMtimeNs());
        } else if (now) {
            Utimens.Builder t = b.getUtimensBuilder();
            if (at == -1) t.setAtimeNs(reply.getAttr().getAtimeNs());
            if (mt == -1) t.setMtimeNs(reply.getAttr().getMtimeNs());
        }
        return b.build();
    }

    /** Marks changes dirty toward every peer that is not live (used for heals pulled into the primary). */
    void markDirty(List<DirtyEntry> changes) throws IOException {
        for (FileLink l : links) if (!l.live()) for (DirtyEntry c : changes) l.dirty().mark(c);
    }

    @Override
    public void close() {
        closed = true;
        for (FileLink l : links) l.close();
        locks().primaryChanged();
        openFiles.clear();
        LOG.debug("{}: primary engine of {} closed", view.volume(), replica.brick());
    }

    /** This brick is no longer the primary of its set. */
    public static final class NotPrimaryException extends RuntimeException {
        public NotPrimaryException() {
            super("not primary", null, false, false);
        }
    }
}
