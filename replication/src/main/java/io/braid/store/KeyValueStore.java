package io.braid.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The one place Braid touches RocksDB: a sorted map of byte keys with atomic batches.
 * Every native handle it opens it also closes.
 */
public final class KeyValueStore implements AutoCloseable {
    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions syncWrites;
    private final WriteOptions lazyWrites;

    private KeyValueStore(Path dir, Options options, RocksDB db) {
        this.dir = dir;
        this.options = options;
        this.db = db;
        this.syncWrites = new WriteOptions().setSync(true);
        this.lazyWrites = new WriteOptions().setSync(false);
    }

    public static KeyValueStore open(Path dir) throws IOException {
        Files.createDirectories(dir);
        Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(2).setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        try {
            return new KeyValueStore(dir, options, RocksDB.open(options, dir.toString()));
        } catch (RocksDBException e) {
            options.close();
            throw new IOException("cannot open metadata store " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    public byte[] get(String key) throws IOException {
        try {
            return db.get(key.getBytes(StandardCharsets.UTF_8));
        } catch (RocksDBException e) {
            throw new IOException(e);
        }
    }

    public String getString(String key) throws IOException {
        byte[] v = get(key);
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    /** Every key starting with prefix, in key order. */
    public Map<String, byte[]> scan(String prefix) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(p); it.isValid(); it.next()) {
                String k = new String(it.key(), StandardCharsets.UTF_8);
                if (!k.startsWith(prefix)) break;
                out.put(k, it.value());
            }
        }
        return out;
    }

    public Batch newBatch() {
        return new Batch();
    }

    public void put(String key, byte[] value) throws IOException {
        try (Batch b = newBatch()) {
            b.put(key, value);
            b.commit();
        }
    }

    /**
     * Writes without waiting for the disk: the change survives a crash of this process (it is in
     * the write-ahead log, in the kernel's cache) and reaches stable storage at the next
     * {@link #syncLog()} or synced batch.
     */
    public void putLazily(String key, byte[] value) throws IOException {
        try {
            db.put(lazyWrites, key.getBytes(StandardCharsets.UTF_8), value);
        } catch (RocksDBException e) {
            throw new IOException("metadata write to " + dir + " failed: " + e.getMessage(), e);
        }
    }

    public void deleteLazily(String key) throws IOException {
        try {
            db.delete(lazyWrites, key.getBytes(StandardCharsets.UTF_8));
        } catch (RocksDBException e) {
            throw new IOException("metadata write to " + dir + " failed: " + e.getMessage(), e);
        }
    }

    /** Makes every lazy write so far durable. */
    public void syncLog() throws IOException {
        try {
            db.flushWal(true);
        } catch (RocksDBException e) {
            throw new IOException("metadata sync of " + dir + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        lazyWrites.close();
        syncWrites.close();
        db.close();
        options.close();
    }

    /** Changes that reach the store together or not at all, synced to disk on commit. */
    public final class Batch implements AutoCloseable {
        private final WriteBatch batch = new WriteBatch();

        public Batch put(String key, byte[] value) throws IOException {
            try {
                batch.put(key.getBytes(StandardCharsets.UTF_8), value);
            } catch (RocksDBException e) {
                throw new IOException(e);
            }
            return this;
        }

        public Batch put(String key, String value) throws IOException {
            return put(key, value.getBytes(StandardCharsets.UTF_8));
        }

        public Batch delete(String key) throws IOException {
            try {
                batch.delete(key.getBytes(StandardCharsets.UTF_8));
            } catch (RocksDBException e) {
                throw new IOException(e);
            }
            return this;
        }

        public void commit() throws IOException {
            try {
                db.write(syncWrites, batch);
            } catch (RocksDBException e) {
                throw new IOException("metadata write to " + dir + " failed: " + e.getMessage(), e);
            }
        }

        /**
         * Writes the batch without waiting for the disk, as {@link #putLazily}: one write to the
         * log for all of its changes, durable at the next {@link #syncLog()} or synced batch.
         */
        public void commitLazily() throws IOException {
            try {
                db.write(lazyWrites, batch);
            } catch (RocksDBException e) {
                throw new IOException("metadata write to " + dir + " failed: " + e.getMessage(), e);
            }
        }

        /** Whether nothing was put or deleted. */
        public boolean isEmpty() {
            return batch.count() == 0;
        }

        @Override
        public void close() {
            batch.close();
        }
    }
}
