package io.jswarm.manager.orchestrator;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the leader's next controller pass must look at, as the store's change feed tells
 * it: the services whose tasks or spec changed, whether anything may wait for the
 * scheduler, and when a full pass over everything is due (after becoming leader, after a
 * change to nodes, networks or the cluster, and every {@link #SAFETY_NET_MS} to catch
 * anything the feed did not say). A pass then costs what changed, not the size of the
 * store: during a storm of status reports from thousands of nodes, a task moving forward
 * (PREPARING, RUNNING) concerns no controller unless its service is being updated.
 *
 * <p>Fed on the apply thread, drained by the controllers' thread: synchronized.
 */
public final class ReconcileQueue {
    /** The slow periodic full pass, a safety net under the change feed. */
    public static final long SAFETY_NET_MS = 10_000;

    /** What one pass is to do. */
    public record Work(boolean full, Set<String> services, Set<String> progressOnly, boolean schedule) {}

    private boolean everything = true;
    private boolean schedule = true;
    private final Set<String> structural = new HashSet<>();
    private final Set<String> progress = new HashSet<>();
    private final Map<String, Long> wakeAt = new HashMap<>();
    private long lastFullMs;

    /** Everything again: this manager has just become the leader. */
    public synchronized void all() {
        everything = true;
    }

    public synchronized void observe(StoreAction a) {
        StoreObject o = a.getObject();
        switch (o.getObjectCase()) {
            case SERVICE -> {
                structural.add(o.getService().getMeta().getId());
                schedule = true;
            }
            case TASK -> {
                Task t = o.getTask();
                if (a.getKind() != StoreAction.Kind.CREATE && a.getKind() != StoreAction.Kind.REMOVE && movedForward(t)) {
                    progress.add(t.getServiceId());
                } else {
                    structural.add(t.getServiceId());
                    schedule = true;  // a new task to place, or one that stopped and freed its node's resources
                }
            }
            // Nodes (state, availability, resources), networks, the cluster: every service may be concerned.
            case NODE, NETWORK, CLUSTER -> everything = true;
            default -> { }
        }
    }

    /**
     * A task still meant to run that is only moving through its start (or running): no
     * controller acts on that, except an update that watches its new tasks come up.
     */
    static boolean movedForward(Task t) {
        return t.getDesiredState().getNumber() <= TaskState.RUNNING_VALUE
                && t.getStatus().getState().getNumber() > TaskState.PENDING_VALUE
                && t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE;
    }

    /** A service's controllers want to run again at this time (a restart delay ends). */
    public synchronized void wakeAt(String serviceId, long ms) {
        if (ms != Long.MAX_VALUE) {
            wakeAt.merge(serviceId, ms, Math::min);
        }
    }

    /** The earliest time some service wants a pass; Long.MAX_VALUE for none. */
    public synchronized long nextWake() {
        long next = Long.MAX_VALUE;
        for (long t : wakeAt.values()) {
            next = Math.min(next, t);
        }
        return lastFullMs == 0 ? next : Math.min(next, lastFullMs + SAFETY_NET_MS);
    }

    /** A pass that took this work failed (a write conflicted): its services are looked at again. */
    public synchronized void retry(Work w) {
        if (w.full()) {
            everything = true;
        } else {
            structural.addAll(w.services());
            schedule |= w.schedule();
        }
    }

    /** Takes what the next pass is to do at {@code now}. */
    public synchronized Work take(long now) {
        boolean full = everything || now - lastFullMs >= SAFETY_NET_MS;
        if (full) {
            everything = false;
            lastFullMs = now;
            structural.clear();
            progress.clear();
            wakeAt.clear();
            schedule = false;
            return new Work(true, Set.of(), Set.of(), true);
        }
        Set<String> services = new HashSet<>(structural);
        services.addAll(progress);
        for (var it = wakeAt.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (e.getValue() <= now) {
                services.add(e.getKey());
                structural.add(e.getKey());
                it.remove();
            }
        }
        Set<String> progressOnly = new HashSet<>(progress);
        progressOnly.removeAll(structural);
        structural.clear();
        progress.clear();
        boolean sched = schedule;
        schedule = false;
        return new Work(false, services, progressOnly, sched);
    }
}
