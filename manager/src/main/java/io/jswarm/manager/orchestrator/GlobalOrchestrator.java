package io.jswarm.manager.orchestrator;

import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.manager.NodeInfos;
import io.jswarm.scheduler.Constraint;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One task per eligible node for a global service. Follows nodes that join, leave, go
 * down, drain or stop matching the constraints. Pure, like the replicated one.
 */
public final class GlobalOrchestrator {
    private GlobalOrchestrator() {}

    public static Changes reconcile(Service s, List<Task> tasks, Map<String, Node> nodes, long now) {
        Changes out = new Changes();
        List<Constraint> constraints = Constraint.parseAll(s.getSpec().getTask().getPlacement().getConstraintsList());
        Map<String, Task> holders = new HashMap<>();
        for (Task t : tasks) {
            if (!Tasks.holdsSlot(t)) {
                continue;
            }
            Node n = nodes.get(t.getNodeId());
            boolean keep = n != null && n.getStatus().getState() != NodeState.NODE_DOWN
                    && n.getSpec().getAvailability() != NodeAvailability.DRAIN && matches(n, constraints);
            if (!keep) {
                out.updates.add(Tasks.withDesired(t, TaskState.SHUTDOWN, now));
                continue;
            }
            Task other = holders.get(t.getNodeId());
            holders.put(t.getNodeId(), other == null ? t : Tasks.settle(other, t, now, out));
        }
        for (Task t : holders.values()) {
            if (Tasks.terminal(t.getStatus().getState())) {
                long at = RestartSupervisor.restartAt(s, t);
                if (at != RestartSupervisor.NEVER && at <= now) {
                    out.updates.add(Tasks.withDesired(t, TaskState.SHUTDOWN, now));
                    out.creates.add(RestartSupervisor.replacement(s, t, t.getNodeId(), now));
                } else if (at != RestartSupervisor.NEVER) {
                    out.wakeAt(at);
                }
            }
        }
        for (Node n : nodes.values()) {
            String id = n.getMeta().getId();
            if (holders.containsKey(id) || n.getStatus().getState() != NodeState.NODE_READY
                    || n.getSpec().getAvailability() != NodeAvailability.ACTIVE || !matches(n, constraints)) {
                continue;
            }
            out.creates.add(Tasks.newTask(s, 0, id, now));
        }
        return out;
    }

    private static boolean matches(Node n, List<Constraint> constraints) {
        var info = NodeInfos.of(n);
        for (Constraint c : constraints) {
            if (!c.matches(info)) {
                return false;
            }
        }
        return true;
    }
}
