package io.jswarm.manager.orchestrator;

import io.jswarm.api.Node;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Deletes tasks nobody needs: history beyond the retention limit per slot, and tasks
 * marked REMOVE once nothing of them can still run.
 */
public final class TaskReaper {
    public static final int DEFAULT_RETENTION = 5;

    private TaskReaper() {}

    /** True when nothing of the task runs or can start: it can go from the store. */
    static boolean gone(Task t, Map<String, Node> nodes) {
        TaskState s = t.getStatus().getState();
        return Tasks.terminal(s) || s.getNumber() < TaskState.ASSIGNED_VALUE || !nodes.containsKey(t.getNodeId());
    }

    public static List<Task> reap(List<Task> tasksOfService, Map<String, Node> nodes, long retention) {
        List<Task> out = new ArrayList<>();
        Map<String, List<Task>> history = new HashMap<>();
        for (Task t : tasksOfService) {
            if (t.getDesiredState() == TaskState.REMOVE) {
                if (gone(t, nodes)) {
                    out.add(t);
                }
            } else if (!Tasks.holdsSlot(t) && gone(t, nodes)) {
                history.computeIfAbsent(Tasks.slotKey(t), k -> new ArrayList<>()).add(t);
            }
        }
        // The slot's current task counts against the limit too, as in Docker.
        long keepOld = Math.max(0, retention - 1);
        for (List<Task> old : history.values()) {
            if (old.size() <= keepOld) {
                continue;
            }
            old.sort(Comparator.comparingLong((Task t) -> t.getMeta().getCreatedAtMs()).reversed());
            out.addAll(old.subList((int) keepOld, old.size()));
        }
        return out;
    }
}
