package io.braid.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * The {@code braid} command: a gRPC client of a daemon's Management service with GlusterFS's
 * grammar and output layouts. {@link #run} is reentrant: no static mutable state, one channel per call.
 */
public final class Braid {
    static final String VERSION = "braid 0.1.0";

    private Braid() {
    }

    public static void main(String[] args) {
        Quiet.everything();
        System.exit(run(args, System.out, System.err, System.in));
    }

    /**
     * Runs one command line. Never throws and never exits.
     *
     * @return the exit status: 0 success, 1 operation failure, 2 usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err, InputStream in) {
        return run(args, out, err, in, System.getenv());
    }

    static int run(String[] args, PrintStream out, PrintStream err, InputStream in, Map<String, String> env) {
        OutputFormat format = GlobalOptions.guessFormat(args);
        try {
            Quiet.libraries();
            GlobalOptions options = GlobalOptions.parse(args, env);
            format = options.format();
            return dispatch(new Session(options, out, err, in), options);
        } catch (CliFailure failure) {
            report(failure, format, out, err);
            return failure.exitCode();
        } catch (Throwable t) {
            String message = t.getMessage() == null ? t.getClass().getName() : t.getClass().getName() + ": "
                    + t.getMessage();
            report(CliFailure.operation("braid", "internal error: " + message), format, out, err);
            return CliFailure.OPERATION;
        }
    }

    private static int dispatch(Session session, GlobalOptions options) {
        List<String> words = options.words();
        if (options.version()) {
            session.print(VERSION + "\n");
            return 0;
        }
        if (options.help() || words.equals(List.of("help"))) {
            session.print(Usage.global());
            return 0;
        }
        if (words.isEmpty()) {
            throw CliFailure.usage("braid", "missing command", GlobalOptions.USAGE);
        }
        String group = words.get(0);
        List<String> rest = words.subList(1, words.size());
        return switch (group) {
            case "peer" -> new PeerCommands(session).peer(rest);
            case "pool" -> new PeerCommands(session).pool(rest);
            case "volume" -> new VolumeCommands(session).run(rest);
            case "mount" -> new MountCommand().run(rest);
            case "help" -> throw CliFailure.usage("help", "help");
            default -> throw CliFailure.usage("braid", "unknown command '" + group + "'", GlobalOptions.USAGE);
        };
    }

    private static void report(CliFailure failure, OutputFormat format, PrintStream out, PrintStream err) {
        try {
            String document = format.formatter().failure(failure.reason());
            if (!document.isEmpty()) {
                out.print(document);
                out.flush();
            }
        } catch (RuntimeException ignored) {
            // the stderr line below is what matters
        }
        err.println(failure.line());
        err.flush();
    }
}
