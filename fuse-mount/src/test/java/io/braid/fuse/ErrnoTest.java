package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.grpc.Status;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

class ErrnoTest {
    @Test
    void linuxValues() {
        assertEquals(2, Errno.ENOENT);
        assertEquals(5, Errno.EIO);
        assertEquals(13, Errno.EACCES);
        assertEquals(17, Errno.EEXIST);
        assertEquals(18, Errno.EXDEV);
        assertEquals(20, Errno.ENOTDIR);
        assertEquals(21, Errno.EISDIR);
        assertEquals(30, Errno.EROFS);
        assertEquals(34, Errno.ERANGE);
        assertEquals(36, Errno.ENAMETOOLONG);
        assertEquals(39, Errno.ENOTEMPTY);
        assertEquals(61, Errno.ENODATA);
        assertEquals(107, Errno.ENOTCONN);
    }

    @Test
    void transportFailuresThatAreRetried() {
        assertTrue(Errno.retryable(Status.Code.FAILED_PRECONDITION));
        assertTrue(Errno.retryable(Status.Code.UNAVAILABLE));
        assertTrue(Errno.retryable(Status.Code.DEADLINE_EXCEEDED));
        assertFalse(Errno.retryable(Status.Code.INTERNAL));
        assertFalse(Errno.retryable(Status.Code.INVALID_ARGUMENT));
        assertFalse(Errno.retryable(Status.Code.NOT_FOUND));
    }

    @Test
    void transportFailuresThatAreNot() {
        assertEquals(Errno.ENOTCONN, Errno.of(Status.Code.UNAVAILABLE));
        assertEquals(Errno.ENOTCONN, Errno.of(Status.Code.NOT_FOUND));
        assertEquals(Errno.EIO, Errno.of(Status.Code.INTERNAL));
        assertEquals(Errno.EIO, Errno.of(Status.Code.UNKNOWN));
        assertEquals(Errno.EIO, Errno.of(Status.Code.DATA_LOSS));
        assertEquals(Errno.EACCES, Errno.of(Status.Code.PERMISSION_DENIED));
        assertEquals(Errno.EINVAL, Errno.of(Status.Code.INVALID_ARGUMENT));
        assertEquals(Errno.ENOSYS, Errno.of(Status.Code.UNIMPLEMENTED));
    }

    @Test
    void xattrSizeProbe() {
        Pointer p = Memory.allocateDirect(Runtime.getSystemRuntime(), 16);
        byte[] v = "value".getBytes();
        assertEquals(5, BraidFs.sized(v, p, 0));
        assertEquals(-Errno.ERANGE, BraidFs.sized(v, p, 4));
        assertEquals(5, BraidFs.sized(v, p, 16));
        byte[] back = new byte[5];
        p.get(0, back, 0, 5);
        assertEquals("value", new String(back));
        assertEquals(0, BraidFs.sized(new byte[0], p, 0));
    }

    @Test
    void chownLeavesMinusOneAlone() {
        assertEquals(-1, BraidFs.id(0xFFFFFFFFL));
        assertEquals(-1, BraidFs.id(-1));
        assertEquals(1000, BraidFs.id(1000));
        assertEquals(0, BraidFs.id(0));
    }

    @Test
    void namesLongerThanNameMax() {
        assertFalse(VolumeOps.nameTooLong("/d/" + "a".repeat(255)));
        assertTrue(VolumeOps.nameTooLong("/d/" + "a".repeat(256)));
        assertTrue(VolumeOps.nameTooLong("/" + "é".repeat(128))); // 256 bytes in UTF-8
    }
}
