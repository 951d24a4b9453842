package io.braid.fuse;

import io.grpc.Status;

/** Linux errno values (x86_64 and aarch64 agree on these) and how transport failures map to them. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ERANGE = 34;
    public static final int EDEADLK = 35;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ENODATA = 61;
    public static final int EOPNOTSUPP = 95;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ESTALE = 116;

    /** The longest name a brick's file system accepts (NAME_MAX). */
    public static final int NAME_MAX = 255;

    private Errno() {
    }

    /**
     * Whether a failed Call may succeed elsewhere or later: the server is not (or no longer) the
     * set's primary, or it cannot be reached. The client then asks for the layout again and retries.
     */
    public static boolean retryable(Status.Code code) {
        return code == Status.Code.FAILED_PRECONDITION
                || code == Status.Code.UNAVAILABLE
                || code == Status.Code.DEADLINE_EXCEEDED;
    }

    /** The errno an application sees for a Call that failed in transport and will not be retried. */
    public static int of(Status.Code code) {
        return switch (code) {
            case FAILED_PRECONDITION, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, NOT_FOUND -> ENOTCONN;
            case PERMISSION_DENIED, UNAUTHENTICATED -> EACCES;
            case INVALID_ARGUMENT, OUT_OF_RANGE -> EINVAL;
            case UNIMPLEMENTED -> ENOSYS;
            case RESOURCE_EXHAUSTED -> ENOSPC;
            default -> EIO;
        };
    }
}
