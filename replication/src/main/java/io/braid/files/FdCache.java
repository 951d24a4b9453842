package io.braid.files;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open fds of regular files by normalized path, the least recently used closed first, so repeated
 * reads and writes of one file cost one pread or pwrite each.
 *
 * <p>Two rules keep a cached fd naming what its path names now. The store invalidates a path
 * after every call that changes what the path names (unlink, rename, ...). And an fd is cached only
 * if no invalidation happened between the moment its opener read {@link #epoch()} and the moment it
 * offers the fd: otherwise it may have opened a file its path no longer names. A handle is reference
 * counted, so eviction and invalidation never close an fd that a read in flight still uses.
 */
final class FdCache {
    /** One open fd; closed when the cache and every caller have released it. */
    static final class Handle {
        final int fd;
        final boolean writable;
        private final AtomicInteger refs = new AtomicInteger(1);
        /**
         * Bytes written through this descriptor since its last flush began (an estimate: writers on
         * two threads may lose an addition). A new descriptor starts unknown, as if much were.
         */
        volatile long unsynced = Long.MAX_VALUE / 2;
        /** The same file opened O_WRONLY | O_DIRECT ({@link FileStore#writeDirect}), 0 until opened; closed with fd. */
        private int directFd;
        private boolean noDirect;

        /**
         * {@link #directFd}, opening it by open the first time; -1 when the file or its file system
         * refused O_DIRECT, or a write through it was refused ({@link #noDirect}).
         */
        synchronized int directFd(java.util.function.IntSupplier open) {
            if (noDirect) return -1;
            if (directFd == 0) {
                int fd = open.getAsInt();
                if (fd < 0) {
                    noDirect = true;
                    return -1;
                }
                directFd = fd;
            }
            return directFd;
        }

        /**
         * Gives up writing past the page cache through this descriptor. The O_DIRECT one stays open
         * until the handle closes: a write on another thread may still be using it.
         */
        synchronized void noDirect() {
            noDirect = true;
        }

        Handle(int fd, boolean writable) {
            this.fd = fd;
            this.writable = writable;
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                LibC.INSTANCE.close(fd);
                synchronized (this) {
                    if (directFd > 0) LibC.INSTANCE.close(directFd);
                }
            }
        }
    }

    private final int capacity;
    private final LinkedHashMap<String, Handle> map = new LinkedHashMap<>(64, 0.75f, true);
    private volatile long epoch;
    private boolean closed;

    FdCache(int capacity) {
        this.capacity = capacity;
    }

    /** The cached handle of key, held for the caller (release it), or null. */
    synchronized Handle acquire(String key) {
        Handle h = map.get(key);
        if (h != null) h.refs.incrementAndGet();
        return h;
    }

    /** Read before opening an fd that will be {@link #offer offered}. */
    long epoch() {
        return epoch;
    }

    /**
     * Caches a fresh handle the caller holds, opened after it read epochSeen, and returns the handle
     * the caller now holds: the fresh one, or one cached meanwhile for the same key (the fresh one is
     * then released). A handle opened before an invalidation is returned uncached.
     */
    Handle offer(String key, Handle fresh, long epochSeen) {
        Handle extra = null;
        Handle result;
        synchronized (this) {
            if (closed || epochSeen != epoch) return fresh;
            Handle old = map.get(key);
            if (old != null) {
                old.refs.incrementAndGet();
                extra = fresh;
                result = old;
            } else {
                fresh.refs.incrementAndGet();
                map.put(key, fresh);
                result = fresh;
                if (map.size() > capacity) {
                    Iterator<Handle> eldest = map.values().iterator();
                    extra = eldest.next();
                    eldest.remove();
                }
            }
        }
        if (extra != null) extra.release();
        return result;
    }

    /** Forgets key and, when subtree, every key under it ("" is the root: everything). */
    void invalidate(String key, boolean subtree) {
        List<Handle> dropped = new ArrayList<>(1);
        synchronized (this) {
            epoch++;
            Handle h = map.remove(key);
            if (h != null) dropped.add(h);
            if (subtree) {
                String prefix = key.isEmpty() ? "" : key + "/";
                for (Iterator<Map.Entry<String, Handle>> it = map.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<String, Handle> e = it.next();
                    if (e.getKey().startsWith(prefix)) {
                        dropped.add(e.getValue());
                        it.remove();
                    }
                }
            }
        }
        dropped.forEach(Handle::release);
    }

    /** Releases every handle; nothing is cached afterwards. */
    void close() {
        List<Handle> dropped;
        synchronized (this) {
            closed = true;
            epoch++;
            dropped = new ArrayList<>(map.values());
            map.clear();
        }
        dropped.forEach(Handle::release);
    }

    synchronized int size() {
        return map.size();
    }
}
