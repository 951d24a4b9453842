package io.braid.cli;

import java.util.Locale;

import io.braid.proto.admin.Volume;

/** Derived facts about a volume's layout, shared by the formatters. */
final class VolumeShape {
    private VolumeShape() {
    }

    static int brickCount(Volume v) {
        return v.getBrickCount() > 0 ? v.getBrickCount() : v.getBricksCount();
    }

    static boolean isBlock(Volume v) {
        return v.getType().equalsIgnoreCase("Block") || v.getVolumeKind().equalsIgnoreCase("block");
    }

    /**
     * GlusterFS's "Number of Bricks" value: {@code K x R = N}, {@code K x (D + A) = N} with an
     * arbiter, or just {@code N} for plain distribute.
     */
    static String numberOfBricks(Volume v) {
        int n = brickCount(v);
        int replica = v.getReplicaCount();
        int arbiter = v.getArbiterCount();
        if (replica <= 1 && arbiter <= 0) {
            return Integer.toString(n);
        }
        int sets = replicaSets(v);
        int perSet = sets > 0 && n % sets == 0 ? n / sets : replica;
        if (arbiter > 0) {
            return sets + " x (" + (perSet - arbiter) + " + " + arbiter + ") = " + n;
        }
        return sets + " x " + perSet + " = " + n;
    }

    /** The number of replica sets: the daemon's dist_count, or bricks / replica when it is unset. */
    static int replicaSets(Volume v) {
        int n = brickCount(v);
        if (v.getDistCount() > 0) {
            return v.getDistCount();
        }
        int replica = Math.max(1, v.getReplicaCount());
        return Math.max(1, n / replica);
    }

    /** The replica count as GlusterFS reports it: 1 for plain distribute even if the daemon left it 0. */
    static int replicaCount(Volume v) {
        return Math.max(1, v.getReplicaCount());
    }

    /** GlusterFS's numeric volume status: Created 0, Started 1, Stopped 2. */
    static int statusCode(String status) {
        return switch (status.toLowerCase(Locale.ROOT)) {
            case "started" -> 1;
            case "stopped" -> 2;
            default -> 0;
        };
    }

    /** Numeric volume type: Distribute 0, Replicate 2, Distributed-Replicate 5, Block 10. */
    static int typeCode(Volume v) {
        if (isBlock(v)) {
            return 10;
        }
        return switch (v.getType().toLowerCase(Locale.ROOT)) {
            case "replicate" -> 2;
            case "distributed-replicate" -> 5;
            default -> 0;
        };
    }

    /** 67108864 → "64M", 1610612736 → "1.5G", 512 → "512B". */
    static String humanSize(long bytes) {
        String units = "BKMGTPE";
        if (bytes < 1024) {
            return bytes + "B";
        }
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length() - 1) {
            value /= 1024;
            unit++;
        }
        if (value == Math.rint(value)) {
            return (long) value + String.valueOf(units.charAt(unit));
        }
        return String.format(Locale.ROOT, "%.1f%c", value, units.charAt(unit));
    }

    /** Splits {@code HOST:PATH} at the first {@code ":/"}; {host, path}. */
    static String[] hostAndPath(String brick) {
        int sep = brick.indexOf(":/");
        if (sep < 0) {
            return new String[] {brick, ""};
        }
        return new String[] {brick.substring(0, sep), brick.substring(sep + 1)};
    }
}
