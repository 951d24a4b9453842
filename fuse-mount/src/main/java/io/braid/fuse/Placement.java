package io.braid.fuse;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Where a name lives in a distributed file volume (GlusterFS DHT, simplified): a non-directory
 * lives on the replica set chosen by the CRC32C of its basename; directories exist on every set.
 * The client and the servers use this one function, so they always agree.
 */
public final class Placement {
    private Placement() {
    }

    /**
     * @param path a volume path ("/a/b", "a/b", "" or "/" for the root)
     * @param sets the number of replica sets K (at least 1)
     * @return the index of the set that holds the non-directory at path, in [0, K)
     */
    public static int setOf(String path, int sets) {
        if (sets <= 1) {
            return 0;
        }
        int hidden = unlinkedSet(path);
        if (hidden >= 0) {
            return hidden % sets;
        }
        byte[] name = basename(path).getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(name, 0, name.length);
        return Integer.remainderUnsigned((int) crc.getValue(), sets);
    }

    /**
     * A file a mount unlinked while it had it open lives at {@code .braid-unlinked/SET-CLIENT-N}
     * on the set it was on: the set named in its name, or -1 for any other path.
     */
    static int unlinkedSet(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        String dir = UNLINKED_DIR + "/";
        if (!p.startsWith(dir)) {
            return -1;
        }
        int dash = p.indexOf('-', dir.length());
        try {
            return dash < 0 ? -1 : Integer.parseInt(p.substring(dir.length(), dash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Where a mount keeps the files it unlinked while they were open (hidden from listings). */
    public static final String UNLINKED_DIR = ".braid-unlinked";

    /** The last component of path: "c" for "/a/b/c", "" for the root. Trailing slashes are ignored. */
    public static String basename(String path) {
        int end = path.length();
        while (end > 0 && path.charAt(end - 1) == '/') {
            end--;
        }
        int slash = path.lastIndexOf('/', end - 1);
        return path.substring(slash + 1, end);
    }
}
