package io.braid.cli;

import java.util.Locale;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Turns a failed RPC into the CLI's one-line failure: the daemon's own reason, or "Connection
 * failed" when the daemon was never reached (or never answered in time).
 */
final class RpcErrors {
    /** Descriptions grpc-java gives to transport-level failures, as opposed to a daemon's reasons. */
    private static final String[] TRANSPORT_PHRASES = {
        "network closed", "connection closed", "goaway", "unable to resolve", "keepalive",
        "channel shutdown", "subchannel shutdown", "failed alpn", "first received frame", "http/2 error",
        "deadline exceeded after", "clientcall started after", "name resolver",
    };

    private RpcErrors() {
    }

    static CliFailure toFailure(StatusRuntimeException e, String command, String name, RemoteHost remote) {
        Status status = e.getStatus();
        if (!answeredByServer(e.getTrailers()) && unreachable(status)) {
            return CliFailure.operation(command, connectionFailed(remote));
        }
        String reason = status.getDescription();
        if (reason == null || reason.isBlank()) {
            reason = status.getCode().name();
        }
        return new CliFailure(command, name, reason, CliFailure.OPERATION);
    }

    static String connectionFailed(RemoteHost remote) {
        return "Connection failed. Please check if braidd is operational on " + remote + ".";
    }

    /** Statuses made up by the client carry no metadata; a daemon's answer carries some. */
    private static boolean answeredByServer(Metadata trailers) {
        return trailers != null && !trailers.keys().isEmpty();
    }

    /** Whether the status comes from the channel (daemon not reached) rather than from the daemon. */
    static boolean unreachable(Status status) {
        Status.Code code = status.getCode();
        if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED) {
            return false;
        }
        if (status.getCause() != null) {
            return true;
        }
        String description = status.getDescription();
        if (description == null || description.isBlank()) {
            return true;
        }
        String d = description.toLowerCase(Locale.ROOT);
        for (String phrase : TRANSPORT_PHRASES) {
            if (d.contains(phrase)) {
                return true;
            }
        }
        return false;
    }
}
