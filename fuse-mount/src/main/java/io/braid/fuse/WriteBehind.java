package io.braid.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Setattr;
import io.braid.proto.file.Write;

/**
 * Bounded write-behind: a write is acknowledged to the application once it is sent, and up to
 * {@link #MAX_WRITES} requests or {@link #MAX_BYTES} bytes per path are in flight at a time. A
 * write that overlaps one in flight waits for it, so the server never sees two overlapping writes
 * out of order. Every other operation on the path first waits for its writes ({@link #drain}); the
 * first error of a background write is kept in the open file's {@link ErrorSlot} and returned by
 * that file's next write, flush, fsync or release.
 *
 * <p>While a path has writes in flight, a write that follows on from the previous one (same open
 * file, next offset) is gathered into one request of up to {@link #GATHER_BYTES} instead of being
 * sent alone, as Nagle's algorithm does: the kernel hands sequential writes over in 128 KiB
 * pieces, and each request costs every brick a round of the replication protocol. A gathered
 * request leaves when it is full, when the path's last write in flight is answered, or when an
 * operation on the path drains it; so no write waits longer than the one before it.
 *
 * <p>An attribute change of a file being written here (tar's futimens, fchown and fchmod before
 * its close) can go behind the writes too ({@link #change}): it leaves at once, naming the requests
 * of the path still in flight ({@code FileRequest.after}), so the primary applies it after them
 * (or answers EAGAIN, and it is sent again once they are answered). A write that comes after such
 * a change waits for it, so the server applies a path's changes in the order they were made.
 */
final class WriteBehind {
    static final int MAX_WRITES = 16;
    static final int MAX_BYTES = 16 << 20;
    static final int GATHER_BYTES = 1 << 20;

    /** The first failure of a background write of one open file, not yet reported. */
    static final class ErrorSlot {
        private final AtomicInteger errno = new AtomicInteger();
        /** The open file (the mount's handle) whose writes these are; 0: none. */
        final long fh;

        ErrorSlot(long fh) {
            this.fh = fh;
        }

        void record(int e) {
            errno.compareAndSet(0, e);
        }

        /** @return the pending errno (positive), or 0; clears it */
        int take() {
            return errno.getAndSet(0);
        }
    }

    private final VolumeClient client;
    private final Map<String, PathWrites> inFlight = new ConcurrentHashMap<>();
    private final java.util.function.LongSupplier ids;

    WriteBehind(VolumeClient client) {
        this.client = client;
        this.ids = client::nextId;
    }

    /**
     * Sends a write in the background (or gathers it with the previous one), after earlier writes
     * it overlaps and once there is room.
     *
     * @return 0, or the errno of an earlier failed write of the same open file (this write is then not sent)
     */
    int write(String path, int set, long offset, ByteString data, ErrorSlot errors) {
        int earlier = errors.take();
        if (earlier != 0) {
            return earlier;
        }
        Batch mine = null; // once set, this write is in it (gathered or alone)
        while (true) {
            PathWrites q = inFlight.computeIfAbsent(path, p -> new PathWrites(p, ids));
            Batch out = null;
            boolean last = false;
            synchronized (q) {
                try {
                    while (true) {
                        if (q.retired) {
                            if (mine != null) {
                                return 0; // someone else sent it, and it was answered
                            }
                            break;
                        }
                        Batch g = q.gather;
                        if (mine == null && g != null && g.follows(set, offset, data.size(), errors)) {
                            g.add(data);
                            mine = g;
                            g = null; // handled below as this write's batch
                        }
                        if (mine == null) {
                            if (g != null) {
                                // an unrelated write: the gathered one goes first
                                if (!q.hasRoomFor(g)) {
                                    q.wait();
                                    continue;
                                }
                                q.gather = null;
                                q.add(g);
                                out = g;
                                break;
                            }
                            Batch b = new Batch(path, set, offset, data, errors);
                            if (!q.pending.isEmpty() && data.size() < GATHER_BYTES && !q.overlapsPending(b)) {
                                q.gather = b;
                                return 0;
                            }
                            if (!q.hasRoomFor(b)) {
                                q.wait();
                                continue;
                            }
                            q.add(b);
                            out = b;
                            last = true;
                            break;
                        }
                        // this write is in a gathered batch: done unless the batch is full
                        if (q.gather != mine || mine.length < GATHER_BYTES) {
                            return 0;
                        }
                        if (!q.hasRoomFor(mine)) {
                            q.wait();
                            continue;
                        }
                        q.gather = null;
                        q.add(mine);
                        out = mine;
                        last = true;
                        break;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return mine == null ? Errno.EINTR : 0;
                }
            }
            if (out == null) {
                continue; // the path's queue retired meanwhile: take the new one
            }
            send(q, out);
            if (last) {
                return 0;
            }
        }
    }

    /**
     * Sends an attribute change of path behind the requests of path in flight or gathered, once
     * there is room. While path has requests in flight the change is gathered instead, and the
     * changes that follow it join it ({@link #merge}): tar's futimens, fchown and fchmod of a file
     * it just wrote then cost the servers one request. Its errno goes to errors, like a write's.
     *
     * @return 0, or the errno of an earlier failed request of the same open file (this one is then not sent)
     */
    int change(String path, int set, Setattr change, ErrorSlot errors) {
        int earlier = errors.take();
        if (earlier != 0) {
            return earlier;
        }
        boolean interrupted = false;
        try {
            while (true) {
                PathWrites q = inFlight.computeIfAbsent(path, p -> new PathWrites(p, ids));
                Batch out;
                boolean last = false;
                synchronized (q) {
                    if (q.retired) {
                        continue;
                    }
                    Batch g = q.gather;
                    if (g != null && g.change != null && g.set == set && g.errors == errors) {
                        merge(g.change, change);
                        return 0;
                    }
                    if (g == null && !q.pending.isEmpty()) {
                        q.gather = new Batch(path, set, change.toBuilder(), errors);
                        return 0;
                    }
                    out = g != null ? g : new Batch(path, set, change.toBuilder(), errors);
                    if (!q.hasRoomFor(out)) {
                        try {
                            q.wait();
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                        continue;
                    }
                    if (g != null) {
                        q.gather = null; // a gathered write goes first; then this change is looked at again
                    } else {
                        last = true;
                    }
                    q.add(out);
                }
                send(q, out);
                if (last) {
                    return 0;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Makes into, applied as one step (owner, then mode, then times), do what into and then next
     * do one after the other.
     */
    static void merge(Setattr.Builder into, Setattr next) {
        if (next.hasUid() || next.hasGid()) {
            if (next.hasUid()) {
                into.setUid(next.getUid());
            }
            if (next.hasGid()) {
                into.setGid(next.getGid());
            }
            if (into.hasMode()) {
                into.setMode(modeAfterChown(into.getMode())); // the mode into sets comes before this chown
            }
        }
        if (next.hasMode()) {
            into.setMode(next.getMode());
        }
        if (next.hasAtimeNs()) {
            into.setAtimeNs(next.getAtimeNs());
        }
        if (next.hasMtimeNs()) {
            into.setMtimeNs(next.getMtimeNs());
        }
    }

    /** The mode a chown(2) leaves a regular file: set-user-ID dropped, and set-group-ID when group-executable. */
    static int modeAfterChown(int mode) {
        return mode & ~(04000 | ((mode & 010) != 0 ? 02000 : 0));
    }

    private void sendChange(PathWrites queue, Batch b, List<Batch> before) {
        FileRequest.Builder req = FileRequest.newBuilder().setSetattr(b.change.build());
        for (Batch o : before) {
            req.addAfter(o.id);
        }
        client.callAsync(b.set, req, b.id).whenComplete((reply, t) -> {
            if (t == null && reply.getErrno() == Errno.EAGAIN && !before.isEmpty()) {
                // it overtook one of them (a retry after a failover): again once they are answered
                CompletableFuture.allOf(before.stream().map(o -> o.answered).toArray(CompletableFuture[]::new))
                        .whenComplete((x, y) -> sendChange(queue, b, List.of()));
                return;
            }
            finished(queue, b, t != null ? Errno.EIO : reply.getErrno());
        });
    }

    private void send(PathWrites queue, Batch b) {
        if (b.change != null) {
            sendChange(queue, b, b.before);
            return;
        }
        FileRequest.Builder req = FileRequest.newBuilder().setFh(b.errors.fh)
                .setWrite(Write.newBuilder().setPath(b.path).setOffset(b.offset).setData(b.data()));
        client.callAsync(b.set, req, b.id).whenComplete((reply, t) ->
                finished(queue, b, t != null ? Errno.EIO : failure(reply, b.length)));
    }

    private void finished(PathWrites queue, Batch b, int errno) {
        if (errno != 0) {
            b.errors.record(errno);
        }
        Batch next = queue.done(b, this);
        b.answered.complete(null);
        if (next != null) {
            send(queue, next);
        }
        List<CompletableFuture<Void>> idle = queue.takeIdleWaiters();
        if (idle != null) {
            for (CompletableFuture<Void> w : idle) {
                w.complete(null);
            }
        }
    }

    /** The errno of a write's reply, or 0 when all of it was written. */
    static int failure(FileReply reply, int length) {
        if (reply.getErrno() != 0) {
            return reply.getErrno();
        }
        return reply.getWritten() == length ? 0 : Errno.EIO;
    }

    /**
     * Sends what is gathered for path, without waiting for the answers.
     *
     * @return the request ids of path's writes in flight (each sent, or about to be by its writer)
     */
    List<Long> sendGathered(String path) {
        PathWrites q = inFlight.get(path);
        if (q == null) {
            return List.of();
        }
        boolean interrupted = pushGathered(q);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        synchronized (q) {
            List<Long> ids = new ArrayList<>(q.pending.size());
            for (Batch b : q.pending) {
                ids.add(b.id);
            }
            return ids;
        }
    }

    /** Sends what is gathered for q's path once there is room; whether the wait was interrupted. */
    private boolean pushGathered(PathWrites q) {
        boolean interrupted = false;
        Batch out = null;
        synchronized (q) {
            while (q.gather != null && !q.hasRoomFor(q.gather)) {
                try {
                    q.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (q.gather != null) {
                out = q.gather;
                q.gather = null;
                q.add(out);
            }
        }
        if (out != null) {
            send(q, out);
        }
        return interrupted;
    }

    /** Sends what is gathered for path and waits until every write sent for it has been answered. */
    void drain(String path) {
        drainAsync(path).join();
    }

    /**
     * {@link #drain} without the wait: sends what is gathered for path (waiting for room, if it
     * must), and returns a future that completes once every write sent for it has been answered,
     * on the thread that got the last answer (a transport thread), or at once when none is out.
     */
    CompletableFuture<Void> drainAsync(String path) {
        PathWrites q = inFlight.get(path);
        if (q == null) {
            return CompletableFuture.completedFuture(null);
        }
        boolean interrupted = pushGathered(q);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        synchronized (q) {
            if (q.pending.isEmpty() && q.gather == null) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> w = new CompletableFuture<>();
            if (q.idleWaiters == null) {
                q.idleWaiters = new ArrayList<>(2);
            }
            q.idleWaiters.add(w);
            return w;
        }
    }

    /** Waits for the writes of every path (before an unmount completes). */
    void drainAll() {
        for (String path : new ArrayList<>(inFlight.keySet())) {
            drain(path);
        }
    }

    /** Whether any write of path is in flight or gathered (for tests). */
    boolean busy(String path) {
        PathWrites q = inFlight.get(path);
        if (q == null) {
            return false;
        }
        synchronized (q) {
            return !q.pending.isEmpty() || q.gather != null;
        }
    }

    /** One request's worth of contiguous writes of one open file, or one other change of it. */
    private static final class Batch {
        final String path;
        final int set;
        final long offset;
        final ErrorSlot errors;
        /** The attribute change, when this is not a write; the requests it follows, from when it joins those in flight. */
        final Setattr.Builder change;
        List<Batch> before = List.of();
        final CompletableFuture<Void> answered = new CompletableFuture<>();
        private ByteString data;
        int length;
        long id; // the request id, from when it joins the path's writes in flight

        Batch(String path, int set, long offset, ByteString data, ErrorSlot errors) {
            this.path = path;
            this.set = set;
            this.offset = offset;
            this.data = data;
            this.errors = errors;
            this.length = data.size();
            this.change = null;
        }

        Batch(String path, int set, Setattr.Builder change, ErrorSlot errors) {
            this.path = path;
            this.set = set;
            this.offset = 0;
            this.data = ByteString.EMPTY;
            this.errors = errors;
            this.length = 0;
            this.change = change;
        }

        boolean follows(int set, long offset, int size, ErrorSlot errors) {
            return change == null && this.set == set && this.errors == errors && offset == this.offset + length
                    && length + size <= GATHER_BYTES;
        }

        void add(ByteString more) {
            data = data.concat(more);
            length = data.size();
        }

        ByteString data() {
            return data;
        }

        /** Whether o must not be applied before this one is (or after, when o came first); a change overlaps everything. */
        boolean overlaps(Batch o) {
            if (change != null || o.change != null) {
                return true;
            }
            return offset < o.offset + o.length && o.offset < offset + length;
        }
    }

    /**
     * The writes of one path in flight, and the one being gathered; retired (and dropped from the
     * map) when the last is answered and nothing is gathered.
     */
    private static final class PathWrites {
        final String path;
        final java.util.function.LongSupplier ids;
        final List<Batch> pending = new ArrayList<>(MAX_WRITES);
        Batch gather;
        long bytes;
        boolean retired;
        /** Who waits (drainAsync) for the path to have nothing in flight or gathered. */
        List<CompletableFuture<Void>> idleWaiters;

        PathWrites(String path, java.util.function.LongSupplier ids) {
            this.path = path;
            this.ids = ids;
        }

        boolean hasRoomFor(Batch b) {
            if (pending.isEmpty()) {
                return true;
            }
            if (pending.size() >= MAX_WRITES || bytes + b.length > MAX_BYTES) {
                return false;
            }
            return b.change != null || !overlapsPending(b); // a change names those it follows
        }

        boolean overlapsPending(Batch b) {
            for (Batch q : pending) {
                if (q.overlaps(b)) {
                    return true;
                }
            }
            return false;
        }

        void add(Batch b) {
            if (b.id == 0) {
                b.id = ids.getAsLong();
            }
            if (b.change != null) {
                b.before = new ArrayList<>(pending);
            }
            pending.add(b);
            bytes += b.length;
        }

        /** The waiters to complete now that nothing is in flight or gathered, or null. */
        synchronized List<CompletableFuture<Void>> takeIdleWaiters() {
            if (idleWaiters == null || !pending.isEmpty() || gather != null) {
                return null;
            }
            List<CompletableFuture<Void>> w = idleWaiters;
            idleWaiters = null;
            return w;
        }

        /** Records b answered; returns the gathered batch to send now that the path went idle, or null. */
        synchronized Batch done(Batch b, WriteBehind owner) {
            pending.remove(b);
            bytes -= b.length;
            Batch next = null;
            if (pending.isEmpty()) {
                if (gather != null) {
                    next = gather;
                    gather = null;
                    add(next);
                } else {
                    retired = true;
                    owner.inFlight.remove(path, this);
                }
            }
            notifyAll();
            return next;
        }
    }
}
