package io.jswarm.manager.store;

import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.raft.RaftNode;
import java.util.List;

/** Writes many actions in as few log entries as the entry size bound allows. */
public final class BatchWriter {
    public static final int MAX_ACTIONS = 2000;

    private BatchWriter() {}

    /** Returns the number of entries written. A refused batch stops the write (StoreException). */
    public static int write(RaftNode raft, List<StoreAction> actions) {
        List<StoreBatch> entries = split(actions);
        for (StoreBatch b : entries) {
            raft.propose(b);
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
