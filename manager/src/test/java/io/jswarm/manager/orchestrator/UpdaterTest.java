package io.jswarm.manager.orchestrator;

import static io.jswarm.manager.orchestrator.Fixtures.node;
import static io.jswarm.manager.orchestrator.Fixtures.nodes;
import static io.jswarm.manager.orchestrator.Fixtures.replicated;
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
import io.jswarm.api.TaskStatus;
import io.jswarm.api.UpdateConfig;
import io.jswarm.api.UpdateStatus;
import io.jswarm.manager.Durations;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The rolling updater with the replicated orchestrator, as the leader runs them, against a
 * small simulated node that starts what it is told to run and stops what it is told to stop.
 */
class UpdaterTest {
    final Map<String, Node> up = nodes(node("a", NodeState.NODE_READY, NodeAvailability.ACTIVE));

    /** The store as the controllers see it, and a node that obeys at once (or fails new tasks when told). */
    final class Sim {
        Service service;
        final Map<String, Task> tasks = new LinkedHashMap<>();
        long now = 1_000;
        int failuresLeft;  // new-spec tasks to fail before the rest start fine
        final List<String> started = new ArrayList<>();  // "slot@time" of each new-spec task start

        Sim(Service s, int replicas) {
            service = s;
            for (int i = 1; i <= replicas; i++) {
                Task t = task(s, i, "a", TaskState.RUNNING, 1);
                tasks.put(t.getMeta().getId(), t.toBuilder().setStartedAtMs(1).build());
            }
        }

        /** A user's service update that changes the task template. */
        void update(UpdateConfig cfg) {
            ServiceSpec.Builder next = service.getSpec().toBuilder().setUpdate(cfg);
            next.getTaskBuilder().getContainerBuilder().setImage("r:5000/x:2");
            service = service.toBuilder().setPreviousSpec(service.getSpec()).setSpec(next).setSpecVersion(service.getSpecVersion() + 1)
                    .setUpdateStatus(UpdateStatus.newBuilder().setState(UpdateStatus.State.UPDATING).setStartedAtMs(now)).build();
        }

        /** One controller pass, then the node acts; returns the pass's changes. */
        Changes step(long advanceMs) {
            now += advanceMs;
            List<Task> ts = new ArrayList<>(tasks.values());
            Changes c = ReplicatedOrchestrator.reconcile(service, ts, up, now);
            Set<String> touched = new HashSet<>();
            c.creates.forEach(t -> touched.add(Tasks.slotKey(t)));
            c.updates.forEach(t -> touched.add(Tasks.slotKey(t)));
            c.addAll(Updater.plan(service, ts, up, touched, now));
            for (Task t : c.updates) {
                tasks.put(t.getMeta().getId(), t);
            }
            for (Task t : c.creates) {
                tasks.put(t.getMeta().getId(), t.toBuilder().setNodeId("a")
                        .setStatus(TaskStatus.newBuilder().setState(TaskState.ASSIGNED).setTimestampMs(now)).build());
            }
            for (Service s : c.services) {
                service = s;
            }
            for (Task t : new ArrayList<>(tasks.values())) {
                TaskState st = t.getStatus().getState();
                if (t.getDesiredState() == TaskState.RUNNING && st == TaskState.ASSIGNED || st == TaskState.READY
                        && t.getDesiredState() == TaskState.RUNNING) {
                    boolean fail = failuresLeft > 0 && t.getSpecVersion() == service.getSpecVersion() && !service.getUpdateStatus()
                            .getState().name().startsWith("ROLLBACK");
                    if (fail) {
                        failuresLeft--;
                    }
                    tasks.put(t.getMeta().getId(), t.toBuilder().setStartedAtMs(fail ? 0 : now).setStatus(TaskStatus.newBuilder()
                            .setState(fail ? TaskState.FAILED : TaskState.RUNNING).setErr(fail ? "task: non-zero exit (1)" : "")
                            .setTimestampMs(now)).build());
                    if (!fail) {
                        started.add(t.getSlot() + "@" + now);
                    }
                } else if (t.getDesiredState() == TaskState.READY && st == TaskState.ASSIGNED) {
                    tasks.put(t.getMeta().getId(), t.toBuilder().setStatus(TaskStatus.newBuilder().setState(TaskState.READY)
                            .setTimestampMs(now)).build());
                } else if (t.getDesiredState().getNumber() >= TaskState.SHUTDOWN_VALUE && !Tasks.terminal(st)) {
                    tasks.put(t.getMeta().getId(), t.toBuilder().setStatus(TaskStatus.newBuilder().setState(TaskState.SHUTDOWN)
                            .setTimestampMs(now)).build());
                }
            }
            return c;
        }

        long count(Predicate<Task> p) {
            return tasks.values().stream().filter(p).count();
        }

        long runningOn(long version) {
            return count(t -> t.getSpecVersion() == version && t.getStatus().getState() == TaskState.RUNNING);
        }

        void runUntilSettled(long stepMs, int maxSteps) {
            for (int i = 0; i < maxSteps && Updater.active(service); i++) {
                step(stepMs);
            }
        }
    }

    static UpdateConfig cfg(long parallelism, long delayMs, UpdateConfig.Order order) {
        return UpdateConfig.newBuilder().setParallelism(parallelism).setDelay(Durations.ofMillis(delayMs)).setOrder(order)
                .setMonitor(Durations.ofMillis(1_000)).build();
    }

    @Test
    void stopFirstReplacesOneSlotAtATimeWithTheDelayBetween() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.update(cfg(1, 3_000, UpdateConfig.Order.STOP_FIRST));
        Changes first = sim.step(0);
        assertEquals(1, first.creates.size(), "one slot per batch");
        assertEquals(TaskState.READY, first.creates.get(0).getDesiredState(), "prepared, started once the old one stopped");
        assertEquals(TaskState.SHUTDOWN, first.updates.get(0).getDesiredState());
        while (Updater.active(sim.service)) {
            sim.step(500);
            assertTrue(sim.count(t -> t.getStatus().getState() == TaskState.RUNNING) >= 3, "at least 3 of 4 serve");
            assertTrue(sim.now < 60_000, "the update finishes");
        }
        assertEquals(UpdateStatus.State.COMPLETED, sim.service.getUpdateStatus().getState());
        assertEquals(4, sim.runningOn(2));
        assertEquals(4, sim.count(t -> t.getSpecVersion() == 1 && t.getStatus().getState() == TaskState.SHUTDOWN),
                "the old tasks stay in history, shut down");
        assertEquals(4, sim.started.size(), "each slot updated exactly once: " + sim.started);
        for (int i = 1; i < sim.started.size(); i++) {
            long prev = Long.parseLong(sim.started.get(i - 1).split("@")[1]);
            long next = Long.parseLong(sim.started.get(i).split("@")[1]);
            assertTrue(next - prev >= 3_000, "3 s between replacements: " + sim.started);
        }
    }

    @Test
    void parallelismReplacesThatManyAtOnce() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.update(cfg(2, 0, UpdateConfig.Order.STOP_FIRST));
        assertEquals(2, sim.step(0).creates.size());
        sim.runUntilSettled(500, 100);
        assertEquals(4, sim.runningOn(2));

        Sim all = new Sim(replicated("web", 4), 4);
        all.update(cfg(0, 0, UpdateConfig.Order.STOP_FIRST));
        assertEquals(4, all.step(0).creates.size(), "parallelism 0: all at once");
    }

    @Test
    void startFirstKeepsTheOldTaskUntilTheNewOneRuns() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.update(cfg(1, 0, UpdateConfig.Order.START_FIRST));
        Changes first = sim.step(0);
        assertEquals(1, first.creates.size());
        assertEquals(TaskState.RUNNING, first.creates.get(0).getDesiredState());
        assertTrue(first.updates.isEmpty(), "the old task is left running");
        while (Updater.active(sim.service)) {
            sim.step(500);
            assertTrue(sim.count(t -> t.getStatus().getState() == TaskState.RUNNING) >= 4, "never fewer than 4");
            assertTrue(sim.now < 60_000);
        }
        assertEquals(4, sim.runningOn(2));
        assertEquals(0, sim.runningOn(1));
    }

    @Test
    void failuresPauseTheUpdateNamingTheTask() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.failuresLeft = Integer.MAX_VALUE;
        sim.update(cfg(1, 0, UpdateConfig.Order.STOP_FIRST));
        sim.runUntilSettled(500, 50);
        UpdateStatus st = sim.service.getUpdateStatus();
        assertEquals(UpdateStatus.State.PAUSED, st.getState());
        assertTrue(st.getMessage().startsWith("update paused due to failure or early termination of task web.1."), st.getMessage());
        assertTrue(st.getMessage().endsWith("task: non-zero exit (1)"), st.getMessage());
        assertEquals(3, sim.runningOn(1), "the other slots were left alone");
    }

    @Test
    void continueGoesOnDespiteFailures() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.failuresLeft = 2;
        sim.update(cfg(1, 0, UpdateConfig.Order.STOP_FIRST).toBuilder().setFailureAction(UpdateConfig.FailureAction.CONTINUE).build());
        sim.runUntilSettled(500, 200);
        assertEquals(UpdateStatus.State.COMPLETED, sim.service.getUpdateStatus().getState());
        for (int i = 0; i < 40; i++) {
            sim.step(500);  // the restart policy replaces the failed ones (after its 5 s delay)
        }
        assertEquals(4, sim.runningOn(2));
    }

    @Test
    void aFailureRatioWithinTheLimitDoesNotPause() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.failuresLeft = 1;
        sim.update(cfg(1, 0, UpdateConfig.Order.STOP_FIRST).toBuilder().setMaxFailureRatio(0.3f).build());
        sim.runUntilSettled(500, 200);
        assertEquals(UpdateStatus.State.COMPLETED, sim.service.getUpdateStatus().getState(), "1 of 4 failed: 0.25 <= 0.3");

        Sim strict = new Sim(replicated("web", 4), 4);
        strict.failuresLeft = 2;
        strict.update(cfg(1, 0, UpdateConfig.Order.STOP_FIRST).toBuilder().setMaxFailureRatio(0.3f).build());
        strict.runUntilSettled(500, 200);
        assertEquals(UpdateStatus.State.PAUSED, strict.service.getUpdateStatus().getState(), "2 of 4 failed: 0.5 > 0.3");
    }

    @Test
    void rollbackOnFailureGoesBackToThePreviousSpec() {
        Sim sim = new Sim(replicated("web", 4), 4);
        sim.failuresLeft = Integer.MAX_VALUE;
        sim.update(cfg(1, 0, UpdateConfig.Order.STOP_FIRST).toBuilder().setFailureAction(UpdateConfig.FailureAction.ROLLBACK).build());
        sim.runUntilSettled(500, 50);
        sim.runUntilSettled(500, 100);
        assertEquals(UpdateStatus.State.ROLLBACK_COMPLETED, sim.service.getUpdateStatus().getState());
        assertEquals("r:5000/x:1", sim.service.getSpec().getTask().getContainer().getImage());
        assertEquals(4, sim.runningOn(3), "every slot runs the old spec again (version 3)");
    }

    @Test
    void aNewLeaderResumesWithoutRedoingAnySlot() {
        Sim sim = new Sim(replicated("web", 6), 6);
        sim.update(cfg(1, 1_000, UpdateConfig.Order.STOP_FIRST));
        for (int i = 0; i < 7; i++) {
            sim.step(500);
        }
        Map<String, Task> before = new HashMap<>(sim.tasks);
        // The controllers are pure functions of the store: a new leader starts from the same tasks.
        sim.runUntilSettled(500, 200);
        assertEquals(UpdateStatus.State.COMPLETED, sim.service.getUpdateStatus().getState());
        assertEquals(6, sim.started.size(), "six slots, six new tasks: " + sim.started);
        assertEquals(6, new HashSet<>(sim.started.stream().map(s -> s.split("@")[0]).toList()).size());
        assertTrue(sim.tasks.keySet().containsAll(before.keySet()), "no task lost");
    }

    @Test
    void nothingHappensWithoutAnUpdate() {
        Sim sim = new Sim(replicated("web", 2), 2);
        Changes c = sim.step(0);
        assertTrue(c.isEmpty());
    }
}
