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

    /** {@code -o opt,opt,...} for libfuse's fuse_main. */
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
        // st_ino comes from the bricks, so hard links show one inode number (tar, rsync -H, du).
        opts.add("use_ino");
        // mount(8) mounts over non-empty directories too; a second Braid mount on DIR is refused before.
        opts.add("nonempty");
        opts.add("attr_timeout=" + seconds(o.attrTimeout()));
        opts.add("entry_timeout=" + seconds(o.entryTimeout()));
        // A name another client just created is seen at once.
        opts.add("negative_timeout=0");
        // One request per 128 KiB instead of per 4 KiB page.
        opts.add("big_writes");
        // unlink and rename go to the servers as they are (no .fuse_hidden renames); an unlinked
        // open file is kept by BraidFs itself (see BraidFs.unlink)
        opts.add("hard_remove");
        opts.add("max_write=" + BraidFs.MAX_IO);
        opts.add("max_read=" + BraidFs.MAX_IO);
        if (o.readOnly()) {
            opts.add("ro");
        }
        opts.addAll(o.kernelFlags());
        return List.of("-o", String.join(",", opts));
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
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
