package io.braid.files;

import static io.braid.files.LibC.AT_REMOVEDIR;
import static io.braid.files.LibC.AT_SYMLINK_NOFOLLOW;
import static io.braid.files.LibC.O_ACCMODE;
import static io.braid.files.LibC.O_CLOEXEC;
import static io.braid.files.LibC.O_CREAT;
import static io.braid.files.LibC.O_DIRECT;
import static io.braid.files.LibC.O_DIRECTORY;
import static io.braid.files.LibC.O_EXCL;
import static io.braid.files.LibC.O_NOFOLLOW;
import static io.braid.files.LibC.O_RDONLY;
import static io.braid.files.LibC.O_RDWR;
import static io.braid.files.LibC.O_WRONLY;
import static io.braid.files.LibC.PERMISSIONS;
import static io.braid.files.LibC.S_IFBLK;
import static io.braid.files.LibC.S_IFCHR;
import static io.braid.files.LibC.S_IFDIR;
import static io.braid.files.LibC.S_IFLNK;
import static io.braid.files.LibC.S_IFMT;
import static io.braid.files.LibC.S_IFREG;
import static io.braid.files.LibC.S_IFSOCK;
import static io.braid.files.LibC.S_ISGID;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.file.Setattr;
import io.braid.proto.file.StatfsReply;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The files of one brick of a file volume, by volume-relative path: what a server applies for its
 * clients' requests. Paths are checked by {@link BrickPath} and resolved by {@link Brick} without
 * following any symlink, so no name leads out of the brick; {@code .braid} at the brick root is
 * never listed, ENOENT to every lookup and EPERM to anything that would create or rename onto it.
 * Every failure is an {@link FsError} with the errno the kernel gave. A malformed path is EINVAL
 * (ENAMETOOLONG when too long); a symlink where a directory is expected is ELOOP, and a final
 * symlink is acted on itself (lchown, lutimes), never followed: ELOOP to read, write, truncate and
 * open, ENOTDIR to readdir, ENOTSUP to chmod.
 *
 * <p>Reads (getattr, readdir, readlink, read, statfs, getxattr, listxattr, open) may run
 * concurrently with each other and with mutations; the caller runs mutations one at a time. New
 * entries get exactly the mode asked (the daemon's umask plays no part) and the caller's owner,
 * or the parent's group when the parent directory is set-group-ID (a new directory then is too).
 *
 * <p>Regular files keep an open fd in an LRU cache of {@value #CACHE_SIZE}, so repeated reads and
 * writes cost one pread or pwrite. The store drops a path's fd whenever one of its calls changes
 * what the path names (unlink, rmdir, rename of either name, with everything under a directory);
 * anything else that renames or removes files in the brick must call {@link #invalidate}.
 */
public final class FileStore implements AutoCloseable {
    static final int CACHE_SIZE = 256;
    /** xattrs Braid keeps for itself: invisible and untouchable to clients. */
    static final String RESERVED_XATTR = "trusted.braid.";

    private static final LibC C = LibC.INSTANCE;
    private static final long NANOS = 1_000_000_000L;

    private final Brick brick;
    /** The brick's directory with every symlink resolved, as /proc/self/fd/N shows its files. */
    private final String realRoot;
    private final FdCache cache = new FdCache(CACHE_SIZE);
    private final AtomicBoolean closed = new AtomicBoolean();

    private FileStore(Brick brick) {
        this.brick = brick;
        this.realRoot = realPath(brick.dir());
    }

    private static String realPath(Path dir) {
        try {
            return dir.toRealPath().toString();
        } catch (IOException e) {
            return dir.toAbsolutePath().toString();
        }
    }

    public static FileStore open(Path brickRoot) throws FsError {
        return new FileStore(Brick.open(brickRoot, true));
    }

    /** With tryOpenat2 false, paths are resolved by the per-component walk (as on old kernels). */
    static FileStore open(Path brickRoot, boolean tryOpenat2) throws FsError {
        return new FileStore(Brick.open(brickRoot, tryOpenat2));
    }

    public Path root() {
        return brick.dir();
    }

    // ---- reads ----

    /** lstat(2): a final symlink is described, never followed. */
    public Attr getattr(String path) throws FsError {
        FdCache.Handle h = cache.acquire(BrickPath.key(path));
        if (h != null) {
            try {
                return brick.fstat(h.fd, "getattr", path);
            } finally {
                h.release();
            }
        }
        BrickPath p = lookup(path, "getattr");
        int dir = brick.parentOf(p, "getattr");
        try {
            return brick.lstat(dir, p.name, "getattr", p);
        } finally {
            brick.release(dir);
        }
    }

    /** Every entry with its attributes, without "." and ".." (nor .braid at the root). */
    public List<DirEntry> readdir(String path) throws FsError {
        BrickPath p = lookup(path, "readdir");
        int fd = openDirectory(p, "readdir");
        try {
            Scratch s = Scratch.get();
            ByteBuffer buf = s.io(Scratch.MIN_IO);
            List<DirEntry> out = new ArrayList<>();
            while (true) {
                long n = C.getdents64(fd, s.ioAddress(), buf.limit());
                if (n < 0) throw brick.error("readdir", p);
                if (n == 0) return out;
                // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
                for (int pos = 0; pos < n; pos += buf.getShort(pos + 16) & 0xffff) {
                    int at = pos + 19;
                    int len = 0;
                    while (buf.get(at + len) != 0) len++;
                    if (isDotOrDotDot(buf, at, len) || p.isRoot() && isReserved(buf, at, len)) continue;
                    byte[] name = new byte[len + 1];
                    buf.get(at, name, 0, len);
                    if (!brick.statAt(fd, name, s)) {
                        if (LibC.errno() == Errno.ENOENT) continue; // removed since it was listed
                        throw brick.error("readdir", p);
                    }
                    out.add(DirEntry.newBuilder()
                            .setName(new String(name, 0, len, StandardCharsets.UTF_8))
                            .setAttr(Brick.attr(s.small, Scratch.STATX))
                            .build());
                }
            }
        } finally {
            C.close(fd);
        }
    }

    /** The target of a symlink, as stored. */
    public String readlink(String path) throws FsError {
        BrickPath p = lookup(path, "readlink");
        int dir = brick.parentOf(p, "readlink");
        try {
            Scratch s = Scratch.get();
            ByteBuffer buf = s.io(BrickPath.PATH_MAX + 1);
            long n = C.readlinkat(dir, p.name, s.ioAddress(), buf.limit());
            if (n < 0) throw brick.error("readlink", p);
            byte[] target = new byte[(int) n];
            buf.get(0, target);
            return new String(target, StandardCharsets.UTF_8);
        } finally {
            brick.release(dir);
        }
    }

    /** Up to size bytes of a regular file from offset: fewer only at its end. */
    public ByteString read(String path, long offset, int size) throws FsError {
        if (offset < 0 || size < 0) throw Brick.error(Errno.EINVAL, "read", path);
        FdCache.Handle h = handle(path, false, "read");
        try {
            Scratch s = Scratch.get();
            ByteString out = ByteString.EMPTY;
            for (long pos = offset, left = size; left > 0; ) {
                ByteBuffer buf = s.io((int) left);
                int want = buf.limit();
                long n = preadAll(h.fd, s.ioAddress(), want, pos);
                if (n < 0) {
                    if (out.isEmpty()) throw Brick.error((int) -n, "read", path);
                    break;
                }
                buf.limit((int) n);
                out = out.concat(ByteString.copyFrom(buf));
                if (n < want) break;
                pos += n;
                left -= n;
            }
            return out;
        } finally {
            h.release();
        }
    }

    public StatfsReply statfs() throws FsError {
        Scratch s = Scratch.get();
        if (C.fstatvfs(brick.rootFd, s.smallAddress + Scratch.STATVFS) != 0) throw brick.error("statfs", "/");
        ByteBuffer b = s.small;
        int o = Scratch.STATVFS; // struct statvfs, x86_64: bsize, frsize, blocks, bfree, bavail, files, ffree, ...
        return StatfsReply.newBuilder()
                .setBlockSize(b.getLong(o + 8))
                .setBlocks(b.getLong(o + 16))
                .setBlocksFree(b.getLong(o + 24))
                .setBlocksAvailable(b.getLong(o + 32))
                .setFiles(b.getLong(o + 40))
                .setFilesFree(b.getLong(o + 48))
                .setNameMax(b.getLong(o + 80))
                .build();
    }

    /** A client's getxattr: names under trusted.braid. answer ENODATA, as if absent. */
    public byte[] getxattr(String path, String name) throws FsError {
        if (name.startsWith(RESERVED_XATTR)) throw Brick.error(Errno.ENODATA, "getxattr " + name, path);
        return internalGetxattr(path, name);
    }

    /** Every xattr name but Braid's own (trusted.braid.*). */
    public List<String> listxattr(String path) throws FsError {
        BrickPath p = lookup(path, "listxattr");
        int dir = brick.parentOf(p, "listxattr");
        try {
            Scratch s = Scratch.get();
            ByteBuffer buf = s.io(Scratch.MIN_IO);
            long n = C.llistxattr(Brick.procPath(dir, p.name), s.ioAddress(), buf.limit());
            if (n < 0) throw brick.error("listxattr", p);
            List<String> names = new ArrayList<>();
            for (int start = 0, i = 0; i < n; i++) {
                if (buf.get(i) != 0) continue;
                byte[] bytes = new byte[i - start];
                buf.get(start, bytes);
                String name = new String(bytes, StandardCharsets.UTF_8);
                if (!name.startsWith(RESERVED_XATTR)) names.add(name);
                start = i + 1;
            }
            return names;
        } finally {
            brick.release(dir);
        }
    }

    /**
     * Checks that path can be opened with flags (O_ACCMODE, O_DIRECTORY): EISDIR for a directory
     * opened for writing, ENOTDIR for O_DIRECTORY on anything else, ELOOP for a symlink, ENXIO for a
     * socket. A regular file's fd is cached for the reads and writes that follow.
     */
    public Attr open(String path, int flags) throws FsError {
        BrickPath p = lookup(path, "open");
        long epoch = cache.epoch();
        int pathFd = brick.entryOf(p, "open");
        try {
            Attr a = brick.fstat(pathFd, "open", p);
            int type = a.getMode() & S_IFMT;
            boolean write = (flags & O_ACCMODE) != O_RDONLY;
            if (type == S_IFLNK) throw Brick.error(Errno.ELOOP, "open", p);
            if ((flags & O_DIRECTORY) != 0 && type != S_IFDIR) throw Brick.error(Errno.ENOTDIR, "open", p);
            if (type == S_IFDIR && write) throw Brick.error(Errno.EISDIR, "open", p);
            if (type == S_IFSOCK) throw Brick.error(Errno.ENXIO, "open", p);
            if (type == S_IFREG) {
                FdCache.Handle h = cache.acquire(p.key);
                if (h == null) {
                    h = ioHandle(pathFd, a.getMode(), p, write, "open");
                    if (h.writable) h = cache.offer(p.key, h, epoch);
                }
                h.release();
            }
            return a;
        } finally {
            C.close(pathFd);
        }
    }

    // ---- mutations ----

    /**
     * Creates a regular file. When it exists and exclusive is false, returns the existing entry's
     * attributes instead (EISDIR for a directory, ELOOP for a symlink, as open(O_CREAT | O_NOFOLLOW)).
     */
    public Attr create(String path, int mode, boolean exclusive, int uid, int gid) throws FsError {
        BrickPath p = creation(path, "create");
        long epoch = cache.epoch();
        int dir = brick.parentOf(p, "create");
        try {
            long inherited = setgidParentGid(dir, p, "create");
            int fd = C.openat(dir, p.name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, mode & PERMISSIONS);
            if (fd < 0) {
                int e = LibC.errno();
                if (e != Errno.EEXIST || exclusive) throw Brick.error(e, "create", p);
                Attr a = brick.lstat(dir, p.name, "create", p);
                if ((a.getMode() & S_IFMT) == S_IFDIR) throw Brick.error(Errno.EISDIR, "create", p);
                if ((a.getMode() & S_IFMT) == S_IFLNK) throw Brick.error(Errno.ELOOP, "create", p);
                return a;
            }
            FdCache.Handle h = new FdCache.Handle(fd, true);
            try {
                if (C.fchown(fd, uid, inherited >= 0 ? (int) inherited : gid) != 0
                        || C.fchmod(fd, mode & PERMISSIONS) != 0) {
                    throw undo(dir, p, 0, "create");
                }
                Attr a = brick.fstat(fd, "create", p);
                h = cache.offer(p.key, h, epoch);
                return a;
            } finally {
                h.release();
            }
        } finally {
            brick.release(dir);
        }
    }

    /**
     * Creates a regular file (type 0 or S_IFREG), FIFO, socket, or a character or block device when
     * mode's type says so (rdev is used only then, glibc's dev_t encoding).
     */
    public Attr mknod(String path, int mode, long rdev, int uid, int gid) throws FsError {
        BrickPath p = creation(path, "mknod");
        int type = (mode & S_IFMT) == 0 ? S_IFREG : mode & S_IFMT;
        boolean device = type == S_IFCHR || type == S_IFBLK;
        int dir = brick.parentOf(p, "mknod");
        try {
            long inherited = setgidParentGid(dir, p, "mknod");
            if (C.mknodat(dir, p.name, type | mode & PERMISSIONS, device ? rdev : 0) != 0) {
                throw brick.error("mknod", p);
            }
            if (C.fchownat(dir, p.name, uid, inherited >= 0 ? (int) inherited : gid, AT_SYMLINK_NOFOLLOW) != 0
                    || C.fchmodat(dir, p.name, mode & PERMISSIONS, AT_SYMLINK_NOFOLLOW) != 0) {
                throw undo(dir, p, 0, "mknod");
            }
            return brick.lstat(dir, p.name, "mknod", p);
        } finally {
            brick.release(dir);
        }
    }

    /**
     * Creates a directory with mode's permission and sticky bits (as mkdir(2) on Linux, set-user- and
     * set-group-ID are not taken from mode; set-group-ID comes from a set-group-ID parent).
     */
    public Attr mkdir(String path, int mode, int uid, int gid) throws FsError {
        BrickPath p = creation(path, "mkdir");
        int dir = brick.parentOf(p, "mkdir");
        try {
            long inherited = setgidParentGid(dir, p, "mkdir");
            int perms = mode & 01777 | (inherited >= 0 ? S_ISGID : 0);
            if (C.mkdirat(dir, p.name, mode & 01777) != 0) throw brick.error("mkdir", p);
            int fd = C.openat(dir, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
            if (fd < 0) throw undo(dir, p, AT_REMOVEDIR, "mkdir");
            try {
                if (C.fchown(fd, uid, inherited >= 0 ? (int) inherited : gid) != 0 || C.fchmod(fd, perms) != 0) {
                    throw undo(dir, p, AT_REMOVEDIR, "mkdir");
                }
                return brick.fstat(fd, "mkdir", p);
            } finally {
                C.close(fd);
            }
        } finally {
            brick.release(dir);
        }
    }

    public void unlink(String path) throws FsError {
        BrickPath p = lookup(path, "unlink");
        if (p.isRoot()) throw Brick.error(Errno.EISDIR, "unlink", p);
        int dir = brick.parentOf(p, "unlink");
        try {
            if (C.unlinkat(dir, p.name, 0) != 0) throw brick.error("unlink", p);
        } finally {
            brick.release(dir);
        }
        cache.invalidate(p.key, false);
    }

    public void rmdir(String path) throws FsError {
        BrickPath p = lookup(path, "rmdir");
        if (p.isRoot()) throw Brick.error(Errno.EBUSY, "rmdir", p);
        int dir = brick.parentOf(p, "rmdir");
        try {
            if (C.unlinkat(dir, p.name, AT_REMOVEDIR) != 0) throw brick.error("rmdir", p);
        } finally {
            brick.release(dir);
        }
        cache.invalidate(p.key, true);
    }

    /** A symlink to target, stored verbatim (never resolved here); owned by uid:gid. */
    public Attr symlink(String target, String path, int uid, int gid) throws FsError {
        BrickPath p = creation(path, "symlink");
        byte[] t = target.getBytes(StandardCharsets.UTF_8);
        if (t.length == 0) throw Brick.error(Errno.ENOENT, "symlink (empty target)", p);
        if (t.length > BrickPath.PATH_MAX) throw Brick.error(Errno.ENAMETOOLONG, "symlink (target)", p);
        if (target.indexOf(0) >= 0) throw Brick.error(Errno.EINVAL, "symlink (NUL in target)", p);
        t = Arrays.copyOf(t, t.length + 1);
        int dir = brick.parentOf(p, "symlink");
        try {
            long inherited = setgidParentGid(dir, p, "symlink");
            if (C.symlinkat(t, dir, p.name) != 0) throw brick.error("symlink", p);
            if (C.fchownat(dir, p.name, uid, inherited >= 0 ? (int) inherited : gid, AT_SYMLINK_NOFOLLOW) != 0) {
                throw undo(dir, p, 0, "symlink");
            }
            return brick.lstat(dir, p.name, "symlink", p);
        } finally {
            brick.release(dir);
        }
    }

    /**
     * renameat2(2): atomic, also over an existing entry; flags RENAME_NOREPLACE (1) and
     * RENAME_EXCHANGE (2). The root cannot be renamed or replaced (EBUSY).
     */
    public void rename(String from, String to, int flags) throws FsError {
        String what = from + " -> " + to;
        if ((flags & ~(LibC.RENAME_NOREPLACE | LibC.RENAME_EXCHANGE)) != 0) {
            throw Brick.error(Errno.EINVAL, "rename (flags " + flags + ")", what);
        }
        BrickPath src = lookup(from, "rename");
        BrickPath dst = BrickPath.parse(to);
        if (src.isRoot() || dst.isRoot()) throw Brick.error(Errno.EBUSY, "rename", what);
        if (dst.reserved) throw Brick.error(dst.isReservedItself() ? Errno.EPERM : Errno.ENOENT, "rename", what);
        int sdir = brick.parentOf(src, "rename");
        try {
            int ddir = brick.parentOf(dst, "rename");
            try {
                if (C.renameat2(sdir, src.name, ddir, dst.name, flags) != 0) throw brick.error("rename", what);
            } finally {
                brick.release(ddir);
            }
        } finally {
            brick.release(sdir);
        }
        cache.invalidate(src.key, true);
        cache.invalidate(dst.key, true);
    }

    /** A hard link to from (a symlink itself, never its target); the attributes of the result. */
    public Attr link(String from, String to) throws FsError {
        String what = from + " -> " + to;
        BrickPath src = lookup(from, "link");
        if (src.isRoot()) throw Brick.error(Errno.EPERM, "link", what);
        BrickPath dst = creation(to, "link");
        int sdir = brick.parentOf(src, "link");
        try {
            int ddir = brick.parentOf(dst, "link");
            try {
                if (C.linkat(sdir, src.name, ddir, dst.name, 0) != 0) throw brick.error("link", what);
                return brick.lstat(ddir, dst.name, "link", dst);
            } finally {
                brick.release(ddir);
            }
        } finally {
            brick.release(sdir);
        }
    }

    /** Sets the 07777 bits; ENOTSUP on a symlink (whose mode Linux never changes). */
    public Attr chmod(String path, int mode) throws FsError {
        BrickPath p = lookup(path, "chmod");
        int dir = brick.parentOf(p, "chmod");
        try {
            if (C.fchmodat(dir, p.name, mode & PERMISSIONS, AT_SYMLINK_NOFOLLOW) != 0) throw brick.error("chmod", p);
            return brick.lstat(dir, p.name, "chmod", p);
        } finally {
            brick.release(dir);
        }
    }

    /** lchown(2); -1 leaves the uid or gid as it is. */
    public Attr chown(String path, long uid, long gid) throws FsError {
        BrickPath p = lookup(path, "chown");
        if (uid < -1 || uid > 0xfffffffeL || gid < -1 || gid > 0xfffffffeL) {
            throw Brick.error(Errno.EINVAL, "chown " + uid + ":" + gid, p);
        }
        int dir = brick.parentOf(p, "chown");
        try {
            if (C.fchownat(dir, p.name, (int) uid, (int) gid, AT_SYMLINK_NOFOLLOW) != 0) throw brick.error("chown", p);
            return brick.lstat(dir, p.name, "chown", p);
        } finally {
            brick.release(dir);
        }
    }

    /** The changes of a {@link Setattr}: owner, then mode, then times; the attributes after them. */
    public Attr setattr(Setattr c) throws FsError {
        Attr a = null;
        if (c.hasUid() || c.hasGid()) {
            a = chown(c.getPath(), c.hasUid() ? c.getUid() : -1, c.hasGid() ? c.getGid() : -1);
        }
        if (c.hasMode()) {
            a = chmod(c.getPath(), c.getMode());
        }
        if (c.hasAtimeNs() || c.hasMtimeNs()) {
            a = utimens(c.getPath(), c.hasAtimeNs() ? c.getAtimeNs() : -2, c.hasMtimeNs() ? c.getMtimeNs() : -2);
        }
        return a != null ? a : getattr(c.getPath());
    }

    public Attr truncate(String path, long size) throws FsError {
        if (size < 0) throw Brick.error(Errno.EINVAL, "truncate", path);
        FdCache.Handle h = handle(path, true, "truncate");
        try {
            if (C.ftruncate(h.fd, size) != 0) throw brick.error("truncate", path);
            return brick.fstat(h.fd, "truncate", path);
        } finally {
            h.release();
        }
    }

    /**
     * Sets access and modification times in nanoseconds since the epoch; -1 is now (UTIME_NOW), -2
     * leaves the time as it is (UTIME_OMIT). A symlink's own times are set, never its target's.
     */
    public Attr utimens(String path, long atimeNs, long mtimeNs) throws FsError {
        return setTimes(path, atimeNs, mtimeNs, true);
    }

    /** {@link #utimens} without reading the attributes back: a secondary copying the primary's times. */
    public void setTimes(String path, long atimeNs, long mtimeNs) throws FsError {
        setTimes(path, atimeNs, mtimeNs, false);
    }

    private Attr setTimes(String path, long atimeNs, long mtimeNs, boolean readBack) throws FsError {
        Scratch s = Scratch.get();
        timespec(s.small, Scratch.TIMES, atimeNs);
        timespec(s.small, Scratch.TIMES + 16, mtimeNs);
        if (!readBack) {
            // a secondary copying the times of the file it just wrote: its fd is cached, one call
            FdCache.Handle h = cache.acquire(BrickPath.key(path));
            if (h != null) {
                try {
                    if (C.futimens(h.fd, s.smallAddress + Scratch.TIMES) != 0) throw brick.error("utimens", path);
                    return null;
                } finally {
                    h.release();
                }
            }
        }
        BrickPath p = lookup(path, "utimens");
        int dir = brick.parentOf(p, "utimens");
        try {
            if (C.utimensat(dir, p.name, s.smallAddress + Scratch.TIMES, AT_SYMLINK_NOFOLLOW) != 0) {
                throw brick.error("utimens", p);
            }
            return readBack ? brick.lstat(dir, p.name, "utimens", p) : null;
        } finally {
            brick.release(dir);
        }
    }

    /**
     * Writes data's remaining bytes at offset (its position and limit are left as they are) and
     * returns how many were written: fewer only when the disk filled part way, as write(2).
     */
    public int write(String path, long offset, ByteBuffer data) throws FsError {
        if (offset < 0) throw Brick.error(Errno.EINVAL, "write", path);
        FdCache.Handle h = handle(path, true, "write");
        try {
            if (data.isDirect()) {
                try {
                    long n = pwriteAll(h.fd, Scratch.address(data), data.remaining(), offset);
                    if (n < 0) throw Brick.error((int) -n, "write", path);
                    startWriteback(h, offset, n);
                    return (int) n;
                } finally {
                    Reference.reachabilityFence(data);
                }
            }
            Scratch s = Scratch.get();
            ByteBuffer src = data.duplicate();
            int total = 0;
            while (src.hasRemaining()) {
                ByteBuffer buf = s.io(src.remaining());
                int len = buf.limit();
                int end = src.limit();
                src.limit(src.position() + len);
                buf.put(src);
                src.limit(end);
                long n = pwriteAll(h.fd, s.ioAddress(), len, offset + total);
                if (n < 0) {
                    if (total == 0) throw Brick.error((int) -n, "write", path);
                    break;
                }
                total += (int) n;
                if (n < len) break;
            }
            startWriteback(h, offset, total);
            return total;
        } finally {
            h.release();
        }
    }

    /** {@link #write(String, long, ByteBuffer)} of a ByteString (a request's payload). */
    public int write(String path, long offset, ByteString data) throws FsError {
        List<ByteBuffer> parts = data.asReadOnlyByteBufferList();
        if (allDirect(parts)) {
            // parsed in place (ZeroCopy): written straight from the receive buffers
            return parts.size() == 1 ? write(path, offset, parts.get(0)) : writeParts(path, offset, parts);
        }
        if (data.size() <= Scratch.MAX_IO) {
            // one copy, into this thread's native buffer, which writing a direct buffer does not touch
            ByteBuffer buf = Scratch.get().io(data.size());
            data.copyTo(buf);
            buf.flip();
            return write(path, offset, buf);
        }
        return write(path, offset, data.asReadOnlyByteBuffer());
    }

    /** Writes from this size on may go past the page cache ({@link #writeDirect}). */
    static final int DIRECT_MIN = 256 << 10;

    /**
     * {@link #write(String, long, ByteString)}, but past the page cache (O_DIRECT) when the write is
     * large ({@link #DIRECT_MIN}) and its offset and length are whole pages: the data goes from
     * this thread's page-aligned buffer to the disk, and the file's pages in that range are dropped
     * (the kernel writes back any dirty ones first, so the file reads the same either way). An fsync
     * is still needed for the disk's cache and the file's metadata, as after any write. Any other
     * write, a file system or file that refuses O_DIRECT, and a write it refuses (EINVAL: an
     * alignment the disk wants larger), go through the page cache as usual.
     *
     * <p>What it saves is CPU: a 1 MiB write through the page cache copies into freshly allocated
     * pages, which on a virtual machine is the largest single cost of a sequential write; here it
     * is one copy into a buffer that stays mapped. The call blocks until the disk has the data,
     * which the copy into the page cache does not: a secondary uses it, a primary does not.
     */
    public int writeDirect(String path, long offset, ByteString data) throws FsError {
        int len = data.size();
        if (len < DIRECT_MIN || offset < 0 || ((offset | len) & (Scratch.ALIGN - 1)) != 0) return write(path, offset, data);
        FdCache.Handle h = handle(path, true, "write");
        try {
            int dfd = h.directFd(() -> brick.reopen(h.fd, O_WRONLY | O_DIRECT));
            if (dfd < 0) return write(path, offset, data);
            Scratch s = Scratch.get();
            int done = 0;
            while (done < len) {
                int piece = Math.min(len - done, Scratch.MAX_IO);
                ByteBuffer buf = s.io(piece);
                data.substring(done, done + piece).copyTo(buf);
                long n = pwriteAll(dfd, s.ioAddress(), piece, offset + done);
                if (n == -Errno.EINVAL && done == 0) {
                    h.noDirect();
                    return write(path, offset, data);
                }
                if (n < 0) {
                    if (done == 0) throw Brick.error((int) -n, "write", path);
                    break;
                }
                done += (int) n;
                if (n < piece) break;
            }
            h.unsynced += done;
            return done;
        } finally {
            h.release();
        }
    }

    private static boolean allDirect(List<ByteBuffer> parts) {
        if (parts.isEmpty()) return false;
        for (ByteBuffer b : parts) if (!b.isDirect()) return false;
        return true;
    }

    /** Writes direct buffers one after the other from offset, with pwritev: what write(ByteBuffer) returns. */
    private int writeParts(String path, long offset, List<ByteBuffer> parts) throws FsError {
        if (offset < 0) throw Brick.error(Errno.EINVAL, "write", path);
        FdCache.Handle h = handle(path, true, "write");
        try {
            Scratch s = Scratch.get();
            long total = 0;
            for (int i = 0; i < parts.size(); ) {
                int count = Math.min(parts.size() - i, Scratch.IOVS);
                long want = 0;
                for (int k = 0; k < count; k++) {
                    ByteBuffer b = parts.get(i + k);
                    s.iov.putLong(k * 16, Scratch.address(b));
                    s.iov.putLong(k * 16 + 8, b.remaining());
                    want += b.remaining();
                }
                long n;
                do {
                    n = C.pwritev(h.fd, s.iovAddress, count, offset + total);
                } while (n < 0 && LibC.errno() == Errno.EINTR);
                if (n < 0) {
                    if (total == 0) throw Brick.error(LibC.errno(), "write", path);
                    break;
                }
                if (n < want) {
                    // short (rare): the rest of these parts one by one, until one comes short too
                    long done = n;
                    for (int k = 0; k < count && done >= 0; k++) {
                        ByteBuffer b = parts.get(i + k);
                        long len = b.remaining();
                        if (done >= len) {
                            done -= len;
                            continue;
                        }
                        long m = pwriteAll(h.fd, Scratch.address(b) + done, len - done, offset + total + n);
                        if (m <= 0) break;
                        n += m;
                        if (m < len - done) break;
                        done = 0;
                    }
                    total += n;
                    break;
                }
                total += n;
                i += count;
            }
            startWriteback(h, offset, total);
            return (int) total;
        } finally {
            Reference.reachabilityFence(parts);
            h.release();
        }
    }

    /** fallocate(2) with its mode bits (FALLOC_FL_KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 16, ...). */
    public Attr fallocate(String path, int mode, long offset, long length) throws FsError {
        FdCache.Handle h = handle(path, true, "fallocate");
        try {
            if (C.fallocate(h.fd, mode, offset, length) != 0) throw brick.error("fallocate", path);
            return brick.fstat(h.fd, "fallocate", path);
        } finally {
            h.release();
        }
    }

    /** A client's setxattr; flags XATTR_CREATE (1), XATTR_REPLACE (2). trusted.braid.* is EPERM. */
    public void setxattr(String path, String name, byte[] value, int flags) throws FsError {
        if (name.startsWith(RESERVED_XATTR)) throw Brick.error(Errno.EPERM, "setxattr " + name, path);
        internalSetxattr(path, name, value, flags);
    }

    /** A client's removexattr. trusted.braid.* is EPERM. */
    public void removexattr(String path, String name) throws FsError {
        if (name.startsWith(RESERVED_XATTR)) throw Brick.error(Errno.EPERM, "removexattr " + name, path);
        internalRemovexattr(path, name);
    }

    /** setxattr for Braid's own bookkeeping: any name, trusted.braid.* included. */
    public void internalSetxattr(String path, String name, byte[] value, int flags) throws FsError {
        BrickPath p = lookup(path, "setxattr");
        byte[] n = xattrName(name, p, "setxattr");
        int dir = brick.parentOf(p, "setxattr");
        try {
            if (C.lsetxattr(Brick.procPath(dir, p.name), n, value, value.length, flags) != 0) {
                throw brick.error("setxattr " + name, p);
            }
        } finally {
            brick.release(dir);
        }
    }

    /** getxattr for Braid's own bookkeeping: any name, trusted.braid.* included. */
    public byte[] internalGetxattr(String path, String name) throws FsError {
        BrickPath p = lookup(path, "getxattr");
        byte[] n = xattrName(name, p, "getxattr");
        int dir = brick.parentOf(p, "getxattr");
        try {
            Scratch s = Scratch.get();
            ByteBuffer buf = s.io(Scratch.MIN_IO);
            long len = C.lgetxattr(Brick.procPath(dir, p.name), n, s.ioAddress(), buf.limit());
            if (len < 0) throw brick.error("getxattr " + name, p);
            byte[] value = new byte[(int) len];
            buf.get(0, value);
            return value;
        } finally {
            brick.release(dir);
        }
    }

    /** removexattr for Braid's own bookkeeping: any name, trusted.braid.* included. */
    public void internalRemovexattr(String path, String name) throws FsError {
        BrickPath p = lookup(path, "removexattr");
        byte[] n = xattrName(name, p, "removexattr");
        int dir = brick.parentOf(p, "removexattr");
        try {
            if (C.lremovexattr(Brick.procPath(dir, p.name), n) != 0) throw brick.error("removexattr " + name, p);
        } finally {
            brick.release(dir);
        }
    }

    /** fsync(2) (fdatasync(2) when datasync) of a regular file or a directory. */
    public void fsync(String path, boolean datasync) throws FsError {
        openForSync(path, datasync).run();
    }

    /**
     * An fsync whose file is resolved now and flushed by {@link Sync#run} (on another thread, for
     * instance): a rename or unlink of the path in between does not change which file it flushes.
     */
    public Sync openForSync(String path, boolean datasync) throws FsError {
        FdCache.Handle h = cache.acquire(BrickPath.key(path));
        if (h == null) {
            BrickPath p = lookup(path, "fsync");
            long epoch = cache.epoch();
            int pathFd = brick.entryOf(p, "fsync");
            try {
                Scratch s = Scratch.get();
                if (!brick.statFd(pathFd, s)) throw brick.error("fsync", p);
                int mode = Brick.mode(s.small, Scratch.STATX);
                if ((mode & S_IFMT) == S_IFDIR) {
                    int fd = brick.reopen(pathFd, O_RDONLY | O_DIRECTORY);
                    if (fd < 0) throw brick.error("fsync", p);
                    h = new FdCache.Handle(fd, false);
                } else {
                    h = ioHandle(pathFd, mode, p, false, "fsync");
                    if (h.writable) h = cache.offer(p.key, h, epoch);
                }
            } finally {
                C.close(pathFd);
            }
        }
        return new Sync(h, path, datasync);
    }

    /** Bytes written since a descriptor's last flush up to which {@link Sync#quick} holds. */
    static final long QUICK_SYNC = 64 << 10;

    /** A resolved fsync; {@link #run} once. */
    public final class Sync {
        private final FdCache.Handle handle;
        private final String path;
        private final boolean datasync;

        private Sync(FdCache.Handle handle, String path, boolean datasync) {
            this.handle = handle;
            this.path = path;
            this.datasync = datasync;
        }

        /**
         * Whether this flush is known to be short: at most {@link #QUICK_SYNC} bytes were written
         * through its descriptor since the descriptor's last flush began. A descriptor this store
         * did not write through (a directory's, one opened afresh) counts as unknown, so not short.
         */
        public boolean quick() {
            return handle.unsynced <= QUICK_SYNC;
        }

        /** Lets the descriptor go without flushing. */
        public void abandon() {
            handle.release();
        }

        /** Flushes the file and lets its descriptor go. */
        public void run() throws FsError {
            try {
                handle.unsynced = 0; // writes from here on may come after the flush: counted anew
                int rc;
                do {
                    rc = datasync ? C.fdatasync(handle.fd) : C.fsync(handle.fd);
                } while (rc != 0 && LibC.errno() == Errno.EINTR);
                if (rc != 0) throw brick.error("fsync", path);
            } finally {
                handle.release();
            }
        }
    }

    /** Bumped whenever a path's cached fd is dropped (a rename or removal in the brick). */
    long namesEpoch() {
        return cache.epoch();
    }

    /**
     * A held fd of the regular file path names now ({@link FdCache.Handle#release} it): it keeps
     * naming that file whatever happens to its name.
     */
    FdCache.Handle pin(String path) throws FsError {
        return handle(path, false, "open");
    }

    /** The inode number of the file of h. */
    long inoOf(FdCache.Handle h, String path) throws FsError {
        return brick.fstat(h.fd, "open", path).getIno();
    }

    /**
     * The path (relative to the brick, no leading slash) that names the file of h now, or null
     * when it has none left (unlinked) or is outside the brick.
     */
    String nameOf(FdCache.Handle h) {
        String link;
        try {
            link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + h.fd)).toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (link.endsWith(" (deleted)")) return null;
        if (!link.startsWith(realRoot + "/")) return null;
        return link.substring(realRoot.length() + 1);
    }

    /** syncfs(2) of the brick's filesystem. */
    public void syncfs() throws FsError {
        if (C.syncfs(brick.rootFd) != 0) throw brick.error("syncfs", "/");
    }

    /**
     * Drops the cached fds of path and everything under it: for code that renames or removes files in
     * the brick other than through this store.
     */
    public void invalidate(String path) {
        cache.invalidate(BrickPath.key(path), true);
    }

    /** Closes every cached fd and the brick; no call may be running or follow. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        cache.close();
        brick.close();
    }

    int cachedFds() {
        return cache.size();
    }

    boolean usesOpenat2() {
        return brick.usesOpenat2();
    }

    // ---- helpers ----

    /** A path to look up: .braid and anything under it do not exist. */
    private static BrickPath lookup(String path, String op) throws FsError {
        BrickPath p = BrickPath.parse(path);
        if (p.reserved) throw Brick.error(Errno.ENOENT, op, p);
        return p;
    }

    /** A path to create: not the root (EEXIST), not .braid (EPERM), nothing under .braid (ENOENT). */
    private static BrickPath creation(String path, String op) throws FsError {
        BrickPath p = BrickPath.parse(path);
        if (p.isRoot()) throw Brick.error(Errno.EEXIST, op, p);
        if (p.reserved) throw Brick.error(p.isReservedItself() ? Errno.EPERM : Errno.ENOENT, op, p);
        return p;
    }

    /** The cached read-write fd of a regular file, opened and cached on a miss; release it. */
    private FdCache.Handle handle(String path, boolean write, String op) throws FsError {
        FdCache.Handle h = cache.acquire(BrickPath.key(path));
        if (h != null) return h;
        BrickPath p = lookup(path, op);
        long epoch = cache.epoch();
        int pathFd = brick.entryOf(p, op);
        try {
            Scratch s = Scratch.get();
            if (!brick.statFd(pathFd, s)) throw brick.error(op, p);
            h = ioHandle(pathFd, Brick.mode(s.small, Scratch.STATX), p, write, op);
        } finally {
            C.close(pathFd);
        }
        return h.writable ? cache.offer(p.key, h, epoch) : h;
    }

    /**
     * Opens the regular file behind an O_PATH fd for I/O: read-write when it can be (only such fds
     * are cached), read-only for reads on a read-only or immutable file. Only a regular file is ever
     * opened, so no device or FIFO in the brick is: EISDIR for a directory, ELOOP for a symlink,
     * EINVAL for anything else.
     */
    private FdCache.Handle ioHandle(int pathFd, int mode, BrickPath p, boolean write, String op) throws FsError {
        switch (mode & S_IFMT) {
            case S_IFREG -> { }
            case S_IFDIR -> throw Brick.error(Errno.EISDIR, op, p);
            case S_IFLNK -> throw Brick.error(Errno.ELOOP, op, p);
            default -> throw Brick.error(Errno.EINVAL, op, p);
        }
        int fd = brick.reopen(pathFd, O_RDWR);
        if (fd >= 0) return new FdCache.Handle(fd, true);
        int e = LibC.errno();
        if (!write && (e == Errno.EROFS || e == Errno.EACCES || e == Errno.EPERM || e == Errno.ETXTBSY)) {
            fd = brick.reopen(pathFd, O_RDONLY);
            if (fd >= 0) return new FdCache.Handle(fd, false);
            e = LibC.errno();
        }
        throw Brick.error(e, op, p);
    }

    /** An O_RDONLY | O_DIRECTORY fd of the directory p names (a symlink is not followed): close it. */
    private int openDirectory(BrickPath p, String op) throws FsError {
        int dir = brick.parentOf(p, op);
        try {
            int fd = C.openat(dir, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
            if (fd < 0) throw brick.error(op, p);
            return fd;
        } finally {
            brick.release(dir);
        }
    }

    /** The group a new entry in dir takes when dir is set-group-ID, else -1. */
    private long setgidParentGid(int dir, BrickPath p, String op) throws FsError {
        Scratch s = Scratch.get();
        if (!brick.statFd(dir, s)) throw brick.error(op, p);
        if ((Brick.mode(s.small, Scratch.STATX) & S_ISGID) == 0) return -1;
        return Brick.gid(s.small, Scratch.STATX) & 0xffffffffL;
    }

    /** Removes an entry just created whose owner or mode could not be set; the error to throw. */
    private FsError undo(int dir, BrickPath p, int unlinkFlags, String op) {
        FsError e = brick.error(op, p);
        C.unlinkat(dir, p.name, unlinkFlags);
        return e;
    }

    private static byte[] xattrName(String name, BrickPath p, String op) throws FsError {
        if (name.indexOf(0) >= 0) throw Brick.error(Errno.EINVAL, op + " (NUL in name)", p);
        return Brick.cString(name);
    }

    private static void timespec(ByteBuffer b, int at, long ns) {
        if (ns == -1 || ns == -2) {
            b.putLong(at, 0);
            b.putLong(at + 8, ns == -1 ? LibC.UTIME_NOW : LibC.UTIME_OMIT);
        } else {
            b.putLong(at, Math.floorDiv(ns, NANOS));
            b.putLong(at + 8, Math.floorMod(ns, NANOS));
        }
    }

    /** pread until len bytes or the end of the file: the count, or minus the errno if nothing was read. */
    private static long preadAll(int fd, long address, long len, long offset) {
        long done = 0;
        while (done < len) {
            long n = C.pread(fd, address + done, len - done, offset + done);
            if (n == 0) break;
            if (n < 0) {
                int e = LibC.errno();
                if (e == Errno.EINTR) continue;
                return done > 0 ? done : -e;
            }
            done += n;
        }
        return done;
    }

    /** Writes of at least this many bytes start their own writeback at once. */
    static final long EARLY_WRITEBACK = 256 << 10;
    private static final int SYNC_FILE_RANGE_WRITE = 2;

    /**
     * Starts writing a large write's pages to the disk now, without waiting for it
     * (sync_file_range SYNC_FILE_RANGE_WRITE): a stream of large writes then reaches the disk while
     * it arrives, instead of all at the fsync or close that follows it (or when the kernel's dirty
     * limits force it). Small writes are left to the kernel's own writeback, which merges them.
     */
    private static void startWriteback(FdCache.Handle h, long offset, long len) {
        h.unsynced += len;
        if (len >= EARLY_WRITEBACK) C.sync_file_range(h.fd, offset, len, SYNC_FILE_RANGE_WRITE);
    }

    /** pwrite all len bytes: the count (fewer if an error came part way), or minus the errno if none. */
    private static long pwriteAll(int fd, long address, long len, long offset) {
        long done = 0;
        while (done < len) {
            long n = C.pwrite(fd, address + done, len - done, offset + done);
            if (n <= 0) {
                int e = n == 0 ? Errno.EIO : LibC.errno();
                if (n < 0 && e == Errno.EINTR) continue;
                return done > 0 ? done : -e;
            }
            done += n;
        }
        return done;
    }

    private static boolean isDotOrDotDot(ByteBuffer b, int at, int len) {
        return b.get(at) == '.' && (len == 1 || len == 2 && b.get(at + 1) == '.');
    }

    private static boolean isReserved(ByteBuffer b, int at, int len) {
        if (len != BrickPath.RESERVED.length()) return false;
        for (int i = 0; i < len; i++) if (b.get(at + i) != BrickPath.RESERVED.charAt(i)) return false;
        return true;
    }
}
