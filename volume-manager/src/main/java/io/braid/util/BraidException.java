package io.braid.util;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A failure an operator can act on. Its message is the one-line reason the CLI prints after
 * "failed:". Kinds map onto gRPC codes so the CLI can tell a refusal from an unreachable server.
 */
public final class BraidException extends RuntimeException {
    public enum Kind {
        INVALID(Status.Code.INVALID_ARGUMENT),
        NOT_FOUND(Status.Code.NOT_FOUND),
        CONFLICT(Status.Code.FAILED_PRECONDITION),
        EXISTS(Status.Code.ALREADY_EXISTS),
        NO_QUORUM(Status.Code.FAILED_PRECONDITION),
        UNREACHABLE(Status.Code.FAILED_PRECONDITION),
        INTERNAL(Status.Code.INTERNAL);

        final Status.Code code;

        Kind(Status.Code code) {
            this.code = code;
        }
    }

    public static final String QUORUM_NOT_MET = "quorum not met";

    private final Kind kind;

    public BraidException(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public static BraidException invalid(String fmt, Object... args) {
        return new BraidException(Kind.INVALID, String.format(fmt, args));
    }

    public static BraidException conflict(String fmt, Object... args) {
        return new BraidException(Kind.CONFLICT, String.format(fmt, args));
    }

    public static BraidException notFound(String fmt, Object... args) {
        return new BraidException(Kind.NOT_FOUND, String.format(fmt, args));
    }

    public static BraidException noQuorum(String detail) {
        return new BraidException(Kind.NO_QUORUM,
                detail == null || detail.isEmpty() ? QUORUM_NOT_MET : QUORUM_NOT_MET + ": " + detail);
    }

    public Kind kind() {
        return kind;
    }

    public StatusRuntimeException toStatus() {
        return Status.fromCode(kind.code).withDescription(getMessage()).asRuntimeException();
    }
}
