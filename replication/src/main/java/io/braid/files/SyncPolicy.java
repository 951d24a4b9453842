package io.braid.files;

import io.braid.proto.file.FileReply;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where a brick's fsync(2) runs: on the transport's event loop that brought it, or on a helper
 * thread ({@link #SYNCS}).
 *
 * <p>Handing a flush to a helper thread and its answer back costs two thread wake-ups, which on a
 * small virtual machine are a tenth of a 4 KiB write+fsync. But that event loop carries every
 * stream of the server, so a flush run on it holds them all for as long as it takes. It runs there
 * only when both hold:
 * <ul>
 *   <li>the flush is short: the file took at most {@link FileStore#QUICK_SYNC} bytes since its last
 *       flush ({@link FileStore.Sync#quick});
 *   <li>one writer is alone at it: every fsync this server got in the last {@link #ALONE_NANOS}
 *       came from the same client for the same file. Several clients flushing at once each wait
 *       behind the others on the loop, and go to helper threads instead, where the kernel can
 *       commit their flushes together.
 * </ul>
 * A flush on the loop that takes longer than {@link #SLOW_NANOS} (a disk that stalls, a file
 * with more dirty pages than its descriptor saw) sends every flush to the helper threads for the
 * next {@link #BENCHED_NANOS}: a stalling disk then holds the loop once, not on every fsync.
 * Called on the event loops only; the fields are a hint and need no lock.
 */
final class SyncPolicy {
    static final long ALONE_NANOS = 50_000_000L;
    static final long SLOW_NANOS = 200_000_000L;
    static final long BENCHED_NANOS = 10_000_000_000L;

    /** Threads that run a brick's part of an fsync when it does not run on the loop. */
    private static final ExecutorService SYNCS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "file-fsync");
        t.setDaemon(true);
        return t;
    });

    private volatile String lastClient = "";
    private volatile String lastPath = "";
    private volatile long othersUntil;
    private volatile long benchedUntil;

    /**
     * Runs sync where it belongs (see above): its reply. On the caller's event loop either now, or,
     * when queued, as a task behind those the loop has queued already (the primary's: the flush
     * of its secondaries' streams, so their fsyncs start first); else on a helper thread. A
     * caller that is no event loop (the in-process transport) always gets a helper thread.
     */
    CompletableFuture<FileReply> flush(FileStore.Sync sync, String client, String path, boolean queued) {
        long now = System.nanoTime();
        Executor loop = alone(client, path, now) && !benched(now) && sync.quick()
                ? io.netty.util.internal.ThreadExecutorMap.currentExecutor() : null;
        if (loop == null) return CompletableFuture.supplyAsync(() -> FileOps.sync(sync), SYNCS);
        if (!queued) return CompletableFuture.completedFuture(runHere(sync));
        CompletableFuture<FileReply> f = new CompletableFuture<>();
        loop.execute(() -> f.complete(runHere(sync)));
        return f;
    }

    private FileReply runHere(FileStore.Sync sync) {
        long start = System.nanoTime();
        FileReply r = FileOps.sync(sync);
        took(start, System.nanoTime());
        return r;
    }

    /** Notes a flush on the loop from start to end (System.nanoTime). */
    void took(long start, long end) {
        if (end - start > SLOW_NANOS) benchedUntil = end + BENCHED_NANOS;
    }

    /** Whether a slow flush on the loop keeps flushes off it at now. */
    boolean benched(long now) {
        return now - benchedUntil < 0;
    }

    /** Notes an fsync of path from client at now: whether every one of the last ALONE_NANOS was theirs. */
    boolean alone(String client, String path, long now) {
        if (!client.equals(lastClient) || !path.equals(lastPath)) {
            lastClient = client;
            lastPath = path;
            othersUntil = now + ALONE_NANOS;
        }
        return now - othersUntil >= 0;
    }
}
