package io.jswarm.cli.engine;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A request the Engine API refuses: the HTTP status and the message Docker's clients show
 * ({@code {"message": "..."}}). The Control API's gRPC statuses map as dockerd maps
 * SwarmKit's, except where the issue asks for a clearer code (noted below).
 */
final class EngineError extends RuntimeException {
    static final String NOT_A_MANAGER = "This node is not a swarm manager. Worker nodes can't be used to view or modify"
            + " cluster state. Please run this command on a manager node or promote the current node to a manager.";

    final int status;

    EngineError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    static EngineError badRequest(String message) {
        return new EngineError(400, message);
    }

    static EngineError notFound(String message) {
        return new EngineError(404, message);
    }

    static EngineError from(StatusRuntimeException e) {
        Status s = e.getStatus();
        String m = s.getDescription() != null ? s.getDescription() : s.getCode().name().toLowerCase();
        return switch (s.getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> new EngineError(400, m);
            case NOT_FOUND -> new EngineError(404, m);
            case ALREADY_EXISTS -> new EngineError(409, m);
            // dockerd answers a stale version with 500 ("update out of sequence", SwarmKit's plain
            // error); other preconditions here are objects in use, which the issue wants as 409
            case FAILED_PRECONDITION -> new EngineError(m.startsWith("update out of sequence") ? 500 : 409, m);
            case PERMISSION_DENIED -> new EngineError(403, m);
            case UNAUTHENTICATED -> new EngineError(401, m);
            // the node's socket serves no Control API on a worker
            case UNIMPLEMENTED -> new EngineError(503, NOT_A_MANAGER);
            case UNAVAILABLE -> new EngineError(503, m);
            default -> new EngineError(500, m);
        };
    }
}
