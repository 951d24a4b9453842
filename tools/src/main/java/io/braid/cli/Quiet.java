package io.braid.cli;

import java.util.logging.Level;
import java.util.logging.Logger;

import org.slf4j.LoggerFactory;

/** Keeps gRPC's and Netty's own logging off the terminal: the CLI prints only its own output. */
final class Quiet {
    // java.util.logging holds loggers weakly; keep them so the level sticks.
    private static final Logger GRPC = Logger.getLogger("io.grpc");
    private static final Logger NETTY = Logger.getLogger("io.netty");

    private Quiet() {
    }

    /** Silences io.grpc and io.netty only (safe inside a test JVM). */
    static void libraries() {
        GRPC.setLevel(Level.OFF);
        NETTY.setLevel(Level.OFF);
        off("io.grpc");
        off("io.netty");
    }

    /** Silences every logger: for the stand-alone {@code braid} process. */
    static void everything() {
        libraries();
        off(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    private static void off(String name) {
        try {
            if (LoggerFactory.getLogger(name) instanceof ch.qos.logback.classic.Logger logger) {
                logger.setLevel(ch.qos.logback.classic.Level.OFF);
            }
        } catch (RuntimeException | LinkageError ignored) {
            // another SLF4J backend, or none: nothing to silence here
        }
    }
}
