package io.braid.fuse;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import io.braid.proto.file.Attr;

/**
 * The size and mtime this client last gave the kernel for each path (every attribute the kernel
 * holds passed through getattr: a lookup, create, mknod, mkdir, link and every setattr answer
 * with one, and readdir hands over no attributes), and when. The kernel
 * trusts them for attr-timeout: a file another client rewrote meanwhile keeps its old size
 * there, and a cached read stops at it (fstat, sendfile and mmap use it too). So
 * {@link BraidFs#open} compares the
 * server's fresh attributes with these; where they differ it answers ESTALE, and the kernel looks
 * the path up again (which refreshes them) and retries the open (see {@link #askedRelookup}).
 *
 * <p>Entries older than attr-timeout (plus a margin for the reply's way to the kernel and the
 * kernel's tick) no longer matter and are dropped. The map keeps at most {@link #BOUND} paths,
 * oldest first out: only a client that gives the kernel more paths than that within one
 * attr-timeout forgets one the kernel still trusts.
 */
final class KernelAttrs {
    static final int BOUND = 32_768;
    private static final long MARGIN_NANOS = 100_000_000L;
    /** The kernel retries an open answered ESTALE at once; this is ample even on a loaded machine. */
    private static final long RELOOKUP_NANOS = 10_000_000_000L;

    /** The kernel set the mtime itself (a write through this client): only the size is compared. */
    static final long MTIME_UNKNOWN = Long.MIN_VALUE;

    /** What the kernel holds of one path since {@code at} (System.nanoTime), when it was told. */
    record Told(long size, long mtimeNs, long at) {
    }

    private final long windowNanos;
    /** In the order told (a path told again moves to the end), so expiry looks at the head only. */
    private final LinkedHashMap<String, Told> told = new LinkedHashMap<>();
    /** "tid:path" of opens answered ESTALE whose retry has not come yet, and when, oldest first. */
    private final LinkedHashMap<String, Long> relookups = new LinkedHashMap<>();

    /**
     * @param attrTimeout  the mount's attr-timeout in seconds
     * @param entryTimeout the mount's entry-timeout in seconds. While a name's entry is valid the
     *                     kernel opens it without a lookup, and sendfile and mmap use the size it
     *                     holds even when its attributes have expired: what it was told matters
     *                     for the longer of the two.
     */
    KernelAttrs(double attrTimeout, double entryTimeout) {
        double window = Math.max(attrTimeout, entryTimeout);
        this.windowNanos = window > 0 ? (long) (window * 1e9) + MARGIN_NANOS : 0;
    }

    /** getattr is about to give the kernel these attributes of path. */
    void told(String path, Attr attr) {
        if (windowNanos == 0) {
            return;
        }
        long now = System.nanoTime();
        Told t = new Told(attr.getSize(), attr.getMtimeNs(), now);
        synchronized (told) {
            told.remove(path);
            told.put(path, t);
            expire(now);
        }
    }

    /**
     * Whether the kernel may still hold, for path, a size or mtime other than the server's
     * {@code fresh} ones (told within the window: the longer of attr-timeout and entry-timeout).
     */
    boolean stale(String path, Attr fresh) {
        if (windowNanos == 0) {
            return false;
        }
        Told t;
        synchronized (told) {
            if (told.isEmpty()) {
                return false;
            }
            t = told.get(path);
        }
        return t != null && System.nanoTime() - t.at < windowNanos
                && (t.size != fresh.getSize() || t.mtimeNs != MTIME_UNKNOWN && t.mtimeNs != fresh.getMtimeNs());
    }

    /**
     * This client wrote to path up to {@code end} (or allocated up to it): the kernel grows the
     * size it holds to at least end and sets the mtime itself.
     */
    void wrote(String path, long end) {
        synchronized (told) {
            Told t = told.isEmpty() ? null : told.get(path);
            if (t != null && (t.size < end || t.mtimeNs != MTIME_UNKNOWN)) {
                told.put(path, new Told(Math.max(t.size, end), MTIME_UNKNOWN, t.at));
            }
        }
    }

    /** path is no longer the name of what the kernel was told (unlinked). */
    void forget(String path) {
        synchronized (told) {
            if (!told.isEmpty()) {
                told.remove(path);
            }
        }
    }

    /** A rename by this client: the kernel's inode, and what it holds, now has the new name. */
    void renamed(String from, String to) {
        synchronized (told) {
            if (told.isEmpty()) {
                return;
            }
            Told t = told.remove(from);
            told.remove(to);
            if (t != null) {
                told.put(to, t); // out of time order by at most one window: expiry may keep it a little longer
            }
        }
    }

    /** Whether some open answered ESTALE still waits for its retry. */
    boolean relookupsPending() {
        synchronized (told) {
            return !relookups.isEmpty();
        }
    }

    /**
     * Whether this open of path by thread tid is the kernel's retry of one answered ESTALE (the
     * same thread opens the same path again; the kernel looked the path up in between, which
     * refreshed what it holds). Forgets that answer: a later open is no retry. An answer whose
     * retry never comes (an opener inside the kernel that does not retry) is forgotten after
     * {@link #RELOOKUP_NANOS}.
     */
    boolean retrying(String path, long tid) {
        synchronized (told) {
            if (relookups.isEmpty()) {
                return false;
            }
            Long at = relookups.remove(tid + ":" + path);
            return at != null && System.nanoTime() - at < RELOOKUP_NANOS;
        }
    }

    /**
     * This open of path by thread tid is answered ESTALE: the kernel walks the path again,
     * looking every name up (LOOKUP_REVAL), which gives it the fresh attributes, and opens again
     * (once: an open that finds path stale again must not fail, see {@link #retrying}).
     */
    void askedRelookup(String path, long tid) {
        long now = System.nanoTime();
        synchronized (told) {
            String key = tid + ":" + path;
            relookups.remove(key);
            relookups.put(key, now);
            Iterator<Long> it = relookups.values().iterator();
            int n = relookups.size();
            while (it.hasNext()) {
                long at = it.next();
                if (n <= BOUND && now - at < RELOOKUP_NANOS) {
                    return;
                }
                it.remove();
                n--;
            }
        }
    }

    int size() {
        synchronized (told) {
            return told.size();
        }
    }

    private void expire(long now) {
        Iterator<Map.Entry<String, Told>> it = told.entrySet().iterator();
        int n = told.size();
        while (it.hasNext()) {
            Told t = it.next().getValue();
            if (n <= BOUND && now - t.at < windowNanos) {
                return;
            }
            it.remove();
            n--;
        }
    }
}
