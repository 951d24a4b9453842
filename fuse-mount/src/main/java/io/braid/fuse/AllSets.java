package io.braid.fuse;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.braid.proto.file.Attr;
import io.braid.proto.file.DirEntry;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Getattr;
import io.braid.proto.file.Mkdir;
import io.braid.proto.file.StatfsReply;

/**
 * The operations of a volume with several replica sets that concern every set: a directory
 * exists on each, so listing it, removing it, and changing it reach them all; the capacity adds
 * up. Calls to the sets go out at once.
 */
final class AllSets {
    private static final Logger LOG = LoggerFactory.getLogger(AllSets.class);

    private final VolumeClient client;

    AllSets(VolumeClient client) {
        this.client = client;
    }

    /** The union by name of the directory's entries on every set; a name's own set answers for it. */
    VolumeOps.Listing readdir(String path, FileRequest.Builder req) {
        int k = client.sets();
        int home = Placement.setOf(path, k);
        List<FileReply> replies = onAll(k, s -> req.clone());
        if (replies.get(home).getErrno() != 0) {
            return new VolumeOps.Listing(replies.get(home).getErrno(), List.of());
        }
        Map<String, VolumeOps.Listed> byName = new LinkedHashMap<>();
        for (int s = 0; s < k; s++) {
            FileReply r = replies.get(s);
            if (r.getErrno() != 0) {
                LOG.warn("{}: readdir {} on set {}: errno {} ({})", client.volume(), path, s, r.getErrno(), r.getMessage());
                continue;
            }
            for (DirEntry e : r.getEntriesList()) {
                VolumeOps.Listed l = new VolumeOps.Listed(e.getName(), e.getAttr(), s);
                VolumeOps.Listed had = byName.putIfAbsent(e.getName(), l);
                if (had != null && Placement.setOf(e.getName(), k) == s) {
                    byName.put(e.getName(), l);
                }
            }
        }
        return new VolumeOps.Listing(0, new ArrayList<>(byName.values()));
    }

    /** The sum of every set's capacity, in the first set's block size. */
    FileReply statfs(FileRequest.Builder req) {
        List<FileReply> replies = onAll(client.sets(), s -> req.clone());
        StatfsReply first = null;
        double blocks = 0;
        double free = 0;
        double avail = 0;
        long files = 0;
        long filesFree = 0;
        long nameMax = Long.MAX_VALUE;
        for (FileReply r : replies) {
            if (r.getErrno() != 0) {
                return r;
            }
            StatfsReply s = r.getStatfs();
            if (first == null) {
                first = s;
            }
            double scale = (double) Math.max(1, s.getBlockSize()) / Math.max(1, first.getBlockSize());
            blocks += s.getBlocks() * scale;
            free += s.getBlocksFree() * scale;
            avail += s.getBlocksAvailable() * scale;
            files += s.getFiles();
            filesFree += s.getFilesFree();
            nameMax = Math.min(nameMax, s.getNameMax() == 0 ? Errno.NAME_MAX : s.getNameMax());
        }
        return FileReply.newBuilder().setStatfs(StatfsReply.newBuilder().setBlockSize(first.getBlockSize())
                .setBlocks((long) blocks).setBlocksFree((long) free).setBlocksAvailable((long) avail)
                .setFiles(files).setFilesFree(filesFree).setNameMax(nameMax)).build();
    }

    /**
     * Removes a directory from the other sets first, its own set (home) last. If a set refuses
     * (not empty there), the directory is made again where it was already removed, with the mode
     * and owner it had.
     */
    FileReply rmdir(String path, int home, FileRequest.Builder req) {
        int k = client.sets();
        FileReply attr = client.call(home, FileRequest.newBuilder().setGetattr(Getattr.newBuilder().setPath(path)));
        if (attr.getErrno() != 0) {
            return attr;
        }
        List<Integer> others = new ArrayList<>();
        List<CompletableFuture<FileReply>> futures = new ArrayList<>();
        for (int s = 0; s < k; s++) {
            if (s != home) {
                others.add(s);
                futures.add(client.callAsync(s, req.clone()));
            }
        }
        List<Integer> removed = new ArrayList<>();
        FileReply refused = null;
        for (int i = 0; i < others.size(); i++) {
            FileReply r = futures.get(i).join();
            if (r.getErrno() == 0 || r.getErrno() == Errno.ENOENT) {
                removed.add(others.get(i));
            } else if (refused == null) {
                refused = r;
            }
        }
        if (refused == null) {
            refused = client.call(home, req.clone());
            if (refused.getErrno() == 0) {
                return refused;
            }
        }
        Attr a = attr.getAttr();
        for (int s : removed) {
            FileReply back = client.call(s, FileRequest.newBuilder().setMkdir(Mkdir.newBuilder().setPath(path)
                    .setMode(a.getMode() & 07777).setUid(a.getUid()).setGid(a.getGid())));
            if (back.getErrno() != 0 && back.getErrno() != Errno.EEXIST) {
                LOG.warn("{}: rmdir {} failed on one set and could not be undone on set {}: errno {}",
                        client.volume(), path, s, back.getErrno());
            }
        }
        return refused;
    }

    /** Sends to every set but home at once and waits; failures other than the expected errno are logged. */
    void others(int home, String what, String path, IntFunction<FileRequest.Builder> req, int expected) {
        int k = client.sets();
        List<CompletableFuture<FileReply>> futures = new ArrayList<>();
        List<Integer> sets = new ArrayList<>();
        for (int s = 0; s < k; s++) {
            if (s != home) {
                sets.add(s);
                futures.add(client.callAsync(s, req.apply(s)));
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            FileReply r = futures.get(i).join();
            if (r.getErrno() != 0 && r.getErrno() != expected) {
                LOG.warn("{}: {} {} on set {}: errno {} ({})", client.volume(), what, path, sets.get(i),
                        r.getErrno(), r.getMessage());
            }
        }
    }

    /** Sends to every set at once; the replies in set order. */
    private List<FileReply> onAll(int k, IntFunction<FileRequest.Builder> req) {
        List<CompletableFuture<FileReply>> futures = new ArrayList<>(k);
        for (int s = 0; s < k; s++) {
            futures.add(client.callAsync(s, req.apply(s)));
        }
        List<FileReply> out = new ArrayList<>(k);
        for (CompletableFuture<FileReply> f : futures) {
            out.add(f.join());
        }
        return out;
    }
}
