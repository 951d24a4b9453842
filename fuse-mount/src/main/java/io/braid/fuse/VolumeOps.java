package io.braid.fuse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.ByteString;

import io.braid.proto.file.Attr;
import io.braid.proto.file.Chmod;
import io.braid.proto.file.Chown;
import io.braid.proto.file.Create;
import io.braid.proto.file.DirEntry;
import io.braid.proto.file.Fallocate;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Fsync;
import io.braid.proto.file.Getattr;
import io.braid.proto.file.Getxattr;
import io.braid.proto.file.Link;
import io.braid.proto.file.Listxattr;
import io.braid.proto.file.Lock;
import io.braid.proto.file.Mkdir;
import io.braid.proto.file.Mknod;
import io.braid.proto.file.Open;
import io.braid.proto.file.Read;
import io.braid.proto.file.Readdir;
import io.braid.proto.file.Readlink;
import io.braid.proto.file.Removexattr;
import io.braid.proto.file.Rename;
import io.braid.proto.file.Rmdir;
import io.braid.proto.file.Setattr;
import io.braid.proto.file.Setxattr;
import io.braid.proto.file.Statfs;
import io.braid.proto.file.Symlink;
import io.braid.proto.file.Truncate;
import io.braid.proto.file.Unlink;
import io.braid.proto.file.Utimens;
import io.braid.proto.file.Write;

/**
 * The volume as a POSIX file system, in Java terms: each operation goes to the replica set that
 * holds its path ({@link Placement}), and the few that concern every set (directories, readdir,
 * statfs) are spread over all of them. With one replica set every operation is exactly one call.
 * Every operation on a path first waits for that path's background writes.
 */
final class VolumeOps {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeOps.class);
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    /** libfuse renames a file that is unlinked while open to this prefix, in the same directory. */
    private static final String HIDDEN_PREFIX = ".fuse_hidden";

    /** One directory entry and the set whose answer it is. */
    record Listed(String name, Attr attr, int set) {
    }

    /** A readdir answer: errno 0 and the entries, or an errno. */
    record Listing(int errno, List<Listed> entries) {
    }

    private final VolumeClient client;
    private final WriteBehind writes;
    private final AllSets all;
    /** Hidden names of open-but-unlinked files, on the set of the name they had (K > 1 only). */
    private final Map<String, Integer> hidden = new ConcurrentHashMap<>();

    VolumeOps(VolumeClient client) {
        this.client = client;
        this.writes = new WriteBehind(client);
        this.all = new AllSets(client);
    }

    VolumeClient client() {
        return client;
    }

    WriteBehind writes() {
        return writes;
    }

    int sets() {
        return client.sets();
    }

    /** The set that holds the non-directory at path (directories: the set that answers for them). */
    int setOf(String path) {
        int k = client.sets();
        if (k > 1 && !hidden.isEmpty() && Placement.basename(path).startsWith(HIDDEN_PREFIX)) {
            Integer s = hidden.get(path);
            if (s != null) {
                return s;
            }
        }
        return Placement.setOf(path, k);
    }

    /** The inode number shown for an entry: unique across sets when there are several. */
    long ino(Attr attr, int set) {
        int k = client.sets();
        return k <= 1 ? attr.getIno() : attr.getIno() * k + set;
    }

    static boolean isDir(Attr attr) {
        return (attr.getMode() & S_IFMT) == S_IFDIR;
    }

    static boolean nameTooLong(String path) {
        return Placement.basename(path).getBytes(StandardCharsets.UTF_8).length > Errno.NAME_MAX;
    }

    // ---- reads ----

    FileReply getattr(String path) {
        return getattr(path, 0);
    }

    /** path's attributes; a regular file of at most prefetch bytes also comes with its content. */
    FileReply getattr(String path, int prefetch) {
        return getattr(path, prefetch, 0);
    }

    /** getattr, of the open file fh when not 0 (fstat). */
    FileReply getattr(String path, int prefetch, long fh) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setFh(fh).setGetattr(Getattr.newBuilder().setPath(path)
                .setPrefetch(prefetch)));
    }

    FileReply readlink(String path) {
        return call(setOf(path), FileRequest.newBuilder().setReadlink(Readlink.newBuilder().setPath(path)));
    }

    /** A read through the open file fh (0: by path alone). */
    FileReply read(String path, long offset, int size, long fh) {
        return readAsync(path, offset, size, fh).join();
    }

    /** A read of path after its writes in flight; the future always completes normally (see {@link VolumeClient#callAsync}). */
    CompletableFuture<FileReply> readAsync(String path, long offset, int size, long fh) {
        writes.drain(path);
        return client.callAsync(setOf(path), FileRequest.newBuilder().setFh(fh)
                .setRead(Read.newBuilder().setPath(path).setOffset(offset).setSize(size)));
    }

    FileReply open(String path, int flags) {
        return open(path, flags, 0, 0);
    }

    /**
     * Opens path as this mount's open file fh (0: none); a read-only open of a file of at most
     * prefetch bytes also returns its content.
     */
    FileReply open(String path, int flags, int prefetch, long fh) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setFh(fh).setOpen(Open.newBuilder().setPath(path)
                .setFlags(flags).setPrefetch(prefetch)));
    }

    FileReply getxattr(String path, String name) {
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder()
                .setGetxattr(Getxattr.newBuilder().setPath(path).setName(name)));
    }

    FileReply listxattr(String path) {
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setListxattr(Listxattr.newBuilder().setPath(path)));
    }

    /** Every entry of the directory: with several sets, the union by name (a name's own set answers for it). */
    Listing readdir(String path) {
        FileRequest.Builder req = FileRequest.newBuilder().setReaddir(Readdir.newBuilder().setPath(path));
        if (client.sets() > 1) {
            return all.readdir(path, req);
        }
        FileReply r = call(0, req);
        if (r.getErrno() != 0) {
            return new Listing(r.getErrno(), List.of());
        }
        List<Listed> out = new ArrayList<>(r.getEntriesCount());
        for (DirEntry e : r.getEntriesList()) {
            out.add(new Listed(e.getName(), e.getAttr(), 0));
        }
        return new Listing(0, out);
    }

    /** The volume's capacity: one brick per set answers, the sets add up. */
    FileReply statfs() {
        FileRequest.Builder req = FileRequest.newBuilder().setStatfs(Statfs.getDefaultInstance());
        return client.sets() > 1 ? all.statfs(req) : call(0, req);
    }

    // ---- new entries ----

    FileReply create(String path, int mode, boolean exclusive, int uid, int gid) {
        return create(path, mode, exclusive, uid, gid, 0);
    }

    /** Creates path, opened as this mount's open file fh. */
    FileReply create(String path, int mode, boolean exclusive, int uid, int gid, long fh) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        return call(setOf(path), FileRequest.newBuilder().setFh(fh).setCreate(Create.newBuilder().setPath(path).setMode(mode)
                .setExclusive(exclusive).setUid(uid).setGid(gid)));
    }

    FileReply mknod(String path, int mode, long rdev, int uid, int gid) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        return call(setOf(path), FileRequest.newBuilder().setMknod(Mknod.newBuilder().setPath(path).setMode(mode)
                .setRdev(rdev).setUid(uid).setGid(gid)));
    }

    FileReply symlink(String target, String path, int uid, int gid) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        return call(setOf(path), FileRequest.newBuilder().setSymlink(Symlink.newBuilder().setTarget(target)
                .setPath(path).setUid(uid).setGid(gid)));
    }

    /** A directory is made on its hashed set first (whose answer counts), then on every other set. */
    FileReply mkdir(String path, int mode, int uid, int gid) {
        if (nameTooLong(path)) {
            return error(Errno.ENAMETOOLONG);
        }
        FileRequest.Builder req = FileRequest.newBuilder()
                .setMkdir(Mkdir.newBuilder().setPath(path).setMode(mode).setUid(uid).setGid(gid));
        int home = setOf(path);
        FileReply r = call(home, req);
        if (r.getErrno() != 0 || client.sets() == 1) {
            return r;
        }
        all.others(home, "mkdir", path, s -> req.clone(), Errno.EEXIST);
        return r;
    }

    // ---- removal and names ----

    FileReply unlink(String path) {
        writes.drain(path);
        int set = setOf(path);
        FileReply r = call(set, FileRequest.newBuilder().setUnlink(Unlink.newBuilder().setPath(path)));
        if (r.getErrno() == 0 && !hidden.isEmpty()) {
            hidden.remove(path);
        }
        return r;
    }

    /**
     * unlink without waiting for the reply (the caller answers from the transport's thread); null
     * when path has writes in flight or gathered, which {@link #unlink} waits for first.
     */
    CompletableFuture<FileReply> unlinkAsync(String path) {
        if (writes.busy(path)) {
            return null;
        }
        return client.callAsync(setOf(path), FileRequest.newBuilder().setUnlink(Unlink.newBuilder().setPath(path)))
                .thenApply(r -> {
                    if (r.getErrno() == 0 && !hidden.isEmpty()) {
                        hidden.remove(path);
                    }
                    return r;
                });
    }

    /** A directory: on one set, or see {@link AllSets#rmdir}. */
    FileReply rmdir(String path) {
        FileRequest.Builder req = FileRequest.newBuilder().setRmdir(Rmdir.newBuilder().setPath(path));
        return client.sets() > 1 ? all.rmdir(path, setOf(path), req) : call(0, req);
    }

    /**
     * Renames within one set. A non-directory whose new name hashes to another set answers EXDEV
     * (mv then copies); a directory is renamed on every set, the new name's set first.
     */
    FileReply rename(String from, String to) {
        if (nameTooLong(to)) {
            return error(Errno.ENAMETOOLONG);
        }
        writes.drain(from);
        writes.drain(to);
        FileRequest.Builder req = FileRequest.newBuilder().setRename(Rename.newBuilder().setFrom(from).setTo(to));
        int k = client.sets();
        if (k == 1) {
            return call(0, req);
        }
        int fromSet = setOf(from);
        FileReply st = call(fromSet, FileRequest.newBuilder().setGetattr(Getattr.newBuilder().setPath(from)));
        if (st.getErrno() != 0) {
            return st;
        }
        if (isDir(st.getAttr())) {
            int home = Placement.setOf(to, k);
            FileReply r = call(home, req);
            if (r.getErrno() == 0) {
                all.others(home, "rename", from, s -> req.clone(), Errno.ENOENT);
            }
            return r;
        }
        boolean hiding = Placement.basename(to).startsWith(HIDDEN_PREFIX);
        if (!hiding && setOf(to) != fromSet) {
            return error(Errno.EXDEV);
        }
        FileReply r = call(fromSet, req);
        if (r.getErrno() == 0) {
            if (hiding) {
                hidden.put(to, fromSet);
            }
            hidden.remove(from);
        }
        return r;
    }

    FileReply link(String from, String to) {
        if (nameTooLong(to)) {
            return error(Errno.ENAMETOOLONG);
        }
        writes.drain(from);
        int set = setOf(from);
        if (client.sets() > 1 && Placement.setOf(to, client.sets()) != set) {
            return error(Errno.EXDEV);
        }
        return call(set, FileRequest.newBuilder().setLink(Link.newBuilder().setFrom(from).setTo(to)));
    }

    // ---- attributes ----

    FileReply chmod(String path, int mode) {
        FileRequest.Builder req = FileRequest.newBuilder().setChmod(Chmod.newBuilder().setPath(path).setMode(mode));
        return onDirOrFile(path, req, "chmod");
    }

    FileReply chown(String path, long uid, long gid) {
        FileRequest.Builder req = FileRequest.newBuilder().setChown(Chown.newBuilder().setPath(path).setUid(uid).setGid(gid));
        return onDirOrFile(path, req, "chown");
    }

    FileReply utimens(String path, long atimeNs, long mtimeNs) {
        FileRequest.Builder req = FileRequest.newBuilder()
                .setUtimens(Utimens.newBuilder().setPath(path).setAtimeNs(atimeNs).setMtimeNs(mtimeNs));
        return onDirOrFile(path, req, "utimens");
    }

    /**
     * An attribute change of a regular file sent behind its writes (see {@link WriteBehind#change});
     * its error goes to errors.
     *
     * @return 0, or the errno of an earlier failed request of the same open file (this one is then not sent)
     */
    int changeBehind(String path, Setattr change, WriteBehind.ErrorSlot errors) {
        return writes.change(path, setOf(path), change, errors);
    }

    FileReply setxattr(String path, String name, ByteString value, int flags) {
        FileRequest.Builder req = FileRequest.newBuilder().setSetxattr(Setxattr.newBuilder().setPath(path)
                .setName(name).setValue(value).setFlags(flags));
        return onDirOrFileNoAttr(path, req, "setxattr");
    }

    FileReply removexattr(String path, String name) {
        FileRequest.Builder req = FileRequest.newBuilder()
                .setRemovexattr(Removexattr.newBuilder().setPath(path).setName(name));
        return onDirOrFileNoAttr(path, req, "removexattr");
    }

    /** truncate, or ftruncate through the open file fh. */
    FileReply truncate(String path, long size, long fh) {
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setFh(fh).setTruncate(Truncate.newBuilder().setPath(path).setSize(size)));
    }

    FileReply fallocate(String path, int mode, long offset, long length, long fh) {
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setFh(fh).setFallocate(Fallocate.newBuilder().setPath(path)
                .setMode(mode).setOffset(offset).setLength(length)));
    }

    // ---- data ----

    /** A write that waits for its reply (no write-behind). */
    FileReply writeNow(String path, long offset, ByteString data, long fh) {
        writes.drain(path);
        return call(setOf(path), FileRequest.newBuilder().setFh(fh)
                .setWrite(Write.newBuilder().setPath(path).setOffset(offset).setData(data)));
    }

    /** A write sent in the background; see {@link WriteBehind#write}. */
    int writeBehind(String path, long offset, ByteString data, WriteBehind.ErrorSlot errors) {
        return writes.write(path, setOf(path), offset, data, errors);
    }

    /**
     * fsync of path, covering its writes in flight: the fsync leaves at once, naming them, so the
     * primary runs it right after them (one round trip less than waiting for them first); if one
     * had not been applied there (EAGAIN), it is sent again once they are answered. Returns after
     * every write of path was answered too (check the open file's errors then).
     */
    FileReply fsync(String path, boolean datasync, long fh) {
        return fsyncAsync(path, datasync, fh).join();
    }

    /**
     * {@link #fsync} without blocking the caller: the future completes (normally, on the thread
     * that got the last answer) once the fsync was answered and every write of path too.
     */
    CompletableFuture<FileReply> fsyncAsync(String path, boolean datasync, long fh) {
        int set = setOf(path);
        Fsync fsync = Fsync.newBuilder().setPath(path).setDatasync(datasync).build();
        java.util.function.Supplier<CompletableFuture<FileReply>> plain =
                () -> client.callAsync(set, FileRequest.newBuilder().setFh(fh).setFsync(fsync));
        List<Long> after = writes.sendGathered(path);
        if (after.isEmpty()) {
            // a write another thread sent meanwhile goes first
            return writes.drainAsync(path).thenCompose(x -> plain.get());
        }
        CompletableFuture<FileReply> early = client.callAsync(set,
                FileRequest.newBuilder().setFh(fh).setFsync(fsync.toBuilder().addAllAfter(after)));
        return early.thenCombine(writes.drainAsync(path), (r, x) -> r)
                .thenCompose(r -> r.getErrno() != Errno.EAGAIN ? CompletableFuture.completedFuture(r) : plain.get());
    }

    /** A lock request through open file fh (0: none): the server holds locks on the file fh found, whatever its name now. */
    FileReply lock(Lock lock, long fh) {
        writes.drain(lock.getPath());
        return call(setOf(lock.getPath()), FileRequest.newBuilder().setFh(fh).setLock(lock));
    }

    // ---- helpers ----

    private FileReply call(int set, FileRequest.Builder req) {
        return client.call(set, req);
    }

    /** An attribute change: on the path's set; on a directory (seen in the reply's attributes) on every set. */
    private FileReply onDirOrFile(String path, FileRequest.Builder req, String what) {
        writes.drain(path);
        int home = setOf(path);
        FileReply r = call(home, req.clone());
        if (r.getErrno() == 0 && client.sets() > 1 && r.hasAttr() && isDir(r.getAttr())) {
            all.others(home, what, path, s -> req.clone(), 0);
        }
        return r;
    }

    /** Like {@link #onDirOrFile} for changes whose reply has no attributes: asks first whether path is a directory. */
    private FileReply onDirOrFileNoAttr(String path, FileRequest.Builder req, String what) {
        writes.drain(path);
        int home = setOf(path);
        if (client.sets() == 1) {
            return call(home, req);
        }
        FileReply st = call(home, FileRequest.newBuilder().setGetattr(Getattr.newBuilder().setPath(path)));
        if (st.getErrno() != 0) {
            return st;
        }
        FileReply r = call(home, req.clone());
        if (r.getErrno() == 0 && isDir(st.getAttr())) {
            all.others(home, what, path, s -> req.clone(), 0);
        }
        return r;
    }

    static FileReply error(int errno) {
        return FileReply.newBuilder().setErrno(errno).build();
    }
}
