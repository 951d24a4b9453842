package io.braid.cli;

/** How results are printed: GlusterFS text layouts, GlusterFS {@code <cliOutput>} XML, or JSON. */
enum OutputFormat {
    TEXT, XML, JSON;

    Formatter formatter() {
        return switch (this) {
            case TEXT -> new TextFormatter();
            case XML -> new XmlFormatter();
            case JSON -> new JsonFormatter();
        };
    }
}
