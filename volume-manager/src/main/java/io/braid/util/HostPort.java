package io.braid.util;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/** A server's name, {@code HOST[:PORT]}, as operators write it. */
public final class HostPort {
    public static final int DEFAULT_PORT = 24100;

    private final String host;
    private final int port;

    private HostPort(String host, int port) {
        this.host = host;
        this.port = port;
    }

    public static HostPort of(String host, int port) {
        return new HostPort(host, port);
    }

    /** Parses {@code HOST}, {@code HOST:PORT} or {@code [V6]:PORT}; throws IllegalArgumentException with a one-line reason. */
    public static HostPort parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty host name");
        }
        String s = text.trim();
        String host = s;
        int port = DEFAULT_PORT;
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            if (end < 0) throw new IllegalArgumentException("invalid host " + text);
            host = s.substring(1, end);
            if (end + 1 < s.length()) {
                if (s.charAt(end + 1) != ':') throw new IllegalArgumentException("invalid host " + text);
                port = parsePort(s.substring(end + 2), text);
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') == colon) {
                host = s.substring(0, colon);
                port = parsePort(s.substring(colon + 1), text);
            }
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9._:-]+")) {
            throw new IllegalArgumentException("invalid host name " + text);
        }
        return new HostPort(host, port);
    }

    private static int parsePort(String p, String text) {
        try {
            int port = Integer.parseInt(p);
            if (port < 1 || port > 65535) throw new NumberFormatException();
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid port in " + text);
        }
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** The name as an operator writes it: the port only when it is not the default. */
    public String display() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return port == DEFAULT_PORT ? h : h + ":" + port;
    }

    /** "ip:port" after resolving the host; throws UnknownHostException for names that do not resolve. */
    public String canonical() throws UnknownHostException {
        InetAddress a = InetAddress.getByName(host);
        String ip = a.getHostAddress();
        return (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port;
    }

    public HostPort withPort(int p) {
        return new HostPort(host, p);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostPort h && h.host.equals(host) && h.port == port;
    }

    @Override
    public int hashCode() {
        return Objects.hash(host, port);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
