package io.braid.cli;

import java.util.Map;

/** The daemon the CLI talks to: {@code HOST[:PORT]}, default port 24100. */
record RemoteHost(String host, int port) {
    static final int DEFAULT_PORT = 24100;
    static final String DEFAULT = "127.0.0.1:" + DEFAULT_PORT;
    static final String ENV = "BRAID_HOST";

    /** The --remote-host value if given, else $BRAID_HOST, else 127.0.0.1:24100. */
    static RemoteHost resolve(String option, Map<String, String> env) {
        if (option != null) {
            return parse(option);
        }
        String fromEnv = env == null ? null : env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return parse(fromEnv.strip());
        }
        return parse(DEFAULT);
    }

    /**
     * Parses {@code HOST}, {@code HOST:PORT}, {@code [V6]}, {@code [V6]:PORT} or a bare IPv6 literal.
     *
     * @throws IllegalArgumentException with a one-line reason
     */
    static RemoteHost parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty remote host");
        }
        String s = text.strip();
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw bad(text);
            }
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw bad(text);
                }
                port = rest.substring(1);
            }
        } else {
            int first = s.indexOf(':');
            int last = s.lastIndexOf(':');
            if (first >= 0 && first == last) {
                host = s.substring(0, first);
                port = s.substring(first + 1);
            } else {
                host = s; // no colon, or a bare IPv6 literal
            }
        }
        if (host.isEmpty() || host.chars().anyMatch(Character::isWhitespace) || host.contains("/")) {
            throw bad(text);
        }
        return new RemoteHost(host, port == null ? DEFAULT_PORT : parsePort(port, text));
    }

    private static int parsePort(String port, String text) {
        if (port.isEmpty() || !port.chars().allMatch(c -> c >= '0' && c <= '9') || port.length() > 5) {
            throw bad(text);
        }
        int p = Integer.parseInt(port);
        if (p < 1 || p > 65535) {
            throw bad(text);
        }
        return p;
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("invalid remote host '" + text + "', expected HOST[:PORT]");
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
