package io.braid.files;

import com.google.protobuf.InvalidProtocolBufferException;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one peer brick of a file volume missed, kept by the brick that has it: a dirty path with
 * the parts that changed (entry, data ranges, metadata). It lives in the brick's metadata store
 * under {@code fdirty/PEER/PATH} and in memory; a heal clears an entry once the peer has applied
 * it, unless it changed again meanwhile.
 */
public final class DirtyIndex {
    public static final int ENTRY = 1;
    public static final int DATA = 2;
    public static final int META = 4;
    /** Heal everything under this path whole: nothing is known of what the peer has. */
    public static final int FULL = 8;
    /**
     * Compare and heal what differs (volume heal NAME full): directories are listed on both
     * sides, files whose size or mtime differ are sent whole.
     */
    public static final int CHECK = 16;
    /** Beyond this many ranges a file is healed whole. */
    static final int MAX_RANGES = 64;

    private final KeyValueStore store;
    private final String prefix;
    private final String epochKey;
    private final TreeMap<String, Item> items = new TreeMap<>(DirtyIndex::byDepthThenName);
    private long versions;

    /** One dirty path; version changes on every mark. */
    public static final class Item {
        final String path;
        int flags;
        final TreeMap<Long, Long> ranges = new TreeMap<>(); // start -> end
        boolean wholeData;
        long version;

        Item(String path) {
            this.path = path;
        }

        public String path() {
            return path;
        }

        public int flags() {
            return flags;
        }

        public long version() {
            return version;
        }

        /** DATA ranges as [start, end) pairs, or null when the whole file is dirty. */
        public List<long[]> ranges() {
            if (wholeData) return null;
            List<long[]> out = new ArrayList<>();
            ranges.forEach((s, e) -> out.add(new long[] {s, e}));
            return out;
        }

        DirtyEntry toProto() {
            DirtyEntry.Builder b = DirtyEntry.newBuilder().setPath(path).setFlags(flags);
            if (!wholeData) ranges.forEach((s, e) -> b.addRanges(s).addRanges(e));
            return b.build();
        }

        long dataBytes() {
            long n = 0;
            for (Map.Entry<Long, Long> e : ranges.entrySet()) {
                n += Math.min(e.getValue(), Long.MAX_VALUE / 2) - e.getKey();
            }
            return n;
        }
    }

    /** Parents sort before their children, so a heal creates directories before their content. */
    static int byDepthThenName(String a, String b) {
        int da = depth(a);
        int db = depth(b);
        return da != db ? Integer.compare(da, db) : a.compareTo(b);
    }

    private static int depth(String p) {
        if (p.isEmpty()) return 0;
        int n = 1;
        for (int i = 0; i < p.length(); i++) if (p.charAt(i) == '/') n++;
        return n;
    }

    public DirtyIndex(KeyValueStore store, String peer) throws IOException {
        this.store = store;
        this.prefix = "fdirty/" + encode(peer) + "/";
        this.epochKey = "fdirty-epoch/" + encode(peer);
        for (Map.Entry<String, byte[]> e : store.scan(prefix).entrySet()) {
            try {
                DirtyEntry d = DirtyEntry.parseFrom(e.getValue());
                add(d.getPath(), d.getFlags(), d.getRangesList(), false);
            } catch (InvalidProtocolBufferException ex) {
                throw new IOException("damaged dirty entry " + e.getKey() + " in " + store.dir(), ex);
            }
        }
    }

    /** Every peer that has a dirty index in store. */
    public static List<String> peersIn(KeyValueStore store) {
        List<String> out = new ArrayList<>();
        for (String k : store.scan("fdirty/").keySet()) {
            String rest = k.substring("fdirty/".length());
            int slash = rest.indexOf('/');
            String peer = java.net.URLDecoder.decode(slash < 0 ? rest : rest.substring(0, slash), StandardCharsets.UTF_8);
            if (!out.contains(peer)) out.add(peer);
        }
        return out;
    }

    /**
     * The epoch since which this index records everything the peer missed (it was recorded out
     * of sync by this brick as primary at that epoch), or -1.
     */
    public long trackedSince() throws IOException {
        String s = store.getString(epochKey);
        return s == null ? -1 : Long.parseLong(s);
    }

    public void trackFrom(long epoch) throws IOException {
        store.put(epochKey, Long.toString(epoch).getBytes(StandardCharsets.UTF_8));
    }

    public void untrack() throws IOException {
        store.deleteLazily(epochKey);
        store.deleteLazily(unknownKey());
    }

    private String unknownKey() {
        return "fdirty-unknown/" + epochKey.substring("fdirty-epoch/".length());
    }

    /**
     * The epoch at which this brick, becoming primary, found the peer already out of sync: what
     * the peer missed before then is on another brick's disk, or nowhere. The handshake settles
     * it (see FileLink). -1 when there is nothing to settle.
     */
    public long unknownSince() throws IOException {
        String s = store.getString(unknownKey());
        return s == null ? -1 : Long.parseLong(s);
    }

    public void unknownSince(long epoch) throws IOException {
        if (epoch < 0) {
            store.deleteLazily(unknownKey());
        } else {
            store.put(unknownKey(), Long.toString(epoch).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Records a change. ranges: DATA [start, end) pairs; empty with DATA: the whole file. */
    public synchronized void mark(String path, int flags, List<Long> ranges) throws IOException {
        add(path, flags, ranges, true);
    }

    public synchronized void mark(DirtyEntry e) throws IOException {
        add(e.getPath(), e.getFlags(), e.getRangesList(), true);
    }

    private void add(String path, int flags, List<Long> ranges, boolean persist) throws IOException {
        Item it = items.computeIfAbsent(path, Item::new);
        it.flags |= flags;
        if ((flags & DATA) != 0) {
            if (ranges.isEmpty()) {
                it.wholeData = true;
            } else {
                for (int i = 0; i + 1 < ranges.size(); i += 2) addRange(it, ranges.get(i), ranges.get(i + 1));
            }
            if (it.ranges.size() > MAX_RANGES) it.wholeData = true;
            if (it.wholeData) it.ranges.clear();
        }
        it.version = ++versions;
        if (persist) store.putLazily(prefix + path, it.toProto().toByteArray());
    }

    private static void addRange(Item it, long start, long end) {
        if (end <= start) end = start;
        Map.Entry<Long, Long> before = it.ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        for (Map.Entry<Long, Long> next = it.ranges.ceilingEntry(start); next != null && next.getKey() <= end;
             next = it.ranges.ceilingEntry(start)) {
            end = Math.max(end, next.getValue());
            it.ranges.remove(next.getKey());
        }
        it.ranges.put(start, end);
    }

    /** Up to max entries, parents first. */
    public List<Item> snapshot(int max) {
        return snapshot(max, p -> false);
    }

    /** Drops path if it has not changed since version was read. */
    public synchronized boolean clearIf(String path, long version) throws IOException {
        Item it = items.get(path);
        if (it == null || it.version != version) return false;
        items.remove(path);
        store.deleteLazily(prefix + path);
        return true;
    }

    /** Drops path, whatever its version. */
    public synchronized void forget(String path) throws IOException {
        if (items.remove(path) != null) store.deleteLazily(prefix + path);
    }

    /** Drops path and every path under it, whatever their version. */
    public synchronized void forgetUnder(String path) throws IOException {
        for (String p : new ArrayList<>(items.keySet())) {
            if (under(p, path)) {
                items.remove(p);
                store.deleteLazily(prefix + p);
            }
        }
    }

    /** Whether p is path or lies under it ("" is the root, above everything). */
    public static boolean under(String p, String path) {
        return path.isEmpty() || p.equals(path) || p.startsWith(path) && p.charAt(path.length()) == '/';
    }

    /** Up to max entries, parents first, leaving out those skip accepts. */
    public synchronized List<Item> snapshot(int max, java.util.function.Predicate<String> skip) {
        List<Item> out = new ArrayList<>();
        for (Item it : items.values()) {
            if (out.size() >= max) break;
            if (skip.test(it.path)) continue;
            out.add(copy(it));
        }
        return out;
    }

    /** A copy of path's entry as it is now (a heal of its parent may have marked it since a snapshot), or null. */
    public synchronized Item current(String path) {
        Item it = items.get(path);
        return it == null ? null : copy(it);
    }

    private static Item copy(Item it) {
        Item copy = new Item(it.path);
        copy.flags = it.flags;
        copy.ranges.putAll(it.ranges);
        copy.wholeData = it.wholeData;
        copy.version = it.version;
        return copy;
    }

    public synchronized void clear() throws IOException {
        for (String p : items.keySet()) store.deleteLazily(prefix + p);
        items.clear();
    }

    public synchronized boolean isEmpty() {
        return items.isEmpty();
    }

    public synchronized int size() {
        return items.size();
    }

    public synchronized Item get(String path) {
        return items.get(path);
    }

    /** The bytes of data ranges known to be dirty (whole-file entries not counted). */
    public synchronized long dataBytes() {
        long n = 0;
        for (Item it : items.values()) n += it.dataBytes();
        return n;
    }

    public synchronized List<DirtyEntry> toProto() {
        List<DirtyEntry> out = new ArrayList<>();
        for (Item it : items.values()) out.add(it.toProto());
        return out;
    }

    public synchronized List<String> paths() {
        return new ArrayList<>(items.keySet());
    }

    /** A peer's name (HOST:PATH) as one key component, without '/'. */
    static String encode(String peer) {
        return java.net.URLEncoder.encode(peer, StandardCharsets.UTF_8);
    }
}
