package io.jswarm.manager.orchestrator;

import static io.jswarm.manager.orchestrator.Fixtures.global;
import static io.jswarm.manager.orchestrator.Fixtures.node;
import static io.jswarm.manager.orchestrator.Fixtures.nodes;
import static io.jswarm.manager.orchestrator.Fixtures.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class GlobalOrchestratorTest {
    @Test
    void oneTaskPerEligibleNode() {
        Service s = global("agent");
        Map<String, Node> ns = nodes(node("a", NodeState.NODE_READY, NodeAvailability.ACTIVE),
                node("b", NodeState.NODE_READY, NodeAvailability.ACTIVE), node("c", NodeState.NODE_DOWN, NodeAvailability.ACTIVE),
                node("d", NodeState.NODE_READY, NodeAvailability.PAUSE), node("e", NodeState.NODE_READY, NodeAvailability.DRAIN));
        Changes c = GlobalOrchestrator.reconcile(s, List.of(task(s, 0, "a", TaskState.RUNNING, 1)), ns, 10);
        assertEquals(Set.of("b"), c.creates.stream().map(Task::getNodeId).collect(Collectors.toSet()));
        assertEquals(0, c.creates.get(0).getSlot());
    }

    @Test
    void followsNodesThatGoDownDrainOrStopMatching() {
        ServiceSpec.Builder spec = global("agent").getSpec().toBuilder();
        spec.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.zone==a");
        Service s = global("agent").toBuilder().setSpec(spec).build();
        Node a = node("a", NodeState.NODE_READY, NodeAvailability.ACTIVE);
        a = a.toBuilder().setSpec(a.getSpec().toBuilder().setAnnotations(a.getSpec().getAnnotations().toBuilder().putLabels("zone", "a"))).build();
        Map<String, Node> ns = nodes(a, node("b", NodeState.NODE_DOWN, NodeAvailability.ACTIVE),
                node("c", NodeState.NODE_READY, NodeAvailability.DRAIN), node("d", NodeState.NODE_READY, NodeAvailability.ACTIVE));
        List<Task> tasks = List.of(task(s, 0, "a", TaskState.RUNNING, 1), task(s, 0, "b", TaskState.RUNNING, 1),
                task(s, 0, "c", TaskState.RUNNING, 1), task(s, 0, "d", TaskState.RUNNING, 1));
        Changes c = GlobalOrchestrator.reconcile(s, tasks, ns, 10);
        assertTrue(c.creates.isEmpty());
        assertEquals(Set.of("b", "c", "d"), c.updates.stream().map(Task::getNodeId).collect(Collectors.toSet()));
        assertTrue(c.updates.stream().allMatch(t -> t.getDesiredState() == TaskState.SHUTDOWN));
    }
}
