package io.braid.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * One exported block device, as the NBD server sees it. Every method may complete on any
 * thread; a failure completes the future with {@link NbdError} (its errno goes to the client) or
 * any other exception (reported as EIO). Offsets and lengths are checked by the server before
 * they reach an export: {@code 0 <= offset}, {@code offset + length <= size()}, and a request
 * of length 0 is answered without calling the export.
 */
public interface BlockExport {
    /** The size in bytes, as of now (a resize shows on the next handshake). */
    long size();

    /**
     * Reads length bytes at offset; the returned buffer (exactly length bytes from position to
     * limit) is owned by the caller. A direct buffer goes to the socket without another copy.
     */
    CompletableFuture<ByteBuffer> read(long offset, int length);

    /**
     * Writes data (position to limit) at offset; with fua it is stable before completing. The
     * server frees data's memory once the future completes: an export must not keep it longer.
     */
    CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua);

    /** Completes once every write completed before this call is on stable storage. */
    CompletableFuture<Void> flush();

    /** Discards a range; reads of it afterwards may return anything (Braid returns zeroes). */
    CompletableFuture<Void> trim(long offset, long length, boolean fua);

    /** Writes zeroes over a range; noHole asks that it stays allocated. */
    CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua, boolean noHole);
}
