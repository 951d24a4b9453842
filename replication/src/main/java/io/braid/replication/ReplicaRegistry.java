package io.braid.replication;

/** The replicas open on this server, looked up by the data plane. */
public interface ReplicaRegistry {
    /** The open replica of brick HOST:PATH, or null. */
    ReplicaNode byBrick(String brick);

    /** The local replica of volume that is its primary now, or null. */
    ReplicaNode localPrimary(String volume);
}
