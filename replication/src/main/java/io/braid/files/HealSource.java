package io.braid.files;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.filerep.HealItem;
import java.util.List;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * The heal items that make a path on another brick look like it does on this one: the entry
 * (kind, attributes, xattrs, the names in a directory), data chunks of the dirty ranges, then the
 * size and times. The primary sends them down a replication stream (FileLink); a peer sends them
 * back when the primary pulls a path from it (FileReplica.fetch).
 */
final class HealSource {
    private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();
    static final int CHUNK = 1 << 20;

    private HealSource() {}

    /** Where the items of one path go; the consumer may wait (a window of acknowledgements). */
    interface Sink {
        void accept(HealItem item) throws Exception;
    }

    /** An item that says what kind path is and its attributes, or that it is absent. */
    static HealItem describe(FileStore store, String p) {
        Attr a = FileOps.attrOrNull(store, p);
        if (a == null) return HealItem.newBuilder().setPath(p).setKind(HealItem.Kind.ABSENT).build();
        return HealItem.newBuilder().setPath(p).setKind(HealApplier.kindOf(a.getMode())).setAttr(a).build();
    }

    /**
     * Every item for the parts of p named by flags (DirtyIndex ENTRY, DATA with ranges or null for
     * the whole file, META). withData false leaves file content out (an arbiter target).
     */
    static void items(FileStore store, String p, int flags, List<long[]> ranges, boolean withData, Sink out)
            throws Exception {
        Attr a = FileOps.attrOrNull(store, p);
        if (a == null) {
            out.accept(HealItem.newBuilder().setPath(p).setKind(HealItem.Kind.ABSENT).build());
            return;
        }
        HealItem.Kind kind = HealApplier.kindOf(a.getMode());
        boolean entry = (flags & DirtyIndex.ENTRY) != 0;
        boolean meta = entry || (flags & DirtyIndex.META) != 0;
        if (entry) out.accept(entry(store, p, a, kind));
        boolean data = kind == HealItem.Kind.FILE && withData && (entry || (flags & DirtyIndex.DATA) != 0);
        if (data) {
            List<long[]> rs = entry || ranges == null ? List.of(new long[] {0, a.getSize()}) : ranges;
            for (long[] r : rs) {
                long end = Math.min(r[1], a.getSize());
                for (long off = r[0]; off < end; off += CHUNK) {
                    HealItem chunk = chunk(store, p, off, (int) Math.min(CHUNK, end - off));
                    if (chunk == null) break; // shorter now: a later heal of this path follows
                    out.accept(chunk);
                }
            }
        }
        if (data || (!entry && meta)) out.accept(tail(store, p, a, kind, meta));
    }

    /** The whole entry: recreate it with its metadata; a directory with the names it holds. */
    static HealItem entry(FileStore store, String p, Attr a, HealItem.Kind kind) throws FsError {
        HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(kind).setAttr(a).setRecreate(true).setMeta(true);
        fill(h, store, p, kind);
        if (kind == HealItem.Kind.FILE && a.getNlink() > 1) h.addAllLinks(otherNames(store, p, a));
        if (kind == HealItem.Kind.DIR) {
            h.setListComplete(true);
            for (DirEntry e : store.readdir(p)) h.addNames(e.getName());
        }
        return h.build();
    }

    /**
     * The other names of p's inode on this brick (a hard-linked file), so the healed brick links
     * them again rather than holding copies that would drift apart: p's own directory first, then
     * the whole brick, until every link is found. Bricks keep no map from inode to names, so a
     * name not in p's directory costs a walk of the tree; hard links are rare in a volume's data.
     */
    static List<String> otherNames(FileStore store, String p, Attr a) throws FsError {
        int want = a.getNlink() - 1;
        List<String> found = new java.util.ArrayList<>();
        int slash = p.lastIndexOf('/');
        String dir = slash < 0 ? "" : p.substring(0, slash);
        scan(store, dir, p, a.getIno(), want, found, false);
        if (found.size() < want) scan(store, "", p, a.getIno(), want, found, true);
        return found;
    }

    private static void scan(FileStore store, String dir, String p, long ino, int want, List<String> found,
                             boolean recurse) throws FsError {
        java.util.ArrayDeque<String> dirs = new java.util.ArrayDeque<>();
        dirs.add(dir);
        while (!dirs.isEmpty() && found.size() < want) {
            String d = dirs.poll();
            List<DirEntry> entries;
            try {
                entries = store.readdir(d);
            } catch (FsError e) {
                continue; // removed meanwhile
            }
            for (DirEntry e : entries) {
                String child = d.isEmpty() ? e.getName() : d + "/" + e.getName();
                HealItem.Kind k = HealApplier.kindOf(e.getAttr().getMode());
                if (k == HealItem.Kind.DIR) {
                    if (recurse) dirs.add(child);
                } else if (k == HealItem.Kind.FILE && e.getAttr().getIno() == ino && !child.equals(p)
                        && !found.contains(child)) {
                    found.add(child);
                    if (found.size() == want) return;
                }
            }
        }
    }

    /** After data: the size and times, and with meta the owner, mode and xattrs. */
    static HealItem tail(FileStore store, String p, Attr a, HealItem.Kind kind, boolean meta) throws FsError {
        HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(kind).setAttr(a)
                .setSetSize(kind == HealItem.Kind.FILE).setMeta(meta);
        if (meta) fill(h, store, p, kind);
        return h.build();
    }

    static void fill(HealItem.Builder h, FileStore store, String p, HealItem.Kind kind) throws FsError {
        if (kind == HealItem.Kind.SYMLINK) {
            h.setTarget(store.readlink(p));
            return;
        }
        for (String n : store.listxattr(p)) h.putXattrs(n, ByteString.copyFrom(store.getxattr(p, n)));
    }

    /** One data chunk, LZ4-compressed, or marked zero; null when the file ends before off. */
    static HealItem chunk(FileStore store, String p, long off, int len) throws FsError {
        ByteString data = store.read(p, off, len);
        if (data.isEmpty()) return null;
        int n = data.size();
        HealItem.Builder h = HealItem.newBuilder().setPath(p).setKind(HealItem.Kind.FILE).setOffset(off).setRawLength(n);
        byte[] raw = data.toByteArray();
        boolean zero = true;
        for (byte b : raw) {
            if (b != 0) {
                zero = false;
                break;
            }
        }
        if (zero) return h.setZero(true).build();
        byte[] out = new byte[LZ4.maxCompressedLength(n)];
        int c = LZ4.compress(raw, 0, n, out, 0, out.length);
        if (c < n) h.setData(ByteString.copyFrom(out, 0, c));
        else h.setData(data);
        return h.build();
    }
}
