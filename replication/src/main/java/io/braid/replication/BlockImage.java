package io.braid.replication;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A replica's backing image: a sparse file read and written at offsets. Writes land in the
 * kernel's page cache (the "volatile cache" of a disk); {@link #sync()} puts them on stable storage.
 */
public final class BlockImage implements AutoCloseable {
    public static final int BLOCK = 4096;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private final Path path;
    private final RandomAccessFile file;
    private final FileChannel channel;
    private volatile long size;

    private BlockImage(Path path, RandomAccessFile file, long size) {
        this.path = path;
        this.file = file;
        this.channel = file.getChannel();
        this.size = size;
    }

    /** Opens the image, growing the file (sparsely) to size if it is shorter. */
    public static BlockImage open(Path path, long size) throws IOException {
        RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw");
        try {
            if (f.length() < size) f.setLength(size);
            return new BlockImage(path, f, size);
        } catch (IOException e) {
            f.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public long size() {
        return size;
    }

    /** Grows the image; never shrinks it. */
    public synchronized void grow(long newSize) throws IOException {
        if (newSize <= size) return;
        if (file.length() < newSize) file.setLength(newSize);
        size = newSize;
    }

    public ByteBuffer read(long offset, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            int n = channel.read(buf, offset + buf.position());
            if (n < 0) break; // past the end of a short file: the rest reads as zeroes
        }
        buf.clear();
        return buf;
    }

    public void write(long offset, ByteBuffer data) throws IOException {
        ByteBuffer d = data.duplicate();
        long pos = offset;
        while (d.hasRemaining()) pos += channel.write(d, pos);
    }

    public void zero(long offset, long length) throws IOException {
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            ByteBuffer z = ZEROES.duplicate();
            z.limit((int) Math.min(z.capacity(), end - pos));
            while (z.hasRemaining()) pos += channel.write(z, pos);
        }
    }

    public void sync() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
