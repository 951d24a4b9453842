package io.braid.it;

/** What one braid command printed and returned. */
public record CliResult(int exit, String out, String err) {
    public boolean ok() {
        return exit == 0;
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
