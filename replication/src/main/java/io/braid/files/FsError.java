package io.braid.files;

/**
 * A failed file operation: the Linux errno to hand back to the application (see {@link Errno}) and a
 * message for the logs naming the operation and the path. It carries no stack trace: it is an answer
 * (a lookup of a missing name is routine), not a fault in Braid.
 */
public final class FsError extends Exception {
    private final int errno;

    public FsError(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
