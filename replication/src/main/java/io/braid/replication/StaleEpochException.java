package io.braid.replication;

/** The configuration store refused a replica-set change because a newer epoch exists. */
public final class StaleEpochException extends RuntimeException {
    public StaleEpochException(String message) {
        super(message);
    }
}
