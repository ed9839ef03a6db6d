package io.jswarm.manager.orchestrator;

import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keeps one task per slot 1..replicas of a replicated service: replaces tasks whose node
 * is down, drained or gone, hands stopped tasks to the restart policy, and scales.
 * Pure: reads the given objects, returns the changes.
 */
public final class ReplicatedOrchestrator {
    private ReplicatedOrchestrator() {}

    /** The node can keep running its tasks. */
    static boolean nodeKeepsTasks(Node n) {
        return n != null && n.getStatus().getState() != NodeState.NODE_DOWN
                && n.getSpec().getAvailability() != NodeAvailability.DRAIN;
    }

    private record Holder(Task task, boolean created) {}

    public static Changes reconcile(Service s, List<Task> tasks, Map<String, Node> nodes, long now) {
        Changes out = new Changes();
        long replicas = s.getSpec().getReplicated().getReplicas();
        // 1. The task that holds each slot; extra holders are settled (start-first updates keep two for a while).
        TreeMap<Long, Task> holders = new TreeMap<>();
        for (Task t : tasks) {
            if (!Tasks.holdsSlot(t)) {
                continue;
            }
            Task other = holders.get(t.getSlot());
            holders.put(t.getSlot(), other == null ? t : Tasks.settle(other, t, now, out));
        }
        // 2. Replace what lost its node or stopped.
        TreeMap<Long, Holder> slots = new TreeMap<>();
        for (Task t : holders.values()) {
            boolean onNode = !t.getNodeId().isEmpty();
            if (onNode && !nodeKeepsTasks(nodes.get(t.getNodeId())) && !Tasks.terminal(t.getStatus().getState())) {
                out.updates.add(Tasks.withDesired(t, TaskState.SHUTDOWN, now));
                slots.put(t.getSlot(), new Holder(Tasks.newTask(s, t.getSlot(), null, now), true));
            } else if (Tasks.terminal(t.getStatus().getState())) {
                long at = RestartSupervisor.restartAt(s, t);
                if (at == RestartSupervisor.NEVER) {
                    slots.put(t.getSlot(), new Holder(t, false));  // stays failed; the slot is taken
                } else if (at <= now) {
                    out.updates.add(Tasks.withDesired(t, TaskState.SHUTDOWN, now));
                    slots.put(t.getSlot(), new Holder(RestartSupervisor.replacement(s, t, null, now), true));
                } else {
                    out.wakeAt(at);
                    slots.put(t.getSlot(), new Holder(t, false));
                }
            } else {
                slots.put(t.getSlot(), new Holder(t, false));
            }
        }
        // 3. Scale down: take from the nodes with the most tasks of the service.
        if (slots.size() > replicas) {
            Map<String, List<Holder>> byNode = new HashMap<>();
            for (Holder h : slots.values()) {
                byNode.computeIfAbsent(h.task.getNodeId(), k -> new ArrayList<>()).add(h);
            }
            for (List<Holder> l : byNode.values()) {
                l.sort(Comparator.comparingLong(h -> h.task.getSlot()));
            }
            long excess = slots.size() - replicas;
            while (excess-- > 0) {
                String victimNode = null;
                for (Map.Entry<String, List<Holder>> e : byNode.entrySet()) {
                    if (e.getValue().isEmpty()) {
                        continue;
                    }
                    // Unplaced tasks go first, then the fullest node; ties: the highest slot.
                    if (victimNode == null || rank(e, byNode.get(victimNode), victimNode) > 0) {
                        victimNode = e.getKey();
                    }
                }
                List<Holder> l = byNode.get(victimNode);
                Holder victim = l.remove(l.size() - 1);
                slots.remove(victim.task.getSlot());
                if (!victim.created) {
                    out.updates.add(Tasks.withDesired(victim.task, TaskState.REMOVE, now));
                }
            }
        }
        for (Holder h : slots.values()) {
            if (h.created) {
                out.creates.add(h.task);
            }
        }
        // 4. Scale up: fill the lowest free slots.
        long slot = 1;
        while (slots.size() < replicas) {
            while (slots.containsKey(slot)) {
                slot++;
            }
            Task t = Tasks.newTask(s, slot, null, now);
            slots.put(slot, new Holder(t, true));
            out.creates.add(t);
        }
        return out;
    }

    /** Positive when candidate e should lose a task before the current choice. */
    private static int rank(Map.Entry<String, List<Holder>> e, List<Holder> current, String currentNode) {
        boolean eUnplaced = e.getKey().isEmpty();
        boolean cUnplaced = currentNode.isEmpty();
        if (eUnplaced != cUnplaced) {
            return eUnplaced ? 1 : -1;
        }
        int bySize = Integer.compare(e.getValue().size(), current.size());
        if (bySize != 0) {
            return bySize;
        }
        long eTop = e.getValue().get(e.getValue().size() - 1).task.getSlot();
        long cTop = current.get(current.size() - 1).task.getSlot();
        return Long.compare(eTop, cTop);
    }
}
