package io.braid.fuse;

/** A server named {@code HOST[:PORT]}; an IPv6 address is written in brackets ({@code [::1]:24100}). */
public record ServerAddress(String host, int port) {
    public static final int DEFAULT_PORT = 24100;

    public ServerAddress {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("empty host name");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("invalid port " + port);
        }
    }

    /**
     * @throws IllegalArgumentException with a short reason
     */
    public static ServerAddress parse(String text, int defaultPort) {
        String s = text.strip();
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("invalid server address '" + text + "'");
            }
            String host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (rest.isEmpty()) {
                return new ServerAddress(host, defaultPort);
            }
            if (!rest.startsWith(":")) {
                throw new IllegalArgumentException("invalid server address '" + text + "'");
            }
            return new ServerAddress(host, port(rest.substring(1), text));
        }
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            return new ServerAddress(s, defaultPort);
        }
        if (s.indexOf(':') != colon) {
            throw new IllegalArgumentException("invalid server address '" + text + "' (write IPv6 as [ADDR]:PORT)");
        }
        return new ServerAddress(s.substring(0, colon), port(s.substring(colon + 1), text));
    }

    static int port(String digits, String whole) {
        if (digits.isEmpty() || digits.length() > 5 || !digits.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("invalid port in '" + whole + "'");
        }
        int p = Integer.parseInt(digits);
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("invalid port in '" + whole + "'");
        }
        return p;
    }

    /** The gRPC target, {@code host:port}. */
    public String target() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String toString() {
        return target();
    }
}
