package io.braid.replication;

import io.grpc.Channel;
import java.util.concurrent.CompletableFuture;

/** What the replication engine needs from the daemon around it. */
public interface Coordinator {
    /** A channel to the daemon at address (HOST:PORT), shared and kept open. */
    Channel channel(String address);

    /**
     * A channel to the daemon at address whose transport threads are not the data plane's: for
     * calls made while holding a lock that data-plane callbacks take (a pull under the order lock).
     */
    default Channel controlChannel(String address) {
        return channel(address);
    }

    /** Whether the daemon of a pool member answers its heartbeats now. */
    boolean reachable(String nodeUuid);

    /**
     * Records in the configuration store that a brick of the set is (or is no longer) out of
     * sync, at the given epoch. Fails when the store has no quorum, or with
     * {@link StaleEpochException} when the epoch is stale.
     */
    CompletableFuture<Void> markSync(String volume, int set, long epoch, int brick, boolean inSync);

    /**
     * Completes with true once this server's copy of the configuration is known to be current
     * (everything ordered before now is applied here) and still names brick primary at epoch;
     * false if it no longer does. A primary serves nothing before this: a server that restarts
     * with an old configuration must not act on it.
     */
    CompletableFuture<Boolean> confirmPrimary(String volume, int set, long epoch, int brick);
}
