package io.braid.rpc;

import io.braid.config.PoolGroup;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.peer.HelloReply;
import io.braid.proto.peer.HelloRequest;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Asks every other member "hello" once a second and remembers who answered. */
public final class PeerMonitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerMonitor.class);
    private static final long PERIOD_MS = 1000;
    /**
     * How long a command waits for a member that missed the last hello: longer than the period, as
     * a busy member (a JIT or GC pause, CLI JVMs starting on a small machine) can miss one second's
     * answer while it is very much alive; a dead one refuses the connection at once.
     */
    private static final long ASK_MS = 5000;

    private final String selfUuid;
    private final PoolGroup pool;
    private final PeerClients clients;
    private final Map<String, Boolean> connected = new ConcurrentHashMap<>();
    /** When each member last answered a hello (System.nanoTime()). */
    private final Map<String, Long> lastAnswer = new ConcurrentHashMap<>();
    /** Why each member last failed to answer a command's hello (for the command's error). */
    private final Map<String, String> whyNot = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "peer-monitor");
        t.setDaemon(true);
        return t;
    });

    public PeerMonitor(String selfUuid, PoolGroup pool, PeerClients clients) {
        this.selfUuid = selfUuid;
        this.pool = pool;
        this.clients = clients;
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::round, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    /** Says hello to everyone now, as after a change of the pool's members. */
    public void poke() {
        timer.execute(this::round);
    }

    private void round() {
        try {
            Map<String, PeerRecord> peers = pool.state().peers();
            connected.keySet().retainAll(peers.keySet());
            lastAnswer.keySet().retainAll(peers.keySet());
            for (PeerRecord p : peers.values()) {
                if (p.getUuid().equals(selfUuid)) continue;
                clients.peerAsync(p.getAddress(), PERIOD_MS).hello(
                        HelloRequest.newBuilder().setFromUuid(selfUuid).build(), new StreamObserver<>() {
                            @Override
                            public void onNext(HelloReply r) {
                                mark(p, r.getUuid().equals(p.getUuid()));
                            }

                            @Override
                            public void onError(Throwable t) {
                                mark(p, false);
                            }

                            @Override
                            public void onCompleted() {
                            }
                        });
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: peer monitor round failed: {}", pool.memberName(), e.toString());
        }
    }

    /** Records that the member just answered, as a probe's hello does. */
    public void markUp(PeerRecord p) {
        mark(p, true);
    }

    private void mark(PeerRecord p, boolean up) {
        if (up) lastAnswer.put(p.getUuid(), System.nanoTime());
        Boolean was = connected.put(p.getUuid(), up);
        if (was == null || was != up) {
            LOG.info("{}: peer {} ({}) {}", pool.memberName(), p.getHostname(), p.getUuid(), up ? "connected" : "disconnected");
        }
    }

    /**
     * Whether the member answers now: true at once if it answered the last hello, otherwise it is
     * asked again, so a member probed a moment ago is not taken for a dead one.
     */
    public boolean isReachable(PeerRecord p) {
        if (isConnected(p.getUuid())) return true;
        try {
            long t0 = System.nanoTime();
            HelloReply r = clients.peer(p.getAddress(), ASK_MS)
                    .hello(HelloRequest.newBuilder().setFromUuid(selfUuid).build());
            boolean up = r.getUuid().equals(p.getUuid());
            if (up) whyNot.remove(p.getUuid());
            else whyNot.put(p.getUuid(), p.getAddress() + " answers as " + r.getUuid());
            LOG.info("{}: {} asked again after a missed hello: {} in {} ms", pool.memberName(), p.getHostname(),
                    up ? "answers" : "answers as another member", (System.nanoTime() - t0) / 1_000_000);
            mark(p, up);
            return up;
        } catch (RuntimeException e) {
            String why = e instanceof io.grpc.StatusRuntimeException s ? s.getStatus().getCode() + ": "
                    + s.getStatus().getDescription() : e.toString();
            whyNot.put(p.getUuid(), why);
            LOG.warn("{}: {} does not answer: {}", pool.memberName(), p.getHostname(), why);
            mark(p, false);
            return false;
        }
    }

    /** Why the member did not answer the last command that asked it, or "". */
    public String whyNot(PeerRecord p) {
        return whyNot.getOrDefault(p.getUuid(), "");
    }

    /** How many members, this one included, answer now; unknown ones are asked in parallel. */
    public long countReachable(java.util.Collection<PeerRecord> members) {
        return members.parallelStream().filter(this::isReachable).count();
    }

    /** When the member last answered a hello (System.nanoTime()), if it has since this daemon started. */
    public java.util.OptionalLong lastAnswered(String uuid) {
        Long t = lastAnswer.get(uuid);
        return t == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(t);
    }

    /** The period of the hellos, in nanoseconds. */
    public static long periodNanos() {
        return TimeUnit.MILLISECONDS.toNanos(PERIOD_MS);
    }

    /** Whether the member answered the last hello; this member itself is always connected. */
    public boolean isConnected(String uuid) {
        return uuid.equals(selfUuid) || connected.getOrDefault(uuid, false);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
