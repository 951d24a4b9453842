package io.braid.replication;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The primary's record of its hot extents (4 MiB each), as in DRBD: an extent is logged before
 * the first write into it, so after a crash of the primary only these extents can differ between
 * replicas and only they are resynced. The least recently used extent leaves the log when it is
 * full. The log is persisted by its owner whenever {@link #touch} reports a change.
 */
public final class ActivityLog {
    public static final long EXTENT = 4L << 20;

    private final int capacity;
    private final LinkedHashMap<Long, Boolean> extents;

    public ActivityLog(int capacity) {
        this.capacity = capacity;
        this.extents = new LinkedHashMap<>(capacity * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > ActivityLog.this.capacity;
            }
        };
    }

    /** Records a write of [offset, offset+length); true when the set of extents changed. */
    public synchronized boolean touch(long offset, long length) {
        boolean changed = false;
        long last = (offset + Math.max(length, 1) - 1) / EXTENT;
        for (long e = offset / EXTENT; e <= last; e++) {
            if (extents.put(e, Boolean.TRUE) == null) changed = true;
        }
        return changed;
    }

    public synchronized List<Long> extents() {
        return new ArrayList<>(extents.keySet());
    }

    public synchronized void load(List<Long> saved) {
        extents.clear();
        for (Long e : saved) extents.put(e, Boolean.TRUE);
    }

    public synchronized void clear() {
        extents.clear();
    }

    public synchronized boolean isEmpty() {
        return extents.isEmpty();
    }
}
