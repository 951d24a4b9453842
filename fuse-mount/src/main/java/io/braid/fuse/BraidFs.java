package io.braid.fuse;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import io.braid.proto.file.Attr;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.Setattr;
import io.braid.proto.file.StatfsReply;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.Flock;
import ru.serce.jnrfuse.struct.FuseContext;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The FUSE file system of one mounted volume, by path: turns each operation into {@link VolumeOps}
 * calls and their replies into FUSE structures (jnr-fuse's) and negative errnos. {@link LowLevelFs}
 * serves it through libfuse's low-level API and turns node ids into paths. Open files get a handle that carries their flags and the pending error of their
 * background writes. With {@code ro} every change answers EROFS.
 */
public final class BraidFs extends FuseStubFS {
    private static final Logger LOG = LoggerFactory.getLogger(BraidFs.class);
    /** The largest read and write the kernel sends (max_read, max_write), and the st_blksize shown. */
    public static final int MAX_IO = 128 * 1024;

    static final int O_ACCMODE = 03;
    static final int O_RDONLY = 0;
    static final int O_EXCL = 0200;
    static final int O_DSYNC = 010000;
    static final int O_SYNC = 04010000;
    static final int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0200000 : 040000;
    static final int FALLOC_FL_KEEP_SIZE = 1;
    static final long UTIME_NOW = (1L << 30) - 1;
    static final long UTIME_OMIT = (1L << 30) - 2;
    /** fuse_file_info: the bit-field word after flags, fh_old and writepage; direct_io is bit 0, flock_release bit 4. */
    private static final int FI_BITS_OFFSET = 20;
    private static final int FI_DIRECT_IO = 1;
    private static final int FI_FLOCK_RELEASE = 1 << 4;

    private final VolumeOps ops;
    private final VolumeClient client;
    private final boolean readOnly;
    private final boolean writeBehind;
    private final AtomicLong handles = new AtomicLong();
    private final Map<Long, OpenFile> files = new ConcurrentHashMap<>();
    private final FuseLocks locks;
    private final KernelHints hints = new KernelHints();
    private final KernelAttrs kernelAttrs;
    /**
     * How long a listing's attributes of an entry may answer the entry's lookup: attr-timeout, at
     * most {@link #LISTED_SECONDS} (0: never). Another client's change is then seen as late as a
     * change of attributes the kernel holds.
     */
    private final long listedNanos;
    private static final double LISTED_SECONDS = 1.0;
    /** Counts the changes made through this mount, so that a listing made while one ran is not kept. */
    private final AtomicLong changes = new AtomicLong();
    /** Tells whether a getattr is the lookup of a read-only open(2) in progress. */
    private final OpenProbe openProbe = OpenProbe.forThisMachine();
    /** Content fetched by such a lookup, for the OPEN of that same open(2); see {@link #open}. */
    private final Map<String, Prefetched> prefetched = new ConcurrentHashMap<>();

    /** A small file's content, fetched by the lookup of thread tid's open(2) described by syscall. */
    private record Prefetched(long tid, String syscall, ByteString content, long at) {
    }

    /**
     * A lookup's content is for the OPEN that follows it within the same syscall, at once: this is
     * ample even on a loaded machine, and bounds how long the content of a lookup whose open
     * failed (no OPEN came) lingers before it is dropped unused.
     */
    private static final long PREFETCH_NANOS = 500_000_000L;
    private static final int PREFETCH_BOUND = 256;
    /** Where files unlinked while open here keep a name (see {@link #hiddenName}). */
    private static final String UNLINKED_PREFIX = "/" + Placement.UNLINKED_DIR + "/";

    /**
     * An open file: its flags, the pending error of its background writes, and the name it has on
     * the servers now (calls on an open file come with its handle and no path: see {@link #unlink}).
     */
    private static final class OpenFile {
        final int flags;
        final boolean syncWrites;
        final WriteBehind.ErrorSlot errors;
        volatile String path;
        volatile boolean hidden;
        /** The replica set whose primary keeps this file under the handle (see OpenFiles), or -1. */
        volatile int boundSet = -1;
        /** The whole file as a read-only open found it, for the reads that follow; null once it may have changed here. */
        volatile ByteString content;
        /**
         * A file this handle created: its attributes as this mount's changes left them (the create's
         * reply, then each change sent behind the writes), the end of its writes, and whether the
         * mtime is the server's (a write since sets it there, to a time only the server knows).
         * Guarded by the OpenFile; attr null for a file opened, not created.
         */
        Attr attr;
        long written;
        boolean mtimeKnown = true;

        /** The attributes the servers will hold once this file's requests are applied (now: the mtime's guess). */
        Attr.Builder expected(long now) {
            Attr.Builder a = attr.toBuilder().setSize(Math.max(attr.getSize(), written));
            if (!mtimeKnown) {
                a.setMtimeNs(now);
            }
            return a;
        }

        OpenFile(int flags, boolean syncWrites, WriteBehind.ErrorSlot errors, String path) {
            this.flags = flags;
            this.syncWrites = syncWrites;
            this.errors = errors;
            this.path = path;
        }
    }

    /** The handles open on each server name, for unlink and rename of open files. Guarded by itself. */
    private final Map<String, java.util.Set<Long>> openNames = new java.util.HashMap<>();
    private final AtomicLong hiddenNames = new AtomicLong();
    private volatile boolean unlinkedDirMade;

    /**
     * @param client      a connected client of the volume
     * @param readOnly    answer EROFS to every change
     * @param writeBehind send writes in the background (see {@link WriteBehind}); otherwise each write waits
     * @param attrTimeout  the seconds the kernel trusts the attributes it is given (the mount's attr_timeout)
     * @param entryTimeout the seconds the kernel trusts a name it looked up (the mount's entry_timeout)
     */
    public BraidFs(VolumeClient client, boolean readOnly, boolean writeBehind, double attrTimeout,
                   double entryTimeout) {
        this.client = client;
        this.ops = new VolumeOps(client);
        this.locks = new FuseLocks(ops);
        this.readOnly = readOnly;
        this.writeBehind = writeBehind;
        this.kernelAttrs = new KernelAttrs(attrTimeout, entryTimeout);
        this.listedNanos = (long) (Math.min(Math.max(attrTimeout, 0), LISTED_SECONDS) * 1e9);
    }

    /** The file system of a mount with these options ({@code ro} and the kernel's cache timeouts), writing behind. */
    public BraidFs(VolumeClient client, MountOptions options) {
        this(client, options.readOnly(), true, options.attrTimeout(), options.entryTimeout());
    }

    public BraidFs(VolumeClient client, boolean readOnly) {
        this(client, readOnly, true, MountOptions.DEFAULT_TIMEOUT, MountOptions.DEFAULT_TIMEOUT);
    }

    /** Where the caller of the request in progress comes from, when the low-level API serves the mount. */
    private volatile java.util.function.Supplier<FuseContext> context;

    void useContext(java.util.function.Supplier<FuseContext> context) {
        this.context = context;
    }

    @Override
    public FuseContext getContext() {
        java.util.function.Supplier<FuseContext> c = context;
        return c != null ? c.get() : super.getContext();
    }

    VolumeOps ops() {
        return ops;
    }

    // ---- attributes and names ----

    @Override
    public int getattr(String path, FileStat stat) {
        return getattr(path, stat, 0);
    }

    /** getattr, of the open file fh when not 0 (the kernel's getattr of an open file: fstat, a read's size check). */
    int getattr(String path, FileStat stat, long fh) {
        return guard("getattr", path, () -> {
            KernelHints.Recent r = hints.takeRecent(path);
            if (r != null) {
                return tell(path, stat, r.attr(), r.set(), r.mtimeKnown());
            }
            int set = ops.setOf(path);
            Attr mine = whileBehind(path);
            if (mine != null) {
                return tell(path, stat, mine, set, false);
            }
            long tid = openProbe.usable() ? getContext().pid.get() : 0;
            String opening = tid > 0 ? openProbe.readOnlyOpen(tid) : null;
            FileReply reply = opening == null ? ops.getattr(path, 0, fh) : ops.getattr(path, MAX_IO);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            if (opening != null && reply.getData().size() > 0 && reply.getData().size() == reply.getAttr().getSize()) {
                if (prefetched.size() >= PREFETCH_BOUND) {
                    prefetched.clear();
                }
                prefetched.put(path, new Prefetched(tid, opening, reply.getData(), System.nanoTime()));
            }
            fill(stat, reply.getAttr(), set);
            if (path.startsWith(UNLINKED_PREFIX)) {
                // a file unlinked (or renamed over) while open here: its kept name is not a link
                stat.st_nlink.set(Math.max(0, reply.getAttr().getNlink() - 1));
            }
            kernelAttrs.told(path, reply.getAttr());
            return 0;
        });
    }

    /**
     * Whether the lookup of path may be answered "no such name" without asking the servers: the
     * caller, thread tid, is root and inside an open(2) with O_CREAT|O_EXCL of exactly this path
     * (mountPoint + path). The kernel then sends the CREATE at once, and the servers create the
     * file or answer EEXIST, as they would have answered the lookup: the open gets the same result
     * with one round trip fewer (tar, cp and every new file). Root only, as the kernel checks the
     * permission to create in the directory when the name is said not to exist, and only root
     * passes that check whatever the directory's mode is (so EACCES never replaces EEXIST); and
     * not on a read-only mount (EROFS would replace it). The kernel keeps no negative entry (the
     * error reply has no timeout), so nothing else sees this answer.
     */
    boolean absentForExclusiveCreate(String path, java.nio.file.Path mountPoint, long uid, long tid) {
        if (readOnly || uid != 0 || mountPoint == null || path.startsWith(UNLINKED_PREFIX)) {
            return false;
        }
        String target = openProbe.exclusiveCreate(tid);
        if (target == null) {
            return false;
        }
        String root = mountPoint.toString();
        return target.length() == root.length() + path.length() && target.startsWith(root) && target.endsWith(path);
    }

    /** Answers a getattr with attributes known here; a guessed mtime is not compared at the next open. */
    private int tell(String path, FileStat stat, Attr attr, int set, boolean mtimeKnown) {
        fill(stat, attr, set);
        kernelAttrs.told(path, attr);
        if (!mtimeKnown) {
            kernelAttrs.wrote(path, attr.getSize()); // the kernel has a guess: compare sizes only
        }
        return 0;
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return getattr(pathOf(path, fi), stat, openHandle(fi));
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filter, long offset, FuseFileInfo fi) {
        return guard("readdir", path, () -> {
            long before = changes.get();
            long at = System.nanoTime();
            VolumeOps.Listing listing = ops.readdir(path);
            if (listing.errno() != 0) {
                return -listing.errno();
            }
            keepListed(path, listing, before, at);
            Runtime runtime = Runtime.getSystemRuntime();
            FileStat st = new FileStat(runtime);
            Pointer mem = Memory.allocateDirect(runtime, Struct.size(st), true);
            st.useMemory(mem);
            filter.apply(buf, cString("."), null, 0);
            filter.apply(buf, cString(".."), null, 0);
            boolean root = path.isEmpty() || path.equals("/");
            for (VolumeOps.Listed e : listing.entries()) {
                if (root && e.name().equals(Placement.UNLINKED_DIR)) {
                    continue;
                }
                st.st_ino.set(ops.ino(e.attr(), e.set()));
                st.st_mode.set(e.attr().getMode());
                if (filter.apply(buf, cString(e.name()), mem, 0) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    /**
     * Keeps the attributes a listing of dir gave its entries, for their lookups (rm -r unlinks,
     * ls -l and find stat, each name after a listing; GlusterFS's md-cache does the same with its
     * readdirp). Not when a change through this mount ran meanwhile (the listing may predate it),
     * nor for a file with more than one link (its node is found by asking the servers).
     */
    private void keepListed(String dir, VolumeOps.Listing listing, long changesBefore, long at) {
        if (listedNanos == 0 || changes.get() != changesBefore) {
            return;
        }
        boolean root = dir.isEmpty() || dir.equals("/");
        for (VolumeOps.Listed e : listing.entries()) {
            Attr a = e.attr();
            boolean isDir = (a.getMode() & 0170000) == 0040000;
            if (a.getNlink() > 1 && !isDir || root && e.name().equals(Placement.UNLINKED_DIR)) {
                continue;
            }
            hints.listed(InodeTable.child(root ? "/" : dir, e.name()), a, e.set(), at);
        }
    }

    /**
     * Answers the lookup of path from a listing of its directory made less than a second (at
     * most attr-timeout) ago, once; false when there is none. When the kernel holds a node by
     * that name (held: a file this mount made or looked up before, rm -r after tar -x), not while
     * the file is open here: its writes may be newer than the listing. Writes through a handle
     * closed since the listing was asked for cannot be older than it: {@link #release} of a
     * handle open for writing counts as a change, so such a listing is not kept or is dropped.
     */
    boolean lookupFromListing(String path, FileStat stat, boolean held) {
        if (held && openOn(path)) {
            return false;
        }
        KernelHints.Listed l = hints.takeListed(path, listedNanos);
        if (l == null) {
            return false;
        }
        fill(stat, l.attr(), l.set());
        kernelAttrs.told(path, l.attr());
        return true;
    }

    @Override
    public int readlink(String path, Pointer buf, long size) {
        return guard("readlink", path, () -> {
            FileReply reply = ops.readlink(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            byte[] target = reply.getData().toByteArray();
            int n = (int) Math.min(target.length, Math.max(0, size - 1));
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int mknod(String path, long mode, long rdev) {
        return change("mknod", path, () -> {
            FuseContext ctx = getContext();
            FileReply r = ops.mknod(path, (int) mode, rdev, (int) ctx.uid.get(), (int) ctx.gid.get());
            return remember(path, r);
        });
    }

    @Override
    public int mkdir(String path, long mode) {
        return change("mkdir", path, () -> {
            FuseContext ctx = getContext();
            FileReply r = ops.mkdir(path, (int) mode, (int) ctx.uid.get(), (int) ctx.gid.get());
            return remember(path, r);
        });
    }

    @Override
    public int unlink(String path) {
        hints.capabilityMayChange(path);
        kernelAttrs.forget(path);
        return change("unlink", path, () -> {
            if (openOn(path)) {
                // Still open here: the name goes at once (one rename on the server), the file stays
                // readable and writable through its handles and goes with the last close. A server
                // removes it if this mount dies first.
                String hidden = hiddenName(path);
                if (hidden == null) {
                    return -Errno.EIO;
                }
                int res = -ops.rename(path, hidden).getErrno(); // rename drains path's writes first
                if (res == 0) {
                    hide(path, hidden);
                }
                return res;
            }
            return rememberParent(path, ops.unlink(path));
        });
    }

    /**
     * The usual unlink (path not open here, none of its writes in flight), answered when its reply
     * comes, on the thread that receives it: the 0 or negative errno {@link #unlink} would return.
     * Null when unlink must do it (it then waits on the caller's thread).
     */
    java.util.concurrent.CompletableFuture<Integer> unlinkAsync(String path) {
        if (readOnly || openOn(path)) {
            return null;
        }
        hints.capabilityMayChange(path);
        kernelAttrs.forget(path);
        changing(path);
        java.util.concurrent.CompletableFuture<FileReply> asked = ops.unlinkAsync(path);
        return asked == null ? null : asked.thenApply(r -> {
            changed(path);
            return rememberParent(path, r);
        });
    }

    @Override
    public int rmdir(String path) {
        hints.forgetListed();
        return change("rmdir", path, () -> rememberParent(path, ops.rmdir(path)));
    }

    @Override
    public int symlink(String target, String path) {
        return change("symlink", path, () -> {
            FuseContext ctx = getContext();
            return remember(path, ops.symlink(target, path, (int) ctx.uid.get(), (int) ctx.gid.get()));
        });
    }

    @Override
    public int rename(String from, String to) {
        changes.incrementAndGet();
        hints.forgetListed(); // a directory renamed: the names under it mean other files
        hints.changing(to);
        forgetContent(to);
        hints.capabilityMayChange(from);
        hints.capabilityMayChange(to);
        return change("rename", from, () -> {
            if (openOn(to)) {
                // The file renamed over is open here: it keeps a second name first, so that the
                // rename itself stays one atomic step on the server and the open file stays readable.
                String hidden = hiddenName(to);
                if (hidden == null || ops.link(to, hidden).getErrno() != 0) { // link drains to's writes first
                    return -Errno.EIO;
                }
                hide(to, hidden);
            }
            int res = rememberParent(to, ops.rename(from, to));
            if (res == 0) {
                kernelAttrs.renamed(from, to);
                moved(from, to);
            }
            return res;
        });
    }

    @Override
    public int link(String from, String to) {
        hints.changing(from);
        return change("link", to, () -> remember(to, ops.link(from, to)));
    }

    @Override
    public int chmod(String path, long mode) {
        int perm = (int) mode & 07777;
        return attrChange("chmod", path, Setattr.newBuilder().setMode(perm), () -> ops.chmod(path, perm));
    }

    @Override
    public int chown(String path, long uid, long gid) {
        long u = id(uid);
        long g = id(gid);
        Setattr.Builder c = Setattr.newBuilder();
        if (u != -1) {
            c.setUid(u);
        }
        if (g != -1) {
            c.setGid(g);
        }
        return attrChange("chown", path, c, () -> ops.chown(path, u, g));
    }

    /** An attribute change: behind the file's writes when it can go there, otherwise made now by {@code now}. */
    private int attrChange(String op, String path, Setattr.Builder change, java.util.function.Supplier<FileReply> now) {
        return change(op, path, () -> {
            int behind = changeBehind(path, change);
            return behind != NOT_BEHIND ? behind : remember(path, now.get());
        });
    }

    /** {@link #changeBehind}'s answer when the change must be made now. */
    private static final int NOT_BEHIND = Integer.MIN_VALUE;

    /**
     * Sends an attribute change of a file this mount created and is writing now (path's only open
     * handle here, writing behind) behind that file's writes: tar, cp -p and rsync set the times,
     * owner and mode of each file through its descriptor before closing it, and each change would
     * otherwise wait for the writes before it and for its own replication (see
     * {@link WriteBehind#change}). The kernel is answered with the attributes the file will have
     * (the change applied to what the create and the changes since left, the size grown to the end
     * of the writes); an error goes to the open file and is returned by its flush or close, like a
     * write's. The kernel checked the caller's right to make the change (default_permissions), so
     * an error means a server could not make it.
     *
     * @return 0 or a negative errno, or {@link #NOT_BEHIND}: make the change now
     */
    private int changeBehind(String path, Setattr.Builder change) {
        OpenFile file = writeBehind ? soleWriter(path) : null;
        if (file == null) {
            return NOT_BEHIND;
        }
        synchronized (file) {
            if (file.attr == null) {
                return NOT_BEHIND;
            }
            long now = System.currentTimeMillis() * 1_000_000L;
            Attr.Builder a = file.expected(now).setCtimeNs(now);
            if (change.hasUid() || change.hasGid()) {
                if (change.hasUid()) {
                    a.setUid((int) change.getUid());
                }
                if (change.hasGid()) {
                    a.setGid((int) change.getGid());
                }
                a.setMode(WriteBehind.modeAfterChown(a.getMode()));
            }
            if (change.hasMode()) {
                a.setMode(a.getMode() & ~07777 | change.getMode());
            }
            if (change.hasAtimeNs()) {
                a.setAtimeNs(change.getAtimeNs() == -1 ? now : change.getAtimeNs());
            }
            if (change.hasMtimeNs()) {
                a.setMtimeNs(change.getMtimeNs() == -1 ? now : change.getMtimeNs());
            }
            int e = ops.changeBehind(path, change.setPath(path).build(), file.errors);
            if (e != 0) {
                return -e;
            }
            if (change.hasMtimeNs()) {
                file.mtimeKnown = change.getMtimeNs() != -1;
            }
            file.attr = a.build();
            hints.changed(path, file.attr, ops.setOf(path), file.mtimeKnown);
            return 0;
        }
    }

    /**
     * The attributes of a file this mount created and is writing, while requests of it are still
     * in flight: what they will leave (the kernel asks before a chown, to drop set-user-ID itself;
     * asking a server would wait for them). Null otherwise: then a server is asked.
     */
    private Attr whileBehind(String path) {
        if (!writeBehind || !ops.writes().busy(path)) {
            return null;
        }
        OpenFile file = soleWriter(path);
        if (file == null) {
            return null;
        }
        synchronized (file) {
            if (file.attr == null) {
                return null;
            }
            return file.expected(System.currentTimeMillis() * 1_000_000L).build();
        }
    }

    /** The open file of path if it is path's only handle here and was created by it, open for writing behind. */
    private OpenFile soleWriter(String path) {
        Long fh;
        synchronized (openNames) {
            java.util.Set<Long> handles = openNames.get(path);
            if (handles == null || handles.size() != 1) {
                return null;
            }
            fh = handles.iterator().next();
        }
        OpenFile file = files.get(fh);
        if (file == null || file.hidden || file.syncWrites || (file.flags & O_ACCMODE) == O_RDONLY
                || !path.equals(file.path)) {
            return null;
        }
        return file;
    }

    @Override
    public int truncate(String path, long size) {
        return truncate(path, size, 0);
    }

    /** truncate, or ftruncate through the open file fh when not 0. */
    private int truncate(String path, long size, long fh) {
        notCreatedHere(path);
        return change("truncate", path, () -> remember(path, ops.truncate(path, size, fh)));
    }

    /** A size change made now: what {@link #changeBehind} would work out from is out of date; later changes are made now. */
    private void notCreatedHere(String path) {
        OpenFile file = soleWriter(path);
        if (file != null) {
            synchronized (file) {
                file.attr = null;
            }
        }
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return truncate(pathOf(path, fi), size, openHandle(fi));
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return utimens(path, nanos(timespec[0]), nanos(timespec[1]));
    }

    /** Sets the times in ns since the epoch; -1 is now, -2 leaves one unchanged. */
    int utimens(String path, long atimeNs, long mtimeNs) {
        Setattr.Builder c = Setattr.newBuilder();
        if (atimeNs != -2) {
            c.setAtimeNs(atimeNs);
        }
        if (mtimeNs != -2) {
            c.setMtimeNs(mtimeNs);
        }
        return attrChange("utimens", path, c, () -> ops.utimens(path, atimeNs, mtimeNs));
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return guard("statfs", path, () -> {
            FileReply reply = ops.statfs();
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            StatfsReply s = reply.getStatfs();
            long bsize = s.getBlockSize() > 0 ? s.getBlockSize() : 4096;
            st.f_bsize.set(bsize);
            st.f_frsize.set(bsize);
            st.f_blocks.set(s.getBlocks());
            st.f_bfree.set(s.getBlocksFree());
            st.f_bavail.set(s.getBlocksAvailable());
            st.f_files.set(s.getFiles());
            st.f_ffree.set(s.getFilesFree());
            st.f_favail.set(s.getFilesFree());
            st.f_namemax.set(s.getNameMax() > 0 ? s.getNameMax() : Errno.NAME_MAX);
            return 0;
        });
    }

    // ---- open files ----

    @Override
    public int open(String path, FuseFileInfo fi) {
        return guard("open", path, () -> {
            int flags = fi.flags.get();
            if (readOnly && (flags & O_ACCMODE) != O_RDONLY) {
                return -Errno.EROFS;
            }
            boolean readOnly = (flags & O_ACCMODE) == O_RDONLY && (flags & O_DIRECT) == 0;
            Prefetched p = readOnly && !prefetched.isEmpty() ? prefetched.remove(path) : null;
            if (p != null && openedByItsLookup(path, p)) {
                // The kernel looked the name up during this very open(2) and got the file's
                // attributes and content then, after the open began: no call needed.
                long fh = newHandle(handles.incrementAndGet(), flags, path);
                files.get(fh).content = p.content();
                fi.fh.set(fh);
                return 0;
            }
            long id = handles.incrementAndGet();
            FileReply reply = ops.open(path, flags & O_ACCMODE, readOnly ? MAX_IO : 0, id);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            // the whole file in the reply, or the server keeps the file under id for the reads to come (OpenFiles)
            boolean whole = !readsFollow(reply);
            int boundSet = whole ? -1 : ops.setOf(path);
            boolean stale = reply.hasAttr() && kernelAttrs.stale(path, reply.getAttr());
            long tid = stale || kernelAttrs.relookupsPending() ? getContext().pid.get() : 0;
            boolean retry = kernelAttrs.retrying(path, tid);
            if (stale) {
                // The kernel still holds an older size or mtime (told within attr-timeout, or entry-timeout if
                // longer; another client changed the file since): a cached read would stop at that size, and
                // fstat, sendfile and mmap would use it. ESTALE makes the kernel walk the path again looking
                // every name up (LOOKUP_REVAL), which refreshes its attributes, and retry the open (open(2),
                // openat2, execve, io_uring do; an opener inside the kernel such as overlayfs or nfsd would
                // pass ESTALE on). Should the file have changed yet again by then, the retry is direct I/O:
                // read() then goes to the server's end of file (sendfile still stops at the kernel's size,
                // and a shared mmap fails with ENODEV). The page cache is dropped at every open (no keep_cache).
                hints.changing(path);
                if (!retry) {
                    kernelAttrs.askedRelookup(path, tid);
                    if (boundSet >= 0) {
                        client.released(boundSet, id);
                    }
                    return -Errno.ESTALE;
                }
                directIo(fi);
            }
            long fh = newHandle(id, flags, path);
            files.get(fh).boundSet = boundSet;
            if (readOnly && whole) {
                files.get(fh).content = reply.getData();
            }
            fi.fh.set(fh);
            return 0;
        });
    }

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return change("create", path, () -> {
            int flags = fi.flags.get();
            FuseContext ctx = getContext();
            long id = handles.incrementAndGet();
            FileReply reply = ops.create(path, (int) mode, (flags & O_EXCL) != 0, (int) ctx.uid.get(),
                    (int) ctx.gid.get(), id);
            int res = remember(path, reply);
            if (res == 0) {
                long fh = newHandle(id, flags, path);
                files.get(fh).boundSet = ops.setOf(path);
                fi.fh.set(fh);
                if (reply.hasAttr() && reply.getAttr().getSize() == 0) {
                    hints.withoutCapability(path); // a new file has no capability to drop
                    OpenFile file = files.get(fh);
                    synchronized (file) {
                        file.attr = reply.getAttr();
                    }
                }
            }
            return res;
        });
    }

    /**
     * A read that must ask the servers, sent without waiting for its answer (the low-level loop
     * answers the kernel from the transport's thread when it comes: one thread wake-up less per
     * read); null when the open file answers it itself ({@link #read} then does).
     */
    CompletableFuture<FileReply> readAsync(long size, long offset, FuseFileInfo fi) {
        OpenFile file = files.get(fi.fh.get());
        if (file == null || file.content != null) {
            return null;
        }
        String path = file.path;
        try {
            return ops.readAsync(path, offset, (int) Math.min(size, Integer.MAX_VALUE), fi.fh.get());
        } catch (RuntimeException | Error e) {
            LOG.error("read {}: {}", path, e.toString(), e);
            return CompletableFuture.completedFuture(FileReply.newBuilder().setErrno(Errno.EIO).build());
        }
    }

    @Override
    public int read(String given, Pointer buf, long size, long offset, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        return guard("read", path, () -> {
            OpenFile file = files.get(fi.fh.get());
            ByteString content = file == null ? null : file.content;
            if (content != null) {
                // the file as this open found it (close-to-open: what was closed before the open)
                int n = (int) Math.max(0, Math.min(size, content.size() - offset));
                if (n > 0) {
                    buf.put(0, content.substring((int) offset, (int) offset + n).toByteArray(), 0, n);
                }
                return n;
            }
            FileReply reply = ops.read(path, offset, (int) Math.min(size, Integer.MAX_VALUE), openHandle(fi));
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            ByteString data = reply.getData();
            int n = (int) Math.min(data.size(), size);
            if (n > 0) {
                buf.put(0, data.substring(0, n).toByteArray(), 0, n);
            }
            return n;
        });
    }

    @Override
    public int write(String given, Pointer buf, long size, long offset, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        kernelAttrs.wrote(path, offset + size);
        return change("write", path, () -> {
            byte[] bytes = new byte[(int) size];
            buf.get(0, bytes, 0, bytes.length);
            ByteString data = UnsafeByteOperations.unsafeWrap(bytes);
            OpenFile file = files.get(fi.fh.get());
            if (file != null) {
                int earlier = file.errors.take();
                if (earlier != 0) {
                    return -earlier;
                }
            }
            if (file == null || file.syncWrites || !writeBehind) {
                FileReply reply = ops.writeNow(path, offset, data, openHandle(fi));
                if (reply.getErrno() != 0) {
                    return -reply.getErrno();
                }
                return (int) reply.getWritten();
            }
            synchronized (file) {
                file.written = Math.max(file.written, offset + size);
                file.mtimeKnown = false;
            }
            int e = ops.writeBehind(path, offset, data, file.errors);
            return e != 0 ? -e : bytes.length;
        });
    }

    @Override
    public int flush(String given, FuseFileInfo fi) {
        return flushAsync(given, fi).join();
    }

    /**
     * {@link #flush} without blocking the caller: completes once every write of the file sent from
     * here was answered, on the transport thread that got the last answer (or at once). The
     * caller drops the owner's byte-range locks after it ({@link #mayHoldLocks}).
     */
    CompletableFuture<Integer> flushAsync(String given, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        return guardAsync("flush", path, () -> {
            OpenFile file = files.get(fi.fh.get());
            return ops.writes().drainAsync(path).thenApply(x -> file == null ? 0 : -file.errors.take());
        });
    }

    /** Whether fi's lock owner ever took a byte-range lock here, which its close must then drop. */
    boolean mayHoldLocks(FuseFileInfo fi) {
        return locks.mayHold(fi.lock_owner.get());
    }

    @Override
    public int release(String given, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        return guard("release", path, () -> {
            ops.writes().drain(path);
            if ((Struct.getMemory(fi).getByte(FI_BITS_OFFSET) & FI_FLOCK_RELEASE) != 0) {
                locks.releaseFlock(path, openHandle(fi), fi.lock_owner.get());
            }
            long fh = fi.fh.get();
            OpenFile file = files.remove(fh);
            if (file == null) {
                return 0;
            }
            if ((file.flags & O_ACCMODE) != O_RDONLY) {
                // its writes are all on the servers now: a listing asked for before this is older
                // (see lookupFromListing)
                changes.incrementAndGet();
                hints.changing(file.path);
            }
            boolean last = closed(file.path, fh);
            if (file.boundSet >= 0) {
                client.released(file.boundSet, fh); // told with the next request to that server
            }
            int res = -file.errors.take();
            if (file.hidden && last) {
                ops.unlink(file.path); // the last handle of a file unlinked while open
            }
            return res;
        });
    }

    @Override
    public int fsync(String given, int isdatasync, FuseFileInfo fi) {
        return fsyncAsync(given, isdatasync, fi).join();
    }

    /** {@link #fsync} without blocking the caller; completes like {@link #flushAsync}, once the server answered. */
    CompletableFuture<Integer> fsyncAsync(String given, int isdatasync, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        return guardAsync("fsync", path, () -> {
            OpenFile file = files.get(fi.fh.get());
            return ops.fsyncAsync(path, isdatasync != 0, openHandle(fi)).thenApply(r -> {
                int earlier = file == null ? 0 : file.errors.take();
                return earlier != 0 ? -earlier : -r.getErrno();
            });
        });
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int fallocate(String given, int mode, long offset, long length, FuseFileInfo fi) {
        String path = pathOf(given, fi);
        if ((mode & FALLOC_FL_KEEP_SIZE) == 0) {
            kernelAttrs.wrote(path, offset + length); // like a write
        }
        notCreatedHere(path);
        long fh = openHandle(fi);
        return change("fallocate", path, () -> -ops.fallocate(path, mode, offset, length, fh).getErrno());
    }

    // ---- extended attributes ----

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        hints.capabilityMayChange(path);
        return change("setxattr", path, () -> {
            byte[] bytes = new byte[(int) size];
            if (size > 0) {
                value.get(0, bytes, 0, bytes.length);
            }
            return -ops.setxattr(path, name, UnsafeByteOperations.unsafeWrap(bytes), flags).getErrno();
        });
    }

    @Override
    public int getxattr(String path, String name, Pointer value, long size) {
        return guard("getxattr", path, () -> {
            boolean capability = KernelHints.CAPABILITY.equals(name);
            if (capability && hints.knownWithoutCapability(path)) {
                return -Errno.ENODATA;
            }
            FileReply reply = ops.getxattr(path, name);
            if (reply.getErrno() != 0) {
                if (capability && reply.getErrno() == Errno.ENODATA) {
                    hints.withoutCapability(path);
                }
                return -reply.getErrno();
            }
            return sized(reply.getData().toByteArray(), value, size);
        });
    }

    @Override
    public int listxattr(String path, Pointer list, long size) {
        return guard("listxattr", path, () -> {
            FileReply reply = ops.listxattr(path);
            if (reply.getErrno() != 0) {
                return -reply.getErrno();
            }
            ByteString.Output out = ByteString.newOutput();
            for (String n : reply.getNamesList()) {
                byte[] b = n.getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                out.write(0);
            }
            return sized(out.toByteString().toByteArray(), list, size);
        });
    }

    @Override
    public int removexattr(String path, String name) {
        hints.capabilityMayChange(path);
        return change("removexattr", path, () -> -ops.removexattr(path, name).getErrno());
    }

    // ---- locks ----

    @Override
    public int lock(String given, FuseFileInfo fi, int cmd, Flock flock) {
        String path = pathOf(given, fi);
        boolean take = cmd != FuseLocks.F_GETLK && flock.l_type.get() != Flock.F_UNLCK;
        return guard("lock", path, () -> locks.fcntl(path, lockHandle(fi, path, take), fi.lock_owner.get(), cmd, flock));
    }

    @Override
    public int flock(String given, FuseFileInfo fi, int op) {
        String path = pathOf(given, fi);
        boolean take = (op & Flock.LOCK_UN) == 0;
        return guard("flock", path, () -> locks.flock(path, lockHandle(fi, path, take), fi.lock_owner.get(), op));
    }

    /**
     * fi's handle for a lock request; one that takes a lock makes the server keep the file under
     * the handle if it did not yet (its locks are on that file), so its close is then told.
     */
    private long lockHandle(FuseFileInfo fi, String path, boolean take) {
        long fh = openHandle(fi);
        OpenFile file = fh == 0 ? null : files.get(fh);
        if (take && file != null && file.boundSet < 0) file.boundSet = ops.setOf(path);
        return fh;
    }

    @Override
    public void destroy(Pointer initResult) {
        ops.writes().drainAll();
    }

    // ---- helpers ----

    /** This open bypasses the page cache (FOPEN_DIRECT_IO): reads and writes go to the file system as asked. */
    private static void directIo(FuseFileInfo fi) {
        Pointer mem = Struct.getMemory(fi);
        mem.putInt(FI_BITS_OFFSET, mem.getInt(FI_BITS_OFFSET) | FI_DIRECT_IO);
    }

    /** Whether the reads of a file this open reply describes come from the server, not the reply (see OpenFiles). */
    static boolean readsFollow(FileReply open) {
        return !(open.hasAttr() && open.getAttr().getSize() > 0 && open.getData().size() == open.getAttr().getSize());
    }

    /** fi's handle when it is an open file of this mount (the server may keep its file under it), else 0. */
    private long openHandle(FuseFileInfo fi) {
        long fh = fi.fh.get();
        return files.containsKey(fh) ? fh : 0;
    }

    private long newHandle(long fh, int flags, String path) {
        boolean sync = (flags & (O_SYNC | O_DSYNC | O_DIRECT)) != 0;
        files.put(fh, new OpenFile(flags, sync, new WriteBehind.ErrorSlot(fh), path));
        synchronized (openNames) {
            openNames.computeIfAbsent(path, k -> new java.util.HashSet<>()).add(fh);
        }
        return fh;
    }

    /** A change of path on this mount: its open files read from the servers again. */
    /**
     * Whether this OPEN comes from the same open(2) (the same thread, still in the same syscall
     * with the same arguments) whose lookup fetched p, nothing on this mount changed the file
     * since, and no open answered ESTALE waits for its retry.
     */
    private boolean openedByItsLookup(String path, Prefetched p) {
        if (System.nanoTime() - p.at() > PREFETCH_NANOS || kernelAttrs.relookupsPending() || ops.writes().busy(path)) {
            return false;
        }
        long tid = getContext().pid.get();
        return tid == p.tid() && p.syscall().equals(openProbe.readOnlyOpen(tid));
    }

    private void forgetContent(String path) {
        if (!prefetched.isEmpty()) {
            prefetched.remove(path);
        }
        synchronized (openNames) {
            java.util.Set<Long> s = openNames.get(path);
            if (s == null) {
                return;
            }
            for (long fh : s) {
                OpenFile f = files.get(fh);
                if (f != null) {
                    f.content = null;
                }
            }
        }
    }

    /** The path given, or, for a call on an open file (no path), the name its handle has now. */
    private String pathOf(String given, FuseFileInfo fi) {
        if (given != null) {
            return given;
        }
        OpenFile f = files.get(fi.fh.get());
        return f == null ? "" : f.path;
    }

    /** The name an open handle uses now, or null for an unknown handle. */
    String handlePath(long fh) {
        OpenFile f = files.get(fh);
        return f == null ? null : f.path;
    }

    private boolean openOn(String path) {
        synchronized (openNames) {
            java.util.Set<Long> s = openNames.get(path);
            return s != null && !s.isEmpty();
        }
    }

    /** Forgets one handle of path; true if it was the last. */
    private boolean closed(String path, long fh) {
        synchronized (openNames) {
            java.util.Set<Long> s = openNames.get(path);
            if (s == null) {
                return true;
            }
            s.remove(fh);
            if (s.isEmpty()) {
                openNames.remove(path);
                return true;
            }
            return false;
        }
    }

    /**
     * A name for a file that is still open here but loses its name: in {@code .braid-unlinked} at
     * the root, on the replica set the file is on, or null if that directory cannot be made.
     */
    private String hiddenName(String path) {
        if (!unlinkedDirMade) {
            FileReply r = ops.mkdir("/" + Placement.UNLINKED_DIR, 0700, 0, 0);
            if (r.getErrno() != 0 && r.getErrno() != Errno.EEXIST) {
                LOG.warn("cannot make /{}: errno {}", Placement.UNLINKED_DIR, r.getErrno());
                return null;
            }
            unlinkedDirMade = true;
        }
        return "/" + Placement.UNLINKED_DIR + "/" + ops.setOf(path) + "-" + ops.client().clientId() + "-"
                + hiddenNames.incrementAndGet();
    }

    /** The handles open on path now use hidden, and the last to close removes it. */
    private void hide(String path, String hidden) {
        synchronized (openNames) {
            java.util.Set<Long> s = openNames.remove(path);
            if (s == null) {
                return;
            }
            openNames.put(hidden, s);
            for (long fh : s) {
                OpenFile f = files.get(fh);
                if (f != null) {
                    f.path = hidden;
                    f.hidden = true;
                }
            }
        }
    }

    /** After a rename: handles open on from (or under it, for a directory) follow to their new names. */
    private void moved(String from, String to) {
        synchronized (openNames) {
            for (String p : new java.util.ArrayList<>(openNames.keySet())) {
                String now = p.equals(from) ? to : p.startsWith(from + "/") ? to + p.substring(from.length()) : null;
                if (now == null) {
                    continue;
                }
                java.util.Set<Long> s = openNames.remove(p);
                openNames.computeIfAbsent(now, k -> new java.util.HashSet<>()).addAll(s);
                for (long fh : s) {
                    OpenFile f = files.get(fh);
                    if (f != null) {
                        f.path = now;
                    }
                }
            }
        }
    }

    /** Keeps a change's returned attributes for the getattr that answers the kernel next. */
    private int remember(String path, FileReply reply) {
        if (reply.getErrno() != 0) {
            return -reply.getErrno();
        }
        if (reply.hasAttr()) {
            hints.changed(path, reply.getAttr(), ops.setOf(path));
        }
        rememberParent(path, reply);
        return 0;
    }

    /**
     * Keeps the attributes of path's directory that a create, unlink, rename... returned: the
     * kernel dropped its own copy with the change and asks for them next (to check permissions for
     * the next name in it), and is answered without another call. Only with one replica set: with
     * several, each holds its own copy of the directory and the change was made on one of them.
     */
    private int rememberParent(String path, FileReply reply) {
        if (reply.getErrno() != 0) {
            return -reply.getErrno();
        }
        if (reply.hasParent()) {
            if (ops.sets() == 1) {
                hints.changed(parentOf(path), reply.getParent(), 0);
            }
        }
        return 0;
    }

    void fill(FileStat st, Attr a, int set) {
        st.st_mode.set(a.getMode());
        st.st_ino.set(ops.ino(a, set));
        st.st_nlink.set(a.getNlink());
        st.st_uid.set(Integer.toUnsignedLong(a.getUid()));
        st.st_gid.set(Integer.toUnsignedLong(a.getGid()));
        st.st_rdev.set(a.getRdev());
        st.st_size.set(a.getSize());
        st.st_blocks.set(a.getBlocks());
        st.st_blksize.set(MAX_IO);
        time(st.st_atim, a.getAtimeNs());
        time(st.st_mtim, a.getMtimeNs());
        time(st.st_ctim, a.getCtimeNs());
    }

    private static void time(Timespec t, long ns) {
        t.tv_sec.set(Math.floorDiv(ns, 1_000_000_000L));
        t.tv_nsec.set(Math.floorMod(ns, 1_000_000_000L));
    }

    /** Nanoseconds since the epoch, or the protocol's UTIME_NOW (-1) / UTIME_OMIT (-2). */
    static long nanos(Timespec t) {
        long nsec = t.tv_nsec.longValue();
        if (nsec == UTIME_NOW) {
            return -1;
        }
        if (nsec == UTIME_OMIT) {
            return -2;
        }
        return t.tv_sec.get() * 1_000_000_000L + nsec;
    }

    /** An owner id from chown: (uid_t) -1 means leave unchanged. */
    static long id(long v) {
        return v == -1 || v == 0xFFFFFFFFL ? -1 : v;
    }

    /** The size-probe protocol of getxattr/listxattr: size 0 asks for the length; too small is ERANGE. */
    static int sized(byte[] data, Pointer to, long size) {
        if (size == 0) {
            return data.length;
        }
        if (size < data.length) {
            return -Errno.ERANGE;
        }
        to.put(0, data, 0, data.length);
        return data.length;
    }

    private static ByteBuffer cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(b.length + 1);
        buf.put(b).put((byte) 0).flip();
        return buf;
    }

    private int change(String op, String path, IntSupplier body) {
        if (readOnly) {
            return -Errno.EROFS;
        }
        changing(path);
        try {
            return guard(op, path, body);
        } finally {
            changed(path);
        }
    }

    /** Before a change of path is sent: what was known of it here no longer holds. */
    private void changing(String path) {
        changes.incrementAndGet();
        hints.changing(path);
        forgetContent(path);
    }

    /**
     * After a change went through: a listing asked for while it was on its way may predate it, so
     * it is not kept, and what one said of path or its directory is dropped (the attributes the
     * change returned, kept for the next getattr, stay).
     */
    private void changed(String path) {
        changes.incrementAndGet();
        hints.unlisted(path);
        hints.unlisted(parentOf(path));
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    /** Runs a callback; an unexpected exception is logged and answered EIO (never thrown into native code). */
    private static int guard(String op, String path, IntSupplier body) {
        try {
            return body.getAsInt();
        } catch (RuntimeException | Error e) {
            return failed(op, path, e);
        }
    }

    /** A failure of op on path that is not the file system's: logged, and EIO for the caller. */
    private static int failed(String op, String path, Throwable e) {
        LOG.error("{} {}: {}", op, path, e.toString(), e);
        return -Errno.EIO;
    }

    /** {@link #guard} for work answered later: the future always completes normally, EIO for a failure. */
    private static CompletableFuture<Integer> guardAsync(String op, String path,
                                                         java.util.function.Supplier<CompletableFuture<Integer>> body) {
        CompletableFuture<Integer> work;
        try {
            work = body.get();
        } catch (RuntimeException | Error e) {
            work = CompletableFuture.failedFuture(e);
        }
        return work.handle((r, e) -> e == null ? r : failed(op, path, e));
    }
}
