package io.braid.files;

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
 * Called on the event loops only; the fields are a hint and need no lock.
 */
final class SyncPolicy {
    static final long ALONE_NANOS = 50_000_000L;

    private volatile String lastKey = "";
    private volatile long othersUntil;

    /**
     * The event loop running the caller, when sync may run on it now; null when it goes to a
     * helper thread (also when the caller is no event loop, as with the in-process transport).
     */
    Executor inlineLoop(FileStore.Sync sync, String client, String path) {
        if (!alone(client, path, System.nanoTime()) || !sync.quick()) return null;
        return io.netty.util.internal.ThreadExecutorMap.currentExecutor();
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
