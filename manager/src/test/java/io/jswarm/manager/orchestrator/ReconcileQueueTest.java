package io.jswarm.manager.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import io.jswarm.api.store.StoreAction;
import io.jswarm.manager.store.StoreObjects;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which services the leader's next pass looks at, from the store's change feed. */
class ReconcileQueueTest {
    static StoreAction task(StoreAction.Kind kind, String id, String service, TaskState state, TaskState desired) {
        return StoreAction.newBuilder().setKind(kind).setObject(StoreObjects.of(Task.newBuilder()
                .setMeta(Meta.newBuilder().setId(id)).setServiceId(service).setDesiredState(desired)
                .setStatus(TaskStatus.newBuilder().setState(state)).build())).build();
    }

    /** A queue whose first (full) pass has been taken at time 0. */
    static ReconcileQueue started() {
        ReconcileQueue q = new ReconcileQueue();
        assertTrue(q.take(1).full(), "the first pass after becoming leader reads everything");
        return q;
    }

    @Test
    void aChangeToOneServiceConcernsThatServiceOnly() {
        ReconcileQueue q = started();
        q.observe(task(StoreAction.Kind.CREATE, "t1", "web", TaskState.NEW, TaskState.RUNNING));
        ReconcileQueue.Work w = q.take(2);
        assertFalse(w.full());
        assertEquals(Set.of("web"), w.services());
        assertEquals(Set.of(), w.progressOnly());
        assertTrue(w.schedule(), "a new task waits for the scheduler");
        ReconcileQueue.Work idle = q.take(3);
        assertEquals(Set.of(), idle.services(), "nothing changed since");
        assertFalse(idle.schedule());
    }

    @Test
    void tasksMovingThroughTheirStartAreProgressOnly() {
        ReconcileQueue q = started();
        for (TaskState s : new TaskState[] {TaskState.ASSIGNED, TaskState.PREPARING, TaskState.RUNNING}) {
            q.observe(task(StoreAction.Kind.STATUS, "t1", "web", s, TaskState.RUNNING));
        }
        q.observe(task(StoreAction.Kind.UPDATE, "t2", "db", TaskState.RUNNING, TaskState.RUNNING));
        q.observe(task(StoreAction.Kind.STATUS, "t3", "db", TaskState.FAILED, TaskState.RUNNING));  // the node's report of a failure
        ReconcileQueue.Work w = q.take(2);
        assertEquals(Set.of("web", "db"), w.services());
        assertEquals(Set.of("web"), w.progressOnly(), "web's controllers act only if an update watches its tasks");
        assertTrue(w.schedule(), "a task that stopped freed room");
        q.observe(task(StoreAction.Kind.UPDATE, "t1", "web", TaskState.RUNNING, TaskState.SHUTDOWN));
        assertEquals(Set.of(), q.take(3).progressOnly(), "a task told to stop is for the controllers");
    }

    @Test
    void nodesAndTheSafetyNetMakeAFullPass() {
        ReconcileQueue q = started();
        q.observe(StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE)
                .setObject(StoreObjects.of(Node.newBuilder().setMeta(Meta.newBuilder().setId("n1")).build())).build());
        assertTrue(q.take(2).full(), "a node changed: every service may be concerned");
        assertFalse(q.take(3).full());
        // Nothing said for a while: a full pass anyway, which finds whatever the feed missed.
        assertEquals(2 + ReconcileQueue.SAFETY_NET_MS, q.nextWake());
        assertFalse(q.take(1 + ReconcileQueue.SAFETY_NET_MS).full());
        assertTrue(q.take(2 + ReconcileQueue.SAFETY_NET_MS).full());
    }

    @Test
    void aFailedPassIsRetriedAndADelayWakesItsService() {
        ReconcileQueue q = started();
        q.observe(task(StoreAction.Kind.REMOVE, "t1", "web", TaskState.SHUTDOWN, TaskState.SHUTDOWN));
        ReconcileQueue.Work w = q.take(2);
        q.retry(w);
        assertEquals(Set.of("web"), q.take(3).services(), "taken again after the conflict");
        q.wakeAt("db", 500);
        assertEquals(500, q.nextWake());
        assertEquals(Set.of(), q.take(499).services());
        ReconcileQueue.Work due = q.take(500);
        assertEquals(Set.of("db"), due.services(), "its restart delay has ended");
        assertEquals(Set.of(), due.progressOnly());
    }
}
