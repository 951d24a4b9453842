package io.braid.it;

/**
 * File-volume helpers over a {@link BraidCluster}: a started replica 3 volume with a short ping
 * timeout, and the comparison of bricks that must end identical.
 */
final class FileVolumes {
    private FileVolumes() {
    }

    /**
     * Starts n servers for a test class and a replica 3 file volume on the first three
     * (network.ping-timeout 2), and waits until every brick is UpToDate.
     */
    static BraidCluster startReplica3(Class<?> testClass, int n, String volume) throws Exception {
        BraidCluster c = Blocks.startPool(testClass, n);
        Cli.assertOk(c.cli(0, "volume", "create", volume, "replica", "3", c.brick(0, volume), c.brick(1, volume),
                c.brick(2, volume)));
        Cli.assertOk(c.cli(0, "volume", "start", volume));
        Cli.assertOk(c.cli(0, "volume", "set", volume, "network.ping-timeout", "2"));
        new Blocks(c).awaitAllUpToDate(volume, 60_000);
        return c;
    }

    /**
     * A write refused because the set cannot take it (quorum lost, no up-to-date data brick up)
     * fails with ENOTCONN or EROFS, as GlusterFS's do, not with just any error; returns the reason.
     */
    static String assertRefusedForQuorum(java.io.IOException refusal) {
        String why = refusal instanceof java.nio.file.FileSystemException fse ? fse.getReason() : String.valueOf(refusal);
        org.junit.jupiter.api.Assertions.assertTrue(why != null
                && (why.contains("Transport endpoint is not connected") || why.contains("Read-only file system")),
                () -> "the write failed, but not with ENOTCONN or EROFS: " + refusal);
        return why;
    }

    /** diff -r of two bricks outside .braid (and the names excluded): empty when they agree. */
    static String diff(BraidCluster c, String volume, int a, int b, String... exclude) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("diff", "-r", "--no-dereference",
                "-x", ".braid"));
        for (String x : exclude) {
            cmd.add("-x");
            cmd.add(x);
        }
        cmd.add(c.brickPath(a, volume).toString());
        cmd.add(c.brickPath(b, volume).toString());
        Exec.Result r = Exec.run(120, cmd.toArray(String[]::new));
        return r.ok() ? "" : r.out() + r.err();
    }

    /** Waits until the bricks on servers 0, 1 and 2 hold the same names and contents. */
    static void awaitBricksEqual(BraidCluster c, String volume, long timeoutMs, String... exclude)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        String d;
        while (!(d = diff(c, volume, 0, 1, exclude) + diff(c, volume, 0, 2, exclude)).isEmpty()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("bricks differ:\n" + d);
            Thread.sleep(200);
        }
    }
}
