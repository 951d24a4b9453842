package io.braid.files;

import java.util.Arrays;

/**
 * A volume-relative path checked before it touches a brick, with the NUL-terminated UTF-8 bytes
 * the *at calls take. The path is "/"-separated with an optional leading "/"; "" and "/" are the
 * root. Every component must be non-empty, neither "." nor "..", free of NUL and of unpaired UTF-16
 * surrogates (EINVAL otherwise, an empty component included), and at most 255 bytes of UTF-8; the
 * whole at most 4095 bytes (ENAMETOOLONG).
 */
final class BrickPath {
    static final int NAME_MAX = 255;
    static final int PATH_MAX = 4095;
    /** The brick's own directory at its root: never visible to clients. */
    static final String RESERVED = ".braid";

    static final BrickPath ROOT = new BrickPath("", new byte[] {'.', 0}, null, new byte[] {'.', 0}, false);

    /** Normalized: no leading "/", "" for the root; the key of the fd cache. */
    final String key;
    /** key in UTF-8, NUL-terminated ("." for the root). */
    final byte[] full;
    /** The parent directory relative to the brick, NUL-terminated; null when that is the root. */
    final byte[] parent;
    /** The last component, NUL-terminated; "." for the root. */
    final byte[] name;
    /** The first component is {@link #RESERVED}. */
    final boolean reserved;

    private BrickPath(String key, byte[] full, byte[] parent, byte[] name, boolean reserved) {
        this.key = key;
        this.full = full;
        this.parent = parent;
        this.name = name;
        this.reserved = reserved;
    }

    /** The cache key of a path, without checking it: a key that is not valid is never cached. */
    static String key(String path) {
        return path.startsWith("/") ? path.substring(1) : path;
    }

    static BrickPath parse(String path) throws FsError {
        String key = key(path);
        int n = key.length();
        if (n == 0) return ROOT;
        if (n > PATH_MAX) throw new FsError(Errno.ENAMETOOLONG, "path too long: " + n + " characters");
        byte[] b = new byte[n * 3 + 1];
        int len = 0;
        int start = 0;
        int lastSlash = -1;
        for (int i = 0; i < n; i++) {
            char c = key.charAt(i);
            if (c == '/') {
                checkComponent(b, start, len, path);
                lastSlash = len;
                b[len++] = '/';
                start = len;
            } else if (c == 0) {
                throw new FsError(Errno.EINVAL, "NUL in path " + printable(path));
            } else if (c < 0x80) {
                b[len++] = (byte) c;
            } else if (c < 0x800) {
                b[len++] = (byte) (0xc0 | c >> 6);
                b[len++] = (byte) (0x80 | c & 0x3f);
            } else if (Character.isSurrogate(c)) {
                if (!Character.isHighSurrogate(c) || i + 1 == n || !Character.isLowSurrogate(key.charAt(i + 1))) {
                    throw new FsError(Errno.EINVAL, "unpaired surrogate in path " + printable(path));
                }
                int cp = Character.toCodePoint(c, key.charAt(++i));
                b[len++] = (byte) (0xf0 | cp >> 18);
                b[len++] = (byte) (0x80 | cp >> 12 & 0x3f);
                b[len++] = (byte) (0x80 | cp >> 6 & 0x3f);
                b[len++] = (byte) (0x80 | cp & 0x3f);
            } else {
                b[len++] = (byte) (0xe0 | c >> 12);
                b[len++] = (byte) (0x80 | c >> 6 & 0x3f);
                b[len++] = (byte) (0x80 | c & 0x3f);
            }
        }
        checkComponent(b, start, len, path);
        if (len > PATH_MAX) throw new FsError(Errno.ENAMETOOLONG, "path too long: " + len + " bytes");
        byte[] full = Arrays.copyOf(b, len + 1);
        byte[] parent = lastSlash < 0 ? null : Arrays.copyOf(b, lastSlash + 1);
        if (parent != null) parent[lastSlash] = 0;
        byte[] name = Arrays.copyOfRange(b, lastSlash + 1, len + 1);
        int firstEnd = lastSlash < 0 ? len : indexOf(b, (byte) '/', 0);
        boolean reserved = firstEnd == RESERVED.length() && key.startsWith(RESERVED);
        return new BrickPath(key, full, parent, name, reserved);
    }

    boolean isRoot() {
        return key.isEmpty();
    }

    /** Whether this is the reserved directory itself (not something under it). */
    boolean isReservedItself() {
        return reserved && parent == null;
    }

    /** The parent's components, each NUL-terminated: the walk when openat2 is missing. */
    byte[][] parentComponents() {
        if (parent == null) return new byte[0][];
        int count = 1;
        for (int i = 0; i < parent.length - 1; i++) if (parent[i] == '/') count++;
        byte[][] out = new byte[count][];
        int start = 0;
        for (int k = 0, i = 0; k < count; i++) {
            if (parent[i] == '/' || parent[i] == 0) {
                out[k] = Arrays.copyOfRange(parent, start, i + 1);
                out[k++][i - start] = 0;
                start = i + 1;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "/" + key;
    }

    private static void checkComponent(byte[] b, int from, int to, String path) throws FsError {
        int len = to - from;
        if (len == 0) throw new FsError(Errno.EINVAL, "empty name in path " + printable(path));
        if (len > NAME_MAX) throw new FsError(Errno.ENAMETOOLONG, "name longer than 255 bytes in path " + printable(path));
        if (b[from] == '.' && (len == 1 || len == 2 && b[from + 1] == '.')) {
            throw new FsError(Errno.EINVAL, "\".\" or \"..\" in path " + printable(path));
        }
    }

    private static int indexOf(byte[] b, byte v, int from) {
        for (int i = from; i < b.length; i++) if (b[i] == v) return i;
        return -1;
    }

    /** The path for a log line: control characters escaped, long paths cut. */
    static String printable(String path) {
        StringBuilder sb = new StringBuilder(Math.min(path.length(), 200) + 2).append('"');
        for (int i = 0; i < path.length() && i < 200; i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        if (path.length() > 200) sb.append("...");
        return sb.append('"').toString();
    }
}
