package io.braid.daemon;

import io.braid.block.BlockVolumes;
import io.braid.config.PoolGroup;
import io.braid.nbd.NbdServer;
import io.braid.replication.ReplicationService;
import io.braid.rpc.ManagementServiceImpl;
import io.braid.rpc.PeerClients;
import io.braid.rpc.PeerMonitor;
import io.braid.rpc.PeerServiceImpl;
import io.braid.rpc.PoolCommands;
import io.braid.rpc.VolumeCommands;
import io.braid.util.HostPort;
import io.braid.volume.BrickManager;
import io.braid.volume.ReplicaSets;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One braidd: the management and peer services on the server's address, the pool's
 * configuration group, and the bricks placed on this server.
 */
public final class BraidDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BraidDaemon.class);
    /**
     * The HTTP/2 flow-control window of the data plane (server and data channels), per stream and
     * per connection. gRPC's default, 1 MiB, lets a sender have one 1 MiB write out before it waits
     * for the receiver's window update: a replication stream or a mount's gathered writes would
     * then move one request per round trip.
     */
    public static final int FLOW_WINDOW = 16 << 20;

    private final HostPort address;
    private final Path dataDirPath;
    private DataDir dataDir;
    private Member self;
    private PoolGroup pool;
    private PeerClients clients;
    private PeerMonitor monitor;
    private BrickManager bricks;
    private PeerServiceImpl peerService;
    private Server server;
    private ScheduledExecutorService reconciler;
    private BlockVolumes blockVolumes;
    private ReplicaSets replicaSets;
    private io.braid.file.FileVolumes fileVolumes;
    private NbdServer nbd;
    private io.netty.channel.EventLoopGroup dataLoops;
    private int nbdPort = DEFAULT_NBD_PORT;
    public static final int DEFAULT_NBD_PORT = 10809;
    private volatile boolean closed;

    public BraidDaemon(HostPort address, Path dataDir) {
        this.address = address;
        this.dataDirPath = dataDir;
    }

    /** A daemon on a data directory the caller already holds. */
    public BraidDaemon(HostPort address, DataDir held) {
        this(address, held.root());
        this.dataDir = held;
    }

    /** The NBD port on this server's address; 0: no NBD server. */
    public BraidDaemon nbdPort(int port) {
        this.nbdPort = port;
        return this;
    }

    public BraidDaemon start() throws IOException {
        if (dataDir == null) dataDir = DataDir.acquire(dataDirPath);
        try {
            String uuid = dataDir.identity(address);
            self = new Member(uuid, address, address.canonical(), ProcessHandle.current().pid());
            LOG.info("{}: braidd starting, uuid {}, data directory {}", self.name(), uuid, dataDirPath);
            clients = new PeerClients();
            // One event loop carries a block write end to end on the primary: the NBD request,
            // the replication sends and their acknowledgements, and the reply.
            dataLoops = io.braid.nbd.EventLoops.group(1, new io.netty.util.concurrent.DefaultThreadFactory("data-io", true));
            clients.dataLoops(dataLoops);
            pool = new PoolGroup(uuid, address, self.canonicalAddress(), dataDirPath);
            bricks = new BrickManager(uuid, self.name(), address.port());
            monitor = new PeerMonitor(uuid, pool, clients);
            peerService = new PeerServiceImpl(self, pool, bricks);
            replicaSets = new ReplicaSets(self, pool, monitor, clients);
            blockVolumes = new BlockVolumes(replicaSets, pool);
            fileVolumes = new io.braid.file.FileVolumes(replicaSets, pool);
            bricks.setReplicas(new TypedReplicas(blockVolumes, fileVolumes));
            io.braid.files.FileService fileService = new io.braid.files.FileService(fileVolumes);
            fileVolumes.onLayoutChange(fileService::layoutChanged);
            PoolCommands poolCommands = new PoolCommands(self, pool, clients, monitor);
            VolumeCommands volumeCommands = new VolumeCommands(self, pool, clients, monitor, poolCommands);
            server = NettyServerBuilder.forAddress(new InetSocketAddress(address.host(), address.port()))
                    // the same event loop as the peers' data channels: a file mutation is read, applied,
                    // replicated, acknowledged and answered on one thread
                    .bossEventLoopGroup(dataLoops).workerEventLoopGroup(dataLoops)
                    .channelType(io.braid.nbd.EventLoops.serverChannel(dataLoops))
                    .addService(new ManagementServiceImpl(poolCommands, volumeCommands,
                            new io.braid.rpc.BlockCommands(pool, clients, poolCommands, volumeCommands, blockVolumes)))
                    .addService(peerService)
                    .addService(new ReplicationService(blockVolumes))
                    .addService(fileService.definition())
                    .addService(new io.braid.files.FileReplicationService(fileVolumes).definition())
                    .maxInboundMessageSize(64 << 20)
                    .flowControlWindow(FLOW_WINDOW)
                    // mounts ping every few seconds to notice a dead server quickly
                    .permitKeepAliveTime(1, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    // the method lookup runs on the transport thread too (the default executor would
                    // hop to a pool thread and back for every call); calls that may block get a pool
                    .directExecutor()
                    .callExecutor(BraidDaemon::callExecutor)
                    .build();
            try {
                server.start();
            } catch (IOException e) {
                throw new IOException("cannot listen on " + address + ": " + rootMessage(e), e);
            }
            try {
                pool.start();
            } catch (IOException e) {
                throw new IOException("cannot start the configuration store on port "
                        + PoolGroup.raftPort(address.port()) + ": " + rootMessage(e), e);
            }
            monitor.start();
            replicaSets.start();
            if (nbdPort > 0) {
                nbd = new NbdServer(address.host(), nbdPort, blockVolumes).workers(dataLoops);
                nbd.start();
            }
            reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "brick-reconciler");
                t.setDaemon(true);
                return t;
            });
            pool.addListener(s -> reconciler.execute(() -> bricks.reconcile(pool.state())));
            pool.addListener(s -> monitor.poke());
            reconciler.scheduleWithFixedDelay(() -> {
                try {
                    bricks.reconcile(pool.state());
                } catch (RuntimeException e) {
                    LOG.warn("{}: brick reconcile failed: {}", self.name(), e.toString());
                }
            }, 0, 5, TimeUnit.SECONDS);
            LOG.info("{}: braidd ready on {} (configuration store on port {}, NBD on {}), pool {}", self.name(),
                    address, PoolGroup.raftPort(address.port()), nbdPort > 0 ? nbdPort : "off", pool.poolId());
            return this;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Threads for the calls that may block: management, peers, handshakes, heal, sessions. */
    private static final java.util.concurrent.ExecutorService CONTROL_CALLS = Executors.newCachedThreadPool(
            new io.netty.util.concurrent.DefaultThreadFactory("grpc-control", true));

    /**
     * The replication streams, forwarded I/O and file volume calls run their callbacks on the
     * transport's threads (the server's executor is direct): they only touch the page cache or
     * hand work to a primary engine (which never parks them), and a thread switch per message
     * costs more than the work itself. Everything else runs on {@link #CONTROL_CALLS}.
     */
    private static <ReqT, RespT> java.util.concurrent.Executor callExecutor(io.grpc.ServerCall<ReqT, RespT> call,
                                                                           io.grpc.Metadata headers) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (method.equals(io.braid.proto.replication.ReplicationGrpc.getReplicateMethod().getFullMethodName())
                || method.equals(io.braid.proto.replication.ReplicationGrpc.getBlockIoMethod().getFullMethodName())
                || method.equals(io.braid.proto.filerep.FileReplicationGrpc.getReplicateMethod().getFullMethodName())
                || method.equals(io.braid.proto.file.FileIoGrpc.getCallMethod().getFullMethodName())
                || method.equals(io.braid.proto.file.FileIoGrpc.getCallsMethod().getFullMethodName())) {
            return null; // stays direct
        }
        return CONTROL_CALLS;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    public Member self() {
        return self;
    }

    public PoolGroup pool() {
        return pool;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (self != null) LOG.info("{}: braidd stopping", self.name());
        if (reconciler != null) reconciler.shutdownNow();
        if (nbd != null) nbd.close();
        if (replicaSets != null) replicaSets.close();
        if (monitor != null) monitor.close();
        if (server != null) {
            server.shutdown();
            try {
                server.awaitTermination(3, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            server.shutdownNow();
        }
        if (peerService != null) peerService.close();
        try {
            if (pool != null) pool.close();
        } catch (IOException e) {
            LOG.warn("closing the configuration store: {}", e.toString());
        }
        if (bricks != null) bricks.close();
        if (clients != null) clients.close();
        if (dataLoops != null) dataLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        try {
            if (dataDir != null) dataDir.close();
        } catch (IOException e) {
            LOG.warn("releasing {}: {}", dataDirPath, e.toString());
        }
    }
}
