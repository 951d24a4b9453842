package io.braid.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The libfuse 2.9 options of a mount: how the mount shows in the mount table, who may use it,
 * how long the kernel caches, and how large each request may be.
 */
final class FuseOptions {
    private FuseOptions() {
    }

    /**
     * {@code -o opt,opt,...} for fuse_mount and fuse_lowlevel_new. The kernel's cache timeouts are
     * not among them: {@link LowLevelFs} gives them with every entry and attribute it answers
     * (attr-timeout, entry-timeout; a name that does not exist is not cached, so one another client
     * just created is seen at once), and the inode numbers it answers are the bricks'.
     */
    static List<String> of(MountOptions o) {
        List<String> opts = new ArrayList<>();
        // The mount table shows "HOST:/NAME on DIR type fuse.braid".
        opts.add("fsname=" + o.source());
        opts.add("subtype=braid");
        // Every user of the machine may use the mount (web server workers, ...); the kernel checks
        // permissions against the mode bits, as on a local disk (the server runs as root).
        if (allowOther()) {
            opts.add("allow_other");
        }
        opts.add("default_permissions");
        // mount(8) mounts over non-empty directories too; a second Braid mount on DIR is refused before.
        opts.add("nonempty");
        // One request per 128 KiB instead of per 4 KiB page.
        opts.add("big_writes");
        opts.add("max_write=" + BraidFs.MAX_IO);
        opts.add("max_read=" + BraidFs.MAX_IO);
        if (o.readOnly()) {
            opts.add("ro");
        }
        opts.addAll(o.kernelFlags());
        return List.of("-o", String.join(",", opts));
    }


    /** allow_other: always as root; otherwise only if /etc/fuse.conf permits it (fusermount refuses else). */
    static boolean allowOther() {
        if (uid() == 0) {
            return true;
        }
        try {
            return Files.readAllLines(Path.of("/etc/fuse.conf")).stream()
                    .anyMatch(l -> l.strip().equals("user_allow_other"));
        } catch (IOException e) {
            return false;
        }
    }

    private static long uid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).strip().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown: assume not root
        }
        return -1;
    }
}
