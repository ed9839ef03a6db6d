package io.jswarm.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    static final long GB = 1L << 30;

    static NodeInfo node(String id, Map<String, String> labels) {
        return new NodeInfo(id, "host-" + id, "worker", "linux", "amd64", labels, true, "active", 4_000_000_000L, 8 * GB);
    }

    static List<TaskRequest> tasks(String service, int n, long mem, List<String> constraints, List<String> prefs,
            long maxPerNode, Set<String> ports) {
        List<TaskRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TaskRequest(service + "-" + i, service, service, 0, mem, Constraint.parseAll(constraints), prefs,
                    maxPerNode, ports));
        }
        return out;
    }

    static Map<String, Integer> perNode(List<Decision> ds) {
        Map<String, Integer> m = new TreeMap<>();
        for (Decision d : ds) {
            if (d.placed()) {
                m.merge(d.nodeId(), 1, Integer::sum);
            }
        }
        return m;
    }

    @Test
    void spreadsEvenlyAndPrefersEmptierNodes() {
        List<NodeInfo> nodes = List.of(node("a", Map.of()), node("b", Map.of()), node("c", Map.of()));
        Map<String, NodeLoad> loads = new HashMap<>();
        NodeLoad busy = new NodeLoad();
        busy.add("other", 0, 0, Set.of());
        busy.add("other", 0, 0, Set.of());
        loads.put("a", busy);
        List<Decision> ds = new Scheduler(nodes, loads).schedule(tasks("web", 4, 0, List.of(), List.of(), 0, Set.of()));
        // b and c get two each before a; a already runs two other tasks.
        assertEquals(Map.of("b", 2, "c", 1, "a", 1), perNode(ds));
        ds = new Scheduler(nodes, new HashMap<>()).schedule(tasks("web", 6, 0, List.of(), List.of(), 0, Set.of()));
        assertEquals(Map.of("a", 2, "b", 2, "c", 2), perNode(ds));
    }

    @Test
    void constraintsFilterNodesAndExplainWhenNothingFits() {
        List<NodeInfo> nodes = List.of(node("a", Map.of("zone", "a")), node("b", Map.of("zone", "a")),
                node("c", Map.of("zone", "c")));
        List<Decision> ds = new Scheduler(nodes, new HashMap<>())
                .schedule(tasks("web", 3, 0, List.of("node.labels.zone==a"), List.of(), 0, Set.of()));
        assertEquals(Map.of("a", 2, "b", 1), perNode(ds));
        ds = new Scheduler(nodes, new HashMap<>())
                .schedule(tasks("web", 1, 0, List.of("node.labels.zone==b"), List.of(), 0, Set.of()));
        assertFalse(ds.get(0).placed());
        assertEquals("no suitable node (constraint node.labels.zone==b not met on 3 nodes)", ds.get(0).reason());
        ds = new Scheduler(nodes, new HashMap<>())
                .schedule(tasks("web", 3, 0, List.of("node.hostname!=host-a", "node.role==worker"), List.of(), 0, Set.of()));
        assertEquals(Map.of("b", 2, "c", 1), perNode(ds));
    }

    @Test
    void memoryReservationsAreNeverOvercommitted() {
        List<NodeInfo> nodes = List.of(node("a", Map.of()), node("b", Map.of()), node("c", Map.of("zone", "x")));
        // 3 GB each: two fit on an 8 GB node, so 6 fit in total and the 7th does not.
        List<Decision> ds = new Scheduler(nodes, new HashMap<>())
                .schedule(tasks("db", 7, 3 * GB, List.of(), List.of(), 0, Set.of()));
        assertEquals(6, ds.stream().filter(Decision::placed).count());
        assertEquals("no suitable node (insufficient memory on 3 nodes)", ds.get(6).reason());
    }

    @Test
    void unavailableNodesAreSkippedWithReasons() {
        List<NodeInfo> nodes = List.of(
                new NodeInfo("a", "ha", "worker", "linux", "amd64", Map.of(), false, "active", 1, GB),
                new NodeInfo("b", "hb", "worker", "linux", "amd64", Map.of(), true, "drain", 1, GB),
                new NodeInfo("c", "hc", "worker", "linux", "amd64", Map.of(), true, "pause", 1, GB));
        List<Decision> ds = new Scheduler(nodes, new HashMap<>()).schedule(tasks("web", 1, 0, List.of(), List.of(), 0, Set.of()));
        assertEquals("no suitable node (node not ready on 1 node; node availability drain on 1 node; "
                + "node availability pause on 1 node)", ds.get(0).reason());
        assertEquals("no suitable node (no nodes in the cluster)",
                new Scheduler(List.of(), new HashMap<>()).schedule(tasks("web", 1, 0, List.of(), List.of(), 0, Set.of()))
                        .get(0).reason());
    }

    @Test
    void maxReplicasAndHostPorts() {
        List<NodeInfo> nodes = List.of(node("a", Map.of()), node("b", Map.of()));
        List<Decision> ds = new Scheduler(nodes, new HashMap<>()).schedule(tasks("web", 5, 0, List.of(), List.of(), 2, Set.of()));
        assertEquals(4, ds.stream().filter(Decision::placed).count());
        assertEquals("no suitable node (max replicas per node (2) reached on 2 nodes)", ds.get(4).reason());
        Map<String, NodeLoad> loads = new HashMap<>();
        NodeLoad l = new NodeLoad();
        l.add("other", 0, 0, Set.of("tcp/80"));
        loads.put("a", l);
        ds = new Scheduler(nodes, loads).schedule(tasks("web", 2, 0, List.of(), List.of(), 0, Set.of("tcp/80")));
        assertEquals(Map.of("b", 1), perNode(ds));
        assertEquals("no suitable node (host-mode port tcp/80 in use on 2 nodes)", ds.get(1).reason());
    }

    @Test
    void spreadPreferenceBalancesLabelValuesFirst() {
        // zone a has 1 node, zone b has 3: the preference puts half the tasks in each zone.
        List<NodeInfo> nodes = List.of(node("a1", Map.of("zone", "a")), node("b1", Map.of("zone", "b")),
                node("b2", Map.of("zone", "b")), node("b3", Map.of("zone", "b")));
        List<Decision> ds = new Scheduler(nodes, new HashMap<>())
                .schedule(tasks("web", 6, 0, List.of(), List.of("node.labels.zone"), 0, Set.of()));
        Map<String, Integer> m = perNode(ds);
        assertEquals(3, m.get("a1"));
        assertEquals(1, m.get("b1"));
        assertEquals(1, m.get("b2"));
        assertEquals(1, m.get("b3"));
    }

    @Test
    void constraintParsing() {
        Constraint c = Constraint.parse("node.labels.zone != b");
        assertEquals("node.labels.zone", c.key());
        assertFalse(c.equal());
        assertTrue(c.matches(node("x", Map.of("zone", "a"))));
        assertTrue(c.matches(node("x", Map.of())));
        assertFalse(c.matches(node("x", Map.of("zone", "b"))));
        assertThrows(IllegalArgumentException.class, () -> Constraint.parse("node.labels.a=b"));
        assertThrows(IllegalArgumentException.class, () -> Constraint.parse("node.colour==red"));
        assertThrows(IllegalArgumentException.class, () -> Constraint.parse("node.role==boss"));
        assertThrows(IllegalArgumentException.class, () -> Constraint.parse("node.labels.==x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Constraint.parse("node.labels.a=b"));
        assertTrue(e.getMessage().contains("node.labels.a=b"), e.getMessage());
        assertNull(Scheduler.staticMismatch(node("x", Map.of()), List.of(Constraint.parse("node.platform.os==linux"))));
    }
}
