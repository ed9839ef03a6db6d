package io.jswarm.manager.dispatcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.Status;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import io.jswarm.api.dispatcher.TaskStatusUpdate;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The status writer's batching, with a writer that records entries in place of Raft. */
class StatusBatcherTest {
    static TaskStatusUpdate update(String task, TaskState s) {
        return TaskStatusUpdate.newBuilder().setTaskId(task).setStatus(TaskStatus.newBuilder().setState(s)).build();
    }

    /** A report from a node of these updates, answered into {@code answers} under {@code key}. */
    static StatusBatcher.Report report(String node, Map<String, Status> answers, String key, Context ctx, TaskStatusUpdate... u) {
        return new StatusBatcher.Report(node, List.of(u), ctx, s -> answers.put(key, s));
    }

    static void await(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long until = System.currentTimeMillis() + 10_000;
        while (!cond.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < until, "timed out");
            Thread.sleep(5);
        }
    }

    @Test
    void reportsOfOneTaskBecomeOneActionTheMostAdvanced() {
        Map<String, Status> answers = new ConcurrentHashMap<>();
        List<StoreBatch> entries = StatusBatcher.entries(List.of(
                report("n1", answers, "a", Context.ROOT, update("t1", TaskState.RUNNING), update("t2", TaskState.PREPARING)),
                report("n1", answers, "b", Context.ROOT, update("t1", TaskState.STARTING)),   // older news of t1
                report("n2", answers, "c", Context.ROOT, update("t3", TaskState.FAILED))));
        assertEquals(1, entries.size(), "three nodes' reports in one entry");
        List<StoreAction> actions = entries.get(0).getActionsList();
        assertEquals(3, actions.size());
        assertTrue(actions.stream().allMatch(a -> a.getKind() == StoreAction.Kind.STATUS));
        assertEquals(TaskState.RUNNING, actions.get(0).getObject().getTask().getStatus().getState());
        assertEquals("n1", actions.get(0).getObject().getTask().getNodeId());
        assertEquals("n2", actions.get(2).getObject().getTask().getNodeId());
    }

    /** Writes in place of Raft that begin at once and end together, when released. */
    static final class HeldWriter implements java.util.function.Function<StoreBatch, Object> {
        final java.util.concurrent.atomic.AtomicInteger begun = new java.util.concurrent.atomic.AtomicInteger();
        final CountDownLatch release = new CountDownLatch(1);
        final List<StoreBatch> written = new CopyOnWriteArrayList<>();

        @Override
        public Object apply(StoreBatch batch) {
            begun.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            written.add(batch);
            return null;
        }
    }

    @Test
    void reportsWaitingWhileEntriesAreWrittenGoTogetherAndAreAnsweredAfterTheirWrite() throws Exception {
        HeldWriter w = new HeldWriter();
        List<StoreBatch> written = w.written;
        CountDownLatch release = w.release;
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(w, 10_000);
        try {
            // As many entries as may be in flight, each taken while the ones before are written.
            for (int i = 0; i < StatusBatcher.IN_FLIGHT; i++) {
                assertTrue(b.submit(report("early" + i, answers, "early" + i, Context.ROOT, update("e" + i, TaskState.RUNNING))));
                int begun = i + 1;
                await(() -> w.begun.get() == begun);
            }
            for (int i = 1; i <= 100; i++) {
                assertTrue(b.submit(report("n" + i, answers, "r" + i, Context.ROOT, update("t" + i, TaskState.RUNNING))));
            }
            Thread.sleep(50);
            assertTrue(answers.isEmpty(), "nobody is answered before the write returns");
            release.countDown();
            await(() -> answers.size() == 100 + StatusBatcher.IN_FLIGHT);
            assertTrue(answers.values().stream().allMatch(Status::isOk));
            assertEquals(StatusBatcher.IN_FLIGHT + 1, written.size(), "the 100 reports that queued meanwhile went in one entry");
            assertEquals(100, written.get(StatusBatcher.IN_FLIGHT).getActionsCount());
        } finally {
            b.close();
        }
    }

    @Test
    void aNodesReportsAreNeverInTwoEntriesInFlight() throws Exception {
        HeldWriter w = new HeldWriter();
        List<StoreBatch> written = w.written;
        CountDownLatch release = w.release;
        java.util.concurrent.atomic.AtomicInteger writing = w.begun;
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(w, 10_000);
        try {
            assertTrue(b.submit(report("n1", answers, "first", Context.ROOT, update("t1", TaskState.STARTING))));
            await(() -> writing.get() == 1);
            // n1 again (a retry, with newer news): it waits for n1's entry, while n2's goes at once.
            assertTrue(b.submit(report("n1", answers, "again", Context.ROOT, update("t1", TaskState.RUNNING))));
            assertTrue(b.submit(report("n2", answers, "other", Context.ROOT, update("t2", TaskState.RUNNING))));
            await(() -> writing.get() == 2);
            Thread.sleep(50);
            assertEquals(2, writing.get(), "n1's second report is not written beside its first");
            release.countDown();
            await(() -> answers.size() == 3);
            assertEquals(3, written.size());
            List<TaskState> t1 = written.stream().flatMap(e -> e.getActionsList().stream()).map(a -> a.getObject().getTask())
                    .filter(t -> t.getMeta().getId().equals("t1")).map(t -> t.getStatus().getState()).toList();
            assertEquals(List.of(TaskState.STARTING, TaskState.RUNNING), t1, "n1's reports written in the order it sent them");
        } finally {
            b.close();
        }
    }

    @Test
    void aFullQueueRefusesInsteadOfWaiting() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(batch -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return null;
        }, 10);
        try {
            assertTrue(b.submit(report("n", answers, "writing", Context.ROOT, update("t", TaskState.RUNNING))));
            await(() -> b.queued() == 0);  // taken by the writer, which now waits
            List<Boolean> accepted = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                accepted.add(b.submit(report("n", answers, "q" + i, Context.ROOT, update("a" + i, TaskState.RUNNING),
                        update("b" + i, TaskState.RUNNING), update("c" + i, TaskState.RUNNING))));
            }
            assertEquals(List.of(true, true, true, false, false), accepted, "ten updates at most wait");
            assertEquals(2, b.shed());
            release.countDown();
            await(() -> answers.size() == 4);
        } finally {
            b.close();
        }
    }

    /** A report withdrawn while the writer lingers for more leaves it waiting, not stopped (it used to stop for good). */
    @Test
    void theWriterOutlivesAReportWithdrawnWhileItLingers() throws Exception {
        List<StoreBatch> written = new CopyOnWriteArrayList<>();
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(batch -> written.add(batch), 10_000);
        try {
            for (int i = 0; i < 20; i++) {
                Context.CancellableContext gone = Context.ROOT.withCancellation();
                b.submit(report("n" + i, answers, "gone" + i, gone, update("x" + i, TaskState.RUNNING)));
                Thread.sleep(1);  // within the writer's linger of StatusBatcher.LINGER_MS
                gone.cancel(null);
            }
            b.submit(report("n", answers, "kept", Context.ROOT, update("y", TaskState.RUNNING)));
            await(() -> answers.containsKey("kept"));
            assertTrue(answers.get("kept").isOk());
        } finally {
            b.close();
        }
    }

    @Test
    void aReportWhoseCallerGaveUpIsNotWritten() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<StoreBatch> written = new CopyOnWriteArrayList<>();
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(batch -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            written.add(batch);
            return null;
        }, 10_000);
        try {
            b.submit(report("n", answers, "writing", Context.ROOT, update("t", TaskState.RUNNING)));
            await(() -> b.queued() == 0);
            Context.CancellableContext gone = Context.ROOT.withCancellation();
            b.submit(report("n", answers, "gone", gone, update("x", TaskState.RUNNING)));
            b.submit(report("n", answers, "kept", Context.ROOT, update("y", TaskState.RUNNING)));
            gone.cancel(null);
            release.countDown();
            await(() -> answers.size() == 3);
            assertEquals(Status.Code.CANCELLED, answers.get("gone").getCode());
            assertTrue(answers.get("kept").isOk());
            assertEquals(2, written.size());
            assertEquals(List.of("y"), written.get(1).getActionsList().stream().map(a -> a.getObject().getTask().getMeta().getId()).toList());
        } finally {
            b.close();
        }
    }

    @Test
    void aFailedWriteFailsEveryReportInIt() throws Exception {
        Map<String, Status> answers = new ConcurrentHashMap<>();
        StatusBatcher b = new StatusBatcher(batch -> {
            throw new io.jswarm.manager.raft.RaftUnavailableException("no quorum: 2 of 3 managers unreachable");
        }, 10_000);
        try {
            b.submit(report("n", answers, "a", Context.ROOT, update("t", TaskState.RUNNING)));
            await(() -> answers.size() == 1);
            assertFalse(answers.get("a").isOk());
            assertEquals(Status.Code.UNAVAILABLE, answers.get("a").getCode());
        } finally {
            b.close();
        }
    }
}
