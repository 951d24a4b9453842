package io.braid.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * When a test fails, copies every braidd output of its class's cluster, and the logs of the FUSE
 * mounts made under its root, to {@code target/braid-it-logs/CLASS/} before the cluster (and its
 * temporary directory) is gone.
 */
final class KeepLogsOnFailure implements TestWatcher {
    private static final Map<Class<?>, BraidCluster> CLUSTERS = new ConcurrentHashMap<>();

    static void watch(Class<?> testClass, BraidCluster c) {
        CLUSTERS.put(testClass, c);
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        Class<?> k = context.getRequiredTestClass();
        BraidCluster c = CLUSTERS.get(k);
        if (c == null) return;
        Path dir = Path.of("target", "braid-it-logs", k.getSimpleName());
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < c.size(); i++) {
                Path out = c.server(i).output();
                if (Files.exists(out)) {
                    Files.copy(out, dir.resolve("server" + (i + 1) + "-" + c.host(i) + ".out"), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            try (var mounts = Files.find(c.root(), 3, (p, a) -> p.getFileName().toString().endsWith(".mount.log"))) {
                for (Path log : (Iterable<Path>) mounts::iterator) {
                    Files.copy(log, dir.resolve(log.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.writeString(dir.resolve("failure-" + context.getRequiredTestMethod().getName() + ".txt"),
                    String.valueOf(cause));
            System.out.println("[" + k.getSimpleName() + "] braidd logs kept in " + dir.toAbsolutePath());
        } catch (IOException e) {
            System.out.println("[" + k.getSimpleName() + "] could not keep logs: " + e);
        }
    }
}
