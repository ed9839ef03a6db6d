package io.jswarm.manager.orchestrator;

import static io.jswarm.manager.orchestrator.Fixtures.node;
import static io.jswarm.manager.orchestrator.Fixtures.nodes;
import static io.jswarm.manager.orchestrator.Fixtures.replicated;
import static io.jswarm.manager.orchestrator.Fixtures.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeState;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ReplicatedOrchestratorTest {
    final Map<String, Node> up = nodes(node("a", NodeState.NODE_READY, NodeAvailability.ACTIVE),
            node("b", NodeState.NODE_READY, NodeAvailability.ACTIVE));

    @Test
    void scaleUpFillsTheLowestFreeSlots() {
        Service s = replicated("web", 4);
        List<Task> tasks = List.of(task(s, 2, "a", TaskState.ASSIGNED, 1));
        Changes c = ReplicatedOrchestrator.reconcile(s, tasks, up, 100);
        assertEquals(Set.of(1L, 3L, 4L), c.creates.stream().map(Task::getSlot).collect(Collectors.toSet()));
        assertTrue(c.creates.stream().allMatch(t -> t.getStatus().getState() == TaskState.NEW
                && t.getDesiredState() == TaskState.RUNNING && t.getNodeId().isEmpty()));
        assertTrue(c.updates.isEmpty());
        assertEquals("web.1", c.creates.stream().filter(t -> t.getSlot() == 1).findFirst().get().getAnnotations().getName());
    }

    @Test
    void scaleDownTakesFromTheNodeWithTheMostTasks() {
        Service s = replicated("web", 2);
        List<Task> tasks = List.of(task(s, 1, "a", TaskState.RUNNING, 1), task(s, 2, "a", TaskState.RUNNING, 1),
                task(s, 3, "a", TaskState.RUNNING, 1), task(s, 4, "b", TaskState.RUNNING, 1));
        Changes c = ReplicatedOrchestrator.reconcile(s, tasks, up, 100);
        assertTrue(c.creates.isEmpty());
        assertEquals(2, c.updates.size());
        assertTrue(c.updates.stream().allMatch(t -> t.getDesiredState() == TaskState.REMOVE));
        // a had 3, b had 1: both removed tasks come from a, highest slots first.
        assertEquals(Set.of(2L, 3L), c.updates.stream().map(Task::getSlot).collect(Collectors.toSet()));
    }

    @Test
    void scaleDownRemovesUnplacedTasksFirst() {
        Service s = replicated("web", 1);
        List<Task> tasks = List.of(task(s, 1, "a", TaskState.RUNNING, 1), task(s, 2, "", TaskState.PENDING, 1));
        Changes c = ReplicatedOrchestrator.reconcile(s, tasks, up, 100);
        assertEquals(List.of(2L), c.updates.stream().map(Task::getSlot).toList());
    }

    @Test
    void tasksOnDownOrDrainedNodesAreReplacedInTheirSlot() {
        Service s = replicated("web", 2);
        Map<String, Node> ns = nodes(node("a", NodeState.NODE_DOWN, NodeAvailability.ACTIVE),
                node("b", NodeState.NODE_READY, NodeAvailability.DRAIN), node("c", NodeState.NODE_READY, NodeAvailability.ACTIVE));
        List<Task> tasks = List.of(task(s, 1, "a", TaskState.RUNNING, 1), task(s, 2, "b", TaskState.RUNNING, 1));
        Changes c = ReplicatedOrchestrator.reconcile(s, tasks, ns, 100);
        assertEquals(2, c.updates.size());
        assertTrue(c.updates.stream().allMatch(t -> t.getDesiredState() == TaskState.SHUTDOWN));
        assertEquals(Set.of(1L, 2L), c.creates.stream().map(Task::getSlot).collect(Collectors.toSet()));
        // A task whose node was removed from the cluster is replaced too.
        c = ReplicatedOrchestrator.reconcile(s, List.of(task(s, 1, "gone", TaskState.RUNNING, 1)), up, 100);
        assertEquals(Set.of(1L, 2L), c.creates.stream().map(Task::getSlot).collect(Collectors.toSet()));
    }

    @Test
    void failedTaskIsReplacedAfterTheRestartDelay() {
        Service s = Fixtures.withRestart(replicated("web", 1),
                RestartPolicy.newBuilder().setDelay(Duration.newBuilder().setSeconds(5)).build());
        Task failed = task(s, 1, "a", TaskState.FAILED, 1_000);
        Changes early = ReplicatedOrchestrator.reconcile(s, List.of(failed), up, 3_000);
        assertTrue(early.isEmpty(), "nothing before the delay");
        assertEquals(6_000, early.wakeAtMs);
        Changes late = ReplicatedOrchestrator.reconcile(s, List.of(failed), up, 6_000);
        assertEquals(1, late.creates.size());
        assertEquals(1, late.creates.get(0).getSlot());
        assertEquals(List.of(1_000L), late.creates.get(0).getRestartHistoryMsList());
        assertEquals(TaskState.SHUTDOWN, late.updates.get(0).getDesiredState());
    }

    @Test
    void restartConditionsAndMaxAttempts() {
        Service none = Fixtures.withRestart(replicated("web", 1), RestartPolicy.newBuilder()
                .setCondition(RestartPolicy.Condition.NONE).build());
        assertTrue(ReplicatedOrchestrator.reconcile(none, List.of(task(none, 1, "a", TaskState.FAILED, 0)), up, 60_000).isEmpty());

        Service onFailure = Fixtures.withRestart(replicated("web", 1), RestartPolicy.newBuilder()
                .setCondition(RestartPolicy.Condition.ON_FAILURE).setMaxAttempts(3).setDelay(Duration.getDefaultInstance()).build());
        assertTrue(ReplicatedOrchestrator.reconcile(onFailure, List.of(task(onFailure, 1, "a", TaskState.COMPLETE, 0)), up, 60_000)
                .isEmpty(), "on-failure does not restart a task that exited 0");
        // Follow one slot through its failures: exactly three replacements.
        Task current = task(onFailure, 1, "a", TaskState.FAILED, 0);
        int replacements = 0;
        for (int i = 0; i < 10; i++) {
            Changes c = ReplicatedOrchestrator.reconcile(onFailure, List.of(current), up, 1_000L * (i + 1));
            if (c.creates.isEmpty()) {
                break;
            }
            replacements++;
            Task next = c.creates.get(0);
            current = next.toBuilder().setStatus(next.getStatus().toBuilder().setState(TaskState.FAILED)
                    .setTimestampMs(1_000L * (i + 1))).build();
        }
        assertEquals(3, replacements);

        Service any = Fixtures.withRestart(replicated("web", 1), RestartPolicy.newBuilder()
                .setDelay(Duration.getDefaultInstance()).build());
        assertEquals(1, ReplicatedOrchestrator.reconcile(any, List.of(task(any, 1, "a", TaskState.COMPLETE, 0)), up, 1).creates.size(),
                "any restarts tasks that exit 0");
    }

    @Test
    void restartWindowForgetsOldFailures() {
        Service s = Fixtures.withRestart(replicated("web", 1), RestartPolicy.newBuilder().setMaxAttempts(1)
                .setWindow(Duration.newBuilder().setSeconds(10)).setDelay(Duration.getDefaultInstance()).build());
        Task t = task(s, 1, "a", TaskState.FAILED, 100_000).toBuilder().addRestartHistoryMs(50_000).build();
        assertEquals(1, ReplicatedOrchestrator.reconcile(s, List.of(t), up, 100_000).creates.size(),
                "a failure outside the window does not count");
        Task recent = t.toBuilder().clearRestartHistoryMs().addRestartHistoryMs(95_000).build();
        assertTrue(ReplicatedOrchestrator.reconcile(s, List.of(recent), up, 100_000).creates.isEmpty());
    }

    @Test
    void reaperKeepsBoundedHistoryPerSlot() {
        Service s = replicated("web", 1);
        List<Task> tasks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            tasks.add(task(s, 1, "a", TaskState.FAILED, i).toBuilder().setDesiredState(TaskState.SHUTDOWN).build());
        }
        tasks.add(task(s, 1, "a", TaskState.RUNNING, 100));
        List<Task> reaped = TaskReaper.reap(tasks, up, 5);
        assertEquals(4, reaped.size(), "current + 4 old tasks remain");
        assertTrue(reaped.stream().allMatch(t -> t.getMeta().getCreatedAtMs() < 4));
        Task removed = task(s, 2, "a", TaskState.SHUTDOWN, 1).toBuilder().setDesiredState(TaskState.REMOVE).build();
        Task stillRunning = task(s, 3, "a", TaskState.RUNNING, 1).toBuilder().setDesiredState(TaskState.REMOVE).build();
        assertEquals(List.of(removed), TaskReaper.reap(List.of(removed, stillRunning), up, 5));
    }
}
