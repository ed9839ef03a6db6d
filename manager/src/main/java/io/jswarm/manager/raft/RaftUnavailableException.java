package io.jswarm.manager.raft;

/** No leader took the write in time (election in progress, quorum lost). */
public class RaftUnavailableException extends RuntimeException {
    public RaftUnavailableException(String message) {
        super(message);
    }
}
