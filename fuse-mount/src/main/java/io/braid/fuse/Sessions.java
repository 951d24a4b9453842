package io.braid.fuse;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.SessionEvent;
import io.braid.proto.file.SessionRequest;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * The mount's session with each server of the volume's bricks. A server releases the locks this
 * mount holds there when the session ends (and those it holds on a set whose primary it became,
 * when it has had no session for a while), and tells through it when the volume's layout changed.
 * A session that ended is opened again within a second (VolumeClient), or on the next call to
 * that server.
 */
final class Sessions implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Sessions.class);
    private static final long REOPEN_NANOS = 1_000_000_000L;

    private final String volume;
    private final String clientId;
    private final ServerChannels channels;
    private final Runnable layoutChanged;
    private final Map<String, Session> open = new ConcurrentHashMap<>();
    private volatile boolean closed;

    Sessions(String volume, String clientId, ServerChannels channels, Runnable layoutChanged) {
        this.volume = volume;
        this.clientId = clientId;
        this.channels = channels;
        this.layoutChanged = layoutChanged;
    }

    /** Opens a session with the server at address unless one is open (or was tried within a second). */
    void ensure(String address) {
        Session s = open.get(address);
        if (s != null && (!s.ended || System.nanoTime() - s.started < REOPEN_NANOS)) {
            return;
        }
        if (closed) {
            return;
        }
        Session fresh = new Session(address);
        boolean mine = s == null ? open.putIfAbsent(address, fresh) == null : open.replace(address, s, fresh);
        if (mine) {
            fresh.start();
        }
    }

    /** Whether a session with address is open now (for tests). */
    boolean isOpen(String address) {
        Session s = open.get(address);
        return s != null && !s.ended;
    }

    @Override
    public void close() {
        closed = true;
        for (Session s : open.values()) {
            s.cancel();
        }
    }

    private final class Session implements ClientResponseObserver<SessionRequest, SessionEvent> {
        final String address;
        final long started = System.nanoTime();
        volatile boolean ended;
        volatile boolean heard;
        private volatile ClientCallStreamObserver<SessionRequest> call;

        Session(String address) {
            this.address = address;
        }

        void start() {
            try {
                FileIoGrpc.newStub(channels.get(address))
                        .session(SessionRequest.newBuilder().setClient(clientId).build(), this);
            } catch (RuntimeException e) {
                ended = true; // closed meanwhile
            }
        }

        void cancel() {
            ClientCallStreamObserver<SessionRequest> c = call;
            if (c != null) {
                c.cancel("unmount", null);
            }
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
            this.call = requestStream;
        }

        @Override
        public void onNext(SessionEvent event) {
            heard = true;
            if (event.getLayoutChanged().equals(volume)) {
                LOG.debug("{}: {} says the layout changed", volume, address);
                layoutChanged.run();
            }
        }

        @Override
        public void onError(Throwable t) {
            end(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            end(Status.OK);
        }

        private void end(Status status) {
            ended = true;
            if (closed) {
                return;
            }
            long livedMs = (System.nanoTime() - started) / 1_000_000;
            if (livedMs >= 1000 || heard) {
                LOG.warn("{}: session with {} ended after {} ms ({}); the locks held on the sets it is primary of are released",
                        volume, address, livedMs, LayoutSource.describe(status));
                // The layout may have moved away from this server: look again.
                layoutChanged.run();
            } else {
                // not reached (a server that is down is tried again every second): a call there finds out
                LOG.debug("{}: session with {} failed: {}", volume, address, LayoutSource.describe(status));
            }
        }
    }
}
