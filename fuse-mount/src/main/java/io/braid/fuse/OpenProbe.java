package io.braid.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Whether the thread behind a FUSE request is inside a read-only open(2) right now, from
 * {@code /proc/TID/syscall} (the syscall it is blocked in, with its arguments; readable by root,
 * which a mount for other users is). The kernel looks a name up (LOOKUP, a getattr here) during
 * the path walk of that open and sends the OPEN right after: a getattr made while the thread is
 * in that very syscall happened after the open(2) began, so its answer may stand for the OPEN's
 * (close-to-open holds: whatever was closed before the open began is in it).
 *
 * <p>Only open and openat with O_RDONLY, without O_CREAT, O_TRUNC or O_DIRECT, on x86-64 and
 * aarch64 (their syscall numbers); anything else, or an unreadable file, says no.
 *
 * <p>It also tells which file a thread is creating with O_CREAT|O_EXCL (see {@link #exclusiveCreate}).
 */
final class OpenProbe {
    private static final int O_ACCMODE = 03;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_TRUNC = 01000;
    private static final int AT_FDCWD = -100;
    private static final int PATH_MAX = 4096;
    /** O_DIRECT: 040000 on x86-64, 0200000 on aarch64. */
    private static final int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0200000 : 040000;

    /** syscall number of open (-1 where it does not exist) and openat. */
    private final int open;
    private final int openat;
    private volatile boolean usable;

    private OpenProbe(int open, int openat, boolean usable) {
        this.open = open;
        this.openat = openat;
        this.usable = usable;
    }

    /** The probe for this machine: usable when the architecture is known and /proc/self/syscall reads. */
    static OpenProbe forThisMachine() {
        String arch = System.getProperty("os.arch", "");
        int open;
        int openat;
        switch (arch) {
            case "amd64", "x86_64" -> {
                open = 2;
                openat = 257;
            }
            case "aarch64" -> {
                open = -1;
                openat = 56;
            }
            default -> {
                return new OpenProbe(-1, -1, false);
            }
        }
        boolean readable;
        try {
            readable = !Files.readString(Path.of("/proc/thread-self/syscall")).isBlank();
        } catch (IOException | RuntimeException e) {
            readable = false;
        }
        return new OpenProbe(open, openat, readable);
    }

    boolean usable() {
        return usable;
    }

    /**
     * The syscall line of thread tid if it is in a read-only open now (to compare at the OPEN:
     * the same line means the same call, still in progress), or null.
     */
    String readOnlyOpen(long tid) {
        if (!usable || tid <= 0) {
            return null;
        }
        String line;
        try {
            line = Files.readString(Path.of("/proc/" + tid + "/syscall"), StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return null; // the thread is gone
        } catch (IOException | RuntimeException e) {
            usable = false; // not allowed here (not root, a hardened /proc): do without
            return null;
        }
        return readOnlyOpen(line) ? line : null;
    }

    /**
     * The file thread tid is creating exclusively right now: when it is in an open or openat with
     * O_CREAT and O_EXCL, the absolute path that call names (the name read from /proc/TID/mem at
     * the call's argument, a relative one taken from the directory /proc/TID/cwd or
     * /proc/TID/fd/DIRFD links to), with its empty components dropped; otherwise null. Also null
     * for a name with "." or ".." components (it is not resolved here) and when anything is
     * unreadable. The thread is blocked in the call that sent the request being served, so the
     * answer is about that call.
     */
    String exclusiveCreate(long tid) {
        if (!usable || tid <= 0) {
            return null;
        }
        try {
            Call call = exclusiveCreateCall(Files.readString(Path.of("/proc/" + tid + "/syscall"), StandardCharsets.US_ASCII).trim());
            if (call == null) {
                return null;
            }
            String name = cString(tid, call.nameAddress());
            if (name == null || name.isEmpty() || name.endsWith("/")) {
                return null; // a trailing slash: EISDIR, and no lookup of it comes
            }
            String base = "";
            if (!name.startsWith("/")) {
                Path link = Path.of("/proc/" + tid + (call.dirfd() == AT_FDCWD ? "/cwd" : "/fd/" + call.dirfd()));
                base = Files.readSymbolicLink(link).toString();
                if (!base.startsWith("/")) {
                    return null; // "socket:[...]", "pipe:[...]": not a directory
                }
            }
            return lexical(base + "/" + name);
        } catch (NoSuchFileException e) {
            return null; // the thread or its descriptor is gone
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** An exclusive create's directory descriptor (AT_FDCWD for open(2)) and where its name is in the caller. */
    record Call(int dirfd, long nameAddress) {
    }

    /** The open or openat with O_CREAT|O_EXCL a /proc/TID/syscall line describes, or null. */
    Call exclusiveCreateCall(String line) {
        String[] f = line.split(" ");
        if (f.length < 5) {
            return null;
        }
        try {
            int nr = Integer.parseInt(f[0]);
            long flags;
            Call call;
            if (nr == open && open >= 0) {
                call = new Call(AT_FDCWD, Long.decode(f[1]));
                flags = Long.decode(f[2]);
            } else if (nr == openat) {
                call = new Call((int) Long.parseUnsignedLong(f[1].substring(2), 16), Long.decode(f[2]));
                flags = Long.decode(f[3]);
            } else {
                return null;
            }
            return (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && call.nameAddress() > 0 ? call : null;
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return null;
        }
    }

    /** The NUL-terminated string at address in thread tid's memory (at most PATH_MAX bytes), or null. */
    private static String cString(long tid, long address) throws IOException {
        try (FileChannel mem = FileChannel.open(Path.of("/proc/" + tid + "/mem"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(PATH_MAX);
            int n = mem.read(b, address);
            for (int i = 0; i < n; i++) {
                if (b.get(i) == 0) {
                    return new String(b.array(), 0, i, StandardCharsets.UTF_8);
                }
            }
            return null;
        }
    }

    /** path with repeated and trailing slashes dropped, or null if it has a "." or ".." component. */
    static String lexical(String path) {
        StringBuilder out = new StringBuilder(path.length());
        for (String c : path.split("/")) {
            if (c.isEmpty()) {
                continue;
            }
            if (c.equals(".") || c.equals("..")) {
                return null;
            }
            out.append('/').append(c);
        }
        return out.length() == 0 ? "/" : out.toString();
    }

    /** Whether a /proc/TID/syscall line ("NR arg1 ... arg6 sp pc", hex arguments) is such an open. */
    boolean readOnlyOpen(String line) {
        String[] f = line.split(" ");
        if (f.length < 4) {
            return false; // "running" or "-1 sp pc": not in a syscall
        }
        int nr;
        long flags;
        try {
            nr = Integer.parseInt(f[0]);
            if (nr == open && open >= 0) {
                flags = Long.decode(f[2]); // open(path, flags, mode)
            } else if (nr == openat) {
                flags = Long.decode(f[3]); // openat(dirfd, path, flags, mode)
            } else {
                return false;
            }
        } catch (NumberFormatException e) {
            return false;
        }
        return (flags & O_ACCMODE) == 0 && (flags & (O_CREAT | O_TRUNC | O_DIRECT)) == 0;
    }
}
