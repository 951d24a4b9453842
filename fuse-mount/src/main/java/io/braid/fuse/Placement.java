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
        byte[] name = basename(path).getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(name, 0, name.length);
        return Integer.remainderUnsigned((int) crc.getValue(), sets);
    }

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
