package io.jswarm.manager.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import io.jswarm.manager.raft.RaftUnavailableException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CoalescingWriterTest {
    static StoreAction create(String id) {
        return StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE)
                .setObject(StoreObjects.of(Node.newBuilder().setMeta(Meta.newBuilder().setId(id)).build())).build();
    }

    /** A Raft log that refuses any entry holding node "bad", as the store refuses a conflicting batch. */
    static final class Log {
        final List<StoreBatch> entries = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger flakyRefusals = new java.util.concurrent.atomic.AtomicInteger(3);

        Object write(StoreBatch b) {
            if (b.getActionsList().stream().anyMatch(a -> a.getObject().getNode().getMeta().getId().equals("flaky"))
                    && flakyRefusals.getAndDecrement() > 0) {
                throw new StoreException(StoreResult.Code.CONFLICT, "node flaky changed meanwhile");
            }
            if (b.getActionsList().stream().anyMatch(a -> a.getObject().getNode().getMeta().getId().equals("bad"))) {
                throw new StoreException(StoreResult.Code.CONFLICT, "node bad changed meanwhile");
            }
            entries.add(b);
            return null;
        }
    }

    @Test
    void manyCallersShareFewEntriesAndEachIsToldWhenItsActionIsApplied() throws Exception {
        Log log = new Log();
        Map<String, Object> outcomes = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(500);
        try (CoalescingWriter w = new CoalescingWriter("test-writer", log::write)) {
            for (int i = 0; i < 500; i++) {
                String id = "n" + i;
                w.submit(() -> create(id), e -> {
                    outcomes.put(id, e == null ? "ok" : e);
                    done.countDown();
                });
            }
            assertTrue(done.await(10, TimeUnit.SECONDS));
        }
        assertEquals(500, outcomes.values().stream().filter("ok"::equals).count());
        assertEquals(500, log.entries.stream().mapToInt(StoreBatch::getActionsCount).sum());
        assertTrue(log.entries.size() < 50, "500 actions in " + log.entries.size() + " entries");
    }

    @Test
    void aRefusedActionFailsOnlyItsOwnCaller() throws Exception {
        Log log = new Log();
        Map<String, Object> outcomes = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(5);
        try (CoalescingWriter w = new CoalescingWriter("test-writer", log::write)) {
            for (String id : List.of("a", "bad", "b", "same", "flaky")) {
                w.submit(() -> id.equals("same") ? null : create(id), e -> {
                    outcomes.put(id, e == null ? "ok" : e);
                    done.countDown();
                });
            }
            assertTrue(done.await(10, TimeUnit.SECONDS));
        }
        assertEquals("ok", outcomes.get("a"));
        assertEquals("ok", outcomes.get("b"));
        assertEquals("ok", outcomes.get("same"));  // nothing to write is done, not failed
        assertEquals("ok", outcomes.get("flaky"));  // made again and written after conflicts
        assertInstanceOf(StoreException.class, outcomes.get("bad"));
        assertTrue(log.entries.stream().flatMap(b -> b.getActionsList().stream())
                .noneMatch(a -> a.getObject().getNode().getMeta().getId().equals("same")));
    }

    @Test
    void aClosedWriterRefusesAtOnce() {
        CoalescingWriter w = new CoalescingWriter("test-writer", b -> null);
        w.close();
        Object[] outcome = {null};
        w.submit(() -> create("late"), e -> outcome[0] = e);
        assertInstanceOf(RaftUnavailableException.class, outcome[0]);
    }
}
