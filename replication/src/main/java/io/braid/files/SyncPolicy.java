package io.braid.files;

import io.braid.proto.file.FileReply;
import java.util.concurrent.Executor;

/**
 * Where a brick's fsync(2) runs: on the transport's event loop that brought it, or on a helper
 * thread ({@link FilePrimary#SYNCS}).
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

    private volatile String lastKey = "";
    private volatile long othersUntil;
    private volatile long benchedUntil;

    /**
     * The event loop running the caller, when sync may run on it now; null when it goes to a
     * helper thread (also when the caller is no event loop, as with the in-process transport).
     */
    Executor inlineLoop(FileStore.Sync sync, String client, String path) {
        long now = System.nanoTime();
        if (!alone(client, path, now) || benched(now) || !sync.quick()) return null;
        return io.netty.util.internal.ThreadExecutorMap.currentExecutor();
    }

    /** Runs sync on the calling thread (the loop inlineLoop gave), noting how long it took. */
    FileReply runHere(FileStore.Sync sync) {
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
        String key = client + '\0' + path;
        if (!key.equals(lastKey)) {
            lastKey = key;
            othersUntil = now + ALONE_NANOS;
        }
        return now - othersUntil >= 0;
    }
}
