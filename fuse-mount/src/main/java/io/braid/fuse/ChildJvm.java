package io.braid.fuse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of another JVM that runs {@link MountMain} with this JVM's java binary and class path. */
final class ChildJvm {
    private ChildJvm() {
    }

    /**
     * Lets Netty allocate its pooled direct memory without the JDK zeroing it first (a new chunk
     * of the pool is 4 MiB; bin/braidd gives the servers the same options).
     */
    static final List<String> JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-Xmx512m");

    static final List<String> NETTY_OPTIONS = List.of("-Dio.netty.tryReflectionSetAccessible=true",
            "--add-opens=java.base/java.nio=ALL-UNNAMED");

    /**
     * @param args MountMain's arguments
     * @param detached in a new session (setsid), so that it outlives the terminal it was started from
     */
    static List<String> command(List<String> args, boolean detached) {
        List<String> cmd = new ArrayList<>();
        if (detached && Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(javaBinary());
        // jnr-ffi turns file names into Strings with the default charset: it must be UTF-8.
        cmd.add("-Dfile.encoding=UTF-8");
        cmd.add("-Dsun.jnu.encoding=UTF-8");
        String opts = System.getenv("BRAID_MOUNT_JAVA_OPTS"); // as BRAIDD_JAVA_OPTS for bin/braidd
        if (opts != null && !opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        } else {
            cmd.addAll(JVM_OPTIONS);
        }
        cmd.addAll(NETTY_OPTIONS);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MountMain.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .filter(c -> c.endsWith("/java"))
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
