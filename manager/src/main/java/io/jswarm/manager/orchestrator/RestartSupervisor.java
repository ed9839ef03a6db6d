package io.jswarm.manager.orchestrator;

import io.jswarm.api.RestartPolicy;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.manager.Durations;

/**
 * Decides whether and when a stopped task is replaced in its slot: condition any,
 * on-failure or none, a delay (default 5 s), and at most max-attempts restarts within
 * the window. A task is never restarted in place; a new task takes the slot.
 */
public final class RestartSupervisor {
    public static final long DEFAULT_DELAY_MS = 5_000;
    public static final long NEVER = -1;

    private RestartSupervisor() {}

    /** The time at which the replacement may be created, or {@link #NEVER}. */
    public static long restartAt(Service s, Task stopped) {
        RestartPolicy p = s.getSpec().getTask().getRestart();
        TaskState state = stopped.getStatus().getState();
        if (p.getCondition() == RestartPolicy.Condition.NONE) {
            return NEVER;
        }
        if (p.getCondition() == RestartPolicy.Condition.ON_FAILURE && state == TaskState.COMPLETE) {
            return NEVER;
        }
        long ended = stopped.getStatus().getTimestampMs();
        if (p.getMaxAttempts() > 0) {
            long windowMs = p.hasWindow() ? Durations.millis(p.getWindow()) : 0;
            long restarts = 0;
            for (long at : stopped.getRestartHistoryMsList()) {
                if (windowMs == 0 || at >= ended - windowMs) {
                    restarts++;
                }
            }
            if (restarts >= p.getMaxAttempts()) {
                return NEVER;
            }
        }
        return ended + Durations.millisOr(p.hasDelay(), p.getDelay(), DEFAULT_DELAY_MS);
    }

    /** The replacement: same slot (and node, for global services), carrying the attempt history. */
    public static Task replacement(Service s, Task stopped, String nodeId, long now) {
        Task t = Tasks.newTask(s, stopped.getSlot(), nodeId, now);
        RestartPolicy p = s.getSpec().getTask().getRestart();
        long keep = Math.max(1, p.getMaxAttempts());
        var history = new java.util.ArrayList<>(stopped.getRestartHistoryMsList());
        history.add(stopped.getStatus().getTimestampMs());
        while (history.size() > keep) {
            history.remove(0);
        }
        return t.toBuilder().addAllRestartHistoryMs(history).build();
    }
}
