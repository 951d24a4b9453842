package io.braid.cli;

import java.util.List;

import io.braid.proto.admin.HealRequest;

/**
 * The words of {@code volume heal NAME [full | info [summary|split-brain] | split-brain
 * {bigger-file FILE | latest-mtime FILE | source-brick HOST:PATH [FILE]}]}. Only the grammar is
 * checked here; the daemon checks the meaning.
 *
 * @param action the {@code HealRequest.action}: "", "full", "info", "info-summary",
 *               "info-split-brain" or "split-brain"
 * @param view the report to print, or null for the actions that start or resolve something
 */
record HealArgs(String name, String action, HealView view, String resolution, String sourceBrick, String file) {
    static final String COMMAND = "volume heal";

    /**
     * @param words the words after {@code volume heal}
     * @throws CliFailure (usage, exit 2) when the words do not follow the grammar
     */
    static HealArgs parse(List<String> words) {
        if (words.isEmpty() || words.get(0).isBlank()) {
            throw usage(null);
        }
        String name = words.get(0);
        List<String> rest = words.subList(1, words.size());
        if (rest.isEmpty()) {
            return new HealArgs(name, "", null, "", "", "");
        }
        return switch (rest.get(0)) {
            case "full" -> {
                noMore(rest, 1);
                yield new HealArgs(name, "full", null, "", "", "");
            }
            case "info" -> info(name, rest);
            case "split-brain" -> splitBrain(name, rest.subList(1, rest.size()));
            default -> throw usage("unknown heal command '" + rest.get(0) + "'");
        };
    }

    private static HealArgs info(String name, List<String> rest) {
        if (rest.size() == 1) {
            return new HealArgs(name, HealView.INFO.action(), HealView.INFO, "", "", "");
        }
        HealView view = switch (rest.get(1)) {
            case "summary" -> HealView.SUMMARY;
            case "split-brain" -> HealView.SPLIT_BRAIN;
            default -> throw usage("unknown heal info report '" + rest.get(1) + "'");
        };
        noMore(rest, 2);
        return new HealArgs(name, view.action(), view, "", "", "");
    }

    /** @param args the words after {@code split-brain} */
    private static HealArgs splitBrain(String name, List<String> args) {
        if (args.isEmpty()) {
            throw usage("'split-brain' needs bigger-file, latest-mtime or source-brick");
        }
        String resolution = args.get(0);
        switch (resolution) {
            case "bigger-file", "latest-mtime" -> {
                if (args.size() != 2 || args.get(1).isBlank()) {
                    throw usage("'" + resolution + "' needs exactly one <FILE>");
                }
                return new HealArgs(name, "split-brain", null, resolution, "", args.get(1));
            }
            case "source-brick" -> {
                if (args.size() < 2 || args.size() > 3) {
                    throw usage("'source-brick' needs <HOST:PATH> and at most one <FILE>");
                }
                String brick = args.get(1);
                if (brick.indexOf(":/") <= 0) {
                    throw usage("wrong brick type: " + brick + ", use <HOSTNAME>:<export-dir-abs-path>");
                }
                String file = args.size() == 3 ? args.get(2) : "";
                if (args.size() == 3 && file.isBlank()) {
                    throw usage("empty <FILE>");
                }
                return new HealArgs(name, "split-brain", null, resolution, brick, file);
            }
            default -> throw usage("unknown split-brain policy '" + resolution + "'");
        }
    }

    HealRequest toRequest() {
        return HealRequest.newBuilder()
                .setName(name)
                .setAction(action)
                .setResolution(resolution)
                .setSourceBrick(sourceBrick)
                .setFile(file)
                .build();
    }

    /**
     * What to print when a start or resolve action succeeds and the daemon sent no message of its
     * own (GlusterFS's wording).
     */
    String defaultMessage() {
        return switch (action) {
            case "" -> "Launching heal operation to perform index self heal on volume " + name
                    + " has been successful";
            case "full" -> "Launching heal operation to perform full self heal on volume " + name
                    + " has been successful";
            default -> "Split-brain resolution on volume " + name + " has been successful";
        };
    }

    private static void noMore(List<String> args, int allowed) {
        if (args.size() > allowed) {
            throw usage("unexpected '" + args.get(allowed) + "'");
        }
    }

    private static CliFailure usage(String reason) {
        return reason == null ? CliFailure.usage(COMMAND, Usage.VOLUME_HEAL)
                : CliFailure.usage(COMMAND, reason, Usage.VOLUME_HEAL);
    }
}
