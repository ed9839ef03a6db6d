package io.jswarm.manager.control;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.manager.raft.RaftUnavailableException;
import io.jswarm.manager.raft.WriteOutcomeUnknownException;
import io.jswarm.manager.store.StoreException;

/** Maps what went wrong to the gRPC status a client sees. */
public final class GrpcErrors {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GrpcErrors.class);
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
        if (e instanceof WriteOutcomeUnknownException) {
            // As a client's own deadline: the request may or may not have taken effect.
            return Status.DEADLINE_EXCEEDED.withDescription(e.getMessage()).asRuntimeException();
        }
        // A bug: the user gets what happened in words; the exception goes to the manager's log.
        LOG.error("internal error", e);
        return Status.INTERNAL.withDescription("internal error in the manager"
                + (e.getMessage() == null ? "" : ": " + e.getMessage()) + " (details in the swarmd log)").asRuntimeException();
    }

    public static StatusRuntimeException notFound(String what) {
        return Status.NOT_FOUND.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException precondition(String what) {
        return Status.FAILED_PRECONDITION.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException permissionDenied(String what) {
        return Status.PERMISSION_DENIED.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException invalid(String what) {
        return Status.INVALID_ARGUMENT.withDescription(what).asRuntimeException();
    }
}
