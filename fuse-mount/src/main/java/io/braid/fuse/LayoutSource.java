package io.braid.fuse;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.Layout;
import io.braid.proto.file.LayoutRequest;
import io.braid.proto.file.SetLayout;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The volume's layout as last heard, and where to ask for it again: the server that answered
 * last, the mount's server and backup servers, then every pool member the layout names. Concurrent
 * refreshes after one failure share one round of questions.
 */
final class LayoutSource {
    private static final Logger LOG = LoggerFactory.getLogger(LayoutSource.class);

    private static final long FIRST_DEADLINE_MS = 10_000;

    private final String volume;
    private final List<String> bootstrap;
    private final ServerChannels channels;
    private final long deadlineMs;
    private volatile Layout current;
    private volatile String lastGood;
    private CompletableFuture<Layout> refreshing; // guarded by this

    LayoutSource(String volume, List<String> bootstrap, ServerChannels channels, long deadlineMs) {
        this.volume = volume;
        this.bootstrap = List.copyOf(bootstrap);
        this.channels = channels;
        this.deadlineMs = deadlineMs;
    }

    /**
     * Asks the servers one after another until one answers.
     *
     * @throws MountException if none answers, the volume does not exist, is not a file volume or is not started
     */
    Layout fetchFirst() {
        LayoutRequest request = LayoutRequest.newBuilder().setVolume(volume).build();
        List<String> reasons = new ArrayList<>();
        for (String address : candidates()) {
            Layout layout;
            try {
                // The first question also pays for the connection (and a cold JVM): give it longer.
                layout = FileIoGrpc.newBlockingStub(channels.get(address))
                        .withDeadlineAfter(Math.max(deadlineMs, FIRST_DEADLINE_MS), TimeUnit.MILLISECONDS)
                        .getLayout(request);
            } catch (StatusRuntimeException e) {
                Status s = e.getStatus();
                switch (s.getCode()) {
                    case NOT_FOUND -> throw MountException.failure("volume " + volume + " does not exist");
                    case INVALID_ARGUMENT -> throw MountException.failure(s.getDescription() != null
                            ? s.getDescription()
                            : "volume " + volume + " is not a file volume (a block volume is used through NBD)");
                    case UNIMPLEMENTED -> reasons.add(address + ": the server does not serve file volumes");
                    default -> reasons.add(address + ": " + describe(s));
                }
                continue;
            }
            if (!layout.getStarted()) {
                throw MountException.failure("volume " + volume + " is not started");
            }
            if (layout.getSetsCount() == 0) {
                throw MountException.failure("volume " + volume + " has no replica sets (is it a block volume?)");
            }
            lastGood = address;
            current = layout;
            LOG.info("{}: layout from {}: {}", volume, address, summary(layout));
            return layout;
        }
        throw MountException.failure("cannot get the layout of volume " + volume + ": " + String.join("; ", reasons));
    }

    Layout current() {
        return current;
    }

    /**
     * A layout newer than seen: the current one if it already changed since, otherwise the answer
     * of the first server that gives one. When no server answers, completes with the layout it has.
     */
    CompletableFuture<Layout> refresh(Layout seen) {
        CompletableFuture<Layout> done;
        synchronized (this) {
            if (current != seen) {
                return CompletableFuture.completedFuture(current);
            }
            if (refreshing != null) {
                return refreshing;
            }
            refreshing = done = new CompletableFuture<>();
        }
        ask(candidates(), 0, LayoutRequest.newBuilder().setVolume(volume).build(), done);
        return done;
    }

    private void ask(List<String> candidates, int i, LayoutRequest request, CompletableFuture<Layout> done) {
        if (i == candidates.size()) {
            finish(null, done);
            return;
        }
        String address = candidates.get(i);
        ListenableFuture<Layout> f;
        try {
            f = FileIoGrpc.newFutureStub(channels.get(address))
                    .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS).getLayout(request);
        } catch (RuntimeException e) {
            finish(null, done); // closed
            return;
        }
        Futures.addCallback(f, new FutureCallback<>() {
            @Override
            public void onSuccess(Layout layout) {
                lastGood = address;
                finish(layout, done);
            }

            @Override
            public void onFailure(Throwable t) {
                Status s = Status.fromThrowable(t);
                if (s.getCode() == Status.Code.NOT_FOUND) {
                    LOG.warn("{}: {} says the volume does not exist", volume, address);
                    finish(Layout.newBuilder().setVolume(volume).setStarted(false).build(), done);
                } else {
                    LOG.debug("{}: no layout from {}: {}", volume, address, describe(s));
                    ask(candidates, i + 1, request, done);
                }
            }
        }, MoreExecutors.directExecutor());
    }

    private void finish(Layout fresh, CompletableFuture<Layout> done) {
        Layout result;
        synchronized (this) {
            if (fresh != null) {
                Layout old = current;
                current = fresh;
                if (!sameRouting(old, fresh)) {
                    LOG.info("{}: layout from {}: {}", volume, lastGood, summary(fresh));
                }
            }
            result = current;
            refreshing = null;
        }
        done.complete(result);
    }

    private List<String> candidates() {
        Set<String> all = new LinkedHashSet<>();
        if (lastGood != null) {
            all.add(lastGood);
        }
        all.addAll(bootstrap);
        Layout l = current;
        if (l != null) {
            all.addAll(l.getServersList());
        }
        return new ArrayList<>(all);
    }

    private static boolean sameRouting(Layout a, Layout b) {
        if (a == null || a.getStarted() != b.getStarted() || a.getSetsCount() != b.getSetsCount()) {
            return false;
        }
        for (int i = 0; i < a.getSetsCount(); i++) {
            SetLayout x = a.getSets(i);
            SetLayout y = b.getSets(i);
            if (x.getEpoch() != y.getEpoch() || x.getPrimary() != y.getPrimary()) {
                return false;
            }
        }
        return true;
    }

    static String summary(Layout layout) {
        if (!layout.getStarted()) {
            return "not started";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < layout.getSetsCount(); i++) {
            SetLayout s = layout.getSets(i);
            String primary = s.getPrimary() >= 0 && s.getPrimary() < s.getBricksCount()
                    ? s.getBricks(s.getPrimary()).getName() + " at " + s.getBricks(s.getPrimary()).getAddress()
                    : "none";
            sb.append(i == 0 ? "" : ", ").append("set ").append(i).append(" primary ").append(primary)
                    .append(" epoch ").append(s.getEpoch());
        }
        return sb.toString();
    }

    static String describe(Status s) {
        String d = s.getDescription();
        if (s.getCode() == Status.Code.UNAVAILABLE) {
            Throwable root = s.getCause();
            while (root != null && root.getCause() != null) {
                root = root.getCause();
            }
            String why = root != null && root.getMessage() != null ? root.getMessage() : d;
            return "unreachable" + (why == null ? "" : " (" + why + ")");
        }
        if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return "no answer";
        }
        return s.getCode() + (d == null ? "" : ": " + d);
    }
}
