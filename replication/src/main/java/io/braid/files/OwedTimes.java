package io.braid.files;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files whose times a primary has not copied to its secondaries yet, because copying them on
 * every write would double the cost of the fsync that follows.
 *
 * <p>Normally a write's times go with it: the primary reads the times its brick's kernel gave the
 * file and each secondary sets the same ones. But both steps dirty the file's inode on that brick
 * (setting times always does; reading them makes the kernel give the next write a fine-grained
 * time, which always differs). An fsync must then commit the file system's journal, not only
 * write the data: on this kind of machine a 4 KiB write+fsync on three ext4 bricks took 0.72-0.82
 * ms that way against 0.39-0.41 ms without. So a write to a file that was flushed within the last
 * {@link #SYNCED_NANOS} (a database, a log, fio's write+fsync loop) leaves its times to each
 * brick's kernel, which moves them only once per clock tick, and the primary copies its own times
 * to the secondaries once the file has had no write for {@link #QUIET_NANOS}, and at least every
 * {@link #MAX_NANOS} while writes go on. Between those points a secondary's times differ from the
 * primary's by how far its clock differs; at rest they are the same.
 *
 * <p>Paths are normalized ({@link FileOps#normalize}). Not thread-safe: the primary guards it with
 * its order lock.
 */
final class OwedTimes {
    /** A write to a file flushed this recently leaves its times to each brick's kernel. */
    static final long SYNCED_NANOS = 1_000_000_000L;
    /** How long a file's writes must pause before its times are copied. */
    static final long QUIET_NANOS = 100_000_000L;
    /** How long a file's times wait at most while writes go on. */
    static final long MAX_NANOS = 1_000_000_000L;
    /** How often the primary looks for times that are due while any are owed. */
    static final long CHECK_MS = 50;
    /** Files whose flushes are remembered; beyond this the oldest is forgotten (its writes copy times again). */
    static final int TRACKED = 1024;

    private final Map<String, Long> synced = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> e) {
            return size() > TRACKED;
        }
    };

    /** Path → {first write owed, last write owed} (System.nanoTime). */
    private final Map<String, long[]> owed = new LinkedHashMap<>();

    /** Notes an fsync of path at now. */
    void synced(String path, long now) {
        synced.put(FileOps.normalize(path), now);
    }

    /**
     * Whether a write to path at now leaves its times to each brick's kernel; if so they are owed
     * from now on, until {@link #due} hands them out.
     */
    boolean defer(String path, long now) {
        String p = FileOps.normalize(path);
        Long at = synced.get(p);
        if (at == null || now - at > SYNCED_NANOS) return false;
        long[] t = owed.get(p);
        if (t == null) {
            owed.put(p, new long[] {now, now});
        } else {
            t[1] = now;
        }
        return true;
    }

    /** The times of path went to the secondaries with a mutation: nothing owed for it now. */
    void covered(String path) {
        owed.remove(FileOps.normalize(path));
    }

    /** A file was renamed: what was owed or remembered for its old name moves to the new one. */
    void renamed(String from, String to) {
        String f = FileOps.normalize(from);
        String t = FileOps.normalize(to);
        if (f.equals(t)) return;
        long[] o = owed.remove(f);
        owed.remove(t);
        if (o != null) owed.put(t, o);
        Long s = synced.remove(f);
        synced.remove(t);
        if (s != null) synced.put(t, s);
    }

    /** The paths whose times are due at now (quiet long enough, or owed too long); they are owed no more. */
    List<String> due(long now) {
        List<String> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, long[]>> it = owed.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, long[]> e = it.next();
            long[] t = e.getValue();
            if (now - t[1] >= QUIET_NANOS || now - t[0] >= MAX_NANOS) {
                out.add(e.getKey());
                it.remove();
            }
        }
        return out;
    }

    boolean isEmpty() {
        return owed.isEmpty();
    }
}
