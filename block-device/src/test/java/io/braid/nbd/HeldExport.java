package io.braid.nbd;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Wraps an export and holds back every future until the test releases it, from the test's own
 * thread: replies can then be forced out of order, and requests in flight counted. The call itself
 * happens at once (a WRITE's data is copied before the server may free its buffer).
 */
final class HeldExport implements BlockExport {
    private final BlockExport inner;
    private final List<Runnable> held = new ArrayList<>();
    private int maxHeld;

    HeldExport(BlockExport inner) {
        this.inner = inner;
    }

    private synchronized <T> CompletableFuture<T> hold(Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> result = call.get();
        CompletableFuture<T> later = new CompletableFuture<>();
        held.add(() -> result.whenComplete((v, t) -> {
            if (t != null) later.completeExceptionally(t);
            else later.complete(v);
        }));
        maxHeld = Math.max(maxHeld, held.size());
        notifyAll();
        return later;
    }

    synchronized void awaitHeld(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (held.size() < count) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new AssertionError("only " + held.size() + " of " + count + " requests reached the export");
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    synchronized int heldCount() {
        return held.size();
    }

    synchronized int maxHeld() {
        return maxHeld;
    }

    /** Completes every held future, newest first. */
    void releaseReversed() {
        List<Runnable> batch;
        synchronized (this) {
            batch = new ArrayList<>(held);
            held.clear();
        }
        for (int i = batch.size() - 1; i >= 0; i--) batch.get(i).run();
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public CompletableFuture<ByteBuffer> read(long offset, int length) {
        return hold(() -> inner.read(offset, length));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return hold(() -> inner.write(offset, data, fua));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return hold(inner::flush);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return hold(() -> inner.trim(offset, length, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole) {
        return hold(() -> inner.writeZeroes(offset, length, fua, noHole));
    }
}
