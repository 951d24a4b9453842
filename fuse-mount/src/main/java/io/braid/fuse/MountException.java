package io.braid.fuse;

/** A mount that cannot go on: a one-line reason for the user and the exit status. */
public final class MountException extends RuntimeException {
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    private final int exitCode;

    public MountException(String reason, int exitCode) {
        super(oneLine(reason), null, false, false);
        this.exitCode = exitCode;
    }

    public static MountException failure(String reason) {
        return new MountException(reason, FAILURE);
    }

    public static MountException usage(String reason) {
        return new MountException(reason, USAGE);
    }

    public int exitCode() {
        return exitCode;
    }

    private static String oneLine(String s) {
        if (s == null || s.isBlank()) {
            return "unknown error";
        }
        return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }
}
