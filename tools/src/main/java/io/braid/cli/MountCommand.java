package io.braid.cli;

import java.util.List;

import io.braid.fuse.MountException;
import io.braid.fuse.MountMain;
import io.braid.fuse.MountOptions;

/**
 * {@code mount [-o OPTIONS] [-f] HOST[:PORT]:/NAME DIR}: mounts a file volume with FUSE. The
 * work is {@link MountMain}'s (also run by {@code mount.braid}); this maps its outcome to the
 * CLI's exit status and one-line failure ({@code mount: failed: <reason>}). It talks to the
 * server named in the spec, never to {@code --remote-host}.
 */
final class MountCommand {
    static final String USAGE = MountOptions.USAGE;

    /**
     * Prints nothing on success: a background mount returns once DIR is mounted, a foreground
     * one once it is unmounted again.
     *
     * @param words the words after {@code mount}
     */
    int run(List<String> words) {
        try {
            return MountMain.execute(words);
        } catch (MountException e) {
            throw new CliFailure("mount", null, e.getMessage(),
                    e.exitCode() == MountException.USAGE ? CliFailure.USAGE : CliFailure.OPERATION);
        }
    }
}
