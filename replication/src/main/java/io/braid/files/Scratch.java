package io.braid.files;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Pointer;

/**
 * A thread's native buffers, reused by every call so the hot paths allocate nothing: a small one
 * for the structs (statx, open_how, timespec[2], statvfs) and an I/O one for data, directory
 * entries and xattrs that grows with the largest request up to {@link #MAX_IO}.
 */
final class Scratch {
    static final int STATX = 0;
    static final int HOW = 256;
    static final int TIMES = 288;
    static final int STATVFS = 320;
    /** The smallest I/O buffer: holds any xattr value or name list (XATTR_SIZE_MAX, XATTR_LIST_MAX). */
    static final int MIN_IO = 64 * 1024;
    /** Larger reads and writes go through in pieces of this size. */
    static final int MAX_IO = 1 << 20;

    /** The I/O buffer's alignment: a page, which satisfies O_DIRECT on any common disk. */
    static final int ALIGN = 4096;

    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    final ByteBuffer small = ByteBuffer.allocateDirect(512).order(ByteOrder.nativeOrder());
    final long smallAddress = address(small);
    /** Room for {@link #IOVS} struct iovec (base, length) for pwritev. */
    static final int IOVS = 256;
    final ByteBuffer iov = ByteBuffer.allocateDirect(IOVS * 16).order(ByteOrder.nativeOrder());
    final long iovAddress = address(iov);
    private ByteBuffer io;
    private long ioAddress;

    static Scratch get() {
        return LOCAL.get();
    }

    /** The I/O buffer, cleared, page-aligned, holding at least min(size, MAX_IO) bytes (its limit). */
    ByteBuffer io(int size) {
        int want = Math.min(Math.max(size, MIN_IO), MAX_IO);
        if (io == null || io.capacity() < want) {
            int capacity = Integer.highestOneBit(want - 1) << 1;
            // page-aligned, so that a write past the page cache (O_DIRECT) can go from it
            io = ByteBuffer.allocateDirect(capacity + ALIGN).alignedSlice(ALIGN).order(ByteOrder.nativeOrder());
            ioAddress = address(io);
        }
        io.clear();
        io.limit(Math.min(Math.max(size, 0), io.capacity()));
        return io;
    }

    /** The native address of the I/O buffer's first byte, valid until the next {@link #io}. */
    long ioAddress() {
        return ioAddress;
    }

    /** The native address of a direct buffer's current position. */
    static long address(ByteBuffer direct) {
        return Pointer.wrap(LibC.RUNTIME, direct).address();
    }
}
