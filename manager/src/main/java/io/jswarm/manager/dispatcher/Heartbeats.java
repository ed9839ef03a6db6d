package io.jswarm.manager.dispatcher;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
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
 *
 * <p>A manager can also fall behind without standing still: starved of CPU, its network
 * threads read the nodes' connections late, and every node's heartbeats arrive late at
 * once. When most nodes are late together, {@link #judge} marks none down: the likelier
 * cause is this manager (Kubernetes' node controller likewise slows or stops evicting when more
 * than 55% of a zone's nodes are not ready). Marking them down would have the leader
 * reschedule their tasks, and the storm of new tasks and reports sink it further: a new
 * leader behind on reading after a failover marked nearly all of 2,000 healthy nodes
 * down in waves, 106, then 419, then 532, and its heap filled with unanswered calls.
 */
final class Heartbeats {
    static final long PULSE_MS = 100;
    static final long STALL_MS = 200;
    /** A share of late nodes at or above which none is judged (Kubernetes' unhealthy-zone threshold). */
    static final double HOLD_SHARE = 0.55;
    /** Fewer late nodes than this are judged whatever their share (one or two nodes of a small cluster die alone). */
    static final int HOLD_MIN = 3;

    private final Map<String, Long> heard = new ConcurrentHashMap<>();
    private final AtomicLong stalledMs = new AtomicLong();
    private volatile long activeSince;
    /** When a node was last heard from for the first time since this manager became leader. */
    private final AtomicLong lastReturn = new AtomicLong();
    private long lastPulse = -1;
    /** Nodes this manager found expired, and when: the wave in progress (judging thread only). */
    private final Map<String, Long> expiredAt = new ConcurrentHashMap<>();

    /** This manager has just become the leader: nobody has been heard from yet. */
    synchronized void activate(long now) {
        heard.clear();
        expiredAt.clear();
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

    /**
     * The verdict on the READY nodes: {@code expired}, those silent for more than three
     * periods, unless {@code held}: at least {@link #HOLD_MIN} nodes and {@link #HOLD_SHARE}
     * of them are {@code late} at once, when none is marked down. Late: silent for more
     * than one and a half periods (a heartbeat missed), or marked down by this manager within
     * the last three periods and not back: the nodes a wave has already taken count with
     * those it is about to, or a leader behind on reading marks them down in waves each
     * smaller than the share (as Kubernetes counts a zone's not-ready nodes).
     */
    record Verdict(List<String> expired, int late, int judged, boolean held) {
    }

    Verdict judge(Collection<String> ready, long now, long periodMs) {
        java.util.Set<String> readySet = ready instanceof java.util.Set<String> set ? set : new java.util.HashSet<>(ready);
        expiredAt.entrySet().removeIf(e -> readySet.contains(e.getKey()) || now - e.getValue() > 3 * periodMs);
        List<String> expired = new ArrayList<>();
        int late = expiredAt.size();
        for (String id : ready) {
            if (silent(id, now, periodMs * 3 / 2)) {
                late++;
                if (silent(id, now, 3 * periodMs)) {
                    expired.add(id);
                }
            }
        }
        int judged = ready.size() + expiredAt.size();
        boolean held = !expired.isEmpty() && late >= HOLD_MIN && late >= HOLD_SHARE * judged;
        if (held) {
            return new Verdict(List.of(), late, judged, true);
        }
        for (String id : expired) {
            expiredAt.put(id, now);
        }
        return new Verdict(expired, late, judged, false);
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
