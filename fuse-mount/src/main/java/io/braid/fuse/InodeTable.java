package io.braid.fuse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel's node ids of a low-level mount and the volume paths they stand for. Unlike libfuse's
 * high-level table, which keys a node by its one name:
 * <ul>
 * <li>every name of a hard-linked file (more than one link) is one node, found by its inode
 * number: one kernel inode, one page cache, one set of attributes;</li>
 * <li>a node whose name was renamed over or unlinked keeps that path for the calls still made on
 * it (a reader that looked the name up just before the rename then reads the new file, never
 * ENOENT), until the kernel forgets it.</li>
 * </ul>
 * A node id is never reused. All methods are synchronized: the table is small next to a call.
 */
final class InodeTable {
    static final long ROOT = 1;

    private static final class Node {
        final long id;
        final long ino;
        final boolean dir;
        /** The name calls on this node use. */
        String path;
        /** The other names of a hard-linked file, or null. */
        List<String> others;
        long lookups;

        Node(long id, long ino, boolean dir, String path) {
            this.id = id;
            this.ino = ino;
            this.dir = dir;
            this.path = path;
        }
    }

    private final Map<Long, Node> byId = new HashMap<>();
    /** Files seen with more than one link, by inode number. */
    private final Map<Long, Node> byIno = new HashMap<>();
    /** The names that currently mean each node. */
    private final Map<String, Node> byPath = new HashMap<>();
    private long next = ROOT + 1;

    InodeTable() {
        Node root = new Node(ROOT, 0, true, "/");
        root.lookups = 1;
        byId.put(ROOT, root);
        byPath.put("/", root);
    }

    /** The path of a directory entry: name in the directory at dir. */
    static String child(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    /** Whether a node the kernel holds has this name. */
    synchronized boolean holds(String path) {
        return byPath.containsKey(path);
    }

    /** The path calls on node id use, or null for an id the table does not hold. */
    synchronized String path(long id) {
        Node n = byId.get(id);
        return n == null ? null : n.path;
    }

    /**
     * Before taking path, a file with this inode number and more than one link, as one more name
     * of a node the table holds: that node's path, which the caller asks the servers about (an
     * inode number is only unique on one brick, and another brick may answer after a failover or
     * with read-from-replicas). Null when there is nothing to ask.
     */
    synchronized String linkedTo(String path, long ino, boolean dir, long nlink) {
        if (dir || nlink <= 1) {
            return null;
        }
        Node n = byPath.get(path);
        if (n != null && n.ino == ino) {
            return null;
        }
        Node m = byIno.get(ino);
        return m == null ? null : m.path;
    }

    /**
     * path was looked up (or made) and is the file with this inode number and link count: the node
     * id to answer with, counted as one more lookup the kernel will forget. sameFile: the servers
     * said that {@link #linkedTo} is this file too (or there was nothing to ask).
     */
    synchronized long looked(String path, long ino, boolean dir, long nlink, boolean sameFile) {
        Node n = byPath.get(path);
        if (n != null && (n.ino != ino || n.dir != dir)) {
            unname(n, path); // the name means another file now
            n = null;
        }
        boolean linked = !dir && nlink > 1;
        if (n == null && linked && sameFile) {
            n = byIno.get(ino);
            if (n != null) {
                name(n, path);
            }
        }
        if (n == null) {
            n = new Node(next++, ino, dir, path);
            byId.put(n.id, n);
            byPath.put(path, n);
        }
        if (linked && byIno.get(ino) != n && (byIno.get(ino) == null || !sameFile)) {
            byIno.put(ino, n);
        }
        n.lookups++;
        return n.id;
    }

    /**
     * A hard link of node id was made at to: the same node, counted as one more lookup (the
     * kernel keeps the new name on the inode it has). Returns the node id, or -1 if id is unknown.
     */
    synchronized long linked(long id, String to) {
        Node n = byId.get(id);
        if (n == null) {
            return -1;
        }
        Node old = byPath.get(to);
        if (old != null && old != n) {
            unname(old, to);
        }
        name(n, to);
        byIno.putIfAbsent(n.ino, n);
        n.lookups++;
        return n.id;
    }

    /** The kernel dropped count lookups of node id. */
    synchronized void forget(long id, long count) {
        Node n = byId.get(id);
        if (n == null || id == ROOT) {
            return;
        }
        n.lookups -= count;
        if (n.lookups > 0) {
            return;
        }
        byId.remove(id);
        byIno.remove(n.ino, n);
        byPath.remove(n.path, n);
        if (n.others != null) {
            for (String p : n.others) {
                byPath.remove(p, n);
            }
        }
    }

    /** path was unlinked or removed. */
    synchronized void removed(String path) {
        Node n = byPath.get(path);
        if (n != null) {
            unname(n, path);
        }
    }

    /** from was renamed to to (over whatever to was); names under a renamed directory follow it. */
    synchronized void renamed(String from, String to) {
        Node over = byPath.get(to);
        if (over != null) {
            unname(over, to);
        }
        Node n = byPath.remove(from);
        if (n != null) {
            if (n.path.equals(from)) {
                n.path = to;
            } else if (n.others != null) {
                n.others.replaceAll(p -> p.equals(from) ? to : p);
            }
            byPath.put(to, n);
        }
        if (n != null && !n.dir) {
            return;
        }
        String prefix = from + "/";
        List<Node> moved = new ArrayList<>();
        for (Node m : byId.values()) {
            boolean under = m.path.startsWith(prefix);
            if (m.others != null) {
                for (String p : m.others) {
                    under |= p.startsWith(prefix);
                }
            }
            if (under) {
                moved.add(m);
            }
        }
        for (Node m : moved) {
            byPath.remove(m.path, m);
            m.path = m.path.startsWith(prefix) ? to + m.path.substring(from.length()) : m.path;
            byPath.put(m.path, m);
            if (m.others != null) {
                List<String> now = new ArrayList<>();
                for (String p : m.others) {
                    byPath.remove(p, m);
                    String q = p.startsWith(prefix) ? to + p.substring(from.length()) : p;
                    now.add(q);
                    byPath.put(q, m);
                }
                m.others = now;
            }
        }
    }

    /** path is one more name of n. */
    private void name(Node n, String path) {
        if (n.path.equals(path) || (n.others != null && n.others.contains(path))) {
            byPath.put(path, n);
            return;
        }
        if (byPath.get(n.path) != n) {
            n.path = path; // its old name is gone: calls use this one
        } else {
            if (n.others == null) {
                n.others = new ArrayList<>(2);
            }
            n.others.add(path);
        }
        byPath.put(path, n);
    }

    /** path no longer means n; calls on n use another of its names, or keep the old one. */
    private void unname(Node n, String path) {
        byPath.remove(path, n);
        if (n.path.equals(path)) {
            if (n.others != null && !n.others.isEmpty()) {
                n.path = n.others.remove(0);
            }
        } else if (n.others != null) {
            n.others.remove(path);
        }
    }
}
