package io.braid.config;

import io.braid.proto.config.AddPeer;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.ConfigResult;
import io.braid.proto.config.PeerRecord;
import io.braid.util.BraidException;
import io.braid.util.HostPort;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This member's place in the trusted pool: the Ratis server that holds the pool's configuration
 * group, and the operations that change the group's membership. A server that has never been
 * probed is a pool of one. Joining another pool replaces that group; leaving one starts a new one.
 */
public final class PoolGroup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PoolGroup.class);
    /** Ratis listens next to the member's gRPC port. */
    public static final int RAFT_PORT_OFFSET = 1;
    private static final long WRITE_TIMEOUT_MS = 10_000;

    private final String uuid;
    private final HostPort address;
    private final String canonicalAddress;
    private final Path dataDir;
    private final RaftPeerId peerId;
    private final RaftProperties properties = new RaftProperties();
    private final Map<RaftGroupId, ConfigStateMachine> machines = new ConcurrentHashMap<>();
    private final List<java.util.function.Consumer<PoolState>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong callIds = new AtomicLong();
    private final ClientId adminClientId = ClientId.randomId();
    private RaftServer server;
    private volatile RaftGroupId poolId;

    public PoolGroup(String uuid, HostPort address, String canonicalAddress, Path dataDir) {
        this.uuid = uuid;
        this.address = address;
        this.canonicalAddress = canonicalAddress;
        this.dataDir = dataDir;
        this.peerId = RaftPeerId.valueOf(uuid);
    }

    public void start() throws IOException {
        RaftServerConfigKeys.setStorageDir(properties, List.of(dataDir.resolve("ratis").toFile()));
        GrpcConfigKeys.Server.setHost(properties, address.host());
        GrpcConfigKeys.Server.setPort(properties, raftPort(address.port()));
        RaftServerConfigKeys.Rpc.setTimeoutMin(properties, TimeDuration.valueOf(1000, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(properties, TimeDuration.valueOf(2000, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(properties, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(properties, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        // The configuration log is small and kept whole: a member that joins replays it from the start.
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, false);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, false);
        // Ratis shuts its server down after a JVM pause of 60 s (a SIGSTOPped daemon). A member
        // that resumes must rejoin and catch up instead: Raft stays safe either way.
        RaftServerConfigKeys.setCloseThreshold(properties, TimeDuration.valueOf(3650, TimeUnit.DAYS));
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(3, TimeUnit.SECONDS));

        server = RaftServer.newBuilder()
                .setServerId(peerId)
                .setProperties(properties)
                .setStateMachineRegistry(gid -> machines.computeIfAbsent(gid, g -> {
                    ConfigStateMachine m = new ConfigStateMachine(memberName());
                    m.addListener(s -> {
                        if (g.equals(poolId)) listeners.forEach(l -> l.accept(s));
                    });
                    return m;
                }))
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        server.start();

        RaftGroupId saved = readPoolId();
        for (RaftGroupId gid : server.getGroupIds()) {
            if (!gid.equals(saved)) {
                LOG.info("{}: removing configuration group {} left from an earlier pool", memberName(), gid.getUuid());
                removeGroup(gid);
            }
        }
        boolean present = saved != null && contains(saved);
        if (present) {
            poolId = saved;
            LOG.info("{}: member of pool {}", memberName(), saved.getUuid());
        } else {
            createOwnPool();
        }
    }

    public static int raftPort(int port) {
        return port + RAFT_PORT_OFFSET;
    }

    private boolean contains(RaftGroupId gid) throws IOException {
        for (RaftGroupId g : server.getGroupIds()) {
            if (g.equals(gid)) return true;
        }
        return false;
    }

    /** Starts a pool of one: this member alone, and its own peer record. */
    private void createOwnPool() throws IOException {
        RaftGroupId gid = RaftGroupId.valueOf(UUID.randomUUID());
        RaftGroup group = RaftGroup.valueOf(gid, selfPeer());
        addGroup(group);
        writePoolId(gid);
        poolId = gid;
        LOG.info("{}: started a new pool {}", memberName(), gid.getUuid());
        PeerRecord self = PeerRecord.newBuilder().setUuid(uuid).setHostname(address.display())
                .setAddress(canonicalAddress).build();
        submit(ConfigCommand.newBuilder().setAddPeer(AddPeer.newBuilder().setPeer(self)).build(), 60_000);
    }

    public RaftPeer selfPeer() {
        return RaftPeer.newBuilder().setId(peerId).setAddress(address.host() + ":" + raftPort(address.port())).build();
    }

    public String memberName() {
        return address.display();
    }

    public String poolId() {
        return poolId == null ? "" : poolId.getUuid().toString();
    }

    public void addListener(java.util.function.Consumer<PoolState> l) {
        listeners.add(l);
    }

    public PoolState state() {
        RaftGroupId gid = poolId;
        ConfigStateMachine m = gid == null ? null : machines.get(gid);
        return m == null ? PoolState.EMPTY : m.state();
    }

    /** The Ratis members of the pool's group as this member last saw them. */
    public List<RaftPeer> raftMembers() throws IOException {
        return new ArrayList<>(server.getDivision(poolId).getRaftConf().getCurrentPeers());
    }

    /** Orders a command through the pool and returns the log index it was applied at. */
    public long submit(ConfigCommand command) {
        return submit(command, WRITE_TIMEOUT_MS);
    }

    private long submit(ConfigCommand command, long timeoutMs) {
        try (RaftClient client = newClient()) {
            RaftClientReply reply = client.async()
                    .send(Message.valueOf(ByteString.copyFrom(command.toByteArray())))
                    .get(timeoutMs, TimeUnit.MILLISECONDS);
            if (!reply.isSuccess()) {
                throw BraidException.noQuorum(reply.getException() == null ? null : reply.getException().getMessage());
            }
            ConfigResult result = ConfigResult.parseFrom(reply.getMessage().getContent().toByteArray());
            if (!result.getError().isEmpty()) {
                throw new BraidException(BraidException.Kind.CONFLICT, result.getError());
            }
            return reply.getLogIndex();
        } catch (TimeoutException e) {
            throw BraidException.noQuorum("no majority of the pool answered within " + timeoutMs / 1000 + " s");
        } catch (ExecutionException e) {
            throw BraidException.noQuorum(e.getCause() == null ? null : e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw BraidException.noQuorum("interrupted");
        } catch (IOException e) {
            throw new BraidException(BraidException.Kind.INTERNAL, "configuration store: " + e.getMessage());
        }
    }

    private RaftClient newClient() throws IOException {
        RaftServer.Division division = server.getDivision(poolId);
        return RaftClient.newBuilder()
                .setProperties(properties)
                .setRaftGroup(division.getGroup())
                .setLeaderId(division.getInfo().getLeaderId())
                .setClientId(ClientId.randomId())
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(40,
                        TimeDuration.valueOf(250, TimeUnit.MILLISECONDS)))
                .build();
    }

    /** Changes the group's members to exactly these; needs a majority of the old and the new set. */
    public void setMembers(List<RaftPeer> members) {
        try (RaftClient client = newClient()) {
            RaftClientReply reply = client.admin().setConfiguration(members);
            if (!reply.isSuccess()) {
                throw BraidException.noQuorum(reply.getException() == null ? null : reply.getException().getMessage());
            }
        } catch (IOException e) {
            throw BraidException.noQuorum(e.getMessage());
        }
    }

    /** Leaves whatever pool this member is in and becomes part of the given group. */
    public synchronized void join(RaftGroup group) throws IOException {
        RaftGroupId old = poolId;
        if (group.getGroupId().equals(old)) return;
        // Join with an empty member list: the leader's configuration change brings this member in.
        // Started with the full list, it could time out and ask for votes before the leader knows
        // it, and the leader would tell it to shut down.
        addGroup(RaftGroup.valueOf(group.getGroupId()));
        writePoolId(group.getGroupId());
        poolId = group.getGroupId();
        if (old != null) removeGroup(old);
        LOG.info("{}: joined pool {} with {} members", memberName(), group.getGroupId().getUuid(), group.getPeers().size());
    }

    /** After being detached: drops the pool's group and starts a pool of one again. */
    public synchronized void leave(String expectedPoolId) throws IOException {
        RaftGroupId old = poolId;
        if (old == null || !old.getUuid().toString().equals(expectedPoolId)) return;
        poolId = null;
        removeGroup(old);
        createOwnPool();
    }

    private void addGroup(RaftGroup group) throws IOException {
        RaftClientReply r = server.groupManagement(
                GroupManagementRequest.newAdd(adminClientId, peerId, callIds.incrementAndGet(), group));
        if (!r.isSuccess()) throw new IOException("cannot add configuration group: " + r.getException());
    }

    private void removeGroup(RaftGroupId gid) throws IOException {
        RaftClientReply r = server.groupManagement(
                GroupManagementRequest.newRemove(adminClientId, peerId, callIds.incrementAndGet(), gid, true, false));
        machines.remove(gid);
        if (!r.isSuccess()) LOG.warn("{}: removing group {} failed: {}", memberName(), gid.getUuid(), r.getException());
    }

    private RaftGroupId readPoolId() throws IOException {
        Path f = dataDir.resolve("pool.id");
        if (!Files.exists(f)) return null;
        return RaftGroupId.valueOf(UUID.fromString(Files.readString(f, StandardCharsets.UTF_8).trim()));
    }

    private void writePoolId(RaftGroupId gid) throws IOException {
        Path tmp = dataDir.resolve("pool.id.tmp");
        Files.writeString(tmp, gid.getUuid().toString() + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, dataDir.resolve("pool.id"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public RaftGroup group() throws IOException {
        return server.getDivision(poolId).getGroup();
    }

    @Override
    public void close() throws IOException {
        if (server != null) server.close();
    }
}
