package io.braid.files;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.HealItem;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;

/**
 * Applies heal items on the brick being healed: each makes one path look like it does on the
 * source brick (kind, content range, size, owner, mode, xattrs, times, or the list of names in a
 * directory).
 */
final class HealApplier {
    private static final LZ4FastDecompressor UNLZ4 = LZ4Factory.fastestInstance().fastDecompressor();
    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;

    private final FileStore store;
    private final boolean arbiter;

    HealApplier(FileStore store, boolean arbiter) {
        this.store = store;
        this.arbiter = arbiter;
    }

    static HealItem.Kind kindOf(int mode) {
        return switch (mode & S_IFMT) {
            case S_IFDIR -> HealItem.Kind.DIR;
            case S_IFREG -> HealItem.Kind.FILE;
            case S_IFLNK -> HealItem.Kind.SYMLINK;
            default -> HealItem.Kind.SPECIAL;
        };
    }

    void apply(HealItem h, FileAck.Builder ack) throws FsError {
        String path = h.getPath();
        Attr here = FileOps.attrOrNull(store, path);
        // Absent, or about to be replaced: an fd cached for the name may be of an inode that was
        // removed behind the store's back (a brick repaired by hand, then a full heal).
        if (here == null || h.getRecreate() || h.getVerify()) store.invalidate(path);
        if (h.getKind() == HealItem.Kind.ABSENT) {
            if (here != null) removeTree(path, here);
            return;
        }
        Attr a = h.getAttr();
        if (h.getVerify()) {
            // A full heal's check: an arbiter keeps no data, so only its times can tell.
            boolean same = here != null && kindOf(here.getMode()) == h.getKind()
                    && (arbiter || here.getSize() == a.getSize()) && here.getMtimeNs() == a.getMtimeNs();
            if (!same) ack.setNeedsFull(true);
            return;
        }
        String anchor = h.getRecreate() && h.getKind() == HealItem.Kind.FILE ? linkAnchor(path, h.getLinksList()) : null;
        if (anchor != null) {
            // Another name of the same file on the source is here already: link to it (or keep
            // path if it is that file already); the whole content follows in this heal.
            if (here == null || here.getIno() != store.getattr(anchor).getIno()) {
                if (here != null) removeTree(path, here);
                store.link(anchor, path);
            }
        } else if (h.getRecreate()) {
            boolean keep = here != null && h.getKind() == HealItem.Kind.DIR && kindOf(here.getMode()) == HealItem.Kind.DIR;
            if (here != null && !keep) {
                removeTree(path, here);
                here = null;
            }
            if (here == null) {
                int perm = a.getMode() & 07777;
                switch (h.getKind()) {
                    case DIR -> store.mkdir(path, perm, a.getUid(), a.getGid());
                    case FILE -> store.create(path, perm, true, a.getUid(), a.getGid());
                    case SYMLINK -> store.symlink(h.getTarget(), path, a.getUid(), a.getGid());
                    default -> store.mknod(path, a.getMode(), a.getRdev(), a.getUid(), a.getGid());
                }
            }
        } else if (here == null || kindOf(here.getMode()) != h.getKind()) {
            ack.setNeedsFull(true);
            return;
        }
        if (h.getRawLength() > 0 || h.getZero()) {
            if (!arbiter) writeChunk(path, h);
        }
        if (h.getSetSize() && !arbiter && h.getKind() == HealItem.Kind.FILE) store.truncate(path, a.getSize());
        if (h.getListComplete()) {
            Set<String> want = new HashSet<>(h.getNamesList());
            Set<String> have = new HashSet<>();
            for (DirEntry e : store.readdir(path)) {
                String child = path.isEmpty() ? e.getName() : path + "/" + e.getName();
                if (!want.contains(e.getName())) {
                    removeTree(child, e.getAttr());
                } else {
                    have.add(e.getName());
                }
            }
            for (String n : h.getNamesList()) if (!have.contains(n)) ack.addMissing(n);
        }
        if (h.getMeta()) {
            if (h.getKind() != HealItem.Kind.SYMLINK) store.chmod(path, a.getMode() & 07777);
            store.chown(path, a.getUid(), a.getGid());
            syncXattrs(path, h.getXattrsMap());
        }
        if (h.getMeta() || h.getSetSize()) store.utimens(path, a.getAtimeNs(), a.getMtimeNs());
    }

    /**
     * A name among links (the other names of path's inode on the source) that is a regular file
     * here whose every link is path or one of those names, so path can become one of its links
     * without tying in a file the source keeps apart; null if there is none.
     */
    String linkAnchor(String path, List<String> links) throws FsError {
        if (links.isEmpty()) return null;
        List<String> group = new java.util.ArrayList<>(links);
        group.add(path);
        for (String c : links) {
            Attr x = FileOps.attrOrNull(store, c);
            if (x == null || kindOf(x.getMode()) != HealItem.Kind.FILE) continue;
            int names = 0;
            for (String n : group) {
                Attr y = n.equals(c) ? x : FileOps.attrOrNull(store, n);
                if (y != null && y.getIno() == x.getIno()) names++;
            }
            if (names == x.getNlink()) return c;
        }
        return null;
    }

    private void writeChunk(String path, HealItem h) throws FsError {
        byte[] raw;
        if (h.getZero()) {
            raw = new byte[h.getRawLength()];
        } else if (h.getRawLength() != h.getData().size()) {
            raw = new byte[h.getRawLength()];
            UNLZ4.decompress(h.getData().toByteArray(), 0, raw, 0, h.getRawLength());
        } else {
            raw = h.getData().toByteArray();
        }
        store.write(path, h.getOffset(), ByteBuffer.wrap(raw));
    }

    private void syncXattrs(String path, Map<String, ByteString> want) throws FsError {
        if (kindOf(store.getattr(path).getMode()) == HealItem.Kind.SYMLINK) return;
        List<String> have = store.listxattr(path);
        for (String n : have) if (!want.containsKey(n)) store.removexattr(path, n);
        for (Map.Entry<String, ByteString> e : want.entrySet()) {
            store.setxattr(path, e.getKey(), e.getValue().toByteArray(), 0);
        }
    }

    /** Removes path and, for a directory, everything under it. */
    void removeTree(String path, Attr attr) throws FsError {
        if (kindOf(attr.getMode()) == HealItem.Kind.DIR) {
            for (DirEntry e : store.readdir(path)) removeTree(path.isEmpty() ? e.getName() : path + "/" + e.getName(), e.getAttr());
            store.rmdir(path);
        } else {
            store.unlink(path);
        }
    }
}
