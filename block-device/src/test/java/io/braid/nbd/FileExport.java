package io.braid.nbd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A BlockExport over a file, answering on a small thread pool so that futures complete off the
 * event loop, as a real brick's do. FUA and flush force the file to disk.
 */
final class FileExport implements BlockExport, AutoCloseable {
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20);

    private final FileChannel file;
    private final long size;
    private final ExecutorService pool = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "file-export");
        t.setDaemon(true);
        return t;
    });

    FileExport(Path path, long size) throws IOException {
        this.file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.size = size;
        if (file.size() < size) file.truncate(size);
        if (file.size() < size) file.write(ByteBuffer.allocate(1), size - 1);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public CompletableFuture<ByteBuffer> read(long offset, int length) {
        return CompletableFuture.supplyAsync(() -> {
            ByteBuffer buf = ByteBuffer.allocate(length);
            try {
                while (buf.hasRemaining()) {
                    int n = file.read(buf, offset + buf.position());
                    if (n < 0) break;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            // A short file reads as zeroes past its end.
            return buf.position(buf.limit()).flip();
        }, pool);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return CompletableFuture.runAsync(() -> {
            try {
                long at = offset;
                while (data.hasRemaining()) at += file.write(data, at);
                if (fua) file.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, pool);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.runAsync(() -> {
            try {
                file.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, pool);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return writeZeroes(offset, length, fua, false);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
        return CompletableFuture.runAsync(() -> {
            try {
                long at = offset;
                long end = offset + length;
                while (at < end) {
                    ByteBuffer zeroes = ZEROES.duplicate();
                    zeroes.limit((int) Math.min(zeroes.capacity(), end - at));
                    while (zeroes.hasRemaining()) at += file.write(zeroes, at);
                }
                if (fua) file.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, pool);
    }

    @Override
    public void close() throws IOException {
        pool.shutdownNow();
        file.close();
    }
}
