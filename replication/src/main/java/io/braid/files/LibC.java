package io.braid.files;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;

/**
 * The libc calls a brick makes, bound with jnr-ffi. Paths are NUL-terminated UTF-8 byte arrays,
 * relative to a directory fd (the *at family); buffers are native addresses of direct ByteBuffers
 * (see {@link Scratch}), so nothing is converted or copied behind the caller's back. Constants are
 * the x86_64 Linux values. Internal to the brick's file store.
 */
public interface LibC {
    LibC INSTANCE = LibraryLoader.create(LibC.class).load("c");
    jnr.ffi.Runtime RUNTIME = jnr.ffi.Runtime.getRuntime(INSTANCE);

    int AT_FDCWD = -100;
    int AT_SYMLINK_NOFOLLOW = 0x100;
    int AT_REMOVEDIR = 0x200;
    int AT_NO_AUTOMOUNT = 0x800;
    int AT_EMPTY_PATH = 0x1000;

    int O_ACCMODE = 03;
    int O_RDONLY = 0;
    int O_WRONLY = 01;
    int O_RDWR = 02;
    int O_CREAT = 0100;
    int O_EXCL = 0200;
    int O_NOCTTY = 0400;
    int O_DIRECT = 040000;
    int O_DIRECTORY = 0200000;
    int O_NOFOLLOW = 0400000;
    int O_CLOEXEC = 02000000;
    int O_PATH = 010000000;

    long RESOLVE_NO_MAGICLINKS = 0x02;
    long RESOLVE_NO_SYMLINKS = 0x04;
    long RESOLVE_BENEATH = 0x08;
    long SYS_OPENAT2 = 437;
    /** sizeof(struct open_how): u64 flags, u64 mode, u64 resolve. */
    int OPEN_HOW_SIZE = 24;

    int S_IFMT = 0170000;
    int S_IFSOCK = 0140000;
    int S_IFLNK = 0120000;
    int S_IFREG = 0100000;
    int S_IFBLK = 0060000;
    int S_IFDIR = 0040000;
    int S_IFCHR = 0020000;
    int S_IFIFO = 0010000;
    int S_ISGID = 02000;
    int PERMISSIONS = 07777;

    /** type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks. */
    int STATX_BASIC_STATS = 0x7ff;
    /** sizeof(struct statx). */
    int STATX_SIZE = 256;
    /** sizeof(struct statvfs) on x86_64. */
    int STATVFS_SIZE = 112;

    long UTIME_NOW = (1L << 30) - 1;
    long UTIME_OMIT = (1L << 30) - 2;

    int RENAME_NOREPLACE = 1;
    int RENAME_EXCHANGE = 2;

    /** The errno of this thread's last call through this binding. */
    static int errno() {
        return RUNTIME.getLastError();
    }

    int openat(int dirfd, @In byte[] path, int flags, int mode);

    /** openat2(2), which glibc 2.36 does not wrap: syscall(SYS_OPENAT2, dirfd, path, how, size). */
    long syscall(long number, int dirfd, @In byte[] path, long how, long size);

    int close(int fd);

    int statx(int dirfd, @In byte[] path, int flags, int mask, long statxbuf);

    int mkdirat(int dirfd, @In byte[] path, int mode);

    int mknodat(int dirfd, @In byte[] path, int mode, long dev);

    int unlinkat(int dirfd, @In byte[] path, int flags);

    int renameat2(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int linkat(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int symlinkat(@In byte[] target, int newdirfd, @In byte[] linkpath);

    long readlinkat(int dirfd, @In byte[] path, long buf, long size);

    int fchmod(int fd, int mode);

    /** With AT_SYMLINK_NOFOLLOW glibc works through an O_PATH fd and answers ENOTSUP for a symlink. */
    int fchmodat(int dirfd, @In byte[] path, int mode, int flags);

    int fchown(int fd, int uid, int gid);

    int fchownat(int dirfd, @In byte[] path, int uid, int gid, int flags);

    int utimensat(int dirfd, @In byte[] path, long times, int flags);

    int futimens(int fd, long times);

    long pread(int fd, long buf, long count, long offset);

    long pwrite(int fd, long buf, long count, long offset);

    long pwritev(int fd, long iov, int iovcnt, long offset);

    int ftruncate(int fd, long length);

    int fallocate(int fd, int mode, long offset, long length);

    int fsync(int fd);

    int fdatasync(int fd);

    int sync_file_range(int fd, long offset, long nbytes, int flags);

    int syncfs(int fd);

    int fstatvfs(int fd, long statvfsbuf);

    long getdents64(int fd, long buf, long size);

    long lgetxattr(@In byte[] path, @In byte[] name, long value, long size);

    int lsetxattr(@In byte[] path, @In byte[] name, @In byte[] value, long size, int flags);

    long llistxattr(@In byte[] path, long list, long size);

    int lremovexattr(@In byte[] path, @In byte[] name);
}
