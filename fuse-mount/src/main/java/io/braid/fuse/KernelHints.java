package io.braid.fuse;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.braid.proto.file.Attr;

/**
 * Answers the kernel asks for again and again, known without asking a server, each for a
 * moment: the attributes a change just returned (the entry a create, mkdir, link... answers with,
 * and the attributes after a setattr, come from the getattr made right after the change) and that
 * a file has no security.capability (the kernel asks before every write, to drop a capability as
 * a write must), and the attributes a directory listing gave each of its entries (for the lookups
 * that follow it: rm -r, ls -l, find, du). Keyed by path. Each map stays small: it is cleared
 * when it grows past its bound.
 */
final class KernelHints {
    static final String CAPABILITY = "security.capability";
    /** The getattr after a change comes within microseconds; 100 ms is ample. */
    private static final long RECENT_NANOS = 100_000_000L;
    /** A capability set by another client is seen within a second, like any attribute. */
    private static final long NO_CAPABILITY_NANOS = 1_000_000_000L;
    private static final int BOUND = 4096;
    /** A listing's entries: as many as a large directory has, a few hundred bytes each. */
    private static final int LISTED_BOUND = 65_536;

    /**
     * Attributes returned by the set that answered (or worked out by this mount for a change it sent
     * behind a file's writes: then the mtime may be a guess, mtimeKnown false), and when.
     */
    record Recent(Attr attr, int set, boolean mtimeKnown, long at) {
    }

    /** An entry's attributes as a listing of its directory gave them, and when (System.nanoTime). */
    record Listed(Attr attr, int set, long at) {
    }

    private final Map<String, Recent> recent = new ConcurrentHashMap<>();
    private final Map<String, Listed> listed = new ConcurrentHashMap<>();
    private final Map<String, Long> noCapability = new ConcurrentHashMap<>();

    /** Keeps the attributes a change of path returned, for the getattr that follows it. */
    void changed(String path, Attr attr, int set) {
        changed(path, attr, set, true);
    }

    void changed(String path, Attr attr, int set, boolean mtimeKnown) {
        if (recent.size() > BOUND) {
            recent.clear();
        }
        recent.put(path, new Recent(attr, set, mtimeKnown, System.nanoTime()));
    }

    /** The attributes of path a change returned just now, once; or null. */
    Recent takeRecent(String path) {
        Recent r = recent.isEmpty() ? null : recent.remove(path);
        return r != null && System.nanoTime() - r.at < RECENT_NANOS ? r : null;
    }

    /** Before a change of path: what was returned for it is no longer its state. */
    void changing(String path) {
        if (!recent.isEmpty()) {
            recent.remove(path);
        }
        if (!listed.isEmpty()) {
            listed.remove(path);
        }
    }

    /** What a listing said of path may no longer hold (a change of it, or in it, was made). */
    void unlisted(String path) {
        if (!listed.isEmpty()) {
            listed.remove(path);
        }
    }

    /** Keeps what a listing said of the entry at path, for its next lookup. */
    void listed(String path, Attr attr, int set, long at) {
        if (listed.size() > LISTED_BOUND) {
            listed.clear();
        }
        listed.put(path, new Listed(attr, set, at));
    }

    /** What a listing said of path less than windowNanos ago, once; or null. */
    Listed takeListed(String path, long windowNanos) {
        Listed l = listed.isEmpty() ? null : listed.remove(path);
        return l != null && System.nanoTime() - l.at < windowNanos ? l : null;
    }

    /** A rename or rmdir: the names under a directory may mean other files now. */
    void forgetListed() {
        listed.clear();
    }

    /** path has no security.capability (a server said so, or it was just created). */
    void withoutCapability(String path) {
        if (noCapability.size() > BOUND) {
            noCapability.clear();
        }
        noCapability.put(path, System.nanoTime());
    }

    /** Whether path is known, since less than a second, to have no security.capability. */
    boolean knownWithoutCapability(String path) {
        Long seen = noCapability.isEmpty() ? null : noCapability.get(path);
        return seen != null && System.nanoTime() - seen < NO_CAPABILITY_NANOS;
    }

    /** path's xattrs change, or the name now means another file. */
    void capabilityMayChange(String path) {
        if (!noCapability.isEmpty()) {
            noCapability.remove(path);
        }
    }
}
