package io.braid.volume;

import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeType;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One brick on this server, open: its directory, its {@code .braid/} metadata store, and for a
 * block volume its sparse backing image.
 */
public final class Brick implements AutoCloseable {
    public static final String META_DIR = ".braid";
    public static final String VOLUME_ID_FILE = "volume-id";
    public static final String BLOCK_IMAGE = "block.img";

    private final String volume;
    private final String volumeId;
    private final Path path;
    private final KeyValueStore meta;
    private volatile AutoCloseable replica; // the block replica on this brick, closed before the store

    private Brick(String volume, String volumeId, Path path, KeyValueStore meta) {
        this.volume = volume;
        this.volumeId = volumeId;
        this.path = path;
        this.meta = meta;
    }

    /** Lays the brick out on disk if it is not there yet. Safe to repeat. */
    public static void prepare(VolumeRecord v, Path path) throws IOException {
        String found = volumeIdAt(path);
        if (found != null && !found.equals(v.getId())) {
            throw new IOException("brick " + path + " belongs to another volume (volume-id " + found + ")");
        }
        Files.createDirectories(path.resolve(META_DIR));
        if (found == null) {
            Path tmp = path.resolve(META_DIR).resolve(VOLUME_ID_FILE + ".tmp");
            Files.writeString(tmp, v.getId() + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, path.resolve(META_DIR).resolve(VOLUME_ID_FILE),
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        if (v.getType() == VolumeType.BLOCK) {
            Path image = path.resolve(BLOCK_IMAGE);
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                if (f.length() < v.getSize()) f.setLength(v.getSize()); // sparse: no blocks written
            }
        }
    }

    public static Brick open(VolumeRecord v, Path path) throws IOException {
        prepare(v, path);
        KeyValueStore meta = KeyValueStore.open(path.resolve(META_DIR).resolve("meta"));
        try (KeyValueStore.Batch b = meta.newBatch()) {
            b.put("volume/name", v.getName());
            b.put("volume/id", v.getId());
            b.put("volume/type", v.getType().name());
            b.put("volume/size", Long.toString(v.getSize()));
            b.commit();
        } catch (IOException e) {
            meta.close();
            throw e;
        }
        return new Brick(v.getName(), v.getId(), path, meta);
    }

    /** The id of the volume whose brick lies at path, or null when there is none. */
    public static String volumeIdAt(Path path) throws IOException {
        Path f = path.resolve(META_DIR).resolve(VOLUME_ID_FILE);
        if (!Files.isRegularFile(f)) return null;
        return Files.readString(f, StandardCharsets.UTF_8).trim();
    }

    public String volume() {
        return volume;
    }

    public String volumeId() {
        return volumeId;
    }

    public Path path() {
        return path;
    }

    public Path image() {
        return path.resolve(BLOCK_IMAGE);
    }

    public KeyValueStore meta() {
        return meta;
    }

    public AutoCloseable replica() {
        return replica;
    }

    public void attach(AutoCloseable replica) {
        this.replica = replica;
    }

    @Override
    public void close() {
        AutoCloseable r = replica;
        if (r != null) {
            try {
                r.close();
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(Brick.class).warn("closing replica of {}: {}", path, e.toString());
            }
        }
        meta.close();
    }
}
