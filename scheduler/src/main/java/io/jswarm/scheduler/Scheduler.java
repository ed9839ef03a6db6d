package io.jswarm.scheduler;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * Places pending tasks on nodes. Filters: node ready and active, constraints, CPU and
 * memory reservations, max replicas per node, host-mode port conflicts. Strategy: spread,
 * i.e. the node with the fewest tasks of the service, then the fewest tasks overall,
 * under an optional tree of spread preferences over node labels.
 *
 * <p>Pure: one instance is one scheduling pass over a snapshot of nodes and their loads.
 * Loads are updated as tasks are placed, so a pass never overcommits a node.
 */
public final class Scheduler {
    private final List<NodeInfo> nodes;
    private final Map<String, NodeLoad> loads;

    public Scheduler(List<NodeInfo> nodes, Map<String, NodeLoad> loads) {
        this.nodes = nodes;
        this.loads = loads;
        for (NodeInfo n : nodes) {
            loads.computeIfAbsent(n.id(), id -> new NodeLoad());
        }
    }

    public NodeLoad load(String nodeId) {
        return loads.get(nodeId);
    }

    /** Decides every task; tasks that fit nowhere get a reason instead of a node. */
    public List<Decision> schedule(List<TaskRequest> tasks) {
        Map<String, List<TaskRequest>> groups = new LinkedHashMap<>();
        for (TaskRequest t : tasks) {
            groups.computeIfAbsent(t.groupKey(), k -> new ArrayList<>()).add(t);
        }
        List<Decision> out = new ArrayList<>(tasks.size());
        for (List<TaskRequest> group : groups.values()) {
            scheduleGroup(group, out);
        }
        return out;
    }

    /** Whether a node passes the static filters (used by the global orchestrator too). */
    public static String staticMismatch(NodeInfo node, List<Constraint> constraints) {
        if (!node.ready()) {
            return "node not ready";
        }
        if (!"active".equals(node.availability())) {
            return "node availability " + node.availability();
        }
        for (Constraint c : constraints) {
            if (!c.matches(node)) {
                return "constraint " + c + " not met";
            }
        }
        return null;
    }

    private void scheduleGroup(List<TaskRequest> group, List<Decision> out) {
        TaskRequest first = group.get(0);
        Map<String, Integer> reasons = new LinkedHashMap<>();
        List<Candidate> candidates = new ArrayList<>();
        for (NodeInfo n : nodes) {
            String why = staticMismatch(n, first.constraints());
            if (why != null) {
                reasons.merge(why, 1, Integer::sum);
            } else {
                NodeLoad load = loads.get(n.id());
                candidates.add(new Candidate(n, load, load.tasksOf(first.serviceId())));
            }
        }
        Branch root = Branch.build(candidates, first.spreadPreferences(), 0);
        for (TaskRequest t : group) {
            Candidate c = root.pick(t, reasons);
            if (c == null) {
                out.add(new Decision(t.taskId(), null, noSuitableNode(reasons)));
                continue;
            }
            out.add(new Decision(t.taskId(), c.node.id(), null));
        }
    }

    static String noSuitableNode(Map<String, Integer> reasons) {
        if (reasons.isEmpty()) {
            return "no suitable node (no nodes in the cluster)";
        }
        StringBuilder sb = new StringBuilder("no suitable node (");
        boolean firstReason = true;
        for (Map.Entry<String, Integer> e : reasons.entrySet()) {
            if (!firstReason) {
                sb.append("; ");
            }
            firstReason = false;
            sb.append(e.getKey()).append(" on ").append(e.getValue()).append(e.getValue() == 1 ? " node" : " nodes");
        }
        return sb.append(')').toString();
    }

    /** Why a node that passed the static filters cannot take one more task of the group, or null. */
    static String dynamicMismatch(Candidate c, TaskRequest t) {
        NodeInfo n = c.node;
        NodeLoad l = c.load;
        if (t.reserveNanoCpus() > 0 && l.reservedNanoCpus + t.reserveNanoCpus() > n.nanoCpus()) {
            return "insufficient cpu";
        }
        if (t.reserveMemoryBytes() > 0 && l.reservedMemoryBytes + t.reserveMemoryBytes() > n.memoryBytes()) {
            return "insufficient memory";
        }
        if (t.maxReplicasPerNode() > 0 && c.serviceTasks >= t.maxReplicasPerNode()) {
            return "max replicas per node (" + t.maxReplicasPerNode() + ") reached";
        }
        for (String p : t.hostPorts()) {
            if (l.hostPorts.contains(p)) {
                return "host-mode port " + p + " in use";
            }
        }
        return null;
    }

    /** A node that passed the static filters, with its count of this service's tasks. */
    static final class Candidate {
        final NodeInfo node;
        final NodeLoad load;
        int serviceTasks;

        Candidate(NodeInfo node, NodeLoad load, int serviceTasks) {
            this.node = node;
            this.load = load;
            this.serviceTasks = serviceTasks;
        }
    }

    private static final Comparator<Candidate> SPREAD = Comparator
            .<Candidate>comparingInt(c -> c.serviceTasks)
            .thenComparingInt(c -> c.load.totalTasks)
            .thenComparing(c -> c.node.id());

    /**
     * The tree of spread preferences: one level per preference, one child per label value
     * (nodes without the label share the child ""). Leaves hold a heap of candidates.
     */
    static final class Branch {
        final Map<String, Branch> children;
        final PriorityQueue<Candidate> heap;
        int serviceTasks;
        boolean exhausted;

        private Branch(Map<String, Branch> children, PriorityQueue<Candidate> heap) {
            this.children = children;
            this.heap = heap;
        }

        static Branch build(List<Candidate> candidates, List<String> prefs, int level) {
            Branch b;
            if (level == prefs.size()) {
                b = new Branch(null, new PriorityQueue<>(Math.max(1, candidates.size()), SPREAD));
                b.heap.addAll(candidates);
            } else {
                String label = prefs.get(level).substring("node.labels.".length());
                Map<String, List<Candidate>> byValue = new TreeMap<>();
                for (Candidate c : candidates) {
                    byValue.computeIfAbsent(c.node.labels().getOrDefault(label, ""), k -> new ArrayList<>()).add(c);
                }
                Map<String, Branch> children = new LinkedHashMap<>();
                for (Map.Entry<String, List<Candidate>> e : byValue.entrySet()) {
                    children.put(e.getKey(), build(e.getValue(), prefs, level + 1));
                }
                b = new Branch(children, null);
            }
            for (Candidate c : candidates) {
                b.serviceTasks += c.serviceTasks;
            }
            return b;
        }

        Candidate pick(TaskRequest t, Map<String, Integer> reasons) {
            if (heap != null) {
                while (!heap.isEmpty()) {
                    Candidate c = heap.poll();
                    String why = dynamicMismatch(c, t);
                    if (why == null) {
                        // Place here, before re-inserting: the heap key changes with the counts.
                        c.serviceTasks++;
                        c.load.add(t.serviceId(), t.reserveNanoCpus(), t.reserveMemoryBytes(), t.hostPorts());
                        heap.add(c);
                        serviceTasks++;
                        return c;
                    }
                    reasons.merge(why, 1, Integer::sum);
                }
                exhausted = true;
                return null;
            }
            while (true) {
                Branch best = null;
                for (Branch child : children.values()) {
                    if (!child.exhausted && (best == null || child.serviceTasks < best.serviceTasks)) {
                        best = child;
                    }
                }
                if (best == null) {
                    exhausted = true;
                    return null;
                }
                Candidate c = best.pick(t, reasons);
                if (c != null) {
                    serviceTasks++;
                    return c;
                }
            }
        }
    }
}
