package io.jswarm.manager;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The reason label of pending tasks: a fixed set of values from the scheduler's own words. */
class ManagerMetricsTest {
    @Test
    void pendingReasonsAreLabelsFromAFixedSet() {
        assertEquals(List.of("no_nodes"), ManagerMetrics.pendingReasons("no suitable node (no nodes in the cluster)"));
        assertEquals(List.of("constraint", "memory"), ManagerMetrics.pendingReasons(
                "no suitable node (constraint node.labels.disk==ssd not met on 2 nodes; insufficient memory on 1 node)"));
        assertEquals(List.of("node_availability", "max_replicas_per_node", "host_port"), ManagerMetrics.pendingReasons(
                "no suitable node (node availability drain on 1 node; max replicas per node (1) reached on 2 nodes;"
                        + " host-mode port 8080/tcp in use on 1 node)"));
        assertEquals(List.of("other"), ManagerMetrics.pendingReasons("something new"));
    }
}
