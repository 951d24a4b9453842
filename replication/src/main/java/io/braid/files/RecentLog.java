package io.braid.files;

import com.google.protobuf.InvalidProtocolBufferException;
import io.braid.proto.filerep.DirtyEntry;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The mutations a brick applied that may not be on every brick of its set yet: a ring of at
 * most {@link #SIZE} dirty entries with their epoch and sequence number. The primary says with
 * each mutation up to which sequence number everything is on every peer (or in its dirty index),
 * and older entries are dropped. When a primary dies between sending a mutation to one secondary
 * and another, the new primary heals these paths on every peer, so the bricks agree again; a
 * returning old primary has its own recent paths healed the same way, which discards what it
 * never got acknowledged.
 *
 * <p>The ring lives in memory and in an append-only file, {@code .braid/recent.log} of the brick,
 * written (not synced) with one pwrite per mutation: like the metadata store's log, it must
 * survive a crash of the process, and the page cache keeps it through that. Every mutation of
 * every brick writes here on the way to its acknowledgement, and one pwrite costs a fraction of a
 * metadata store write (on a three-brick create loop the whole bookkeeping through the store took
 * about a quarter of the servers' time). Each update is one frame: length, CRC32C, then its
 * records (a slot cleared, or an entry set with the ring's counter). Reading the file back
 * replays the frames up to the first one that is short or fails its check; that tail is cut off.
 * Once the file exceeds {@link #COMPACT_BYTES} it is rewritten with the live entries only (a new
 * file renamed over it). A brick that kept its ring in the metadata store ({@code frecent/}, as
 * before this file existed) has it moved here the first time.
 */
final class RecentLog implements AutoCloseable {
    static final int SIZE = 1024;
    static final String FILE = "recent.log";
    /** Rewritten once it is this long (live entries take at most SIZE paths, about 4 MiB at worst). */
    static final long COMPACT_BYTES = 16L << 20;
    private static final byte CLEAR = 1;
    private static final byte SET = 2;
    private static final int HEADER = 8; // u32 length of the records, u32 CRC32C of them

    private final Path file;
    private final DirtyEntry[] ring = new DirtyEntry[SIZE];
    private FileChannel channel;
    private long end; // where the next frame goes
    private long next;
    private ByteBuffer out = ByteBuffer.allocateDirect(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();

    /**
     * Opens the log of the brick whose reserved directory is metaDir, taking over a ring kept in
     * store by an older version.
     */
    RecentLog(Path metaDir, KeyValueStore store) throws IOException {
        this.file = metaDir.resolve(FILE);
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (channel.size() == 0) {
            takeOver(store); // a new brick, or one whose ring the store kept (nothing to replay either way)
        } else {
            replay();
        }
    }

    /** Loads a ring kept in the metadata store, if there is one. Its keys are removed once it is in the file. */
    private void takeOver(KeyValueStore store) throws IOException {
        Map<String, byte[]> old = store.scan("frecent/");
        String n = store.getString("frecent-next");
        if (old.isEmpty() && n == null) return;
        for (Map.Entry<String, byte[]> e : old.entrySet()) {
            int slot = Integer.parseInt(e.getKey().substring("frecent/".length()));
            try {
                if (slot >= 0 && slot < SIZE) ring[slot] = DirtyEntry.parseFrom(e.getValue());
            } catch (InvalidProtocolBufferException ex) {
                throw new IOException("damaged recent entry " + e.getKey(), ex);
            }
        }
        next = n == null ? 0 : Long.parseLong(n);
        for (int i = 0; i < SIZE; i++) {
            if (ring[i] != null && next <= i) next = i + 1; // a counter the store never got: past every slot in use
        }
        compact(); // in the file before the store forgets it
        try (KeyValueStore.Batch b = store.newBatch()) {
            for (String k : old.keySet()) b.delete(k);
            b.delete("frecent-next");
            b.commit();
        }
    }

    private void replay() throws IOException {
        long size = channel.size();
        long pos = 0;
        ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        while (pos + HEADER <= size) {
            header.clear();
            readFully(header, pos);
            int len = header.getInt(0);
            int sum = header.getInt(4);
            if (len < 0 || pos + HEADER + len > size) break;
            ByteBuffer body = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            readFully(body, pos + HEADER);
            crc.reset();
            crc.update(body.array(), 0, len);
            if ((int) crc.getValue() != sum || !apply(body)) break;
            pos += HEADER + len;
        }
        end = pos;
        if (end < size) channel.truncate(end); // a torn or damaged tail: what follows starts clean
    }

    private void readFully(ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b, at + b.position()) < 0) throw new IOException(file + ": short read");
        }
        b.flip();
    }

    /** Applies one frame's records to the ring; false (and nothing applied) if they do not parse. */
    private boolean apply(ByteBuffer body) {
        List<Integer> cleared = new ArrayList<>();
        List<Long> counters = new ArrayList<>();
        List<DirtyEntry> set = new ArrayList<>();
        try {
            while (body.hasRemaining()) {
                byte kind = body.get();
                if (kind == CLEAR) {
                    int slot = body.getInt();
                    if (slot < 0 || slot >= SIZE) return false;
                    cleared.add(slot);
                } else if (kind == SET) {
                    long counter = body.getLong();
                    int len = body.getInt();
                    if (len < 0 || len > body.remaining() || counter < 0) return false;
                    byte[] e = new byte[len];
                    body.get(e);
                    counters.add(counter);
                    set.add(DirtyEntry.parseFrom(e));
                } else {
                    return false;
                }
            }
        } catch (InvalidProtocolBufferException | java.nio.BufferUnderflowException e) {
            return false;
        }
        for (int slot : cleared) ring[slot] = null; // an update's prunes come before its new entries
        for (int i = 0; i < set.size(); i++) {
            ring[(int) (counters.get(i) % SIZE)] = set.get(i);
            next = counters.get(i) + 1;
        }
        return true;
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
     * frame: the whole bookkeeping of one mutation is one write to the file.
     */
    synchronized void update(long pruneEpoch, long committed, boolean older, List<DirtyEntry> changes, long epoch,
                             long seq) throws IOException {
        startFrame();
        if (pruneEpoch >= 0) {
            for (int i = 0; i < SIZE; i++) {
                DirtyEntry e = ring[i];
                if (e == null) continue;
                if ((older && e.getEpoch() < pruneEpoch) || (e.getEpoch() == pruneEpoch && e.getSeq() <= committed)) {
                    ring[i] = null;
                    room(5);
                    out.put(CLEAR).putInt(i);
                }
            }
        }
        for (DirtyEntry c : changes) {
            DirtyEntry e = c.toBuilder().setEpoch(epoch).setSeq(seq).build();
            ring[(int) (next % SIZE)] = e;
            putSet(next, e);
            next++;
        }
        if (!seal()) return;
        end = writeAt(channel, end);
        if (end > COMPACT_BYTES) compact();
    }

    /** Starts building a frame in the buffer: its records follow the header. */
    private void startFrame() {
        out.clear();
        out.position(HEADER);
    }

    /** Adds a SET record to the frame being built. */
    private void putSet(long counter, DirtyEntry e) {
        byte[] bytes = e.toByteArray();
        room(13 + bytes.length);
        out.put(SET).putLong(counter).putInt(bytes.length).put(bytes);
    }

    /** Ends the frame being built (its length and CRC in the header), ready to write; false when it holds no record. */
    private boolean seal() {
        int len = out.position() - HEADER;
        if (len == 0) return false;
        crc.reset();
        out.flip();
        out.position(HEADER);
        crc.update(out);
        out.putInt(0, len).putInt(4, (int) crc.getValue());
        out.position(0);
        return true;
    }

    /** Grows the frame buffer so that n more bytes fit. */
    private void room(int n) {
        if (out.remaining() >= n) return;
        ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(out.capacity() * 2, out.position() + n))
                .order(ByteOrder.LITTLE_ENDIAN);
        out.flip();
        bigger.put(out);
        out = bigger;
    }

    /** Writes the sealed frame to ch at offset at; returns the offset after it. */
    private long writeAt(FileChannel ch, long at) throws IOException {
        while (out.hasRemaining()) at += ch.write(out, at);
        return at;
    }

    /** Rewrites the file with the live entries only: a new file, renamed over the old one. */
    private void compact() throws IOException {
        Path tmp = file.resolveSibling(FILE + ".new");
        startFrame();
        long first = next - SIZE; // the ring's oldest counter that can still be live
        for (long c = Math.max(0, first); c < next; c++) {
            DirtyEntry e = ring[(int) (c % SIZE)];
            if (e != null) putSet(c, e);
        }
        // with nothing live the file is empty and the counter starts again at 0 after a restart:
        // only the slot it picks matters, and every slot is free
        boolean any = seal();
        FileChannel fresh = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        long written = 0;
        try {
            if (any) written = writeAt(fresh, 0);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            fresh.close();
            throw e;
        }
        channel.close();
        channel = fresh;
        end = written;
    }

    /** Entries applied at an epoch below epoch (everything with Long.MAX_VALUE). */
    synchronized List<DirtyEntry> before(long epoch) {
        List<DirtyEntry> out = new ArrayList<>();
        for (DirtyEntry e : ring) if (e != null && e.getEpoch() < epoch) out.add(e);
        return out;
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to keep: every frame was written when it was made
        }
    }
}
