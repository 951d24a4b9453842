package io.braid.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Copies Braid's own jars and class directories on the test classpath to a private directory,
 * once per JVM, and points {@code java.class.path} (which {@link ServerProcess} hands to every
 * braidd it launches) at the copies. A {@code mvn install} running beside the tests then cannot
 * swap classes under a daemon that loads them lazily (seen as NoClassDefFoundError in braidd).
 */
final class StableClasspath {
    private static Path copy;

    private StableClasspath() {
    }

    static synchronized void install() {
        if (copy != null) return;
        try {
            Path dir = Files.createTempDirectory("braid-it-classpath-");
            List<String> entries = new ArrayList<>();
            int n = 0;
            for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path p = Path.of(e);
                boolean ours = e.contains(File.separator + "io" + File.separator + "braid" + File.separator)
                        || p.toAbsolutePath().startsWith(Path.of("").toAbsolutePath().getParent());
                if (!ours || !Files.exists(p)) {
                    entries.add(e);
                    continue;
                }
                Path target = dir.resolve((n++) + "-" + p.getFileName());
                if (Files.isDirectory(p)) {
                    copyTree(p, target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
                entries.add(target.toString());
            }
            System.setProperty("java.class.path", String.join(File.pathSeparator, entries));
            copy = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "classpath-copy-cleanup"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the classpath", e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path src : (Iterable<Path>) walk::iterator) {
                Path dst = to.resolve(from.relativize(src).toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
