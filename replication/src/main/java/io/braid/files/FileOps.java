package io.braid.files;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.filerep.DirtyEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies one file operation to a brick's {@link FileStore}: the same code on the primary (which
 * answers the client) and on every secondary (which replays the primary's stream). For a mutation
 * it also says what changed, for the dirty index of peers that miss it, and which paths' times
 * the secondaries must copy.
 */
final class FileOps {
    private FileOps() {}

    /** The outcome of a mutation: the reply, the changed parts, and the paths whose times moved. */
    record Applied(FileReply reply, List<DirtyEntry> changes, List<String> timePaths) {
        boolean ok() {
            return reply.getErrno() == 0;
        }

        /**
         * The attributes of path (one of {@link #timePaths}) as the operation left them, when the
         * reply already holds them (the new name's, or the directory's): no second stat needed.
         */
        Attr known(FileRequest r, String path) {
            String p = normalize(path);
            if (reply.hasAttr() && makesName(r) && p.equals(normalize(pathOf(r)))) return reply.getAttr();
            if (reply.hasParent() && p.equals(changedDir(r))) return reply.getParent();
            return null;
        }
    }

    /** Whether r makes a new name whose attributes are the reply's (create, mknod, mkdir, symlink). */
    private static boolean makesName(FileRequest r) {
        return switch (r.getOpCase()) {
            case CREATE, MKNOD, MKDIR, SYMLINK -> true;
            default -> false;
        };
    }

    /** The directory whose entries r changes (normalized), or null. */
    private static String changedDir(FileRequest r) {
        return switch (r.getOpCase()) {
            case CREATE, MKNOD, MKDIR, UNLINK, RMDIR, SYMLINK -> parentOf(normalize(pathOf(r)));
            case RENAME -> parentOf(normalize(r.getRename().getTo()));
            case LINK -> parentOf(normalize(r.getLink().getTo()));
            default -> null;
        };
    }

    static boolean isMutation(FileRequest r) {
        return switch (r.getOpCase()) {
            case CREATE, MKNOD, MKDIR, UNLINK, RMDIR, SYMLINK, RENAME, LINK, CHMOD, CHOWN, TRUNCATE, UTIMENS, WRITE,
                    FALLOCATE, SETXATTR, REMOVEXATTR, FSYNC, SETATTR -> true;
            default -> false;
        };
    }

    /** The path a request is about (the source of a rename or link). */
    static String pathOf(FileRequest r) {
        return switch (r.getOpCase()) {
            case GETATTR -> r.getGetattr().getPath();
            case READDIR -> r.getReaddir().getPath();
            case READLINK -> r.getReadlink().getPath();
            case READ -> r.getRead().getPath();
            case GETXATTR -> r.getGetxattr().getPath();
            case LISTXATTR -> r.getListxattr().getPath();
            case OPEN -> r.getOpen().getPath();
            case CREATE -> r.getCreate().getPath();
            case MKNOD -> r.getMknod().getPath();
            case MKDIR -> r.getMkdir().getPath();
            case UNLINK -> r.getUnlink().getPath();
            case RMDIR -> r.getRmdir().getPath();
            case SYMLINK -> r.getSymlink().getPath();
            case RENAME -> r.getRename().getFrom();
            case LINK -> r.getLink().getFrom();
            case CHMOD -> r.getChmod().getPath();
            case CHOWN -> r.getChown().getPath();
            case TRUNCATE -> r.getTruncate().getPath();
            case UTIMENS -> r.getUtimens().getPath();
            case SETATTR -> r.getSetattr().getPath();
            case WRITE -> r.getWrite().getPath();
            case FALLOCATE -> r.getFallocate().getPath();
            case SETXATTR -> r.getSetxattr().getPath();
            case REMOVEXATTR -> r.getRemovexattr().getPath();
            case FSYNC -> r.getFsync().getPath();
            case LOCK -> r.getLock().getPath();
            default -> "";
        };
    }

    /** A read-only operation. */
    static FileReply read(FileStore s, FileRequest r) {
        try {
            FileReply.Builder b = FileReply.newBuilder();
            switch (r.getOpCase()) {
                case GETATTR -> {
                    Attr a = s.getattr(r.getGetattr().getPath());
                    b.setAttr(a);
                    if (small(a, r.getGetattr().getPrefetch())) {
                        b.setData(s.read(r.getGetattr().getPath(), 0, (int) a.getSize()));
                    }
                }
                case READDIR -> b.addAllEntries(s.readdir(r.getReaddir().getPath()));
                case READLINK -> b.setData(ByteString.copyFromUtf8(s.readlink(r.getReadlink().getPath())));
                case READ -> b.setData(s.read(r.getRead().getPath(), r.getRead().getOffset(),
                        Math.max(0, Math.min(r.getRead().getSize(), 4 << 20))));
                case STATFS -> b.setStatfs(s.statfs());
                case GETXATTR -> b.setData(ByteString.copyFrom(
                        s.getxattr(r.getGetxattr().getPath(), r.getGetxattr().getName())));
                case LISTXATTR -> b.addAllNames(s.listxattr(r.getListxattr().getPath()));
                case OPEN -> {
                    var o = r.getOpen();
                    Attr a = s.open(o.getPath(), o.getFlags());
                    b.setAttr(a);
                    if ((o.getFlags() & 3) == 0 && small(a, o.getPrefetch())) {
                        b.setData(s.read(o.getPath(), 0, (int) a.getSize()));
                    }
                }
                default -> {
                    return error(Errno.EINVAL, "not a read: " + r.getOpCase());
                }
            }
            return b.build();
        } catch (FsError e) {
            return error(e.errno(), e.getMessage());
        }
    }

    /** A non-empty regular file of at most prefetch bytes (and at most 1 MiB): its content may come along. */
    private static boolean small(Attr a, int prefetch) {
        long size = a.getSize();
        return (a.getMode() & 0170000) == 0100000 && size > 0 && size <= Math.min(prefetch, 1 << 20);
    }

    /** Runs an fsync resolved earlier ({@link FileStore#openForSync}): its reply. */
    static FileReply sync(FileStore.Sync sync) {
        try {
            sync.run();
            return FileReply.getDefaultInstance();
        } catch (FsError e) {
            return error(e.errno(), e.getMessage());
        } catch (RuntimeException e) {
            return error(Errno.EIO, String.valueOf(e.getMessage()));
        }
    }

    static FileReply error(int errno, String message) {
        return FileReply.newBuilder().setErrno(errno).setMessage(message == null ? "" : message).build();
    }

    /**
     * Applies a mutation. On an arbiter, data (write, truncate, fallocate) is not stored: it keeps
     * names and metadata only.
     *
     * @param answers whether the reply goes to a client (on the primary): then it carries the
     *     changed directory's new attributes; a secondary's reply is only its errno, and a
     *     secondary writes large writes past the page cache ({@link FileStore#writeDirect}): it
     *     waits for its disk before acknowledging, where the primary, which has the client's next
     *     requests to read and its secondaries' streams to fill, must not
     */
    static Applied apply(FileStore s, FileRequest r, boolean arbiter, boolean answers) {
        List<DirtyEntry> changes = new ArrayList<>(2);
        List<String> times = new ArrayList<>(2);
        FileReply.Builder b = FileReply.newBuilder();
        try {
            switch (r.getOpCase()) {
                case CREATE -> {
                    var c = r.getCreate();
                    // open(O_CREAT) of a file that exists changes nothing: no entry for the dirty
                    // index (a later write marks the data), so a rewrite is a data change, as in GlusterFS
                    boolean existed = !c.getExclusive() && attrOrNull(s, c.getPath()) != null;
                    b.setAttr(s.create(c.getPath(), c.getMode(), c.getExclusive(), c.getUid(), c.getGid()));
                    if (!existed) entry(changes, times, c.getPath());
                }
                case MKNOD -> {
                    var c = r.getMknod();
                    b.setAttr(s.mknod(c.getPath(), c.getMode(), c.getRdev(), c.getUid(), c.getGid()));
                    entry(changes, times, c.getPath());
                }
                case MKDIR -> {
                    var c = r.getMkdir();
                    b.setAttr(s.mkdir(c.getPath(), c.getMode(), c.getUid(), c.getGid()));
                    entry(changes, times, c.getPath());
                }
                case UNLINK -> {
                    s.unlink(r.getUnlink().getPath());
                    removed(changes, times, r.getUnlink().getPath());
                }
                case RMDIR -> {
                    s.rmdir(r.getRmdir().getPath());
                    removed(changes, times, r.getRmdir().getPath());
                }
                case SYMLINK -> {
                    var c = r.getSymlink();
                    b.setAttr(s.symlink(c.getTarget(), c.getPath(), c.getUid(), c.getGid()));
                    entry(changes, times, c.getPath());
                }
                case RENAME -> {
                    var c = r.getRename();
                    s.rename(c.getFrom(), c.getTo(), c.getFlags());
                    removed(changes, times, c.getFrom());
                    changes.add(change(c.getTo(), DirtyIndex.ENTRY));
                    String parent = parentOf(c.getTo());
                    if (!times.contains(parent)) times.add(parent);
                }
                case LINK -> {
                    var c = r.getLink();
                    b.setAttr(s.link(c.getFrom(), c.getTo()));
                    changes.add(change(c.getTo(), DirtyIndex.ENTRY));
                    changes.add(change(c.getFrom(), DirtyIndex.META));
                    times.add(parentOf(c.getTo()));
                }
                case CHMOD -> {
                    b.setAttr(s.chmod(r.getChmod().getPath(), r.getChmod().getMode()));
                    changes.add(change(r.getChmod().getPath(), DirtyIndex.META));
                }
                case CHOWN -> {
                    var c = r.getChown();
                    b.setAttr(s.chown(c.getPath(), c.getUid(), c.getGid()));
                    changes.add(change(c.getPath(), DirtyIndex.META));
                }
                case TRUNCATE -> {
                    var c = r.getTruncate();
                    if (arbiter) {
                        b.setAttr(s.getattr(c.getPath()));
                    } else {
                        b.setAttr(s.truncate(c.getPath(), c.getSize()));
                    }
                    changes.add(data(c.getPath(), c.getSize(), Long.MAX_VALUE));
                    times.add(c.getPath());
                }
                case UTIMENS -> {
                    var c = r.getUtimens();
                    b.setAttr(s.utimens(c.getPath(), c.getAtimeNs(), c.getMtimeNs()));
                    changes.add(change(c.getPath(), DirtyIndex.META));
                }
                case SETATTR -> {
                    var c = r.getSetattr();
                    b.setAttr(s.setattr(c));
                    changes.add(change(c.getPath(), DirtyIndex.META));
                }
                case WRITE -> {
                    var c = r.getWrite();
                    int n = arbiter ? c.getData().size()
                            : answers ? s.write(c.getPath(), c.getOffset(), c.getData())
                            : s.writeDirect(c.getPath(), c.getOffset(), c.getData());
                    b.setWritten(n);
                    changes.add(data(c.getPath(), c.getOffset(), c.getOffset() + n));
                    times.add(c.getPath());
                }
                case FALLOCATE -> {
                    var c = r.getFallocate();
                    if (arbiter) {
                        b.setAttr(s.getattr(c.getPath()));
                    } else {
                        b.setAttr(s.fallocate(c.getPath(), c.getMode(), c.getOffset(), c.getLength()));
                    }
                    changes.add(data(c.getPath(), c.getOffset(), c.getOffset() + c.getLength()));
                    times.add(c.getPath());
                }
                case SETXATTR -> {
                    var c = r.getSetxattr();
                    s.setxattr(c.getPath(), c.getName(), c.getValue().toByteArray(), c.getFlags());
                    changes.add(change(c.getPath(), DirtyIndex.META));
                }
                case REMOVEXATTR -> {
                    var c = r.getRemovexattr();
                    s.removexattr(c.getPath(), c.getName());
                    changes.add(change(c.getPath(), DirtyIndex.META));
                }
                case FSYNC -> {
                    if (!arbiter) s.fsync(r.getFsync().getPath(), r.getFsync().getDatasync());
                }
                default -> {
                    return new Applied(error(Errno.EINVAL, "not a mutation: " + r.getOpCase()), List.of(), List.of());
                }
            }
        } catch (FsError e) {
            return new Applied(error(e.errno(), e.getMessage()), List.of(), List.of());
        }
        // The directory's new attributes: the mount answers the kernel's next getattr of it
        // (its attributes were dropped by the change) without asking again.
        String dir = answers ? changedDir(r) : null;
        if (dir != null) {
            Attr parent = attrOrNull(s, dir);
            if (parent != null) b.setParent(parent);
        }
        return new Applied(b.build(), changes, times);
    }

    private static void entry(List<DirtyEntry> changes, List<String> times, String path) {
        changes.add(change(path, DirtyIndex.ENTRY));
        times.add(path);
        times.add(parentOf(path));
    }

    private static void removed(List<DirtyEntry> changes, List<String> times, String path) {
        changes.add(change(path, DirtyIndex.ENTRY));
        times.add(parentOf(path));
    }

    static DirtyEntry change(String path, int flags) {
        return DirtyEntry.newBuilder().setPath(normalize(path)).setFlags(flags).build();
    }

    static DirtyEntry data(String path, long start, long end) {
        return DirtyEntry.newBuilder().setPath(normalize(path)).setFlags(DirtyIndex.DATA).addRanges(start).addRanges(end)
                .build();
    }

    /** The path without leading or trailing '/': "" is the root. */
    static String normalize(String path) {
        int a = 0;
        int z = path.length();
        while (a < z && path.charAt(a) == '/') a++;
        while (z > a && path.charAt(z - 1) == '/') z--;
        return path.substring(a, z);
    }

    static String parentOf(String path) {
        String p = normalize(path);
        int slash = p.lastIndexOf('/');
        return slash < 0 ? "" : p.substring(0, slash);
    }

    static Attr attrOrNull(FileStore s, String path) {
        try {
            return s.getattr(path);
        } catch (FsError e) {
            return null;
        }
    }
}
