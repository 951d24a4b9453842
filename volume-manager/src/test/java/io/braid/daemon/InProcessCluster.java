package io.braid.daemon;

import io.braid.proto.admin.ManagementGrpc;
import io.braid.util.HostPort;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * N braidd daemons in this JVM, each on its own loopback address with its own directory, for fast
 * tests of the services. Real processes are tested in tools' integration tests.
 */
public final class InProcessCluster implements AutoCloseable {
    private static final AtomicInteger NEXT = new AtomicInteger(10);
    private static final int THIRD_OCTET = 200 + (int) (ProcessHandle.current().pid() % 50);

    private final Path root;
    private final List<HostPort> addresses = new ArrayList<>();
    private final List<BraidDaemon> daemons = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    public InProcessCluster(Path root, int n) throws IOException {
        this.root = root;
        for (int i = 0; i < n; i++) {
            addresses.add(HostPort.of("127.0." + THIRD_OCTET + "." + NEXT.getAndIncrement(), HostPort.DEFAULT_PORT));
            daemons.add(null);
            channels.add(null);
        }
        for (int i = 0; i < n; i++) start(i);
    }

    public void start(int i) throws IOException {
        daemons.set(i, new BraidDaemon(addresses.get(i), root.resolve("s" + i)).start());
    }

    public void stop(int i) {
        daemons.get(i).close();
        if (channels.get(i) != null) channels.get(i).shutdownNow();
        channels.set(i, null);
    }

    public HostPort address(int i) {
        return addresses.get(i);
    }

    public Path root() {
        return root;
    }

    public BraidDaemon daemon(int i) {
        return daemons.get(i);
    }

    public ManagementGrpc.ManagementBlockingStub admin(int i) {
        if (channels.get(i) == null) {
            channels.set(i, NettyChannelBuilder.forAddress(addresses.get(i).host(), addresses.get(i).port()).usePlaintext().build());
        }
        return ManagementGrpc.newBlockingStub(channels.get(i)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        for (int i = 0; i < daemons.size(); i++) {
            if (channels.get(i) != null) channels.get(i).shutdownNow();
            if (daemons.get(i) != null) daemons.get(i).close();
        }
    }
}
