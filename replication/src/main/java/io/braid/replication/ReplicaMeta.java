package io.braid.replication;

import io.braid.proto.replication.Generations;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The replication state of one replica, kept in its brick's metadata store: generation
 * identifiers, a dirty bitmap per peer brick, the activity log, and the last resync into it.
 * Keys: {@code gen/current}, {@code gen/history}, {@code gen/base/PEER}, {@code gen/inconsistent},
 * {@code bitmap/PEER/PAGE}, {@code al/extents}, {@code resync/last}.
 */
public final class ReplicaMeta {
    private static final int HISTORY = 8;

    private final KeyValueStore store;
    private final long volumeBytes;
    private String current;
    private final List<String> history = new ArrayList<>();
    private final Map<String, String> bases = new HashMap<>();
    private boolean inconsistent;
    private final Map<String, DirtyBitmap> bitmaps = new HashMap<>();
    private final ActivityLog activity = new ActivityLog(1024);
    private LastResync lastResync;

    public record LastResync(String kind, long bytes, double seconds) {}

    public ReplicaMeta(KeyValueStore store, long volumeBytes) throws IOException {
        this.store = store;
        this.volumeBytes = volumeBytes;
        String c = store.getString("gen/current");
        current = c == null ? "" : c;
        String h = store.getString("gen/history");
        if (h != null && !h.isEmpty()) history.addAll(Arrays.asList(h.split(",")));
        inconsistent = "1".equals(store.getString("gen/inconsistent"));
        for (Map.Entry<String, byte[]> e : store.scan("gen/base/").entrySet()) {
            bases.put(e.getKey().substring("gen/base/".length()), new String(e.getValue(), StandardCharsets.UTF_8));
        }
        for (Map.Entry<String, byte[]> e : store.scan("bitmap/").entrySet()) {
            String rest = e.getKey().substring("bitmap/".length());
            int slash = rest.lastIndexOf('/');
            String peer = rest.substring(0, slash);
            int page = Integer.parseInt(rest.substring(slash + 1));
            bitmaps.computeIfAbsent(peer, p -> new DirtyBitmap(volumeBytes)).loadPage(page, e.getValue());
        }
        String al = store.getString("al/extents");
        if (al != null && !al.isEmpty()) {
            List<Long> ex = new ArrayList<>();
            for (String s : al.split(",")) ex.add(Long.parseLong(s));
            activity.load(ex);
        }
        String lr = store.getString("resync/last");
        if (lr != null) {
            String[] f = lr.split(" ");
            lastResync = new LastResync(f[0], Long.parseLong(f[1]), Double.parseDouble(f[2]));
        }
    }

    public static String newId() {
        return UUID.randomUUID().toString().substring(0, 16);
    }

    public synchronized Generations generations() {
        return Generations.newBuilder().setCurrent(current).addAllHistory(history)
                .putAllBitmapBase(bases).setInconsistent(inconsistent).build();
    }

    public synchronized String current() {
        return current;
    }

    public synchronized boolean inconsistent() {
        return inconsistent;
    }

    /** Moves to a new current identifier, the old one into the history. */
    public synchronized void setCurrent(String next, boolean pushHistory) throws IOException {
        if (pushHistory && !current.isEmpty() && !current.equals(next)) {
            history.remove(current);
            history.add(0, current);
            while (history.size() > HISTORY) history.remove(history.size() - 1);
        }
        current = next;
        try (KeyValueStore.Batch b = store.newBatch()) {
            b.put("gen/current", current).put("gen/history", String.join(",", history));
            b.commit();
        }
    }

    public synchronized void setInconsistent(boolean value) throws IOException {
        inconsistent = value;
        store.put("gen/inconsistent", (value ? "1" : "0").getBytes(StandardCharsets.UTF_8));
    }

    public synchronized String base(String peer) {
        return bases.get(peer);
    }

    public synchronized Map<String, String> bases() {
        return new HashMap<>(bases);
    }

    public synchronized void setBase(String peer, String base) throws IOException {
        if (base == null) {
            bases.remove(peer);
            try (KeyValueStore.Batch b = store.newBatch()) {
                b.delete("gen/base/" + peer);
                b.commit();
            }
        } else {
            bases.put(peer, base);
            store.put("gen/base/" + peer, base.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The bitmap toward peer, created empty when there is none. */
    public synchronized DirtyBitmap bitmap(String peer) {
        return bitmaps.computeIfAbsent(peer, p -> new DirtyBitmap(volumeBytes));
    }

    public synchronized DirtyBitmap bitmapIfAny(String peer) {
        return bitmaps.get(peer);
    }

    public synchronized void resize(long bytes) {
        for (DirtyBitmap b : bitmaps.values()) b.resize(bytes);
    }

    /** Writes every changed bitmap page (lazily: durable at the next {@link #sync()}). */
    public void saveBitmaps() throws IOException {
        Map<String, DirtyBitmap> copy;
        synchronized (this) {
            copy = new HashMap<>(bitmaps);
        }
        for (Map.Entry<String, DirtyBitmap> e : copy.entrySet()) {
            for (Map.Entry<Integer, byte[]> page : e.getValue().takeChangedPages().entrySet()) {
                String key = "bitmap/" + e.getKey() + "/" + page.getKey();
                if (page.getValue().length == 0) store.deleteLazily(key);
                else store.putLazily(key, page.getValue());
            }
        }
    }

    public ActivityLog activity() {
        return activity;
    }

    public void saveActivity() throws IOException {
        List<Long> ex = activity.extents();
        StringBuilder sb = new StringBuilder();
        for (Long e : ex) {
            if (sb.length() > 0) sb.append(',');
            sb.append(e);
        }
        store.putLazily("al/extents", sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    public synchronized LastResync lastResync() {
        return lastResync;
    }

    public synchronized void setLastResync(LastResync r) throws IOException {
        lastResync = r;
        store.put("resync/last", (r.kind() + " " + r.bytes() + " " + r.seconds()).getBytes(StandardCharsets.UTF_8));
    }

    /** Makes every lazy metadata write durable. */
    public void sync() throws IOException {
        saveBitmaps();
        store.syncLog();
    }
}
