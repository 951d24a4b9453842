package io.braid.replication;

import java.util.List;
import java.util.Set;

/**
 * What the configuration store says about one replica set of a started volume, as this
 * server sees it now. A new view replaces the old one on every configuration change.
 */
public record SetView(String volume, String volumeId, int set, long size, long epoch, int primary,
                      List<Member> members, Set<Integer> outOfSync, Set<Integer> discard, Options options) {

    /** One brick of the set: its name HOST:PATH, its server, and whether it is an arbiter. */
    public record Member(String brick, String nodeUuid, String address, boolean arbiter) {}

    public record Options(int pingTimeoutSeconds, char protocol, String quorumType, int quorumCount,
                          long rateLimitBytesPerSecond, boolean selfHeal) {
        public Options(int pingTimeoutSeconds, char protocol, String quorumType, int quorumCount,
                       long rateLimitBytesPerSecond) {
            this(pingTimeoutSeconds, protocol, quorumType, quorumCount, rateLimitBytesPerSecond, true);
        }
    }

    public Member primaryMember() {
        return members.get(primary);
    }

    public int indexOf(String brick) {
        for (int i = 0; i < members.size(); i++) {
            if (members.get(i).brick().equals(brick)) return i;
        }
        return -1;
    }

    /**
     * Whether writes may be acknowledged with the given bricks up (GlusterFS's client quorum):
     * none: any; fixed: at least quorumCount; auto: more than half, or exactly half including
     * the first brick.
     */
    public boolean quorumMet(Set<Integer> up) {
        int n = members.size();
        return switch (options.quorumType()) {
            case "none" -> !up.isEmpty();
            case "fixed" -> up.size() >= Math.max(1, options.quorumCount());
            default -> 2 * up.size() > n || (2 * up.size() == n && up.contains(0));
        };
    }
}
