package io.braid.files;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.ForwardingServerCallListener;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A request marshaller that parses large messages (a write's data) in place: the bytes fields of
 * the message are views of the transport's receive buffers instead of two copies on the heap (gRPC
 * reads a message into an array, protobuf copies each bytes field out of it). A 1 MiB write then
 * costs the server no allocation and no copy before its pwrite, which writes straight from those
 * buffers.
 *
 * <p>The buffers stay the server's until {@link #release} of the message: the service calls it
 * for a method with one request (when it no longer uses it), and the definition {@link #bind}
 * makes calls it after each message of a stream. Messages under {@link #MIN_BYTES}, and streams whose buffers are not direct, are parsed
 * as usual, and {@link #release} of them does nothing.
 */
public final class ZeroCopy<T extends Message> implements MethodDescriptor.Marshaller<T> {
    /** Messages of at least this size are parsed in place. */
    static final int MIN_BYTES = 32 << 10;

    private final MethodDescriptor.Marshaller<T> usual;
    private final Parser<T> parser;
    private final Predicate<T> worthIt;
    private final Map<T, InputStream> held = new IdentityHashMap<>(); // guarded by itself

    /**
     * @param worthIt which messages parsed in place may stay so (a write's data); any other is
     *     copied out at once and its buffers given back, so that nothing a service may keep (a
     *     lock request in the lock table) ever points into buffers that went back to Netty
     */
    @SuppressWarnings("unchecked")
    public ZeroCopy(T defaultInstance, Predicate<T> worthIt) {
        this.usual = ProtoUtils.marshaller(defaultInstance);
        this.parser = (Parser<T>) defaultInstance.getParserForType();
        this.worthIt = worthIt;
    }

    @Override
    public InputStream stream(T value) {
        return usual.stream(value);
    }

    @Override
    public T parse(InputStream stream) {
        try {
            if (!(stream instanceof KnownLength) || !(stream instanceof Detachable)
                    || !(stream instanceof HasByteBuffer hb) || !hb.byteBufferSupported()
                    || stream.available() < MIN_BYTES) {
                return usual.parse(stream);
            }
            InputStream owned = ((Detachable) stream).detach();
            try {
                T message = parseInPlace(owned);
                if (message == null || !worthIt.test(message)) {
                    T copy = parser.parseFrom(owned); // from the start again, into bytes of its own
                    owned.close();
                    return copy;
                }
                synchronized (held) {
                    held.put(message, owned);
                }
                return message;
            } catch (IOException | RuntimeException e) {
                owned.close();
                throw e;
            }
        } catch (InvalidProtocolBufferException e) {
            throw Status.INTERNAL.withDescription("invalid protobuf: " + e.getMessage()).withCause(e).asRuntimeException();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("cannot read the message: " + e.getMessage()).withCause(e).asRuntimeException();
        }
    }

    /**
     * The message over the stream's buffers, or null when one of them is not direct; the stream is
     * back at its start either way. The mark keeps every buffer in the stream until it is closed
     * (without one, a buffer read to its end is given back at once).
     */
    private T parseInPlace(InputStream owned) throws IOException {
        HasByteBuffer hb = (HasByteBuffer) owned;
        List<ByteString> parts = new ArrayList<>();
        int size = owned.available();
        owned.mark(size);
        int seen = 0;
        while (seen < size) {
            ByteBuffer b = hb.getByteBuffer();
            if (b == null || !b.isDirect() || !b.hasRemaining()) {
                owned.reset();
                return null;
            }
            parts.add(UnsafeByteOperations.unsafeWrap(b));
            seen += b.remaining();
            long skipped = owned.skip(b.remaining());
            if (skipped != b.remaining()) throw new IOException("short skip");
        }
        owned.reset();
        // a rope of direct buffers gives an immutable input: with aliasing, bytes fields are views
        CodedInputStream in = ByteString.copyFrom(parts).newCodedInput();
        in.enableAliasing(true);
        in.setSizeLimit(Integer.MAX_VALUE);
        T message = parser.parseFrom(in);
        in.checkLastTagWas(0);
        return message;
    }

    /** Gives the buffers of a message parsed in place back to the transport; nothing for any other. */
    public void release(T message) {
        InputStream owned;
        synchronized (held) {
            owned = held.remove(message);
        }
        if (owned != null) {
            try {
                owned.close();
            } catch (IOException ignored) {
                // closing a buffer stream does not fail
            }
        }
    }

    /** How many messages hold buffers now (for tests). */
    int holding() {
        synchronized (held) {
            return held.size();
        }
    }

    /**
     * The service's definition with this marshaller for the requests of the named method (its
     * full name), and every other method as it was. A method with one request: the service gives
     * it back itself ({@link #release}) once it no longer uses it, which may be after the call is
     * over; only a request the service never got (the call cancelled before it was handed over)
     * is released here. A method with a stream of requests: each is released as soon as the
     * handler returns from it, so the handler must be done with it by then (with a direct
     * executor it runs there and then).
     */
    public ServerServiceDefinition bind(ServerServiceDefinition def, String fullMethodName) {
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(def.getServiceDescriptor().getName());
        boolean found = false;
        for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
            if (m.getMethodDescriptor().getFullMethodName().equals(fullMethodName)) {
                b.addMethod(swap(m));
                found = true;
            } else {
                b.addMethod(m);
            }
        }
        if (!found) throw new IllegalArgumentException("no method " + fullMethodName);
        return b.build();
    }

    @SuppressWarnings("unchecked")
    private <R> ServerMethodDefinition<T, R> swap(ServerMethodDefinition<?, R> m) {
        ServerMethodDefinition<T, R> typed = (ServerMethodDefinition<T, R>) m;
        MethodDescriptor<T, R> md = typed.getMethodDescriptor().toBuilder(this, typed.getMethodDescriptor().getResponseMarshaller()).build();
        ServerCallHandler<T, R> inner = typed.getServerCallHandler();
        boolean oneRequest = md.getType().clientSendsOneMessage();
        ServerCallHandler<T, R> releasing = (call, headers) -> {
            ServerCall.Listener<T> l = inner.startCall(call, headers);
            return oneRequest ? new ReleaseAtEnd(l) : new ReleaseEach(l);
        };
        return ServerMethodDefinition.create(md, releasing);
    }

    /** One request: the service's to release once it has it; released here if it never gets it. */
    private final class ReleaseAtEnd extends ForwardingServerCallListener.SimpleForwardingServerCallListener<T> {
        private T message; // the transport calls a listener from one thread at a time
        private boolean handedOver;

        ReleaseAtEnd(ServerCall.Listener<T> delegate) {
            super(delegate);
        }

        @Override
        public void onMessage(T m) {
            if (message != null) release(message); // a second request is refused by the handler
            message = m;
            super.onMessage(m);
        }

        @Override
        public void onHalfClose() {
            handedOver = true; // a unary handler calls the service now
            super.onHalfClose();
        }

        @Override
        public void onComplete() {
            try {
                super.onComplete();
            } finally {
                notHandedOver();
            }
        }

        @Override
        public void onCancel() {
            try {
                super.onCancel();
            } finally {
                notHandedOver();
            }
        }

        private void notHandedOver() {
            if (message != null && !handedOver) release(message);
            message = null;
        }
    }

    /** A stream of requests: each released once the handler returns from it. */
    private final class ReleaseEach extends ForwardingServerCallListener.SimpleForwardingServerCallListener<T> {
        ReleaseEach(ServerCall.Listener<T> delegate) {
            super(delegate);
        }

        @Override
        public void onMessage(T m) {
            try {
                super.onMessage(m);
            } finally {
                release(m);
            }
        }
    }
}
