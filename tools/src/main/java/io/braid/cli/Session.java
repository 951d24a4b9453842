package io.braid.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.io.ByteArrayOutputStream;
import java.util.Locale;

/** One invocation's options and streams, handed to the command groups. */
final class Session {
    private final GlobalOptions options;
    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    private final Formatter formatter;

    Session(GlobalOptions options, PrintStream out, PrintStream err, InputStream in) {
        this.options = options;
        this.out = out;
        this.err = err;
        this.in = in;
        this.formatter = options.format().formatter();
    }

    GlobalOptions options() {
        return options;
    }

    Formatter formatter() {
        return formatter;
    }

    /** A fresh channel to the daemon; close it when done. */
    ManagementClient connect() {
        return new ManagementClient(options.remote());
    }

    /** Prints rendered output on stdout. */
    void print(String text) {
        out.print(text);
        out.flush();
    }

    /** Prints a warning line on stderr. */
    void warn(String line) {
        err.println(line);
        err.flush();
    }

    /**
     * Asks a y/n question unless in script mode. The question goes to stdout, or to stderr when
     * stdout carries XML/JSON.
     *
     * @return whether to go on
     */
    boolean confirm(String question) {
        if (options.script()) {
            return true;
        }
        PrintStream to = options.format() == OutputFormat.TEXT ? out : err;
        to.print(question);
        to.flush();
        String answer = readLine();
        if (answer == null) {
            return false;
        }
        answer = answer.strip().toLowerCase(Locale.ROOT);
        return answer.equals("y") || answer.equals("yes");
    }

    /** Reads one line byte by byte (so nothing past it is consumed); null at end of input. */
    private String readLine() {
        if (in == null) {
            return null;
        }
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                line.write(b);
            }
            if (b == -1 && line.size() == 0) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return line.toString(StandardCharsets.UTF_8);
    }
}
