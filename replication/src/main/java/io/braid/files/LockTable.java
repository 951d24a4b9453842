package io.braid.files;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.Lock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Advisory locks held by the primary of a replica set, so that they exclude each other across
 * every client: fcntl byte-range locks (POSIX semantics: per owner, split and merged by range,
 * read locks shared) and flock locks (whole file, a separate kind, as on Linux). An owner is a
 * client id with FUSE's lock owner. Locks are held on a key naming the file
 * ({@link OpenFiles#lockKey}: its inode here, so that they stay with it through renames and are
 * shared by all its names, as on a local file system). Locks live in memory: they go when the
 * client's session ends or the primary changes, as they would with a server reboot.
 */
public final class LockTable {
    private record Held(String client, long owner, int pid, boolean write, long start, long end, boolean flock) {
        boolean overlaps(long s, long e) {
            return start < e && s < end;
        }
    }

    private record Waiter(String client, Lock req, CompletableFuture<FileReply> reply) {}

    private final Map<String, List<Held>> held = new HashMap<>();
    private final Map<String, List<Waiter>> waiting = new HashMap<>();

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
                w.reply.complete(FileReply.getDefaultInstance());
            }
        }
        if (ws.isEmpty()) waiting.remove(key);
    }

    /** Drops every lock and wait of a client whose session ended. */
    public synchronized void release(String client) {
        List<String> paths = new ArrayList<>(held.keySet());
        for (String p : paths) {
            List<Held> list = held.get(p);
            list.removeIf(h -> h.client.equals(client));
            if (list.isEmpty()) held.remove(p);
        }
        for (List<Waiter> ws : waiting.values()) {
            for (Waiter w : ws) {
                if (w.client.equals(client)) w.reply.complete(FileOps.error(Errno.EINTR, "session ended"));
            }
        }
        for (String p : new ArrayList<>(waiting.keySet())) wake(p);
    }

    public synchronized void clear() {
        for (List<Waiter> ws : waiting.values()) {
            for (Waiter w : ws) w.reply.complete(FileOps.error(Errno.EIO, "the primary changed"));
        }
        waiting.clear();
        held.clear();
    }
}
