package io.braid.rpc;

import io.braid.util.BraidException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one unary call: a BraidException becomes its status, anything else an INTERNAL one-liner. */
final class Rpc {
    private static final Logger LOG = LoggerFactory.getLogger(Rpc.class);

    interface Call<T> {
        T run() throws Exception;
    }

    private Rpc() {
    }

    static <T> void reply(StreamObserver<T> out, Call<T> call) {
        T result;
        try {
            result = call.run();
        } catch (BraidException e) {
            out.onError(e.toStatus());
            return;
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.withDescription("interrupted").asRuntimeException());
            return;
        } catch (Exception e) {
            LOG.error("request failed", e);
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            out.onError(Status.INTERNAL.withDescription(msg.lines().findFirst().orElse(msg)).asRuntimeException());
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }
}
