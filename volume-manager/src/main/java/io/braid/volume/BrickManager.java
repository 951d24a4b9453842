package io.braid.volume;

import io.braid.config.PoolState;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import io.braid.proto.peer.BrickState;
import io.braid.util.BraidException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bricks this server holds. It keeps the set of open bricks equal to the bricks of started
 * volumes that the configuration places here.
 */
public final class BrickManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BrickManager.class);

    private final String nodeUuid;
    private final String memberName;
    private final int port;
    private final long pid = ProcessHandle.current().pid();
    private final Map<String, Brick> open = new HashMap<>();       // key: volume-id + path
    private final Map<String, String> failures = new HashMap<>();  // key -> reason it is offline
    private volatile Replicas replicas;

    /** Opens and follows the replication side of block bricks. */
    public interface Replicas {
        /** A block brick was opened: attach its replica. */
        void opened(Brick brick, VolumeRecord v, PoolState state) throws IOException;

        /** The configuration changed while the brick stayed open. */
        void changed(Brick brick, VolumeRecord v, PoolState state) throws IOException;

        /** The brick's replica state for status, filled into s. */
        void status(Brick brick, BrickState.Builder s);
    }

    public void setReplicas(Replicas r) {
        this.replicas = r;
    }

    public BrickManager(String nodeUuid, String memberName, int port) {
        this.nodeUuid = nodeUuid;
        this.memberName = memberName;
        this.port = port;
    }

    /** Checks that path can become a brick of the volume, without changing anything on disk. */
    public void check(String pathText, String volumeId) {
        Path path = Paths.get(pathText);
        if (!path.isAbsolute() || !path.normalize().equals(path) || path.getNameCount() == 0) {
            throw BraidException.invalid("brick path %s is not an absolute, normalized path", pathText);
        }
        try {
            if (Files.exists(path) && !Files.isDirectory(path)) {
                throw BraidException.invalid("brick path %s:%s exists and is not a directory", memberName, pathText);
            }
            String id = Brick.volumeIdAt(path);
            if (id != null && !id.equals(volumeId)) {
                throw BraidException.conflict("%s:%s is already part of a volume", memberName, pathText);
            }
            Path p = path;
            while (p != null && !Files.exists(p)) p = p.getParent();
            if (p == null || !Files.isDirectory(p) || !Files.isWritable(p)) {
                throw BraidException.invalid("brick path %s:%s cannot be created: %s is not a writable directory",
                        memberName, pathText, p);
            }
        } catch (IOException e) {
            throw BraidException.invalid("brick path %s:%s cannot be read: %s", memberName, pathText, e.getMessage());
        }
    }

    public void prepare(VolumeRecord v, String path) {
        check(path, v.getId());
        try {
            Brick.prepare(v, Paths.get(path));
        } catch (IOException e) {
            throw BraidException.conflict("cannot prepare brick %s:%s: %s", memberName, path, e.getMessage());
        }
    }

    /** Opens the bricks of started volumes placed here and closes every other one. */
    public synchronized void reconcile(PoolState state) {
        Map<String, VolumeRecord> wanted = new HashMap<>();
        Map<String, String> wantedPath = new HashMap<>();
        for (VolumeRecord v : state.volumes().values()) {
            if (v.getStatus() != VolumeStatus.STARTED) continue;
            for (BrickRecord b : v.getBricksList()) {
                if (!b.getNodeUuid().equals(nodeUuid)) continue;
                String key = key(v.getId(), b.getPath());
                wanted.put(key, v);
                wantedPath.put(key, b.getPath());
            }
        }
        for (var it = open.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                LOG.info("{}: volume {}: brick {} stopped", memberName, e.getValue().volume(), e.getValue().path());
                e.getValue().close();
                it.remove();
            }
        }
        failures.keySet().retainAll(wanted.keySet());
        Replicas r = replicas;
        for (var e : wanted.entrySet()) {
            Brick already = open.get(e.getKey());
            if (already != null) {
                if (r != null && already.replica() != null) {
                    try {
                        r.changed(already, e.getValue(), state);
                    } catch (IOException | RuntimeException ex) {
                        LOG.warn("{}: volume {}: brick {}: {}", memberName, e.getValue().getName(), already.path(), ex.toString());
                    }
                }
                continue;
            }
            String path = wantedPath.get(e.getKey());
            try {
                Brick b = Brick.open(e.getValue(), Paths.get(path));
                if (r != null) {
                    try {
                        r.opened(b, e.getValue(), state);
                    } catch (IOException | RuntimeException ex) {
                        b.close();
                        throw ex;
                    }
                }
                open.put(e.getKey(), b);
                failures.remove(e.getKey());
                LOG.info("{}: volume {}: brick {} online", memberName, e.getValue().getName(), path);
            } catch (IOException | RuntimeException ex) {
                String why = String.valueOf(ex.getMessage());
                if (!why.equals(failures.put(e.getKey(), why))) {
                    LOG.warn("{}: volume {}: brick {} cannot start: {}", memberName, e.getValue().getName(), path,
                            ex.getMessage());
                }
            }
        }
    }

    /** The state of this server's bricks of one volume, as the configuration places them. */
    public synchronized List<BrickState> status(PoolState state, String volume) {
        List<BrickState> out = new ArrayList<>();
        VolumeRecord v = state.volume(volume).orElse(null);
        if (v == null) return out;
        for (BrickRecord b : v.getBricksList()) {
            if (!b.getNodeUuid().equals(nodeUuid)) continue;
            String key = key(v.getId(), b.getPath());
            boolean online = open.containsKey(key);
            BrickState.Builder s = BrickState.newBuilder().setPath(b.getPath()).setOnline(online);
            if (online) s.setPid(pid).setPort(port);
            Replicas r = replicas;
            if (online && r != null && open.get(key).replica() != null) r.status(open.get(key), s);
            if (failures.containsKey(key)) s.setError(failures.get(key));
            out.add(s.build());
        }
        return out;
    }

    private static String key(String volumeId, String path) {
        return volumeId + "|" + path;
    }

    @Override
    public synchronized void close() {
        open.values().forEach(Brick::close);
        open.clear();
    }
}
