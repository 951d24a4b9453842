package io.braid.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Runs {@link Braid#run} in-process and captures what it prints. */
record CliRun(int exit, String out, String err) {

    static CliRun of(String... args) {
        return withInput("", args);
    }

    static CliRun withInput(String input, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            exit = Braid.run(args, o, e, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), Map.of());
        }
        return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The stderr text, which must be exactly one line. */
    String errLine() {
        if (!err.endsWith("\n") || err.indexOf('\n') != err.length() - 1) {
            throw new AssertionError("expected exactly one stderr line, got: <" + err + ">");
        }
        return err.substring(0, err.length() - 1);
    }
}
