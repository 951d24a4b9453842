package io.braid.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Write;

/**
 * Bounded write-behind: a write is acknowledged to the application once it is sent, and up to
 * {@link #MAX_WRITES} writes or {@link #MAX_BYTES} bytes per path are in flight at a time. A
 * write that overlaps one in flight waits for it, so the server never sees two overlapping writes
 * out of order. Every other operation on the path first waits for its writes ({@link #drain}); the
 * first error of a background write is kept in the open file's {@link ErrorSlot} and returned by
 * that file's next write, flush, fsync or release.
 */
final class WriteBehind {
    static final int MAX_WRITES = 8;
    static final int MAX_BYTES = 1 << 20;

    /** The first failure of a background write of one open file, not yet reported. */
    static final class ErrorSlot {
        private final AtomicInteger errno = new AtomicInteger();

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

    WriteBehind(VolumeClient client) {
        this.client = client;
    }

    /**
     * Sends a write in the background, after earlier writes it overlaps and once there is room.
     *
     * @return 0, or the errno of an earlier failed write of the same open file (this write is then not sent)
     */
    int write(String path, int set, long offset, ByteString data, ErrorSlot errors) {
        int earlier = errors.take();
        if (earlier != 0) {
            return earlier;
        }
        Pending p = new Pending(offset, data.size());
        PathWrites q;
        while (true) {
            q = inFlight.computeIfAbsent(path, PathWrites::new);
            synchronized (q) {
                try {
                    while (!q.retired && !q.hasRoomFor(p)) {
                        q.wait();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Errno.EINTR;
                }
                if (q.retired) {
                    continue;
                }
                q.add(p);
                break;
            }
        }
        PathWrites queue = q;
        FileRequest.Builder req = FileRequest.newBuilder()
                .setWrite(Write.newBuilder().setPath(path).setOffset(offset).setData(data));
        client.callAsync(set, req).whenComplete((reply, t) -> {
            int e = t != null ? Errno.EIO : failure(reply, p.length);
            if (e != 0) {
                errors.record(e);
            }
            queue.done(p, this);
        });
        return 0;
    }

    /** The errno of a write's reply, or 0 when all of it was written. */
    static int failure(FileReply reply, int length) {
        if (reply.getErrno() != 0) {
            return reply.getErrno();
        }
        return reply.getWritten() == length ? 0 : Errno.EIO;
    }

    /** Waits until every write sent for path has been answered. */
    void drain(String path) {
        PathWrites q = inFlight.get(path);
        if (q == null) {
            return;
        }
        synchronized (q) {
            boolean interrupted = false;
            while (!q.pending.isEmpty()) {
                try {
                    q.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits for the writes of every path (before an unmount completes). */
    void drainAll() {
        for (String path : new ArrayList<>(inFlight.keySet())) {
            drain(path);
        }
    }

    /** Whether any write of path is in flight (for tests). */
    boolean busy(String path) {
        PathWrites q = inFlight.get(path);
        if (q == null) {
            return false;
        }
        synchronized (q) {
            return !q.pending.isEmpty();
        }
    }

    private record Pending(long offset, int length) {
        boolean overlaps(Pending o) {
            return offset < o.offset + o.length && o.offset < offset + length;
        }
    }

    /** The writes of one path in flight; retired (and dropped from the map) when the last is answered. */
    private static final class PathWrites {
        final String path;
        final List<Pending> pending = new ArrayList<>(MAX_WRITES);
        long bytes;
        boolean retired;

        PathWrites(String path) {
            this.path = path;
        }

        boolean hasRoomFor(Pending p) {
            if (pending.isEmpty()) {
                return true;
            }
            if (pending.size() >= MAX_WRITES || bytes + p.length > MAX_BYTES) {
                return false;
            }
            for (Pending q : pending) {
                if (q.overlaps(p)) {
                    return false;
                }
            }
            return true;
        }

        void add(Pending p) {
            pending.add(p);
            bytes += p.length;
        }

        synchronized void done(Pending p, WriteBehind owner) {
            pending.remove(p);
            bytes -= p.length;
            if (pending.isEmpty()) {
                retired = true;
                owner.inFlight.remove(path, this);
            }
            notifyAll();
        }
    }
}
