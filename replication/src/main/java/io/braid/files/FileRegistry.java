package io.braid.files;

import io.braid.proto.file.Layout;

/** What the file services need from the daemon: its file bricks and the volumes' layouts. */
public interface FileRegistry {
    /** This server's brick of replica set {@code set} of the volume, or null. */
    FileReplica replica(String volume, int set);

    /** The open file brick named HOST:PATH, or null. */
    FileReplica byBrick(String brick);

    /**
     * The layout of a started or stopped file volume; throws a gRPC status (NOT_FOUND,
     * INVALID_ARGUMENT for a block volume).
     */
    Layout layout(String volume);

    /** Every local file brick that is a primary now. */
    Iterable<FileReplica> replicas();
}
