package io.braid.cli;

/**
 * A failed command: carries the GlusterFS-style one-line message
 * {@code <command words>: [NAME: ]failed: <reason>} and the exit status.
 */
final class CliFailure extends RuntimeException {
    static final int OPERATION = 1;
    static final int USAGE = 2;

    private final String command;
    private final String name;
    private final String reason;
    private final int exitCode;

    CliFailure(String command, String name, String reason, int exitCode) {
        super(reason, null, false, false);
        this.command = command;
        this.name = name == null || name.isEmpty() ? null : name;
        this.reason = oneLine(reason);
        this.exitCode = exitCode;
    }

    /** An operation failure (exit 1) without a volume name in the message. */
    static CliFailure operation(String command, String reason) {
        return new CliFailure(command, null, reason, OPERATION);
    }

    /** A bad command line (exit 2): {@code <command>: failed: Usage: <usage>}. */
    static CliFailure usage(String command, String usage) {
        return new CliFailure(command, null, "Usage: " + usage, USAGE);
    }

    /** A bad command line with a specific reason followed by the usage. */
    static CliFailure usage(String command, String reason, String usage) {
        return new CliFailure(command, null, reason + ". Usage: " + usage, USAGE);
    }

    String command() {
        return command;
    }

    String name() {
        return name;
    }

    String reason() {
        return reason;
    }

    int exitCode() {
        return exitCode;
    }

    /** The single stderr line. */
    String line() {
        return command + ": " + (name == null ? "" : name + ": ") + "failed: " + reason;
    }

    private static String oneLine(String s) {
        if (s == null || s.isBlank()) {
            return "unknown error";
        }
        return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }
}
