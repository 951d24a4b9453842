package io.braid.files;

import com.google.protobuf.InvalidProtocolBufferException;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The mutations a brick applied that may not be on every brick of its set yet: a ring of at
 * most {@link #SIZE} dirty entries with their epoch and sequence number, kept in the brick's
 * metadata store ({@code frecent/NNNN}). The primary says with each mutation up to which sequence
 * number everything is on every peer (or in its dirty index), and older entries are dropped. When
 * a primary dies between sending a mutation to one secondary and another, the new primary heals
 * these paths on every peer, so the bricks agree again; a returning old primary has its own
 * recent paths healed the same way, which discards what it never got acknowledged.
 */
final class RecentLog {
    static final int SIZE = 1024;
    private static final String[] KEYS = new String[SIZE];

    static {
        for (int i = 0; i < SIZE; i++) KEYS[i] = String.format("frecent/%04d", i);
    }

    private final KeyValueStore store;
    private final DirtyEntry[] ring = new DirtyEntry[SIZE];
    private long next;

    RecentLog(KeyValueStore store) throws IOException {
        this.store = store;
        String n = store.getString("frecent-next");
        for (Map.Entry<String, byte[]> e : store.scan("frecent/").entrySet()) {
            int slot = Integer.parseInt(e.getKey().substring("frecent/".length()));
            try {
                if (slot >= 0 && slot < SIZE) ring[slot] = DirtyEntry.parseFrom(e.getValue());
            } catch (InvalidProtocolBufferException ex) {
                throw new IOException("damaged recent entry " + e.getKey(), ex);
            }
        }
        next = n == null ? 0 : Long.parseLong(n);
    }

    /**
     * Drops the entries of this epoch up to committed, known to be on every brick, and with
     * older, those of earlier epochs (a secondary's, once its new primary has seen them).
     */
    synchronized void prune(long epoch, long committed, boolean older) throws IOException {
        update(epoch, committed, older, List.of(), 0, 0);
    }

    /**
     * {@link #prune} (unless pruneEpoch is negative), then records changes at (epoch, seq), in one
     * lazy batch: the whole bookkeeping of one mutation is one write to the metadata log.
     */
    synchronized void update(long pruneEpoch, long committed, boolean older, List<DirtyEntry> changes, long epoch,
                             long seq) throws IOException {
        try (KeyValueStore.Batch b = store.newBatch()) {
            if (pruneEpoch >= 0) {
                for (int i = 0; i < SIZE; i++) {
                    DirtyEntry e = ring[i];
                    if (e == null) continue;
                    if ((older && e.getEpoch() < pruneEpoch) || (e.getEpoch() == pruneEpoch && e.getSeq() <= committed)) {
                        ring[i] = null;
                        b.delete(KEYS[i]);
                    }
                }
            }
            if (!changes.isEmpty()) {
                for (DirtyEntry c : changes) {
                    int slot = (int) (next % SIZE);
                    DirtyEntry e = c.toBuilder().setEpoch(epoch).setSeq(seq).build();
                    ring[slot] = e;
                    b.put(KEYS[slot], e.toByteArray());
                    next++;
                }
                b.put("frecent-next", Long.toString(next).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            if (!b.isEmpty()) b.commitLazily();
        }
    }

    /** Entries applied at an epoch below epoch (everything with Long.MAX_VALUE). */
    synchronized List<DirtyEntry> before(long epoch) {
        List<DirtyEntry> out = new ArrayList<>();
        for (DirtyEntry e : ring) if (e != null && e.getEpoch() < epoch) out.add(e);
        return out;
    }
}
