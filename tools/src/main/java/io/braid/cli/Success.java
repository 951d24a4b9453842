package io.braid.cli;

import java.util.List;

/** The result of a simple operation: its GlusterFS success line and any warnings from the daemon. */
record Success(String line, List<String> warnings) {
    Success {
        warnings = List.copyOf(warnings);
    }

    Success(String line) {
        this(line, List.of());
    }
}
