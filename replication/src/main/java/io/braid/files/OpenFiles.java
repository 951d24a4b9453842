package io.braid.files;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The files clients have open through this primary, by client and file handle (the mount's
 * {@code fh}): each keeps the fd the primary found the file with at its open or create, so a
 * getattr, read, write, fsync, truncate or fallocate through the handle reaches that file even after
 * another client renamed it, or a directory above it, as on a local file system. The request is
 * then served, and replicated, under the name the file has now, which every brick of the set
 * agrees on: the renames were applied in the same order everywhere.
 *
 * <p>A handle is dropped when its client says it closed it ({@code FileRequest.released}), when
 * the client's session ends, and all of them when this brick stops being the primary; the client
 * then names the file by path alone, as before the open.
 *
 * <p>Before an unlink or a rename over a file takes its last name while a client has it open
 * here, the primary links it to a name of its own under {@code .braid-unlinked} on every brick
 * ({@link #kept}): the client goes on reading and writing it there, as POSIX keeps an unlinked
 * file for its open descriptors, and the name is removed when the last handle is released.
 */
final class OpenFiles {
    /**
     * At most this many handles are kept, each an open fd: a quarter of the process's descriptors,
     * at most 65,536. Opens beyond go by path alone.
     */
    static final int MAX = (int) Math.min(1 << 16, maxDescriptors() / 4);

    private static long maxDescriptors() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean u) {
            return u.getMaxFileDescriptorCount();
        }
        return 4096;
    }

    private record Key(String client, long fh) { }

    private static final class Bound {
        final FdCache.Handle fd;
        final long ino;
        String path; // normalized, relative to the brick
        long epoch; // FileStore.namesEpoch() when path was last known right
        boolean released; // fd given back (its number may name another file now)

        Bound(FdCache.Handle fd, long ino, String path, long epoch) {
            this.fd = fd;
            this.ino = ino;
            this.path = path;
            this.epoch = epoch;
        }
    }

    private final FileStore store;
    private final Map<Key, Bound> bound = new ConcurrentHashMap<>();
    /** The handles of each open inode, and the extra name kept for those whose last name went (guarded by this). */
    private final Map<Long, java.util.Set<Key>> byIno = new java.util.HashMap<>();
    private final Map<Long, String> keptNames = new java.util.HashMap<>();
    /** Removes a kept name once its file's last handle here is gone (a replicated unlink). */
    private final java.util.function.Consumer<String> dropKept;
    private volatile boolean closed;

    OpenFiles(FileStore store, java.util.function.Consumer<String> dropKept) {
        this.store = store;
        this.dropKept = dropKept;
    }

    /** Whether a successful reply to an open leaves the file to be read through the server (not all in the reply). */
    static boolean readsFollow(FileReply open) {
        return !(open.hasAttr() && open.getAttr().getSize() > 0 && open.getData().size() == open.getAttr().getSize());
    }

    /** Keeps the file path names now under the client's handle (nothing for fh 0, a directory, or a name gone already). */
    void bind(String client, long fh, String path) {
        if (fh == 0 || client.isEmpty() || closed || bound.size() >= MAX) return;
        long epoch = store.namesEpoch();
        FdCache.Handle fd;
        long ino;
        try {
            fd = store.pin(path);
        } catch (FsError e) {
            return; // a directory, or renamed meanwhile: path alone
        }
        try {
            ino = store.inoOf(fd, path);
        } catch (FsError e) {
            fd.release();
            return;
        }
        Key k = new Key(client, fh);
        release(client, fh); // a handle number used again: the old one is gone
        bound.put(k, new Bound(fd, ino, FileOps.normalize(path), epoch));
        synchronized (this) {
            byIno.computeIfAbsent(ino, i -> new java.util.HashSet<>()).add(k);
        }
        if (closed) release(client, fh);
    }

    void release(String client, long fh) {
        Key k = new Key(client, fh);
        Bound b = bound.remove(k);
        if (b == null) return;
        synchronized (b) {
            b.released = true;
            b.fd.release();
        }
        String drop = null;
        synchronized (this) {
            java.util.Set<Key> keys = byIno.get(b.ino);
            if (keys != null && keys.remove(k) && keys.isEmpty()) {
                byIno.remove(b.ino);
                drop = keptNames.remove(b.ino);
            }
        }
        if (drop != null && !closed) dropKept.accept(drop);
    }

    /**
     * The key a lock request of the client through handle fh (0: none) on path is held under: the
     * file's inode on this brick, so that a lock stays with its file when another client renames it
     * and covers every name of it, as locks on a local file system do. A handle not kept yet (an
     * open answered with the whole file keeps nothing) is kept from a lock on (take: a request
     * that takes a lock), so that its unlock finds the same file whatever its name is by then. The
     * path itself when it names nothing here.
     */
    String lockKey(String client, long fh, String path, boolean take) {
        if (fh != 0 && !client.isEmpty()) {
            Bound b = bound.get(new Key(client, fh));
            if (b == null && take) {
                bind(client, fh, path);
                b = bound.get(new Key(client, fh));
            }
            if (b != null) return LockTable.INO_KEY + b.ino;
        }
        return LockTable.keyOf(store, path);
    }

    /** The name (relative to the brick) the file of a lock key has now, if a handle is kept for it; else null. */
    String pathOfLock(String key) {
        if (!key.startsWith(LockTable.INO_KEY)) return null;
        java.util.List<Key> keys;
        synchronized (this) {
            java.util.Set<Key> s = byIno.get(Long.parseLong(key.substring(LockTable.INO_KEY.length())));
            if (s == null) return null;
            keys = new java.util.ArrayList<>(s);
        }
        for (Key k : keys) {
            String now = pathOf(k.client(), k.fh());
            if (now != null) return now;
        }
        return null;
    }

    /** A client that holds the file with inode ino open here, or null. */
    synchronized String holderOf(long ino) {
        java.util.Set<Key> keys = byIno.get(ino);
        return keys == null || keys.isEmpty() ? null : keys.iterator().next().client();
    }

    /**
     * The file with inode ino, still open here, got name (relative to the brick) just before its
     * last other name went: its handles are served under it from now, and it is removed with the
     * last of them.
     */
    synchronized void kept(long ino, String name) {
        keptNames.put(ino, name);
    }

    /** Whether name (relative to the brick) is one this primary keeps for open files. */
    synchronized boolean keeps(String name) {
        return keptNames.containsValue(name);
    }

    /** Every handle of a client whose session ended. */
    void releaseAll(String client) {
        for (Key k : bound.keySet()) if (k.client().equals(client)) release(k.client(), k.fh());
    }

    int size() {
        return bound.size();
    }

    void clear() {
        closed = true;
        for (Key k : bound.keySet()) release(k.client(), k.fh());
        synchronized (this) {
            keptNames.clear(); // the next primary removes them (FilePrimary.dropKeptNames)
        }
    }

    /**
     * req as it must be served: with the name its handle's file has now when another client renamed
     * it since; req itself otherwise (no handle, an unknown one, or one whose file has no name left).
     */
    FileRequest through(FileRequest req) {
        if (req.getFh() == 0) return req;
        String now = pathOf(req.getClient(), req.getFh());
        if (now == null || now.equals(FileOps.normalize(FileOps.pathOf(req)))) return req;
        String path = "/" + now;
        FileRequest.Builder b = req.toBuilder();
        switch (req.getOpCase()) {
            case GETATTR -> b.getGetattrBuilder().setPath(path);
            case READ -> b.getReadBuilder().setPath(path);
            case WRITE -> b.getWriteBuilder().setPath(path);
            case FSYNC -> b.getFsyncBuilder().setPath(path);
            case TRUNCATE -> b.getTruncateBuilder().setPath(path);
            case FALLOCATE -> b.getFallocateBuilder().setPath(path);
            default -> {
                return req; // an open, a create, a lock: by the path they name
            }
        }
        return b.build();
    }

    /** The name (relative to the brick) the file of the client's handle has now; null if unknown or none. */
    String pathOf(String client, long fh) {
        Bound b = bound.get(new Key(client, fh));
        if (b == null) return null;
        synchronized (b) {
            if (b.released) return null;
            long epoch = store.namesEpoch();
            if (epoch == b.epoch) return b.path;
            String now = store.nameOf(b.fd);
            if (now == null) {
                synchronized (this) {
                    now = keptNames.get(b.ino); // its name here went, the one kept for it stays
                }
                if (now == null) return null;
            }
            b.path = now;
            b.epoch = epoch;
            return now;
        }
    }
}
