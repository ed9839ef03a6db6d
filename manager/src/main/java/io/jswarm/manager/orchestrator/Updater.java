package io.jswarm.manager.orchestrator;

import io.jswarm.api.Node;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.UpdateConfig;
import io.jswarm.api.UpdateStatus;
import io.jswarm.manager.Durations;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rolling updater: replaces the tasks of a service whose task template changed
 * (its spec_version moved past theirs), batch by batch, following the service's update
 * config (or its rollback config while rolling back). Leader-only and pure like the
 * orchestrators: everything it needs is in the store (the update status on the service,
 * the spec version and start time of each task), so a new leader resumes an update where
 * it stood; a slot whose task runs the current spec is never touched again.
 *
 * <p>At most {@code parallelism} slots are replaced at a time (0: all at once), as
 * Docker's update workers do: a slot's worker rests {@code delay} after its new task came
 * up, then takes the next slot still on an older spec. stop-first shuts
 * the old task down and creates the new one with desired state READY (the node prepares
 * it, pulling the image), and lets it start once the old one has stopped; start-first
 * creates the new one running beside the old one, which the orchestrator shuts down once
 * the new one is up ({@link Tasks#settle}). A new task that fails within {@code monitor} of its start (or
 * before it starts) is an update failure; more than {@code max_failure_ratio} of the
 * slots failing triggers the failure action: pause, continue, or roll back.
 */
public final class Updater {
    public static final long DEFAULT_MONITOR_MS = 5_000;

    private Updater() {}

    /** True while an update or rollback is meant to make progress. */
    public static boolean active(Service s) {
        UpdateStatus.State st = s.getUpdateStatus().getState();
        return st == UpdateStatus.State.UPDATING || st == UpdateStatus.State.ROLLBACK_STARTED;
    }

    /**
     * @param touched slot keys the orchestrator changed in this pass: left alone until the next one
     */
    public static Changes plan(Service s, List<Task> tasks, Map<String, Node> nodes, Set<String> touched, long now) {
        Changes out = new Changes();
        if (!active(s)) {
            return out;
        }
        boolean rollingBack = s.getUpdateStatus().getState() == UpdateStatus.State.ROLLBACK_STARTED;
        // Rolling back uses the rollback config of the spec being left (now the previous one).
        UpdateConfig cfg = !rollingBack ? s.getSpec().getUpdate()
                : s.hasPreviousSpec() ? s.getPreviousSpec().getRollback() : s.getSpec().getRollback();
        long version = s.getSpecVersion();
        long started = s.getUpdateStatus().getStartedAtMs();
        long monitorMs = Durations.millisOr(cfg.hasMonitor(), cfg.getMonitor(), DEFAULT_MONITOR_MS);

        // Slots and the tasks that hold them.
        Map<String, List<Task>> slots = new LinkedHashMap<>();
        List<Task> sorted = new ArrayList<>(tasks);
        sorted.sort(Comparator.comparingLong(Task::getSlot).thenComparing(Task::getNodeId));
        for (Task t : sorted) {
            if (Tasks.holdsSlot(t)) {
                slots.computeIfAbsent(Tasks.slotKey(t), k -> new ArrayList<>()).add(t);
            }
        }

        // 1. Failures of new tasks: the failure action decides once there are too many.
        List<Task> failures = new ArrayList<>();
        for (Task t : tasks) {
            if (t.getSpecVersion() == version && t.getMeta().getCreatedAtMs() >= started && failedEarly(t, monitorMs)) {
                failures.add(t);
            }
        }
        int total = Math.max(1, slots.size());
        if (!failures.isEmpty() && failures.size() > cfg.getMaxFailureRatio() * total
                && cfg.getFailureAction() != UpdateConfig.FailureAction.CONTINUE) {
            failures.sort(Comparator.comparingLong(t -> t.getStatus().getTimestampMs()));
            Task f = failures.get(failures.size() - 1);
            String why = "failure or early termination of task " + f.getAnnotations().getName() + "." + f.getMeta().getId()
                    + ": " + (f.getStatus().getErr().isEmpty() ? f.getStatus().getMessage() : f.getStatus().getErr());
            if (cfg.getFailureAction() == UpdateConfig.FailureAction.ROLLBACK && !rollingBack && s.hasPreviousSpec()) {
                out.services.add(rollback(s, "update rolled back due to " + why, now));
            } else {
                out.services.add(withStatus(s, rollingBack ? UpdateStatus.State.ROLLBACK_PAUSED : UpdateStatus.State.PAUSED,
                        (rollingBack ? "rollback paused due to " : "update paused due to ") + why, now, false));
            }
            return out;
        }

        // 2. Where each slot stands.
        long delayMs = Durations.millisOr(cfg.hasDelay(), cfg.getDelay(), 0);
        List<String> outdated = new ArrayList<>();
        int inFlight = 0;     // slots being replaced now
        int resting = 0;      // slots that came up less than delay ago: their worker waits
        long lastUp = 0;
        long nextFree = Long.MAX_VALUE;
        for (Map.Entry<String, List<Task>> e : slots.entrySet()) {
            if (touched.contains(e.getKey())) {
                inFlight++;
                continue;
            }
            List<Task> current = e.getValue().stream().filter(t -> t.getSpecVersion() == version).toList();
            if (current.isEmpty()) {
                outdated.add(e.getKey());
                continue;
            }
            boolean busy = current.size() < e.getValue().size();  // start-first: the old task runs until the new one is up
            for (Task t : current) {
                if (t.getDesiredState() == TaskState.READY) {
                    busy = true;
                    if (oldStopped(e.getKey(), version, tasks, nodes)) {
                        out.updates.add(Tasks.withDesired(t, TaskState.RUNNING, now));  // stop-first: the old one is gone
                    }
                } else if (Tasks.up(t)) {
                    if (t.getMeta().getCreatedAtMs() >= started) {
                        lastUp = Math.max(lastUp, t.getStartedAtMs());
                        if (t.getStartedAtMs() + delayMs > now) {
                            resting++;
                            nextFree = Math.min(nextFree, t.getStartedAtMs() + delayMs);
                        }
                    }
                } else if (!Tasks.terminal(t.getStatus().getState())) {
                    busy = true;  // still starting (or not yet healthy)
                }
            }
            if (busy) {
                inFlight++;
            }
        }

        // 3. All slots run the current spec: complete once the last new task has been watched for monitor.
        if (outdated.isEmpty()) {
            if (inFlight > 0) {
                return out;
            }
            if (lastUp + monitorMs > now) {
                out.wakeAt(lastUp + monitorMs);
                return out;
            }
            out.services.add(withStatus(s, rollingBack ? UpdateStatus.State.ROLLBACK_COMPLETED : UpdateStatus.State.COMPLETED,
                    rollingBack ? "rollback completed" : "update completed", now, true));
            return out;
        }

        // 4. More slots, as Docker's update workers take them: at most parallelism slots at a
        // time, each worker resting delay after its slot came up before it takes the next.
        long free = cfg.getParallelism() == 0 ? outdated.size() : cfg.getParallelism() - inFlight - resting;
        if (free <= 0) {
            if (nextFree != Long.MAX_VALUE) {
                out.wakeAt(nextFree);
            }
            return out;
        }
        long n = Math.min(free, outdated.size());
        for (String key : outdated.subList(0, (int) n)) {
            List<Task> old = slots.get(key);
            Task first = old.get(0);
            Task fresh = Tasks.newTask(s, first.getSlot(), first.getSlot() > 0 ? null : first.getNodeId(), now);
            if (cfg.getOrder() == UpdateConfig.Order.START_FIRST) {
                out.creates.add(fresh);
                continue;
            }
            boolean running = false;
            for (Task t : old) {
                out.updates.add(Tasks.withDesired(t, TaskState.SHUTDOWN, now));
                running |= !Tasks.terminal(t.getStatus().getState()) && ReplicatedOrchestrator.nodeKeepsTasks(nodes.get(t.getNodeId()));
            }
            out.creates.add(running ? fresh.toBuilder().setDesiredState(TaskState.READY).build() : fresh);
        }
        return out;
    }

    /** Failed or rejected before it started, or within monitor of its start. */
    static boolean failedEarly(Task t, long monitorMs) {
        TaskState st = t.getStatus().getState();
        if (!Tasks.failed(st)) {
            return false;
        }
        return t.getStartedAtMs() == 0 || t.getStatus().getTimestampMs() - t.getStartedAtMs() <= monitorMs;
    }

    /** No task of an older spec still runs in the slot (on a node that is still there). */
    private static boolean oldStopped(String key, long version, List<Task> tasks, Map<String, Node> nodes) {
        for (Task t : tasks) {
            if (Tasks.slotKey(t).equals(key) && t.getSpecVersion() < version && !Tasks.terminal(t.getStatus().getState())
                    && t.getStatus().getState().getNumber() >= TaskState.ASSIGNED_VALUE
                    && ReplicatedOrchestrator.nodeKeepsTasks(nodes.get(t.getNodeId()))) {
                return false;
            }
        }
        return true;
    }

    static Service withStatus(Service s, UpdateStatus.State state, String message, long now, boolean done) {
        UpdateStatus.Builder u = s.getUpdateStatus().toBuilder().setState(state).setMessage(message);
        if (done) {
            u.setCompletedAtMs(now);
        }
        return s.toBuilder().setUpdateStatus(u).build();
    }

    /** Back to the previous spec, with the rollback config: the same path as a requested rollback. */
    public static Service rollback(Service s, String message, long now) {
        return s.toBuilder().setSpec(s.getPreviousSpec()).setPreviousSpec(s.getSpec()).setSpecVersion(s.getSpecVersion() + 1)
                .setUpdateStatus(UpdateStatus.newBuilder().setState(UpdateStatus.State.ROLLBACK_STARTED).setStartedAtMs(now)
                        .setMessage(message))
                .build();
    }
}
