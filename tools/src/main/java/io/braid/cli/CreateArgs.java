package io.braid.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.braid.proto.admin.VolumeCreateRequest;

/**
 * The words of {@code volume create NAME [replica N [arbiter 1]] [type block|file] [size SIZE]
 * BRICK... [force]}. The keywords may come in any order before the bricks; a last word
 * {@code force} sets force. Only the grammar is checked here; the daemon checks the meaning.
 */
record CreateArgs(String name, int replica, int arbiter, String type, String size, List<String> bricks,
                  boolean force) {
    static final String COMMAND = "volume create";

    CreateArgs {
        bricks = List.copyOf(bricks);
    }

    /**
     * @param words the words after {@code volume create}
     * @throws CliFailure (usage, exit 2) when the words do not follow the grammar
     */
    static CreateArgs parse(List<String> words) {
        if (words.isEmpty() || words.get(0).isBlank()) {
            throw usage(null);
        }
        String name = words.get(0);
        if (isKeyword(name) || name.contains(":/")) {
            throw usage("missing volume name");
        }
        int replica = 0;
        int arbiter = 0;
        String type = null;
        String size = null;
        boolean replicaGiven = false;
        boolean arbiterGiven = false;
        boolean transportGiven = false;
        int i = 1;
        while (i < words.size() && isKeyword(words.get(i))) {
            String keyword = words.get(i).toLowerCase(Locale.ROOT);
            if (i + 1 >= words.size()) {
                throw usage("'" + keyword + "' needs a value");
            }
            String value = words.get(i + 1);
            switch (keyword) {
                case "replica" -> {
                    if (replicaGiven) {
                        throw usage("'replica' given twice");
                    }
                    replica = count(value);
                    replicaGiven = true;
                }
                case "arbiter" -> {
                    if (arbiterGiven) {
                        throw usage("'arbiter' given twice");
                    }
                    if (!value.equals("1")) {
                        throw usage("arbiter count must be 1, not '" + value + "'");
                    }
                    arbiter = 1;
                    arbiterGiven = true;
                }
                case "type" -> {
                    if (type != null) {
                        throw usage("'type' given twice");
                    }
                    type = value.toLowerCase(Locale.ROOT);
                    if (!type.equals("block") && !type.equals("file")) {
                        throw usage("volume type must be 'block' or 'file', not '" + value + "'");
                    }
                }
                case "size" -> {
                    if (size != null) {
                        throw usage("'size' given twice");
                    }
                    if (value.isBlank() || value.contains(":/")) {
                        throw usage("invalid size '" + value + "'");
                    }
                    size = value;
                }
                case "transport" -> {
                    if (transportGiven) {
                        throw usage("'transport' given twice");
                    }
                    if (!value.equalsIgnoreCase("tcp")) {
                        throw usage("only transport tcp is supported, not '" + value + "'");
                    }
                    transportGiven = true;
                }
                default -> throw new IllegalStateException(keyword);
            }
            i += 2;
        }
        if (arbiterGiven && !replicaGiven) {
            throw usage("'arbiter 1' needs 'replica <COUNT>'");
        }
        List<String> bricks = new ArrayList<>(words.subList(i, words.size()));
        boolean force = false;
        if (!bricks.isEmpty() && bricks.get(bricks.size() - 1).equalsIgnoreCase("force")) {
            force = true;
            bricks.remove(bricks.size() - 1);
        }
        if (bricks.isEmpty()) {
            throw usage("no bricks given");
        }
        for (String brick : bricks) {
            int sep = brick.indexOf(":/");
            if (sep <= 0) {
                throw usage("wrong brick type: " + brick + ", use <HOSTNAME>:<export-dir-abs-path>");
            }
        }
        return new CreateArgs(name, replica, arbiter, type == null ? "" : type, size == null ? "" : size,
                bricks, force);
    }

    /** Whether GlusterFS's split-brain warning applies: two copies and no arbiter. */
    boolean replicaTwoWithoutArbiter() {
        return replica == 2 && arbiter == 0;
    }

    VolumeCreateRequest toRequest() {
        return VolumeCreateRequest.newBuilder()
                .setName(name)
                .setReplica(replica)
                .setArbiter(arbiter)
                .setType(type)
                .setSize(size)
                .addAllBricks(bricks)
                .setForce(force)
                .build();
    }

    private static boolean isKeyword(String word) {
        return switch (word.toLowerCase(Locale.ROOT)) {
            case "replica", "arbiter", "type", "size", "transport" -> true;
            default -> false;
        };
    }

    private static int count(String value) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw usage("replica count '" + value + "' is not a number");
        }
        if (n < 1) {
            throw usage("replica count must be at least 1, not " + n);
        }
        return n;
    }

    private static CliFailure usage(String reason) {
        return reason == null ? CliFailure.usage(COMMAND, Usage.VOLUME_CREATE)
                : CliFailure.usage(COMMAND, reason, Usage.VOLUME_CREATE);
    }
}
