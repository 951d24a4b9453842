package io.braid.fuse;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import com.google.protobuf.ByteString;

import io.braid.files.FileStore;
import io.braid.files.FsError;
import io.braid.files.LockTable;
import io.braid.proto.file.BrickLayout;
import io.braid.proto.file.FileIoGrpc;
import io.braid.proto.file.FileReply;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Layout;
import io.braid.proto.file.LayoutRequest;
import io.braid.proto.file.SessionEvent;
import io.braid.proto.file.SessionRequest;
import io.braid.proto.file.SetLayout;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * A unit-test stand-in for braidd's FileIo service on 127.0.0.1: one brick directory per replica
 * set, applied with the bricks' own {@link FileStore} (exact errnos) and {@link LockTable}. It
 * answers a retried request (same client and id) from its first result, FAILED_PRECONDITION
 * while it is not the primary, counts the operations it received, and can hold calls at a gate.
 */
final class FakeFileServer implements AutoCloseable {
    final String volume;
    final List<Path> bricks = new ArrayList<>();
    final List<FileStore> stores = new ArrayList<>();
    final List<LockTable> locks = new ArrayList<>();
    final AtomicReference<Layout> layout;
    final Map<FileRequest.OpCase, AtomicInteger> counts = new ConcurrentHashMap<>();
    final List<FileRequest> received = new CopyOnWriteArrayList<>();
    final Set<String> sessions = ConcurrentHashMap.newKeySet();
    final Map<String, FileReply> replied = new ConcurrentHashMap<>();
    /** False: answer every Call with FAILED_PRECONDITION, like a server that is not the primary. */
    volatile boolean primary = true;
    /** Calls matching this wait at {@link #gate} before being answered. */
    volatile Predicate<FileRequest> held = r -> false;
    volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);
    /** The errno a call is answered with instead of being applied (0: applied as usual). */
    volatile java.util.function.ToIntFunction<FileRequest> failing = r -> 0;
    /**
     * Whether the server has the Calls stream (braidd has; off, it answers it UNIMPLEMENTED like
     * a server from before it). Each request on a stream is served on a thread of its own, so a
     * held one does not hold those behind it and replies come back out of order.
     */
    volatile boolean streams;
    /** The Calls streams opened to this server. */
    final AtomicInteger streamsOpened = new AtomicInteger();
    private final java.util.concurrent.ExecutorService streamCalls = java.util.concurrent.Executors.newCachedThreadPool();
    /** Paths (without leading '/') that answer EIO on open, like a file in split-brain. */
    final Set<String> splitBrain = ConcurrentHashMap.newKeySet();
    private final Server server;
    final String address;

    /** A server holding every set of a volume of `sets` replica sets, the primary of each. */
    static FakeFileServer start(Path dir, String volume, int sets) throws IOException {
        AtomicReference<Layout> layout = new AtomicReference<>();
        FakeFileServer s = new FakeFileServer(dir, volume, sets, layout);
        layout.set(layoutOf(volume, sets, s.address));
        return s;
    }

    FakeFileServer(Path dir, String volume, int sets, AtomicReference<Layout> layout) throws IOException {
        this(dir, volume, sets, layout, 0);
    }

    /** The same on a given port of 127.0.0.1 (0: any free one). */
    FakeFileServer(Path dir, String volume, int sets, AtomicReference<Layout> layout, int port) throws IOException {
        this.volume = volume;
        this.layout = layout;
        for (int i = 0; i < sets; i++) {
            Path b = Files.createDirectories(dir.resolve("brick" + i));
            bricks.add(b);
            try {
                stores.add(FileStore.open(b));
            } catch (FsError e) {
                throw new IOException(e.getMessage(), e);
            }
            locks.add(new LockTable());
        }
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxInboundMessageSize(64 << 20)
                .addService(new Service())
                .build().start();
        address = "127.0.0.1:" + server.getPort();
    }

    static Layout layoutOf(String volume, int sets, String primaryAddress) {
        Layout.Builder l = Layout.newBuilder().setVolume(volume).setVolumeId("test-id").setStarted(true)
                .setReplicaCount(1).addServers(primaryAddress);
        for (int i = 0; i < sets; i++) {
            l.addSets(SetLayout.newBuilder().setEpoch(1).setPrimary(0).addBricks(BrickLayout.newBuilder()
                    .setName("127.0.0.1:/b" + i).setAddress(primaryAddress).setInSync(true)));
        }
        return l.build();
    }

    int count(FileRequest.OpCase op) {
        AtomicInteger n = counts.get(op);
        return n == null ? 0 : n.get();
    }

    int total() {
        return counts.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    void resetCounts() {
        counts.clear();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        streamCalls.shutdownNow();
        stores.forEach(FileStore::close);
    }

    private final class Service extends FileIoGrpc.FileIoImplBase {
        @Override
        public void getLayout(LayoutRequest request, StreamObserver<Layout> out) {
            if (!request.getVolume().equals(volume)) {
                out.onError(Status.NOT_FOUND.withDescription("no volume " + request.getVolume()).asRuntimeException());
                return;
            }
            out.onNext(layout.get());
            out.onCompleted();
        }

        @Override
        public void call(FileRequest r, StreamObserver<FileReply> out) {
            received.add(r);
            if (held.test(r)) {
                try {
                    gate.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (!primary) {
                out.onError(Status.FAILED_PRECONDITION.withDescription("not primary").asRuntimeException());
                return;
            }
            counts.computeIfAbsent(r.getOpCase(), k -> new AtomicInteger()).incrementAndGet();
            String key = r.getClient() + "/" + r.getId();
            if (r.getId() != 0 && replied.containsKey(key)) {
                reply(out, replied.get(key));
                return;
            }
            java.util.List<Long> after = new ArrayList<>(r.getAfterList());
            after.addAll(r.getFsync().getAfterList());
            for (long id : after) {
                if (!replied.containsKey(r.getClient() + "/" + id)) { // as a primary does
                    reply(out, error(Errno.EAGAIN, "change " + id + " of this client is not applied here"));
                    return;
                }
            }
            if (r.getOpCase() == FileRequest.OpCase.LOCK) {
                locks.get(r.getSet()).lock(r.getLock().getPath(), r.getClient(), r.getLock()).whenComplete((rep, e) ->
                        reply(out, e == null ? rep : error(Errno.EIO, e.toString())));
                return;
            }
            int refused = failing.applyAsInt(r);
            FileReply rep = refused != 0 ? error(refused, "refused by the test") : apply(stores.get(r.getSet()), r);
            if (r.getId() != 0) {
                replied.put(key, rep);
            }
            reply(out, rep);
        }

        @Override
        public StreamObserver<FileRequest> calls(StreamObserver<FileReply> out) {
            if (!streams) {
                return super.calls(out); // UNIMPLEMENTED
            }
            streamsOpened.incrementAndGet();
            return new StreamObserver<>() {
                @Override
                public void onNext(FileRequest r) {
                    streamCalls.execute(() -> call(r, new StreamObserver<>() {
                        @Override
                        public void onNext(FileReply rep) {
                            send(rep.toBuilder().setTag(r.getTag()).build());
                        }

                        @Override
                        public void onError(Throwable t) {
                            Status st = Status.fromThrowable(t);
                            send(FileReply.newBuilder().setTag(r.getTag()).setStatus(st.getCode().value())
                                    .setMessage(String.valueOf(st.getDescription())).build());
                        }

                        @Override
                        public void onCompleted() {
                        }
                    }));
                }

                private void send(FileReply rep) {
                    synchronized (out) {
                        try {
                            out.onNext(rep);
                        } catch (RuntimeException ignored) {
                            // cancelled
                        }
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    synchronized (out) {
                        out.onCompleted();
                    }
                }
            };
        }

        @Override
        public void session(SessionRequest request, StreamObserver<SessionEvent> out) {
            String client = request.getClient();
            sessions.add(client);
            ((ServerCallStreamObserver<SessionEvent>) out).setOnCancelHandler(() -> {
                sessions.remove(client);
                locks.forEach(l -> l.release(client));
            });
        }
    }

    private static void reply(StreamObserver<FileReply> out, FileReply r) {
        try {
            out.onNext(r);
            out.onCompleted();
        } catch (RuntimeException ignored) {
            // cancelled
        }
    }

    static FileReply error(int errno, String message) {
        return FileReply.newBuilder().setErrno(errno).setMessage(message).build();
    }

    private FileReply apply(FileStore s, FileRequest r) {
        FileReply.Builder b = FileReply.newBuilder();
        try {
            synchronized (s) {
                switch (r.getOpCase()) {
                    case GETATTR -> {
                        var a = s.getattr(r.getGetattr().getPath());
                        b.setAttr(a);
                        int prefetch = r.getGetattr().getPrefetch();
                        if ((a.getMode() & 0170000) == 0100000 && a.getSize() > 0 && a.getSize() <= prefetch
                                && !splitBrain.contains(r.getGetattr().getPath().replaceFirst("^/+", ""))) {
                            b.setData(s.read(r.getGetattr().getPath(), 0, (int) a.getSize()));
                        }
                    }
                    case READDIR -> b.addAllEntries(s.readdir(r.getReaddir().getPath()));
                    case READLINK -> b.setData(ByteString.copyFromUtf8(s.readlink(r.getReadlink().getPath())));
                    case READ -> b.setData(s.read(r.getRead().getPath(), r.getRead().getOffset(), r.getRead().getSize()));
                    case STATFS -> b.setStatfs(s.statfs());
                    case GETXATTR -> b.setData(ByteString.copyFrom(s.getxattr(r.getGetxattr().getPath(),
                            r.getGetxattr().getName())));
                    case LISTXATTR -> b.addAllNames(s.listxattr(r.getListxattr().getPath()));
                    case OPEN -> {
                        String p = r.getOpen().getPath().replaceFirst("^/+", "");
                        if (splitBrain.contains(p)) {
                            return error(Errno.EIO, "split-brain");
                        }
                        var a = s.open(r.getOpen().getPath(), r.getOpen().getFlags());
                        b.setAttr(a);
                        if ((r.getOpen().getFlags() & 3) == 0 && (a.getMode() & 0170000) == 0100000 && a.getSize() > 0
                                && a.getSize() <= r.getOpen().getPrefetch()) {
                            b.setData(s.read(r.getOpen().getPath(), 0, (int) a.getSize())); // as braidd does
                        }
                    }
                    case CREATE -> {
                        var c = r.getCreate();
                        b.setAttr(s.create(c.getPath(), c.getMode(), c.getExclusive(), c.getUid(), c.getGid()));
                    }
                    case MKNOD -> {
                        var c = r.getMknod();
                        b.setAttr(s.mknod(c.getPath(), c.getMode(), c.getRdev(), c.getUid(), c.getGid()));
                    }
                    case MKDIR -> {
                        var c = r.getMkdir();
                        b.setAttr(s.mkdir(c.getPath(), c.getMode(), c.getUid(), c.getGid()));
                    }
                    case UNLINK -> s.unlink(r.getUnlink().getPath());
                    case RMDIR -> s.rmdir(r.getRmdir().getPath());
                    case SYMLINK -> {
                        var c = r.getSymlink();
                        b.setAttr(s.symlink(c.getTarget(), c.getPath(), c.getUid(), c.getGid()));
                    }
                    case RENAME -> s.rename(r.getRename().getFrom(), r.getRename().getTo(), r.getRename().getFlags());
                    case LINK -> b.setAttr(s.link(r.getLink().getFrom(), r.getLink().getTo()));
                    case CHMOD -> b.setAttr(s.chmod(r.getChmod().getPath(), r.getChmod().getMode()));
                    case CHOWN -> b.setAttr(s.chown(r.getChown().getPath(), r.getChown().getUid(), r.getChown().getGid()));
                    case TRUNCATE -> b.setAttr(s.truncate(r.getTruncate().getPath(), r.getTruncate().getSize()));
                    case UTIMENS -> b.setAttr(s.utimens(r.getUtimens().getPath(), r.getUtimens().getAtimeNs(),
                            r.getUtimens().getMtimeNs()));
                    case SETATTR -> b.setAttr(s.setattr(r.getSetattr()));
                    case WRITE -> b.setWritten(s.write(r.getWrite().getPath(), r.getWrite().getOffset(),
                            r.getWrite().getData()));
                    case FALLOCATE -> {
                        var c = r.getFallocate();
                        b.setAttr(s.fallocate(c.getPath(), c.getMode(), c.getOffset(), c.getLength()));
                    }
                    case SETXATTR -> {
                        var c = r.getSetxattr();
                        s.setxattr(c.getPath(), c.getName(), c.getValue().toByteArray(), c.getFlags());
                    }
                    case REMOVEXATTR -> s.removexattr(r.getRemovexattr().getPath(), r.getRemovexattr().getName());
                    case FSYNC -> s.fsync(r.getFsync().getPath(), r.getFsync().getDatasync());
                    default -> {
                        return error(Errno.EINVAL, "unknown operation " + r.getOpCase());
                    }
                }
            }
        } catch (FsError e) {
            return error(e.errno(), e.getMessage());
        }
        return b.build();
    }
}
