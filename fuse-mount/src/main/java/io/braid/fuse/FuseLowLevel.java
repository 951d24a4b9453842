package io.braid.fuse;

import jnr.ffi.BaseStruct;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.In;
import jnr.ffi.types.size_t;

/**
 * libfuse 2's low-level API (fuse_lowlevel.h, libfuse 2.9) through jnr-ffi: requests come with
 * the kernel's node ids instead of paths, so that every name of a hard link is one kernel inode
 * and a name renamed over stays usable by whoever looked it up. jnr-fuse binds only the
 * high-level API; its structs (stat, fuse_file_info, flock, statvfs) are the same here.
 */
final class FuseLowLevel {
    private FuseLowLevel() {
    }

    /** The library functions used. */
    public interface Lib {
        Pointer fuse_mount(String mountpoint, Pointer args);

        void fuse_unmount(String mountpoint, Pointer ch);

        Pointer fuse_lowlevel_new(Pointer args, Ops ops, @size_t long opsSize, Pointer userdata);

        void fuse_session_add_chan(Pointer se, Pointer ch);

        void fuse_session_remove_chan(Pointer ch);

        int fuse_chan_recv(Pointer chp, Pointer buf, @size_t long size);

        @size_t
        long fuse_chan_bufsize(Pointer ch);

        void fuse_session_process(Pointer se, Pointer buf, @size_t long len, Pointer ch);

        void fuse_session_exit(Pointer se);

        void fuse_session_destroy(Pointer se);

        int fuse_reply_err(Pointer req, int err);

        void fuse_reply_none(Pointer req);

        int fuse_reply_entry(Pointer req, Pointer entry);

        int fuse_reply_create(Pointer req, Pointer entry, Pointer fi);

        int fuse_reply_attr(Pointer req, Pointer attr, double timeout);

        int fuse_reply_readlink(Pointer req, @In byte[] link);

        int fuse_reply_open(Pointer req, Pointer fi);

        int fuse_reply_write(Pointer req, @size_t long count);

        int fuse_reply_buf(Pointer req, Pointer buf, @size_t long size);

        int fuse_reply_statfs(Pointer req, Pointer statvfs);

        int fuse_reply_xattr(Pointer req, @size_t long count);

        int fuse_reply_lock(Pointer req, Pointer flock);

        @size_t
        long fuse_add_direntry(Pointer req, Pointer buf, @size_t long bufsize, @In byte[] name, Pointer stbuf, long off);

        Pointer fuse_req_ctx(Pointer req);
    }

    private static volatile Lib lib;

    static Lib lib() {
        Lib l = lib;
        if (l == null) {
            synchronized (FuseLowLevel.class) {
                if (lib == null) {
                    lib = LibraryLoader.create(Lib.class).failImmediately().search("/usr/lib/x86_64-linux-gnu")
                            .search("/usr/lib/aarch64-linux-gnu").search("/lib64").search("/usr/lib")
                            .library("libfuse.so.2").library("fuse").load();
                }
                l = lib;
            }
        }
        return l;
    }

    // ---- callbacks (void functions: each answers its request with one fuse_reply_*) ----

    public interface Init {
        @Delegate
        void call(Pointer userdata, Pointer conn);
    }

    public interface Destroy {
        @Delegate
        void call(Pointer userdata);
    }

    public interface Named {
        @Delegate
        void call(Pointer req, long parent, String name);
    }

    public interface Forget {
        @Delegate
        void call(Pointer req, long ino, long nlookup);
    }

    public interface WithFi {
        @Delegate
        void call(Pointer req, long ino, Pointer fi);
    }

    public interface SetAttr {
        @Delegate
        void call(Pointer req, long ino, Pointer attr, int toSet, Pointer fi);
    }

    public interface Ino {
        @Delegate
        void call(Pointer req, long ino);
    }

    public interface Mknod {
        @Delegate
        void call(Pointer req, long parent, String name, int mode, long rdev);
    }

    public interface Mkdir {
        @Delegate
        void call(Pointer req, long parent, String name, int mode);
    }

    public interface Symlink {
        @Delegate
        void call(Pointer req, String link, long parent, String name);
    }

    public interface Rename {
        @Delegate
        void call(Pointer req, long parent, String name, long newparent, String newname);
    }

    public interface Link {
        @Delegate
        void call(Pointer req, long ino, long newparent, String newname);
    }

    public interface Read {
        @Delegate
        void call(Pointer req, long ino, @size_t long size, long off, Pointer fi);
    }

    public interface Write {
        @Delegate
        void call(Pointer req, long ino, Pointer buf, @size_t long size, long off, Pointer fi);
    }

    public interface Fsync {
        @Delegate
        void call(Pointer req, long ino, int datasync, Pointer fi);
    }

    public interface SetXattr {
        @Delegate
        void call(Pointer req, long ino, String name, Pointer value, @size_t long size, int flags);
    }

    public interface GetXattr {
        @Delegate
        void call(Pointer req, long ino, String name, @size_t long size);
    }

    public interface ListXattr {
        @Delegate
        void call(Pointer req, long ino, @size_t long size);
    }

    public interface RemoveXattr {
        @Delegate
        void call(Pointer req, long ino, String name);
    }

    public interface Create {
        @Delegate
        void call(Pointer req, long parent, String name, int mode, Pointer fi);
    }

    public interface GetLk {
        @Delegate
        void call(Pointer req, long ino, Pointer fi, Pointer lock);
    }

    public interface SetLk {
        @Delegate
        void call(Pointer req, long ino, Pointer fi, Pointer lock, int sleep);
    }

    public interface Flock {
        @Delegate
        void call(Pointer req, long ino, Pointer fi, int op);
    }

    public interface Fallocate {
        @Delegate
        void call(Pointer req, long ino, int mode, long offset, long length, Pointer fi);
    }

    /** struct fuse_lowlevel_ops of libfuse 2.9, in its order; members left unset are NULL (ENOSYS). */
    public static final class Ops extends BaseStruct {
        public final Func<Init> init = func(Init.class);
        public final Func<Destroy> destroy = func(Destroy.class);
        public final Func<Named> lookup = func(Named.class);
        public final Func<Forget> forget = func(Forget.class);
        public final Func<WithFi> getattr = func(WithFi.class);
        public final Func<SetAttr> setattr = func(SetAttr.class);
        public final Func<Ino> readlink = func(Ino.class);
        public final Func<Mknod> mknod = func(Mknod.class);
        public final Func<Mkdir> mkdir = func(Mkdir.class);
        public final Func<Named> unlink = func(Named.class);
        public final Func<Named> rmdir = func(Named.class);
        public final Func<Symlink> symlink = func(Symlink.class);
        public final Func<Rename> rename = func(Rename.class);
        public final Func<Link> link = func(Link.class);
        public final Func<WithFi> open = func(WithFi.class);
        public final Func<Read> read = func(Read.class);
        public final Func<Write> write = func(Write.class);
        public final Func<WithFi> flush = func(WithFi.class);
        public final Func<WithFi> release = func(WithFi.class);
        public final Func<Fsync> fsync = func(Fsync.class);
        public final Func<WithFi> opendir = func(WithFi.class);
        public final Func<Read> readdir = func(Read.class);
        public final Func<WithFi> releasedir = func(WithFi.class);
        public final Func<Fsync> fsyncdir = func(Fsync.class);
        public final Func<Ino> statfs = func(Ino.class);
        public final Func<SetXattr> setxattr = func(SetXattr.class);
        public final Func<GetXattr> getxattr = func(GetXattr.class);
        public final Func<ListXattr> listxattr = func(ListXattr.class);
        public final Func<RemoveXattr> removexattr = func(RemoveXattr.class);
        public final Func<Ino> access = func(Ino.class);
        public final Func<Create> create = func(Create.class);
        public final Func<GetLk> getlk = func(GetLk.class);
        public final Func<SetLk> setlk = func(SetLk.class);
        public final Func<Ino> bmap = func(Ino.class);
        public final Func<Ino> ioctl = func(Ino.class);
        public final Func<Ino> poll = func(Ino.class);
        public final Func<Ino> writeBuf = func(Ino.class);
        public final Func<Ino> retrieveReply = func(Ino.class);
        public final Func<Ino> forgetMulti = func(Ino.class);
        public final Func<Flock> flock = func(Flock.class);
        public final Func<Fallocate> fallocate = func(Fallocate.class);

        Ops(Runtime runtime) {
            super(runtime);
        }
    }

    /** to_set bits of setattr. */
    static final int SET_MODE = 1;
    static final int SET_UID = 1 << 1;
    static final int SET_GID = 1 << 2;
    static final int SET_SIZE = 1 << 3;
    static final int SET_ATIME = 1 << 4;
    static final int SET_MTIME = 1 << 5;
    static final int SET_ATIME_NOW = 1 << 7;
    static final int SET_MTIME_NOW = 1 << 8;

    /** struct fuse_ctx: uid_t uid, gid_t gid, pid_t pid, mode_t umask. */
    static final int CTX_UID = 0;
    static final int CTX_GID = 4;
    static final int CTX_PID = 8;
    static final int CTX_UMASK = 12;
}
