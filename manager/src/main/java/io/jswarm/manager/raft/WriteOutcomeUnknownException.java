package io.jswarm.manager.raft;

/**
 * A write left this manager but no outcome came back in time (a timeout, a leader that
 * stepped down), or it committed but this replica has not applied it yet. The caller
 * must not report it as failed: it may have happened. Retrying it is safe (the batch's
 * request id makes the store apply it once).
 */
public final class WriteOutcomeUnknownException extends RuntimeException {
    public WriteOutcomeUnknownException(String message) {
        super(message);
    }
}
