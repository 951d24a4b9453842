package io.braid.files;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.Lock;
import io.braid.proto.filerep.HeldLock;
import io.braid.proto.filerep.LockSync;
import io.braid.proto.filerep.LockedFile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Advisory locks held by the primary of a replica set, so that they exclude each other across
 * every client: fcntl byte-range locks (POSIX semantics: per owner, split and merged by range,
 * read locks shared) and flock locks (whole file, a separate kind, as on Linux). An owner is a
 * client id with FUSE's lock owner. Locks are held on a key naming the file
 * ({@link OpenFiles#lockKey}: its inode here, so that they stay with it through renames and are
 * shared by all its names, as on a local file system).
 *
 * <p>Every brick of the set keeps a table: the primary sends what changed ({@link #drain}, a
 * {@code LockSync} in the replication stream, under the set's order) and answers a request that
 * changed the table, or a waiter it granted, once the live secondaries have it; they apply it
 * ({@link #apply}) under their own key for the file. So a secondary promoted after the primary's
 * server died holds the locks that clients hold, as GlusterFS's locks on every brick of a replica
 * do. A lock goes when its owner unlocks it, when its client's session ends, or when its client
 * has no session with the new primary's server a while after a failover.
 */
public final class LockTable {
    private record Held(String client, long owner, int pid, boolean write, long start, long end, boolean flock) {
        boolean overlaps(long s, long e) {
            return start < e && s < end;
        }
    }

    private record Waiter(String client, Lock req, CompletableFuture<FileReply> reply) {}

    /** Keys: a file by its inode on this brick, or (naming nothing here) by its name. */
    static final String INO_KEY = "ino:";
    static final String PATH_KEY = "path:";

    private final Map<String, List<Held>> held = new HashMap<>();
    private final Map<String, List<Waiter>> waiting = new HashMap<>();
    /**
     * The name each key's file had at the last request that holds or waits on it (what a secondary
     * finds it by when no open handle names it better); forgotten once the key is idle and sent.
     */
    private final Map<String, String> names = new HashMap<>();
    /** Keys whose locks changed since the last {@link #drain}, and the waiters granted meanwhile. */
    private final Set<String> changed = new LinkedHashSet<>();
    private final List<CompletableFuture<FileReply>> granted = new ArrayList<>();

    /**
     * What changed since the last drain: the files (by key, and by the name to send) with their
     * locks now, and the waiters to answer once that is replicated.
     */
    public record Changes(List<String> keys, List<String> paths, List<List<HeldLock>> held,
                          List<CompletableFuture<FileReply>> granted) {
        public boolean isEmpty() {
            return keys.isEmpty() && granted.isEmpty();
        }
    }

    /** The key of the file path names in store now. */
    static String keyOf(FileStore store, String path) {
        try {
            return INO_KEY + store.getattr(path).getIno();
        } catch (FsError e) {
            return PATH_KEY + FileOps.normalize(path);
        }
    }

    private static long endOf(Lock l) {
        return l.getLength() <= 0 ? Long.MAX_VALUE : l.getStart() + l.getLength();
    }

    /** Handles one lock request on the file named by key; SETLKW completes when the lock is granted. */
    public synchronized CompletableFuture<FileReply> lock(String key, String client, Lock req) {
        if (req.getStart() < 0 || req.getLength() < 0) {
            return CompletableFuture.completedFuture(FileOps.error(Errno.EINVAL, "negative lock range"));
        }
        if (req.getCmd() == Lock.Cmd.GETLK) {
            Held c = conflict(key, client, req);
            Lock.Builder out = Lock.newBuilder().setPath(req.getPath());
            if (c == null) {
                out.setType(Lock.Type.UNLCK);
            } else {
                out.setType(c.write ? Lock.Type.WRLCK : Lock.Type.RDLCK).setStart(c.start)
                        .setLength(c.end == Long.MAX_VALUE ? 0 : c.end - c.start).setPid(c.pid).setFlock(c.flock);
            }
            return CompletableFuture.completedFuture(FileReply.newBuilder().setConflict(out).build());
        }
        if (req.getType() == Lock.Type.UNLCK) {
            remove(key, client, req.getOwner(), req.getStart(), endOf(req), req.getFlock());
            wake(key);
            return CompletableFuture.completedFuture(FileReply.getDefaultInstance());
        }
        if (conflict(key, client, req) == null) {
            grant(key, client, req);
            return CompletableFuture.completedFuture(FileReply.getDefaultInstance());
        }
        if (req.getCmd() == Lock.Cmd.SETLK) {
            return CompletableFuture.completedFuture(FileOps.error(Errno.EAGAIN, "lock held by another owner"));
        }
        CompletableFuture<FileReply> f = new CompletableFuture<>();
        names.put(key, req.getPath());
        waiting.computeIfAbsent(key, k -> new ArrayList<>()).add(new Waiter(client, req, f));
        return f;
    }

    private Held conflict(String key, String client, Lock req) {
        long s = req.getStart();
        long e = endOf(req);
        boolean write = req.getType() == Lock.Type.WRLCK;
        for (Held h : held.getOrDefault(key, List.of())) {
            if (h.flock != req.getFlock()) continue;
            if (h.client.equals(client) && h.owner == req.getOwner()) continue;
            if (!h.overlaps(s, e)) continue;
            if (write || h.write) return h;
        }
        return null;
    }

    private void grant(String key, String client, Lock req) {
        long s = req.getFlock() ? 0 : req.getStart();
        long e = req.getFlock() ? Long.MAX_VALUE : endOf(req);
        remove(key, client, req.getOwner(), s, e, req.getFlock());
        changed.add(key);
        names.put(key, req.getPath());
        held.computeIfAbsent(key, k -> new ArrayList<>())
                .add(new Held(client, req.getOwner(), req.getPid(), req.getType() == Lock.Type.WRLCK, s, e, req.getFlock()));
    }

    /** Removes the owner's locks over [s, e), splitting a lock that reaches beyond it. */
    private void remove(String key, String client, long owner, long s, long e, boolean flock) {
        List<Held> list = held.get(key);
        if (list == null) return;
        List<Held> keep = new ArrayList<>();
        for (Held h : list) {
            if (h.flock != flock || !h.client.equals(client) || h.owner != owner || !h.overlaps(s, e)) {
                keep.add(h);
                continue;
            }
            if (h.start < s) keep.add(new Held(h.client, h.owner, h.pid, h.write, h.start, s, h.flock));
            if (h.end > e) keep.add(new Held(h.client, h.owner, h.pid, h.write, e, h.end, h.flock));
        }
        if (!keep.equals(list)) changed.add(key);
        if (keep.isEmpty()) held.remove(key);
        else held.put(key, keep);
    }

    private void wake(String key) {
        List<Waiter> ws = waiting.get(key);
        if (ws == null) return;
        for (Iterator<Waiter> it = ws.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (w.reply.isDone()) {
                it.remove();
            } else if (conflict(key, w.client, w.req) == null) {
                grant(key, w.client, w.req);
                it.remove();
                granted.add(w.reply); // answered once the grant is replicated (drain)
            }
        }
        if (ws.isEmpty()) waiting.remove(key);
        if (!changed.contains(key)) forgetIfIdle(key); // a change keeps its name until drained
    }

    private void forgetIfIdle(String key) {
        if (!held.containsKey(key) && !waiting.containsKey(key)) names.remove(key);
    }

    /** Drops every lock and wait of a client whose session ended. */
    public synchronized void release(String client) {
        List<String> paths = new ArrayList<>(held.keySet());
        for (String p : paths) {
            List<Held> list = held.get(p);
            if (list.removeIf(h -> h.client.equals(client))) changed.add(p);
            if (list.isEmpty()) held.remove(p);
        }
        for (List<Waiter> ws : waiting.values()) {
            for (Waiter w : ws) {
                if (w.client.equals(client)) w.reply.complete(FileOps.error(Errno.EINTR, "session ended"));
            }
        }
        for (String p : new ArrayList<>(waiting.keySet())) wake(p);
    }

    /** The clients that hold a lock here. */
    public synchronized Set<String> clients() {
        Set<String> out = new java.util.HashSet<>();
        for (List<Held> list : held.values()) for (Held h : list) out.add(h.client);
        return out;
    }

    /** Whether something changed since the last drain (a request that changed nothing sends nothing). */
    public synchronized boolean hasChanges() {
        return !changed.isEmpty() || !granted.isEmpty();
    }

    /** {@link #drain(Function)} when no open handle names any file better. */
    public Changes drain() {
        return drain(k -> null);
    }

    /**
     * Takes what changed since the last call (a primary sends it to its secondaries, in order);
     * current gives the name a key's file has now, if it knows it (else: its last requested name).
     */
    public synchronized Changes drain(Function<String, String> current) {
        List<String> keys = new ArrayList<>(changed);
        List<String> paths = new ArrayList<>();
        List<List<HeldLock>> now = new ArrayList<>();
        for (String k : keys) {
            paths.add(pathOf(k, current));
            now.add(toProto(held.getOrDefault(k, List.of())));
            forgetIfIdle(k);
        }
        List<CompletableFuture<FileReply>> answer = new ArrayList<>(granted);
        changed.clear();
        granted.clear();
        return new Changes(keys, paths, now, answer);
    }

    /** The whole table, to send to a secondary whose link turned live; current as for {@link #drain(Function)}. */
    public synchronized LockSync snapshot(Function<String, String> current) {
        LockSync.Builder b = LockSync.newBuilder().setReset(true);
        for (Map.Entry<String, List<Held>> e : held.entrySet()) {
            b.addFiles(LockedFile.newBuilder().setPath(pathOf(e.getKey(), current)).addAllHeld(toProto(e.getValue())));
        }
        return b.build();
    }

    private String pathOf(String key, Function<String, String> current) {
        String now = current.apply(key);
        return now != null ? now : names.getOrDefault(key, "");
    }

    /** The name the file of key had at the last request on it here, or null. */
    public synchronized String nameOf(String key) {
        return names.get(key);
    }

    /** A secondary applies the primary's change; keyOf gives this brick's key of a file by its name. */
    public synchronized void apply(LockSync sync, Function<String, String> keyOf) {
        if (sync.getReset()) {
            held.clear();
            names.clear();
        }
        for (LockedFile f : sync.getFilesList()) {
            String key = keyOf.apply(f.getPath());
            if (f.getHeldCount() == 0) {
                held.remove(key);
                names.remove(key);
                continue;
            }
            names.put(key, f.getPath());
            List<Held> list = new ArrayList<>();
            for (HeldLock h : f.getHeldList()) {
                list.add(new Held(h.getClient(), h.getOwner(), h.getPid(), h.getWrite(), h.getStart(), h.getEnd(), h.getFlock()));
            }
            held.put(key, list);
        }
        changed.clear(); // a secondary sends nothing; as primary later, it starts from this table
    }

    private static List<HeldLock> toProto(List<Held> list) {
        List<HeldLock> out = new ArrayList<>(list.size());
        for (Held h : list) {
            out.add(HeldLock.newBuilder().setClient(h.client).setOwner(h.owner).setPid(h.pid).setWrite(h.write)
                    .setStart(h.start).setEnd(h.end).setFlock(h.flock).build());
        }
        return out;
    }

    /**
     * This brick stops being the primary: requests waiting for a lock, and those granted but not
     * yet answered, are answered "not primary", so their clients ask the next primary again (which
     * grants an owner the lock it already holds); the locks stay, as the next primary holds them too.
     */
    public synchronized void primaryChanged() {
        for (List<Waiter> ws : waiting.values()) {
            for (Waiter w : ws) w.reply.completeExceptionally(new FilePrimary.NotPrimaryException());
        }
        for (CompletableFuture<FileReply> f : granted) f.completeExceptionally(new FilePrimary.NotPrimaryException());
        waiting.clear();
        granted.clear();
        changed.clear();
    }
}
