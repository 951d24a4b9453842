package io.braid.nbd;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A BlockExport in a byte array that completes every future before returning, on the caller's
 * thread (the event loop), and records each call so tests can see what reached the export.
 */
final class MemoryExport implements BlockExport {
    private final byte[] data;
    /** One line per call, e.g. "write 0 4096 fua=true". */
    final List<String> calls = new CopyOnWriteArrayList<>();
    /** When set, every call fails with it. */
    volatile RuntimeException failure;

    MemoryExport(int size) {
        this.data = new byte[size];
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public synchronized CompletableFuture<ByteBuffer> read(long offset, int length) {
        calls.add("read " + offset + " " + length);
        if (failure != null) return CompletableFuture.failedFuture(failure);
        return CompletableFuture.completedFuture(ByteBuffer.wrap(Arrays.copyOfRange(data, (int) offset, (int) offset + length)));
    }

    @Override
    public synchronized CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        calls.add("write " + offset + " " + src.remaining() + " fua=" + fua);
        if (failure != null) return CompletableFuture.failedFuture(failure);
        src.get(data, (int) offset, src.remaining());
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<Void> flush() {
        calls.add("flush");
        if (failure != null) return CompletableFuture.failedFuture(failure);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        calls.add("trim " + offset + " " + length + " fua=" + fua);
        if (failure != null) return CompletableFuture.failedFuture(failure);
        Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
        calls.add("zero " + offset + " " + length + " fua=" + fua + " noHole=" + noHole);
        if (failure != null) return CompletableFuture.failedFuture(failure);
        Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
        return CompletableFuture.completedFuture(null);
    }

    synchronized byte[] bytes(int offset, int length) {
        return Arrays.copyOfRange(data, offset, offset + length);
    }
}
