package io.jswarm.manager.dispatcher;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * When the leader last heard from each node, with this manager's own stalls forgiven.
 *
 * <p>A manager that stands still (a long garbage collection, starved of CPU) reads no
 * heartbeats meanwhile; counting that time against the nodes made a leader paused for
 * seconds under load mark hundreds of healthy nodes down at once and reschedule their
 * tasks. A pulse that should run every {@link #PULSE_MS} measures how late it wakes; a wake
 * later than {@link #STALL_MS} is a stall, added to every node's grace. Times are wall
 * clock milliseconds passed in, so the logic is testable without waiting.
 */
final class Heartbeats {
    static final long PULSE_MS = 100;
    static final long STALL_MS = 200;

    private final Map<String, Long> heard = new ConcurrentHashMap<>();
    private final AtomicLong stalledMs = new AtomicLong();
    private volatile long activeSince;
    /** When a node was last heard from for the first time since this manager became leader. */
    private final AtomicLong lastReturn = new AtomicLong();
    private long lastPulse = -1;

    /** This manager has just become the leader: nobody has been heard from yet. */
    synchronized void activate(long now) {
        heard.clear();
        activeSince = now;
        lastReturn.set(now);
        lastPulse = now;
    }

    void heard(String nodeId, long now) {
        if (heard.put(nodeId, now) == null) {
            lastReturn.accumulateAndGet(now, Math::max);
        }
    }

    /** Called about every {@link #PULSE_MS}; forgives the time since the last call beyond that. */
    synchronized void pulse(long now) {
        long late = lastPulse < 0 ? 0 : now - lastPulse - PULSE_MS;
        lastPulse = now;
        if (late > STALL_MS) {
            heard.replaceAll((node, at) -> Math.min(at + late, now));
            activeSince += late;
            lastReturn.addAndGet(late);
            stalledMs.addAndGet(late);
        }
    }

    /**
     * Whether a node has been silent longer than {@code limitMs}. A node not heard from
     * since this manager became leader may still be looking for it (its session was on the
     * old leader): it gets twice the grace, counted from the election, and is not judged
     * while the others are still coming back (one returned within the last {@code limitMs}).
     * Thousands of nodes reopening their sessions with a new leader take longer than two
     * periods: a leader killed at 2,000 nodes left its successor marking 1,632 of them down
     * while they queued to reconnect.
     */
    boolean silent(String nodeId, long now, long limitMs) {
        Long at = heard.get(nodeId);
        long since = at != null ? at : Math.max(activeSince + limitMs, lastReturn.get());
        return now - since > limitMs;
    }

    /** Whether a node has been heard from within {@code limitMs}. */
    boolean recent(String nodeId, long now, long limitMs) {
        Long at = heard.get(nodeId);
        return at != null && now - at <= limitMs;
    }

    /** Milliseconds this manager stood still, forgiven to the nodes. */
    long stalledMs() {
        return stalledMs.get();
    }
}
