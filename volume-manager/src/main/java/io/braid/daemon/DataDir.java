package io.braid.daemon;

import io.braid.util.HostPort;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Properties;
import java.util.UUID;

/**
 * The daemon's data directory: held by one braidd at a time through a lock file, and home of the
 * server's identity ({@code node.properties}), its Ratis log, state and logs.
 */
public final class DataDir implements AutoCloseable {
    private final Path root;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private DataDir(Path root, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Takes the directory for this process, or fails with the one-line reason. */
    public static DataDir acquire(Path root) throws IOException {
        Files.createDirectories(root);
        Path lockFile = root.resolve("braidd.lock");
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            String pid = readPid(root);
            throw new IOException("data directory " + root + " is in use by another braidd"
                    + (pid == null ? "" : " (pid " + pid + ")"));
        }
        Files.writeString(root.resolve("braidd.pid"), ProcessHandle.current().pid() + "\n", StandardCharsets.UTF_8);
        return new DataDir(root, ch, lock);
    }

    private static String readPid(Path root) {
        try {
            return Files.readString(root.resolve("braidd.pid"), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    public Path root() {
        return root;
    }

    /**
     * This process's scratch directory, {@code tmp/} under the data directory, emptied first. The
     * JVM's temporary files go there: RocksDB and LZ4 unpack their native libraries (14 MB for
     * RocksDB) into a new temporary file at every start and delete it only on a clean exit, so a
     * server killed with SIGKILL used to leave one in /tmp each time. Here the next start of the
     * same server removes them.
     */
    public Path scratch() throws IOException {
        Path tmp = root.resolve("tmp");
        if (Files.isDirectory(tmp, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (var old = Files.newDirectoryStream(tmp)) {
                for (Path f : old) {
                    if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.deleteIfExists(f);
                }
            }
        } else {
            Files.deleteIfExists(tmp);
            Files.createDirectory(tmp);
        }
        return tmp;
    }

    /**
     * The server's uuid, created on first start. A directory made for one address refuses another,
     * since the pool knows the server by that address.
     */
    public String identity(HostPort address) throws IOException {
        Path f = root.resolve("node.properties");
        Properties p = new Properties();
        if (Files.exists(f)) {
            try (InputStream in = Files.newInputStream(f)) {
                p.load(in);
            }
            String saved = p.getProperty("address");
            if (saved != null && !saved.equals(address.toString())) {
                throw new IOException("data directory " + root + " belongs to the server " + saved
                        + "; start braidd with --address " + saved);
            }
            return p.getProperty("uuid");
        }
        p.setProperty("uuid", UUID.randomUUID().toString());
        p.setProperty("address", address.toString());
        Path tmp = root.resolve("node.properties.tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            p.store(out, "braidd server identity");
        }
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return p.getProperty("uuid");
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(root.resolve("braidd.pid"));
        lock.release();
        lockChannel.close();
    }
}
