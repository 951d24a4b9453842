package io.braid.fuse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.ByteString;

import io.braid.fuse.FuseLowLevel.Lib;
import io.braid.proto.file.FileReply;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.Flock;
import ru.serce.jnrfuse.struct.FuseContext;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.utils.MountUtils;

/**
 * Serves a {@link BraidFs} through libfuse's low-level API. Each request names a kernel node id;
 * the {@link InodeTable} turns it into the volume path BraidFs works on, which is what libfuse's
 * high-level layer does too, with two differences that POSIX needs: the names of a hard link share
 * one node, and a node renamed over keeps its path instead of failing with ENOENT. A change that
 * makes a name (create, mkdir, link...) answers with the name's attributes, which BraidFs already
 * holds from the change's reply, so it costs no extra call.
 */
final class LowLevelFs {
    private static final Logger LOG = LoggerFactory.getLogger(LowLevelFs.class);
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    /** The longest symlink target readlink answers (PATH_MAX and its NUL). */
    private static final int PATH_MAX = 4096;
    /** The inode number of "." and ".." in a listing (libfuse's FUSE_UNKNOWN_INO; 0 would hide them). */
    private static final long UNKNOWN_INO = 0xffffffffL;
    /** fuse_file_info's bit fields, and the flush bit in them. */
    private static final int FI_BITS_OFFSET = 20;
    private static final int FI_FLUSH = 1 << 2;

    private final BraidFs fs;
    private final double attrTimeout;
    private final double entryTimeout;
    private final Lib lib = FuseLowLevel.lib();
    private final Runtime runtime = Runtime.getSystemRuntime();
    private final int statSize = Struct.size(new FileStat(Runtime.getSystemRuntime()));
    private final InodeTable nodes = new InodeTable();
    /** Open directories: the listing read at offset 0, served in pieces by offset. */
    private final Map<Long, Dir> dirs = new ConcurrentHashMap<>();
    private final AtomicLong dirHandles = new AtomicLong();
    /**
     * A handle open on each node, by node id: a getattr without one (fstat(2) sends none) of a file
     * unlinked or renamed over while open asks about the name its handles use now.
     */
    private final Map<Long, Long> opened = new ConcurrentHashMap<>();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final AtomicBoolean mounted = new AtomicBoolean();
    /**
     * Answers given later, from the thread a server's reply came on (reads, unlinks): counted
     * while they are owed, and given under the read lock, so that the session (whose channel an
     * answer writes to) is destroyed only once none is running and none can start after.
     */
    private final AtomicInteger owed = new AtomicInteger();
    private final ReentrantReadWriteLock session = new ReentrantReadWriteLock();
    private boolean sessionGone; // guarded by session
    /** Kept reachable while mounted: libfuse holds pointers to its callbacks. */
    private FuseLowLevel.Ops ops;
    private volatile Path mountPoint;

    private record Entry(byte[] name, long ino, int mode) {
    }

    private static final class Dir {
        final long node;
        volatile List<Entry> entries;

        Dir(long node) {
            this.node = node;
        }
    }

    /** Per libfuse thread: a stat inside an entry reply, the caller's context, and an I/O buffer. */
    private final class Scratch {
        final Pointer entry = Memory.allocateDirect(runtime, 16 + statSize + 16, true);
        final Pointer statMem = entry.slice(16, statSize);
        final FileStat stat = FileStat.of(statMem);
        final FuseContext context = FuseContext.of(Memory.allocateDirect(runtime, 64, true));
        final Pointer io = Memory.allocateDirect(runtime, BraidFs.MAX_IO, true);
        final Pointer flockMem = Memory.allocateDirect(runtime, 64, true);
    }

    LowLevelFs(BraidFs fs, double attrTimeout, double entryTimeout) {
        this.fs = fs;
        this.attrTimeout = attrTimeout;
        this.entryTimeout = entryTimeout;
        fs.useContext(() -> scratch.get().context);
    }

    /**
     * Mounts at dir with the given libfuse options and serves requests until the file system is
     * unmounted.
     *
     * @throws MountException if libfuse cannot mount or refuses an option
     */
    void mount(Path dir, List<String> fuseOptions) {
        List<Pointer> keep = new ArrayList<>();
        List<String> args0 = new ArrayList<>(List.of("braid"));
        args0.addAll(fuseOptions);
        String[] argv = args0.toArray(new String[0]);
        Pointer argvMem = Memory.allocateDirect(runtime, (argv.length + 1) * 8L, true);
        for (int i = 0; i < argv.length; i++) {
            Pointer s = cString(argv[i].getBytes(StandardCharsets.UTF_8));
            keep.add(s);
            argvMem.putPointer(i * 8L, s);
        }
        Pointer args = Memory.allocateDirect(runtime, 24, true); // struct fuse_args {argc, argv, allocated}
        args.putInt(0, argv.length);
        args.putPointer(8, argvMem);
        args.putInt(16, 0);
        ops = callbacks();
        String where = dir.toString();
        Pointer ch = lib.fuse_mount(where, args);
        if (ch == null) {
            throw MountException.failure("cannot mount " + dir + ": libfuse refused (see the mount log)");
        }
        Pointer se = lib.fuse_lowlevel_new(args, ops, Struct.size(ops), null);
        if (se == null) {
            lib.fuse_unmount(where, ch);
            throw MountException.failure("cannot mount " + dir + ": libfuse refused the options " + fuseOptions);
        }
        mountPoint = dir;
        mounted.set(true);
        try {
            lib.fuse_session_add_chan(se, ch);
            new Workers(se, ch).serve();
            endLateAnswers();
            lib.fuse_session_remove_chan(ch);
            lib.fuse_session_destroy(se);
        } finally {
            mounted.set(false);
            lib.fuse_unmount(where, ch);
            keep.clear();
        }
    }

    /**
     * The threads that read requests from the kernel and process them. They are Java threads
     * (libfuse's own loop would call into the JVM from threads it starts, which jffi attaches
     * anew for every callback: a new Thread object and thread-local state per request). Like
     * libfuse's multi-threaded loop, a new one starts when none is idle, so that requests that
     * wait (a lock, a failover) never hold up the others, and one with too many idle ends.
     */
    private final class Workers {
        private static final int MAX = 64;
        private static final int MAX_IDLE = 8;
        private final Pointer se;
        private final Pointer ch;
        private final long bufsize;
        private int running;
        private int idle;
        private int made;

        Workers(Pointer se, Pointer ch) {
            this.se = se;
            this.ch = ch;
            this.bufsize = lib.fuse_chan_bufsize(ch);
        }

        /** Serves until the file system is unmounted and every worker has ended. */
        void serve() {
            synchronized (this) {
                running = 1;
                idle = 1;
            }
            work();
            synchronized (this) {
                while (running > 0) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }

        private void start() {
            Thread t = new Thread(this::work, "fuse-" + (++made));
            t.setDaemon(true);
            t.start();
        }

        private void work() {
            Pointer buf = Memory.allocateDirect(runtime, bufsize, false);
            Pointer chp = Memory.allocateDirect(runtime, 8, true);
            try {
                while (true) {
                    chp.putPointer(0, ch);
                    int res = lib.fuse_chan_recv(chp, buf, bufsize);
                    if (res == -Errno.EINTR) {
                        continue;
                    }
                    if (res <= 0) {
                        synchronized (this) {
                            idle--;
                        }
                        break; // unmounted (0), or the device failed
                    }
                    synchronized (this) {
                        if (--idle == 0 && running < MAX) {
                            running++;
                            idle++;
                            start();
                        }
                    }
                    lib.fuse_session_process(se, buf, res, chp.getPointer(0));
                    synchronized (this) {
                        if (idle >= MAX_IDLE) {
                            break; // enough others wait for the next request
                        }
                        idle++;
                    }
                }
            } catch (RuntimeException | Error e) {
                LOG.error("FUSE worker failed: {}", e.toString(), e);
            } finally {
                synchronized (this) {
                    running--;
                    notifyAll();
                }
            }
        }
    }

    /** Unmounts (lazily, as fusermount -u -z does); the session then ends. */
    void umount() {
        Path dir = mountPoint;
        if (mounted.get() && dir != null) {
            MountUtils.umount(dir);
        }
    }

    private Pointer cString(byte[] b) {
        Pointer p = Memory.allocateDirect(runtime, b.length + 1, true);
        p.put(0, b, 0, b.length);
        p.putByte(b.length, (byte) 0);
        return p;
    }

    // ---- requests ----

    private FuseLowLevel.Ops callbacks() {
        FuseLowLevel.Ops o = new FuseLowLevel.Ops(runtime);
        o.destroy.set(userdata -> {
            try {
                fs.destroy(null); // the writes still behind go out
            } catch (RuntimeException | Error e) {
                LOG.error("FUSE destroy failed: {}", e.toString(), e);
            }
        });
        o.lookup.set((req, parent, name) -> serve(req, () -> {
            String dir = nodes.path(parent);
            if (dir == null) {
                return -Errno.ESTALE;
            }
            String path = InodeTable.child(dir, name);
            Scratch s = context(req);
            clear(s);
            // a name a listing just gave exists: no need to ask whether an exclusive create is under way
            if (fs.lookupFromListing(path, s.stat, nodes.holds(path))) {
                return replyEntry(req, path, s);
            }
            if (fs.absentForExclusiveCreate(path, mountPoint, s.context.uid.get(), s.context.pid.get())) {
                return -Errno.ENOENT;
            }
            return entry(req, path, s);
        }));
        o.forget.set((req, ino, nlookup) -> {
            try {
                nodes.forget(ino, nlookup);
            } finally {
                lib.fuse_reply_none(req);
            }
        });
        o.getattr.set((req, ino, fi) -> serve(req, () -> {
            Scratch s = context(req);
            String path = nodes.path(ino);
            if (path == null) {
                return -Errno.ESTALE;
            }
            Long handle = fi != null ? Long.valueOf(FuseFileInfo.of(fi).fh.get()) : opened.get(ino);
            String open = handle == null ? null : fs.handlePath(handle);
            // through the open file: another client may have renamed it
            return open != null ? replyAttr(req, s, open, handle) : replyAttr(req, s, path, 0);
        }));
        o.setattr.set((req, ino, attr, toSet, fi) -> serve(req, () -> setattr(req, ino, attr, toSet, fi)));
        o.readlink.set((req, ino) -> serve(req, () -> {
            Scratch s = context(req);
            String path = nodes.path(ino);
            if (path == null) {
                return -Errno.ESTALE;
            }
            int r = fs.readlink(path, s.io, PATH_MAX + 1);
            if (r != 0) {
                return r;
            }
            int n = 0;
            while (n < PATH_MAX && s.io.getByte(n) != 0) {
                n++;
            }
            byte[] target = new byte[n + 1];
            s.io.get(0, target, 0, n);
            lib.fuse_reply_readlink(req, target);
            return 0;
        }));
        o.mknod.set((req, parent, name, mode, rdev) -> serve(req, () -> made(req, parent, name,
                path -> fs.mknod(path, Integer.toUnsignedLong(mode), rdev))));
        o.mkdir.set((req, parent, name, mode) -> serve(req, () -> made(req, parent, name,
                path -> fs.mkdir(path, Integer.toUnsignedLong(mode)))));
        o.symlink.set((req, link, parent, name) -> serve(req, () -> made(req, parent, name,
                path -> fs.symlink(link, path))));
        o.unlink.set((req, parent, name) -> serve(req, () -> {
            String dir = nodes.path(parent);
            if (dir == null) {
                return -Errno.ESTALE;
            }
            String path = InodeTable.child(dir, name);
            java.util.concurrent.CompletableFuture<Integer> asked = fs.unlinkAsync(path);
            if (asked == null) {
                return removed(req, parent, name, fs::unlink);
            }
            owe();
            asked.whenComplete((r, failed) -> late(() -> {
                int res = failed != null ? -Errno.EIO : r;
                try {
                    if (res == 0) {
                        nodes.removed(path);
                    }
                } catch (RuntimeException | Error e) {
                    LOG.error("FUSE unlink {}: {}", path, e.toString(), e);
                } finally {
                    lib.fuse_reply_err(req, -res); // always answered, or the caller would hang
                }
            }));
            return 0; // answered when the reply comes
        }));
        o.rmdir.set((req, parent, name) -> serve(req, () -> removed(req, parent, name, fs::rmdir)));
        o.rename.set((req, parent, name, newparent, newname) -> serve(req, () -> {
            context(req);
            String from = nodes.path(parent);
            String to = nodes.path(newparent);
            if (from == null || to == null) {
                return -Errno.ESTALE;
            }
            from = InodeTable.child(from, name);
            to = InodeTable.child(to, newname);
            int r = fs.rename(from, to);
            if (r == 0) {
                nodes.renamed(from, to);
            }
            return reply(req, r);
        }));
        o.link.set((req, ino, newparent, newname) -> serve(req, () -> {
            Scratch s = context(req);
            String from = nodes.path(ino);
            String dir = nodes.path(newparent);
            if (from == null || dir == null) {
                return -Errno.ESTALE;
            }
            String to = InodeTable.child(dir, newname);
            int r = fs.link(from, to);
            if (r != 0) {
                return r;
            }
            r = stat(s, to);
            if (r != 0) {
                return r;
            }
            long id = nodes.linked(ino, to);
            if (id < 0) {
                return -Errno.ESTALE;
            }
            if (lib.fuse_reply_entry(req, entryParam(s, id)) != 0) {
                nodes.forget(id, 1);
            }
            return 0;
        }));
        o.open.set((req, ino, fi) -> serve(req, () -> {
            context(req);
            String path = nodes.path(ino);
            if (path == null) {
                return -Errno.ESTALE;
            }
            FuseFileInfo info = FuseFileInfo.of(fi);
            int r = fs.open(path, info);
            if (r != 0) {
                return r;
            }
            if (lib.fuse_reply_open(req, fi) != 0) {
                fs.release(null, info); // the open was interrupted: nobody will close it
            } else {
                opened.put(ino, info.fh.get());
            }
            return 0;
        }));
        o.read.set((req, ino, size, off, fi) -> serve(req, () -> {
            Scratch s = context(req);
            CompletableFuture<FileReply> asked = fs.readAsync(size, off, FuseFileInfo.of(fi));
            if (asked != null) {
                owe();
                asked.whenComplete((reply, failed) -> late(() -> answerRead(req, size, reply, failed)));
                return 0; // answered when the reply comes
            }
            Pointer buf = size <= BraidFs.MAX_IO ? s.io : Memory.allocateDirect(runtime, size);
            int n = fs.read(null, buf, size, off, FuseFileInfo.of(fi));
            if (n < 0) {
                return n;
            }
            lib.fuse_reply_buf(req, buf, n);
            return 0;
        }));
        o.write.set((req, ino, buf, size, off, fi) -> serve(req, () -> {
            context(req);
            int n = fs.write(null, buf, size, off, FuseFileInfo.of(fi));
            if (n < 0) {
                return n;
            }
            lib.fuse_reply_write(req, n);
            return 0;
        }));
        o.flush.set((req, ino, fi) -> serve(req, () -> {
            Scratch s = context(req);
            FuseFileInfo info = FuseFileInfo.of(fi);
            if (fs.mayHoldLocks(info)) {
                return reply(req, flush(s, info)); // its locks go after its writes: one step after the other here
            }
            return replyLater(req, () -> fs.flushAsync(null, info));
        }));
        o.release.set((req, ino, fi) -> serve(req, () -> {
            Scratch s = context(req);
            FuseFileInfo info = FuseFileInfo.of(fi);
            int r = 0;
            if ((fi.getInt(FI_BITS_OFFSET) & FI_FLUSH) != 0) {
                r = flush(s, info);
            }
            opened.remove(ino, info.fh.get());
            int rr = fs.release(null, info);
            return reply(req, r != 0 ? r : rr);
        }));
        o.fsync.set((req, ino, datasync, fi) -> serve(req, () -> {
            context(req);
            return replyLater(req, () -> fs.fsyncAsync(null, datasync, FuseFileInfo.of(fi)));
        }));
        o.opendir.set((req, ino, fi) -> serve(req, () -> {
            if (nodes.path(ino) == null) {
                return -Errno.ESTALE;
            }
            long dh = dirHandles.incrementAndGet();
            dirs.put(dh, new Dir(ino));
            FuseFileInfo.of(fi).fh.set(dh);
            if (lib.fuse_reply_open(req, fi) != 0) {
                dirs.remove(dh);
            }
            return 0;
        }));
        o.readdir.set((req, ino, size, off, fi) -> serve(req, () -> readdir(req, size, off, FuseFileInfo.of(fi))));
        o.releasedir.set((req, ino, fi) -> serve(req, () -> {
            dirs.remove(FuseFileInfo.of(fi).fh.get());
            return reply(req, 0);
        }));
        o.fsyncdir.set((req, ino, datasync, fi) -> serve(req, () -> reply(req, 0)));
        o.statfs.set((req, ino) -> serve(req, () -> {
            Scratch s = context(req);
            s.io.setMemory(0, 256, (byte) 0);
            int r = fs.statfs("/", Statvfs.of(s.io));
            if (r != 0) {
                return r;
            }
            lib.fuse_reply_statfs(req, s.io);
            return 0;
        }));
        o.setxattr.set((req, ino, name, value, size, flags) -> serve(req, () -> {
            context(req);
            String path = nodes.path(ino);
            return path == null ? -Errno.ESTALE : reply(req, fs.setxattr(path, name, value, size, flags));
        }));
        o.getxattr.set((req, ino, name, size) -> serve(req, () -> {
            Scratch s = context(req);
            String path = nodes.path(ino);
            if (path == null) {
                return -Errno.ESTALE;
            }
            Pointer buf = size == 0 ? null : size <= BraidFs.MAX_IO ? s.io : Memory.allocateDirect(runtime, size);
            return sized(req, buf, fs.getxattr(path, name, buf, size));
        }));
        o.listxattr.set((req, ino, size) -> serve(req, () -> {
            Scratch s = context(req);
            String path = nodes.path(ino);
            if (path == null) {
                return -Errno.ESTALE;
            }
            Pointer buf = size == 0 ? null : size <= BraidFs.MAX_IO ? s.io : Memory.allocateDirect(runtime, size);
            return sized(req, buf, fs.listxattr(path, buf, size));
        }));
        o.removexattr.set((req, ino, name) -> serve(req, () -> {
            context(req);
            String path = nodes.path(ino);
            return path == null ? -Errno.ESTALE : reply(req, fs.removexattr(path, name));
        }));
        o.create.set((req, parent, name, mode, fi) -> serve(req, () -> {
            Scratch s = context(req);
            String dir = nodes.path(parent);
            if (dir == null) {
                return -Errno.ESTALE;
            }
            String path = InodeTable.child(dir, name);
            FuseFileInfo info = FuseFileInfo.of(fi);
            int r = fs.create(path, Integer.toUnsignedLong(mode), info);
            if (r != 0) {
                return r;
            }
            r = stat(s, path);
            if (r != 0) {
                fs.release(null, info);
                return r;
            }
            long id = looked(path, s);
            if (lib.fuse_reply_create(req, entryParam(s, id), fi) != 0) {
                fs.release(null, info);
                nodes.forget(id, 1);
            } else {
                opened.put(id, info.fh.get());
            }
            return 0;
        }));
        o.getlk.set((req, ino, fi, lock) -> serve(req, () -> {
            context(req);
            int r = fs.lock(null, FuseFileInfo.of(fi), FuseLocks.F_GETLK, Flock.of(lock));
            if (r != 0) {
                return r;
            }
            lib.fuse_reply_lock(req, lock);
            return 0;
        }));
        o.setlk.set((req, ino, fi, lock, sleep) -> serve(req, () -> {
            context(req);
            int cmd = sleep != 0 ? FuseLocks.F_SETLKW : FuseLocks.F_SETLK;
            return reply(req, fs.lock(null, FuseFileInfo.of(fi), cmd, Flock.of(lock)));
        }));
        o.flock.set((req, ino, fi, op) -> serve(req, () -> {
            context(req);
            return reply(req, fs.flock(null, FuseFileInfo.of(fi), op));
        }));
        o.fallocate.set((req, ino, mode, offset, length, fi) -> serve(req, () -> {
            context(req);
            return reply(req, fs.fallocate(null, mode, offset, length, FuseFileInfo.of(fi)));
        }));
        return o;
    }

    /** A request's work: returns 0 once it replied, or a negative errno to reply with. */
    private interface Work {
        int run();
    }

    /**
     * Answers a read the servers answered, on the transport's thread that got the reply (each
     * thread has its own buffer). The request stays valid until it is answered, whichever
     * thread does it.
     */
    private void answerRead(Pointer req, long size, FileReply reply, Throwable failed) {
        try {
            if (failed != null || reply.getErrno() != 0) {
                lib.fuse_reply_err(req, failed != null ? Errno.EIO : reply.getErrno());
                return;
            }
            ByteString data = reply.getData();
            int n = (int) Math.min(data.size(), size);
            Pointer buf = n <= BraidFs.MAX_IO ? scratch.get().io : Memory.allocateDirect(runtime, n);
            if (n > 0) {
                buf.put(0, data.substring(0, n).toByteArray(), 0, n);
            }
            lib.fuse_reply_buf(req, buf, n);
        } catch (RuntimeException | Error e) {
            LOG.error("FUSE read failed: {}", e.toString(), e);
            lib.fuse_reply_err(req, Errno.EIO);
        }
    }

    /**
     * Starts work whose result (0 or a negative errno) answers req later, from the thread that
     * completes it (the transport's, with the server's answer): the worker goes back to /dev/fuse.
     */
    private int replyLater(Pointer req, java.util.function.Supplier<CompletableFuture<Integer>> work) {
        owe(); // before the work goes out
        CompletableFuture<Integer> asked;
        try {
            asked = work.get();
        } catch (RuntimeException | Error e) {
            asked = CompletableFuture.failedFuture(e);
        }
        asked.whenComplete((r, failed) -> late(() -> lib.fuse_reply_err(req, failed != null ? Errno.EIO : -r)));
        return 0;
    }

    /** Will answer later through {@link #late}: call before the request's work goes out. */
    private void owe() {
        owed.incrementAndGet();
    }

    /** Gives an owed answer, unless the session is gone (unmounted meanwhile: nobody waits for it). */
    private void late(Runnable answer) {
        session.readLock().lock();
        try {
            if (!sessionGone) {
                answer.run();
            }
        } finally {
            session.readLock().unlock();
            owed.decrementAndGet();
        }
    }

    /**
     * Once the kernel ended the session: waits a little for the owed answers (a server's reply
     * already on its way), then lets none start, so none touches the session once destroyed.
     */
    private void endLateAnswers() {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
        while (owed.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        session.writeLock().lock();
        try {
            sessionGone = true;
        } finally {
            session.writeLock().unlock();
        }
        if (owed.get() > 0) {
            LOG.info("unmounted with {} answer(s) to the kernel still owed: dropped", owed.get());
        }
    }

    /** Runs work and replies its error, if any; an exception is logged and answered EIO. */
    private void serve(Pointer req, Work work) {
        int r;
        try {
            r = work.run();
        } catch (RuntimeException | Error e) {
            LOG.error("FUSE request failed: {}", e.toString(), e);
            r = -Errno.EIO;
        }
        if (r != 0) {
            lib.fuse_reply_err(req, -r);
        }
    }

    /** Replies res (0 or a negative errno) as an error reply; returns 0, as the request is answered. */
    private int reply(Pointer req, int res) {
        lib.fuse_reply_err(req, -res);
        return 0;
    }

    /** The caller's uid, gid and pid for BraidFs, from the request; this thread's scratch. */
    private Scratch context(Pointer req) {
        Scratch s = scratch.get();
        Pointer ctx = lib.fuse_req_ctx(req);
        if (ctx != null) {
            s.context.uid.set(Integer.toUnsignedLong(ctx.getInt(FuseLowLevel.CTX_UID)));
            s.context.gid.set(Integer.toUnsignedLong(ctx.getInt(FuseLowLevel.CTX_GID)));
            s.context.pid.set(ctx.getInt(FuseLowLevel.CTX_PID));
            s.context.umask.set(ctx.getInt(FuseLowLevel.CTX_UMASK));
        }
        return s;
    }

    private void clear(Scratch s) {
        s.entry.setMemory(16, statSize, (byte) 0);
    }

    /** path's attributes into s's stat (cleared first); 0 or a negative errno. */
    private int stat(Scratch s, String path) {
        return stat(s, path, 0);
    }

    /** path's attributes, of the open file fh when not 0. */
    private int stat(Scratch s, String path, long fh) {
        clear(s);
        return fs.getattr(path, s.stat, fh);
    }

    /** Answers with path's attributes (of the open file fh when not 0), valid for attr-timeout. */
    private int replyAttr(Pointer req, Scratch s, String path, long fh) {
        int r = stat(s, path, fh);
        if (r != 0) {
            return r;
        }
        lib.fuse_reply_attr(req, s.statMem, attrTimeout);
        return 0;
    }

    /** Looks path up and answers the lookup with its entry. */
    private int entry(Pointer req, String path, Scratch given) {
        Scratch s = given != null ? given : context(req);
        int r = stat(s, path);
        if (r != 0) {
            return r;
        }
        return replyEntry(req, path, s);
    }

    /** Answers a lookup of path with the attributes in s's stat. */
    private int replyEntry(Pointer req, String path, Scratch s) {
        long id = looked(path, s);
        if (lib.fuse_reply_entry(req, entryParam(s, id)) != 0) {
            nodes.forget(id, 1); // interrupted: the kernel will not forget what it never got
        }
        return 0;
    }

    private long looked(String path, Scratch s) {
        long ino = s.stat.st_ino.longValue();
        boolean dir = ((int) s.stat.st_mode.longValue() & S_IFMT) == S_IFDIR;
        long nlink = s.stat.st_nlink.longValue();
        String other = nodes.linkedTo(path, ino, dir, nlink);
        boolean same = true;
        if (other != null) {
            // another name with this inode number: one file only if a server says so now
            VolumeOps ops = fs.ops();
            FileReply r = ops.getattr(other);
            same = r.getErrno() == 0 && ops.ino(r.getAttr(), ops.setOf(other)) == ino;
        }
        return nodes.looked(path, ino, dir, nlink, same);
    }

    /** struct fuse_entry_param {ino, generation, attr, attr_timeout, entry_timeout} around s's stat. */
    private Pointer entryParam(Scratch s, long id) {
        s.entry.putLong(0, id);
        s.entry.putLong(8, 0);
        s.entry.putDouble(16 + statSize, attrTimeout);
        s.entry.putDouble(24 + statSize, entryTimeout);
        return s.entry;
    }

    /** A change that makes a name in parent; answered with the new name's entry. */
    private int made(Pointer req, long parent, String name, java.util.function.ToIntFunction<String> change) {
        Scratch s = context(req);
        String dir = nodes.path(parent);
        if (dir == null) {
            return -Errno.ESTALE;
        }
        String path = InodeTable.child(dir, name);
        int r = change.applyAsInt(path);
        return r != 0 ? r : entry(req, path, s);
    }

    private int removed(Pointer req, long parent, String name, java.util.function.ToIntFunction<String> change) {
        context(req);
        String dir = nodes.path(parent);
        if (dir == null) {
            return -Errno.ESTALE;
        }
        String path = InodeTable.child(dir, name);
        int r = change.applyAsInt(path);
        if (r == 0) {
            nodes.removed(path);
        }
        return reply(req, r);
    }

    private int setattr(Pointer req, long ino, Pointer attr, int toSet, Pointer fi) {
        Scratch s = context(req);
        FuseFileInfo info = fi == null ? null : FuseFileInfo.of(fi);
        String path = info != null ? fs.handlePath(info.fh.get()) : null;
        if (path == null) {
            path = nodes.path(ino);
        }
        if (path == null) {
            return -Errno.ESTALE;
        }
        FileStat a = FileStat.of(attr);
        int r = 0;
        if ((toSet & FuseLowLevel.SET_MODE) != 0) {
            r = fs.chmod(path, a.st_mode.longValue());
        }
        if (r == 0 && (toSet & (FuseLowLevel.SET_UID | FuseLowLevel.SET_GID)) != 0) {
            long uid = (toSet & FuseLowLevel.SET_UID) != 0 ? a.st_uid.longValue() : -1;
            long gid = (toSet & FuseLowLevel.SET_GID) != 0 ? a.st_gid.longValue() : -1;
            r = fs.chown(path, uid, gid);
        }
        if (r == 0 && (toSet & FuseLowLevel.SET_SIZE) != 0) {
            r = info != null ? fs.ftruncate(null, a.st_size.longValue(), info) : fs.truncate(path, a.st_size.longValue());
        }
        if (r == 0 && (toSet & (FuseLowLevel.SET_ATIME | FuseLowLevel.SET_MTIME)) != 0) {
            long at = (toSet & FuseLowLevel.SET_ATIME) == 0 ? -2
                    : (toSet & FuseLowLevel.SET_ATIME_NOW) != 0 ? -1 : BraidFs.nanos(a.st_atim);
            long mt = (toSet & FuseLowLevel.SET_MTIME) == 0 ? -2
                    : (toSet & FuseLowLevel.SET_MTIME_NOW) != 0 ? -1 : BraidFs.nanos(a.st_mtim);
            r = fs.utimens(path, at, mt);
        }
        if (r != 0) {
            return r;
        }
        return replyAttr(req, s, path, 0);
    }

    /**
     * FLUSH (a close): the handle's writes, then its owner's POSIX locks go, as close(2) releases
     * them (libfuse's high-level layer does the same).
     */
    private int flush(Scratch s, FuseFileInfo info) {
        int r = fs.flush(null, info);
        s.flockMem.setMemory(0, 64, (byte) 0);
        Flock unlock = Flock.of(s.flockMem);
        unlock.l_type.set(Flock.F_UNLCK);
        unlock.l_whence.set(0);
        fs.lock(null, info, FuseLocks.F_SETLK, unlock);
        return r;
    }

    /** Replies to a getxattr or listxattr: the size asked for (buf null), or the bytes. */
    private int sized(Pointer req, Pointer buf, int r) {
        if (r < 0) {
            return r;
        }
        if (buf == null) {
            lib.fuse_reply_xattr(req, r);
        } else {
            lib.fuse_reply_buf(req, buf, r);
        }
        return 0;
    }

    private int readdir(Pointer req, long size, long off, FuseFileInfo info) {
        Scratch s = context(req);
        Dir d = dirs.get(info.fh.get());
        if (d == null) {
            return -Errno.EBADF;
        }
        List<Entry> entries = d.entries;
        if (off == 0 || entries == null) {
            String path = nodes.path(d.node);
            if (path == null) {
                return -Errno.ESTALE;
            }
            List<Entry> read = new ArrayList<>();
            int r = fs.readdir(path, null, (buf, name, stbuf, o) -> {
                byte[] b = new byte[name.remaining() - 1];
                name.get(b);
                FileStat st = stbuf == null ? null : FileStat.of(stbuf);
                read.add(new Entry(b, st == null ? UNKNOWN_INO : st.st_ino.longValue(),
                        st == null ? S_IFDIR : (int) st.st_mode.longValue()));
                return 0;
            }, 0, info);
            if (r != 0) {
                return r;
            }
            d.entries = entries = read;
        }
        Pointer buf = size <= BraidFs.MAX_IO ? s.io : Memory.allocateDirect(runtime, size);
        long pos = 0;
        for (int i = (int) off; i < entries.size(); i++) {
            Entry e = entries.get(i);
            clear(s);
            s.stat.st_ino.set(e.ino());
            s.stat.st_mode.set(e.mode());
            byte[] name = new byte[e.name().length + 1];
            System.arraycopy(e.name(), 0, name, 0, e.name().length);
            long need = lib.fuse_add_direntry(req, buf.slice(pos), size - pos, name, s.statMem, i + 1);
            if (need > size - pos) {
                break;
            }
            pos += need;
        }
        lib.fuse_reply_buf(req, buf, pos);
        return 0;
    }
}
