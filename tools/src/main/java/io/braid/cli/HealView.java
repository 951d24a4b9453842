package io.braid.cli;

/** Which report {@code volume heal NAME info [summary|split-brain]} asked for. */
enum HealView {
    /** {@code info}: every entry to heal, per brick. */
    INFO("info"),
    /** {@code info summary}: counts per brick and the running heal's progress. */
    SUMMARY("info-summary"),
    /** {@code info split-brain}: the entries in split-brain, per brick. */
    SPLIT_BRAIN("info-split-brain");

    private final String action;

    HealView(String action) {
        this.action = action;
    }

    /** The {@code HealRequest.action} that asks for this report. */
    String action() {
        return action;
    }
}
