package io.braid.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads /proc/self/mountinfo: is a directory the mount point of a Braid FUSE mount? */
public final class MountTable {
    public static final String FS_TYPE = "fuse.braid";
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {
    }

    /** Whether dir (an absolute, resolved path) is the mount point of a fuse.braid mount. */
    public static boolean isBraidMount(Path dir) {
        return FS_TYPE.equals(fsTypeAt(dir, read()));
    }

    /** The file system type of the topmost mount at dir, or null if dir is no mount point. */
    static String fsTypeAt(Path dir, List<String> mountinfo) {
        String want = dir.toString();
        String type = null;
        for (String line : mountinfo) {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            String[] f = line.split(" ");
            if (f.length < 5 || !unescape(f[4]).equals(want)) {
                continue;
            }
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] tail = line.substring(dash + 3).split(" ");
            type = tail.length > 0 ? tail[0] : null; // later lines are mounted on top of earlier ones
        }
        return type;
    }

    private static List<String> read() {
        try {
            return Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of();
        }
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
