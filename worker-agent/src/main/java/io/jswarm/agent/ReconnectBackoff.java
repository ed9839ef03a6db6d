package io.jswarm.agent;

import java.util.concurrent.ThreadLocalRandom;

/**
 * How long an agent waits before it tries the next manager after a session ended: from
 * 100 ms, doubling, up to a third of the heartbeat period (2 s at most), so that a node
 * finds a new leader well within the grace a leader gives it. Each wait is drawn between
 * half and all of that: a fleet that lost its leader at one moment does not come back to
 * the survivors in one wave, each wave a burst of work for managers that are electing.
 */
public final class ReconnectBackoff {
    static final long FIRST_MS = 100;
    static final long MAX_MS = 2_000;
    private long ceiling = FIRST_MS;

    /** The wait before the next attempt; each call doubles the one after, up to the cap. */
    public synchronized long next(long heartbeatPeriodMs) {
        long cap = Math.min(MAX_MS, Math.max(FIRST_MS, heartbeatPeriodMs / 3));
        long c = Math.min(ceiling, cap);
        ceiling = Math.min(cap, ceiling * 2);
        return c / 2 + ThreadLocalRandom.current().nextLong(c / 2 + 1);
    }

    /** A session opened: the next loss starts from the shortest wait again. */
    public synchronized void reset() {
        ceiling = FIRST_MS;
    }
}
