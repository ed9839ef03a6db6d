package io.jswarm.manager.store;

import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.raft.RaftNode;
import java.util.List;

/** Writes many actions in as few log entries as the entry size bound allows. */
public final class BatchWriter {
    public static final int MAX_ACTIONS = 2000;

    private BatchWriter() {}

    /**
     * Entries of one write in flight at once. Written one after another, each waited a whole
     * round (the leader's append, a follower's, the commit, the apply): the 50 entries that
     * tell 100,000 tasks of a removed service to stop took 5 to 7 s with three managers
     * while all three were nearly idle (a profile of that phase). Raft carries several
     * entries per round when they are there to carry.
     */
    static final int IN_FLIGHT = 4;

    private static final java.util.concurrent.ExecutorService WRITERS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "batch-writer");
        t.setDaemon(true);
        return t;
    });

    /**
     * Returns the number of entries written. Each entry applies whole or not at all; the
     * entries of one write are independent of each other and may apply in any order. A
     * refused entry stops the write: no entry is started after it, and the first refusal
     * (StoreException) or failure is thrown once those in flight have finished.
     */
    public static int write(RaftNode raft, List<StoreAction> actions) {
        return write(raft::propose, actions);
    }

    /** {@link #write(RaftNode, List)} through any writer that returns once an entry is applied. */
    static int write(java.util.function.Function<StoreBatch, ?> propose, List<StoreAction> actions) {
        List<StoreBatch> entries = split(actions);
        if (entries.size() == 1) {
            propose.apply(entries.get(0));
            return 1;
        }
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(IN_FLIGHT);
        java.util.concurrent.atomic.AtomicReference<RuntimeException> failed = new java.util.concurrent.atomic.AtomicReference<>();
        List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
        for (StoreBatch b : entries) {
            slots.acquireUninterruptibly();
            if (failed.get() != null) {
                slots.release();
                break;
            }
            sent.add(WRITERS.submit(() -> {
                try {
                    propose.apply(b);
                } catch (RuntimeException e) {
                    failed.compareAndSet(null, e);
                } finally {
                    slots.release();
                }
            }));
        }
        for (java.util.concurrent.Future<?> f : sent) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failed.compareAndSet(null, new IllegalStateException("interrupted while writing to the cluster store"));
                break;
            } catch (java.util.concurrent.ExecutionException e) {
                failed.compareAndSet(null, new IllegalStateException(e.getCause()));  // propose throws only RuntimeExceptions
            }
        }
        if (failed.get() != null) {
            throw failed.get();
        }
        return entries.size();
    }

    /** The actions in order, in entries of at most MAX_ACTIONS within Raft's entry size bound. */
    public static List<StoreBatch> split(List<StoreAction> actions) {
        List<StoreBatch> out = new java.util.ArrayList<>();
        StoreBatch.Builder b = StoreBatch.newBuilder();
        int bytes = 0;
        for (StoreAction a : actions) {
            int size = a.getSerializedSize() + 8;
            if (b.getActionsCount() > 0 && (b.getActionsCount() >= MAX_ACTIONS || bytes + size > RaftNode.MAX_ENTRY_BYTES - 1024)) {
                out.add(b.build());
                b = StoreBatch.newBuilder();
                bytes = 0;
            }
            b.addActions(a);
            bytes += size;
        }
        if (b.getActionsCount() > 0) {
            out.add(b.build());
        }
        return out;
    }
}
