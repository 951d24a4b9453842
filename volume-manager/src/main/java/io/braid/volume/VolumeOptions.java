package io.braid.volume;

import io.braid.proto.config.VolumeRecord;
import io.braid.util.Sizes;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The table of every volume option: the one place keys, types, defaults and help live. */
public final class VolumeOptions {
    public static final String PING_TIMEOUT = "network.ping-timeout";
    public static final String QUORUM_TYPE = "cluster.quorum-type";
    public static final String QUORUM_COUNT = "cluster.quorum-count";
    public static final String REPLICATION_PROTOCOL = "replication.protocol";
    public static final String HEAL_RATE_LIMIT = "heal.rate-limit";
    public static final String AUTH_ALLOW = "auth.allow";
    public static final String SELF_HEAL_DAEMON = "cluster.self-heal-daemon";
    public static final String READ_FROM_REPLICAS = "cluster.read-from-replicas";

    private static final Map<String, VolumeOption> TABLE = new LinkedHashMap<>();

    static {
        add(new VolumeOption(PING_TIMEOUT, "seconds", v -> "5",
                "Seconds a server waits for a replica (or a client for a server) to answer before it marks it"
                        + " disconnected; a replica that misses it goes out of sync and is resynced later. 1 to 1800.",
                (s, v) -> String.valueOf(intIn(s, 1, 1800, PING_TIMEOUT))));
        add(new VolumeOption(QUORUM_TYPE, "none|auto|fixed",
                v -> (v.getReplicaCount() >= 3 || v.getArbiterCount() > 0) ? "auto" : "none",
                "Which bricks of a replica set must be up to allow writes. none: any one brick (may split-brain);"
                        + " auto: more than half of the set, or exactly half including the first brick;"
                        + " fixed: at least cluster.quorum-count bricks. Default auto for replica 3 and arbiter"
                        + " sets, none for replica 2.",
                (s, v) -> oneOf(s, QUORUM_TYPE, "none", "auto", "fixed")));
        add(new VolumeOption(QUORUM_COUNT, "count", v -> "(null)",
                "With cluster.quorum-type fixed: how many bricks of a replica set must be up to allow writes."
                        + " 1 to the replica count.",
                (s, v) -> String.valueOf(intIn(s, 1, Math.max(1, v.getReplicaCount()), QUORUM_COUNT))));
        add(new VolumeOption(REPLICATION_PROTOCOL, "A|B|C", v -> "C",
                "When the primary acknowledges a write. C (default, synchronous): once every connected in-sync"
                        + " replica has applied it, and a flush or FUA write once it is on stable storage on all"
                        + " of them; no acknowledged write is lost while one replica survives. B (memory"
                        + " synchronous): once every replica has received it in memory; a simultaneous crash of"
                        + " all servers can lose acknowledged writes. A (asynchronous): once it is written locally"
                        + " and sent; losing the primary can lose the writes still in flight to the secondaries.",
                (s, v) -> oneOf(s.toUpperCase(Locale.ROOT), REPLICATION_PROTOCOL, "A", "B", "C")));
        add(new VolumeOption(HEAL_RATE_LIMIT, "bytes/s", v -> "0",
                "Upper bound on resync and self-heal traffic per brick, in bytes per second (64M, 1G)."
                        + " 0 means unlimited.",
                (s, v) -> {
                    long n = Sizes.parse(s);
                    if (n < 0) throw new IllegalArgumentException("heal.rate-limit must not be negative");
                    return s.equals("0") ? "0" : s.toUpperCase(Locale.ROOT);
                }));
        add(new VolumeOption(AUTH_ALLOW, "address list", v -> "*",
                "Comma-separated client addresses allowed to mount or attach the volume. Wildcards (127.0.0.*)"
                        + " and CIDR (10.0.0.0/8) are accepted; * allows everyone.",
                (s, v) -> addressList(s)));
        add(new VolumeOption(SELF_HEAL_DAEMON, "on|off", v -> "on",
                "File volumes: whether the servers heal returning bricks in the background. Off, bricks still"
                        + " connect (quorum, heal info and split-brain detection work) but nothing is healed, and"
                        + " 'volume heal' refuses; split-brain resolutions still work. Block volumes always resync.",
                (s, v) -> bool(s, SELF_HEAL_DAEMON)));
        add(new VolumeOption(READ_FROM_REPLICAS, "on|off", v -> "off",
                "File volumes: whether mounts may read from any in-sync replica instead of the primary only.",
                (s, v) -> bool(s, READ_FROM_REPLICAS)));
    }

    private VolumeOptions() {
    }

    private static void add(VolumeOption o) {
        TABLE.put(o.key(), o);
    }

    public static Collection<VolumeOption> all() {
        return TABLE.values();
    }

    public static Set<String> keys() {
        return TABLE.keySet();
    }

    public static Optional<VolumeOption> find(String key) {
        return Optional.ofNullable(TABLE.get(key == null ? "" : key.toLowerCase(Locale.ROOT)));
    }

    /** The effective value of key for a volume: what was set, or the default. */
    public static String effective(VolumeRecord v, String key) {
        String set = v.getOptionsMap().get(key);
        return set != null ? set : TABLE.get(key).defaultValue(v);
    }

    private static int intIn(String s, int min, int max, String key) {
        try {
            int n = Integer.parseInt(s);
            if (n < min || n > max) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "invalid value '" + s + "' for " + key + ": expected an integer from " + min + " to " + max);
        }
    }

    private static String oneOf(String s, String key, String... allowed) {
        for (String a : allowed) {
            if (a.equalsIgnoreCase(s)) return a;
        }
        throw new IllegalArgumentException(
                "invalid value '" + s + "' for " + key + ": expected one of " + String.join(", ", allowed));
    }

    private static String bool(String s, String key) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "on", "yes", "true", "enable", "1":
                return "on";
            case "off", "no", "false", "disable", "0":
                return "off";
            default:
                throw new IllegalArgumentException("invalid value '" + s + "' for " + key + ": expected on or off");
        }
    }

    private static String addressList(String s) {
        StringBuilder out = new StringBuilder();
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty() || !p.matches("\\*|[A-Za-z0-9*.:\\[\\]-]+(/[0-9]{1,3})?")) {
                throw new IllegalArgumentException("invalid address '" + part + "' in auth.allow");
            }
            if (out.length() > 0) out.append(',');
            out.append(p);
        }
        return out.toString();
    }
}
