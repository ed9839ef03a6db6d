package io.jswarm.manager.control;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.manager.raft.RaftUnavailableException;
import io.jswarm.manager.store.StoreException;

/** Maps what went wrong to the gRPC status a client sees. */
public final class GrpcErrors {
    private GrpcErrors() {}

    public static StatusRuntimeException toStatus(Throwable e) {
        if (e instanceof StatusRuntimeException s) {
            return s;
        }
        if (e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
        if (e instanceof StoreException se) {
            Status s = switch (se.code()) {
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case CONFLICT -> Status.FAILED_PRECONDITION;
                default -> Status.INVALID_ARGUMENT;
            };
            return s.withDescription(se.getMessage()).asRuntimeException();
        }
        if (e instanceof RaftUnavailableException) {
            return Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(String.valueOf(e)).withCause(e).asRuntimeException();
    }

    public static StatusRuntimeException notFound(String what) {
        return Status.NOT_FOUND.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException precondition(String what) {
        return Status.FAILED_PRECONDITION.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException invalid(String what) {
        return Status.INVALID_ARGUMENT.withDescription(what).asRuntimeException();
    }
}
