package io.braid.rpc;

import io.braid.config.PoolGroup;
import io.braid.config.PoolState;
import io.braid.daemon.Member;
import io.braid.proto.admin.Member.Builder;
import io.braid.proto.admin.PoolReply;
import io.braid.proto.config.AddPeer;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.RemovePeer;
import io.braid.proto.peer.HelloReply;
import io.braid.proto.peer.HelloRequest;
import io.braid.proto.peer.JoinPoolRequest;
import io.braid.proto.peer.LeavePoolRequest;
import io.braid.proto.peer.RaftMember;
import io.braid.proto.peer.SyncBricksRequest;
import io.braid.util.BraidException;
import io.braid.util.HostPort;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** peer probe, peer detach, pool list. */
public final class PoolCommands {
    private static final Logger LOG = LoggerFactory.getLogger(PoolCommands.class);
    public static final String NOT_CONNECTED = "Probe returned with Transport endpoint is not connected";
    public static final String STATE = "Peer in Cluster";
    private static final long SYNC_MS = 5000;

    private final Member self;
    private final PoolGroup pool;
    private final PeerClients clients;
    private final PeerMonitor monitor;

    public PoolCommands(Member self, PoolGroup pool, PeerClients clients, PeerMonitor monitor) {
        this.self = self;
        this.pool = pool;
        this.clients = clients;
        this.monitor = monitor;
    }

    /** Resolves host to "ip:port", refusing names that are not addresses before asking DNS. */
    public static String canonical(HostPort host) {
        if (host.host().matches("[0-9.]+") && !host.host().matches("(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}")) {
            return null;
        }
        try {
            return host.canonical();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private boolean isLocal(HostPort host, String canonical) {
        if (host.host().equalsIgnoreCase("localhost")) return true;
        if (canonical == null) return false;
        if (canonical.equals(self.canonicalAddress())) return true;
        return (canonical.startsWith("127.0.0.1:") || canonical.startsWith("[0:0:0:0:0:0:0:1]:")) && host.port() == self.address().port();
    }

    /** Adds host to the pool; returns the note to print after "success", if any. */
    public String probe(String hostText) {
        HostPort host;
        try {
            host = HostPort.parse(hostText);
        } catch (IllegalArgumentException e) {
            throw BraidException.invalid("%s", e.getMessage());
        }
        String canonical = canonical(host);
        if (isLocal(host, canonical)) return "Probe on localhost not needed";
        if (canonical == null) throw BraidException.invalid("%s does not resolve to an address", hostText);
        PoolState state = pool.state();
        Optional<PeerRecord> known = state.peerByHost(host.display(), canonical);
        if (known.isPresent()) {
            return "Host " + host.host() + " port " + host.port() + " already in peer list";
        }
        HelloReply hello;
        try {
            hello = clients.peer(canonical, 3000).hello(HelloRequest.newBuilder().setFromUuid(self.uuid()).build());
        } catch (RuntimeException e) {
            throw new BraidException(BraidException.Kind.UNREACHABLE,
                    NOT_CONNECTED + " (no braidd answers on " + host.display() + ")");
        }
        if (hello.getUuid().equals(self.uuid())) return "Probe on localhost not needed";
        if (state.peer(hello.getUuid()).isPresent()) {
            return "Host " + host.host() + " port " + host.port() + " already in peer list";
        }
        if (hello.getMemberCount() > 1 || hello.getVolumeCount() > 0) {
            throw BraidException.conflict("%s is either already part of another cluster or having volumes configured",
                    hostText);
        }
        requireQuorum(state);

        try {
            List<RaftPeer> members = pool.raftMembers();
            RaftPeer joiner = RaftPeer.newBuilder().setId(RaftPeerId.valueOf(hello.getUuid()))
                    .setAddress(host.host() + ":" + PoolGroup.raftPort(host.port())).build();
            List<RaftPeer> next = new ArrayList<>(members);
            next.add(joiner);
            JoinPoolRequest.Builder join = JoinPoolRequest.newBuilder().setPoolId(pool.poolId());
            for (RaftPeer p : next) {
                join.addMembers(RaftMember.newBuilder().setUuid(p.getId().toString()).setRaftAddress(p.getAddress()));
            }
            try {
                clients.peer(canonical, 15_000).joinPool(join.build());
            } catch (io.grpc.StatusRuntimeException e) {
                throw BraidException.conflict("%s refused to join: %s", hostText, e.getStatus().getDescription());
            }
            try {
                pool.setMembers(next);
            } catch (BraidException e) {
                tellToLeave(canonical);
                throw e;
            }
            PeerRecord record = PeerRecord.newBuilder().setUuid(hello.getUuid()).setHostname(host.display())
                    .setAddress(canonical).build();
            monitor.markUp(record);
            commit(ConfigCommand.newBuilder().setAddPeer(AddPeer.newBuilder().setPeer(record)).build());
            LOG.info("{}: probed {} ({}) into pool {}", self.name(), host.display(), hello.getUuid(), pool.poolId());
            return "";
        } catch (java.io.IOException e) {
            throw new BraidException(BraidException.Kind.INTERNAL, e.getMessage());
        }
    }

    private void tellToLeave(String canonical) {
        try {
            clients.peer(canonical, 3000).leavePool(LeavePoolRequest.newBuilder().setPoolId(pool.poolId()).build());
        } catch (RuntimeException e) {
            LOG.warn("{}: could not tell {} to leave the pool: {}", self.name(), canonical, e.toString());
        }
    }

    public void detach(String hostText, boolean force) {
        HostPort host;
        try {
            host = HostPort.parse(hostText);
        } catch (IllegalArgumentException e) {
            throw BraidException.invalid("%s", e.getMessage());
        }
        String canonical = canonical(host);
        if (isLocal(host, canonical)) throw BraidException.invalid("%s is localhost", hostText);
        PoolState state = pool.state();
        PeerRecord peer = state.peerByHost(host.display(), canonical)
                .orElseThrow(() -> BraidException.notFound("%s is not part of cluster", hostText));
        if (peer.getUuid().equals(self.uuid())) throw BraidException.invalid("%s is localhost", hostText);
        List<String> vols = state.volumesOnPeer(peer.getUuid());
        if (!vols.isEmpty()) {
            throw BraidException.conflict("Peer %s hosts one or more bricks (volume %s). Remove or replace its bricks"
                    + " before detaching it", hostText, String.join(", ", vols));
        }
        boolean reachable = monitor.isReachable(peer);
        if (!reachable && !force) {
            throw BraidException.conflict("%s is not connected. Check with 'peer status', or detach it with force",
                    hostText);
        }
        requireQuorum(state);
        commit(ConfigCommand.newBuilder().setRemovePeer(RemovePeer.newBuilder().setUuid(peer.getUuid())).build());
        try {
            List<RaftPeer> next = new ArrayList<>();
            for (RaftPeer p : pool.raftMembers()) {
                if (!p.getId().toString().equals(peer.getUuid())) next.add(p);
            }
            pool.setMembers(next);
        } catch (BraidException | java.io.IOException e) {
            // Put the record back: the member is still in the group.
            pool.submit(ConfigCommand.newBuilder().setAddPeer(AddPeer.newBuilder().setPeer(peer)).build());
            throw e instanceof BraidException b ? b : new BraidException(BraidException.Kind.INTERNAL, e.getMessage());
        }
        if (reachable) tellToLeave(peer.getAddress());
        LOG.info("{}: detached {} ({})", self.name(), peer.getHostname(), peer.getUuid());
    }

    /**
     * Orders a command through the pool, then waits (briefly) until every connected member has
     * applied it and opened or closed its bricks to match, so that whichever member is asked next
     * answers with the change, as glusterd's commit on every peer does.
     */
    public long commit(ConfigCommand command) {
        long index = pool.submit(command);
        PoolState s = pool.state();
        s.peers().values().parallelStream()
                .filter(p -> monitor.isConnected(p.getUuid()))
                .forEach(p -> {
                    try {
                        clients.peer(p.getAddress(), SYNC_MS).syncBricks(SyncBricksRequest.newBuilder().setAppliedIndex(index).build());
                    } catch (io.grpc.StatusRuntimeException e) {
                        LOG.warn("{}: {} has not applied configuration index {} yet: {}", self.name(), p.getHostname(), index,
                                e.getStatus());
                    }
                });
        return index;
    }

    /** Fails with "quorum not met" unless a majority of the pool answers now. */
    public void requireQuorum(PoolState state) {
        int members = state.peers().size();
        long up = monitor.countReachable(state.peers().values());
        if (up * 2 <= members) {
            throw BraidException.noQuorum(up + " of " + members + " servers reachable");
        }
    }

    public PoolReply list() {
        PoolReply.Builder out = PoolReply.newBuilder();
        List<PeerRecord> peers = new ArrayList<>(pool.state().peers().values());
        peers.sort((a, b) -> a.getHostname().compareTo(b.getHostname()));
        for (PeerRecord p : peers) {
            boolean isSelf = p.getUuid().equals(self.uuid());
            Builder m = io.braid.proto.admin.Member.newBuilder()
                    .setUuid(p.getUuid())
                    .setHostname(p.getHostname())
                    .setConnected(monitor.isConnected(p.getUuid()))
                    .setState(STATE)
                    .setSelf(isSelf);
            out.addMembers(m);
        }
        return out.build();
    }
}
