package io.braid.files;

import static io.braid.files.LibC.AT_EMPTY_PATH;
import static io.braid.files.LibC.AT_FDCWD;
import static io.braid.files.LibC.AT_NO_AUTOMOUNT;
import static io.braid.files.LibC.AT_SYMLINK_NOFOLLOW;
import static io.braid.files.LibC.O_CLOEXEC;
import static io.braid.files.LibC.O_DIRECTORY;
import static io.braid.files.LibC.O_NOCTTY;
import static io.braid.files.LibC.O_NOFOLLOW;
import static io.braid.files.LibC.O_PATH;
import static io.braid.files.LibC.O_RDONLY;
import static io.braid.files.LibC.STATX_BASIC_STATS;

import io.braid.proto.file.Attr;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One brick's directory, opened once, and the only way paths in it are resolved. The parent
 * directory of a path is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS), or, on a kernel without openat2, by a walk of openat(O_NOFOLLOW |
 * O_DIRECTORY) one component at a time; the final name is then handed to an *at call that does not
 * follow it. No symlink in the brick is ever followed, so no path leads out of it: a symlink where a
 * directory is expected answers ELOOP on both routes.
 */
final class Brick implements AutoCloseable {
    private static final LibC C = LibC.INSTANCE;
    private static final byte[] EMPTY = {0};
    private static final byte[] DOT = {'.', 0};
    private static final long RESOLVE = LibC.RESOLVE_BENEATH | LibC.RESOLVE_NO_SYMLINKS | LibC.RESOLVE_NO_MAGICLINKS;

    /** The brick's root, O_RDONLY | O_DIRECTORY (so syncfs and fstatvfs work on it too). */
    final int rootFd;
    private final Path dir;
    private volatile boolean openat2;

    private Brick(Path dir, int rootFd, boolean openat2) {
        this.dir = dir;
        this.rootFd = rootFd;
        this.openat2 = openat2;
    }

    /** Opens dir; tryOpenat2 false forces the component walk (for tests of that route). */
    static Brick open(Path dir, boolean tryOpenat2) throws FsError {
        if (!"amd64".equals(System.getProperty("os.arch"))) {
            throw new FsError(Errno.ENOTSUP, "brick file store: only x86_64 Linux is supported");
        }
        String abs = dir.toAbsolutePath().toString();
        int fd = C.openat(AT_FDCWD, cString(abs), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw errorFor("open brick", abs);
        Brick b = new Brick(dir, fd, false);
        try {
            b.openat2 = tryOpenat2 && b.probeOpenat2();
            b.checkProc();
            return b;
        } catch (FsError e) {
            b.close();
            throw e;
        }
    }

    Path dir() {
        return dir;
    }

    boolean usesOpenat2() {
        return openat2;
    }

    /** An O_PATH fd of p's parent directory, or rootFd when that is the root: {@link #release} it. */
    int parentOf(BrickPath p, String op) throws FsError {
        if (p.parent == null) return rootFd;
        if (openat2) {
            int fd = openat2(p.parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0) return fd;
            if (fd != -Errno.ENOSYS) throw error(-fd, op, p);
            openat2 = false;
        }
        return walk(p, op);
    }

    /** An O_PATH fd of the entry p names itself, a symlink not followed: close it. */
    int entryOf(BrickPath p, String op) throws FsError {
        if (openat2 && p.parent != null) {
            int fd = openat2(p.full, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) return fd;
            if (fd != -Errno.ENOSYS) throw error(-fd, op, p);
            openat2 = false;
        }
        int dir = parentOf(p, op);
        try {
            int fd = C.openat(dir, p.name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
            if (fd < 0) throw error(op, p);
            return fd;
        } finally {
            release(dir);
        }
    }

    /** Closes a directory fd from {@link #parentOf}, unless it is the root. */
    void release(int dirFd) {
        if (dirFd != rootFd) C.close(dirFd);
    }

    /** Opens the file behind an O_PATH fd for I/O, through /proc/self/fd: the same inode, no lookup. */
    int reopen(int pathFd, int flags) {
        return C.openat(AT_FDCWD, procPath(pathFd, null), flags | O_CLOEXEC | O_NOCTTY, 0);
    }

    /** "/proc/self/fd/FD/NAME" NUL-terminated (only "/proc/self/fd/FD" when name is null). */
    static byte[] procPath(int fd, byte[] name) {
        byte[] prefix = ("/proc/self/fd/" + fd).getBytes(StandardCharsets.US_ASCII);
        if (name == null) return Arrays.copyOf(prefix, prefix.length + 1);
        byte[] out = new byte[prefix.length + 1 + name.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        out[prefix.length] = '/';
        System.arraycopy(name, 0, out, prefix.length + 1, name.length);
        return out;
    }

    /** lstat of name in dirFd into the scratch statx buffer; false (errno set) on failure. */
    boolean statAt(int dirFd, byte[] name, Scratch s) {
        return C.statx(dirFd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS,
                s.smallAddress + Scratch.STATX) == 0;
    }

    /** fstat of fd (an O_PATH one too) into the scratch statx buffer; false (errno set) on failure. */
    boolean statFd(int fd, Scratch s) {
        return C.statx(fd, EMPTY, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS,
                s.smallAddress + Scratch.STATX) == 0;
    }

    Attr lstat(int dirFd, byte[] name, String op, Object p) throws FsError {
        Scratch s = Scratch.get();
        if (!statAt(dirFd, name, s)) throw error(op, p);
        return attr(s.small, Scratch.STATX);
    }

    Attr fstat(int fd, String op, Object p) throws FsError {
        Scratch s = Scratch.get();
        if (!statFd(fd, s)) throw error(op, p);
        return attr(s.small, Scratch.STATX);
    }

    /** The st_mode in a statx buffer. */
    static int mode(ByteBuffer b, int base) {
        return b.getShort(base + 28) & 0xffff;
    }

    /** The st_gid in a statx buffer. */
    static int gid(ByteBuffer b, int base) {
        return b.getInt(base + 24);
    }

    /** An Attr from a struct statx (linux/stat.h: the layout is the same on every architecture). */
    static Attr attr(ByteBuffer b, int base) {
        return Attr.newBuilder()
                .setIno(b.getLong(base + 32))
                .setMode(mode(b, base))
                .setNlink(b.getInt(base + 16))
                .setUid(b.getInt(base + 20))
                .setGid(gid(b, base))
                .setRdev(makedev(b.getInt(base + 128), b.getInt(base + 132)))
                .setSize(b.getLong(base + 40))
                .setBlocks(b.getLong(base + 48))
                .setAtimeNs(nanos(b, base + 64))
                .setCtimeNs(nanos(b, base + 96))
                .setMtimeNs(nanos(b, base + 112))
                .build();
    }

    /** glibc's makedev(): the dev_t that stat(2) and mknod(2) use. */
    static long makedev(int major, int minor) {
        long ma = major & 0xffffffffL;
        long mi = minor & 0xffffffffL;
        return (ma & 0xfffL) << 8 | (ma & 0xfffff000L) << 32 | mi & 0xffL | (mi & 0xffffff00L) << 12;
    }

    private static long nanos(ByteBuffer b, int at) {
        return b.getLong(at) * 1_000_000_000L + (b.getInt(at + 8) & 0xffffffffL);
    }

    /** An FsError for this thread's last errno: build it before any other native call. */
    FsError error(String op, Object path) {
        return error(LibC.errno(), op, path);
    }

    /** "op "path": ENAME", path being a BrickPath, a client's path or a "from -> to" pair. */
    static FsError error(int errno, String op, Object path) {
        return new FsError(errno, op + " " + BrickPath.printable(path.toString()) + ": " + Errno.name(errno));
    }

    @Override
    public void close() {
        C.close(rootFd);
    }

    /** openat2 relative to the root; the fd, or minus the errno. */
    private int openat2(byte[] path, int flags) {
        Scratch s = Scratch.get();
        ByteBuffer how = s.small;
        how.putLong(Scratch.HOW, flags);
        how.putLong(Scratch.HOW + 8, 0);
        how.putLong(Scratch.HOW + 16, RESOLVE);
        while (true) {
            long fd = C.syscall(LibC.SYS_OPENAT2, rootFd, path, s.smallAddress + Scratch.HOW, LibC.OPEN_HOW_SIZE);
            if (fd >= 0) return (int) fd;
            int e = LibC.errno();
            if (e != Errno.EINTR && e != Errno.EAGAIN) return -e;
        }
    }

    /** The parent of p by openat(O_PATH | O_NOFOLLOW | O_DIRECTORY) one component at a time. */
    private int walk(BrickPath p, String op) throws FsError {
        int cur = rootFd;
        for (byte[] component : p.parentComponents()) {
            int fd = C.openat(cur, component, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC, 0);
            if (fd < 0) {
                int e = LibC.errno();
                Scratch s = Scratch.get();
                if (e == Errno.ENOTDIR && statAt(cur, component, s)
                        && (mode(s.small, Scratch.STATX) & LibC.S_IFMT) == LibC.S_IFLNK) {
                    e = Errno.ELOOP;
                }
                release(cur);
                throw error(e, op, p);
            }
            release(cur);
            cur = fd;
        }
        return cur;
    }

    /** Whether openat2 works here (a seccomp filter may refuse it with ENOSYS or EPERM). */
    private boolean probeOpenat2() {
        int fd = openat2(DOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return false;
        C.close(fd);
        return true;
    }

    /** xattrs and reopening need /proc/self/fd to lead back to the brick. */
    private void checkProc() throws FsError {
        Scratch s = Scratch.get();
        if (!statFd(rootFd, s)) throw errorFor("stat brick", dir.toString());
        long ino = s.small.getLong(Scratch.STATX + 32);
        byte[] proc = procPath(rootFd, null);
        if (C.statx(AT_FDCWD, proc, 0, STATX_BASIC_STATS, s.smallAddress + Scratch.STATX) != 0
                || s.small.getLong(Scratch.STATX + 32) != ino) {
            throw new FsError(Errno.ENOTSUP, "brick file store needs /proc mounted (/proc/self/fd)");
        }
    }

    private static FsError errorFor(String op, String path) {
        int e = LibC.errno();
        return new FsError(e, op + " " + path + ": " + Errno.name(e));
    }

    static byte[] cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }
}
