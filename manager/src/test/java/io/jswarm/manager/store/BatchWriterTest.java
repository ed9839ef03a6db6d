package io.jswarm.manager.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Meta;
import io.jswarm.api.Task;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BatchWriterTest {
    private static List<StoreAction> tasks(int n) {
        List<StoreAction> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE)
                    .setObject(StoreObjects.of(Task.newBuilder().setMeta(Meta.newBuilder().setId("t" + i)).build())).build());
        }
        return out;
    }

    @Test
    void aLargeWriteGoesInSeveralEntriesAtOnceAndAllOfThemLand() {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Set<String> written = ConcurrentHashMap.newKeySet();
        int entries = BatchWriter.write(b -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(20);  // a round of Raft
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            b.getActionsList().forEach(a -> written.add(a.getObject().getTask().getMeta().getId()));
            inFlight.decrementAndGet();
            return null;
        }, tasks(10 * BatchWriter.MAX_ACTIONS));
        assertEquals(10, entries);
        assertEquals(10 * BatchWriter.MAX_ACTIONS, written.size());
        assertEquals(BatchWriter.IN_FLIGHT, most.get(), "entries go " + BatchWriter.IN_FLIGHT + " at a time, no more");
    }

    @Test
    void aRefusedEntryStopsTheWriteAndIsWhatTheCallerSees() {
        AtomicInteger started = new AtomicInteger();
        StoreException e = assertThrows(StoreException.class, () -> BatchWriter.write((StoreBatch b) -> {
            if (started.incrementAndGet() == 2) {
                throw new StoreException(StoreResult.Code.CONFLICT, "update out of sequence");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException x) {
                throw new IllegalStateException(x);
            }
            return null;
        }, tasks(20 * BatchWriter.MAX_ACTIONS)));
        assertEquals("update out of sequence", e.getMessage());
        assertTrue(started.get() < 20, "no entry is started once one was refused: " + started.get() + " started");
    }
}
