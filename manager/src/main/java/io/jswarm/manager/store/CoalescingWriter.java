package io.jswarm.manager.store;

import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.raft.RaftUnavailableException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Many callers' small writes (a node joining, a node's session making it READY) written
 * together by one thread, in as few Raft entries as they fit, each caller told when its
 * action is applied; no caller's thread waits on Raft.
 *
 * <p>Why: with two thousand nodes opening sessions, each READY was an entry of its own
 * written on a gRPC handler thread: 759 handler threads waited on Raft, a node's first
 * session message waited for its write, and nodes whose write took longer than three
 * heartbeat periods were marked down before they had been told to heartbeat.
 *
 * <p>Each action is made when its batch is built, from the store as it is then (a
 * supplier; null when there is nothing to write), so it does not carry a stale version.
 * When the store refuses a batch (a conflict with another writer), each of its actions is
 * made again and written alone (again after a conflict, a few times), so one conflict
 * fails only its own caller.
 */
public final class CoalescingWriter implements AutoCloseable {
    /** How long the writer waits for more actions once it has one. */
    static final long LINGER_MS = 5;
    /** Writes of one action after its batch was refused, each made again from the store. */
    static final int MAX_ATTEMPTS = 5;

    private record Pending(Supplier<StoreAction> action, Consumer<RuntimeException> done) {}

    private final Function<StoreBatch, ?> writer;
    private final List<Pending> queue = new ArrayList<>();
    private boolean closed;
    private final Thread thread;

    /** @param writer writes one entry and returns when it is applied (RaftNode::propose); throws when it cannot */
    public CoalescingWriter(String name, Function<StoreBatch, ?> writer) {
        this.writer = writer;
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues an action; {@code done} is called on the writer's thread with null once it is
     * applied (or there was nothing to write), or with what stopped it.
     */
    public void submit(Supplier<StoreAction> action, Consumer<RuntimeException> done) {
        synchronized (this) {
            if (!closed) {
                queue.add(new Pending(action, done));
                notifyAll();
                return;
            }
        }
        done.accept(new RaftUnavailableException("this manager is stopping"));
    }

    private synchronized List<Pending> take() throws InterruptedException {
        while (queue.isEmpty() && !closed) {
            wait();
        }
        long until = System.currentTimeMillis() + LINGER_MS;
        for (long left = LINGER_MS; !closed && left > 0; left = until - System.currentTimeMillis()) {
            wait(left);
        }
        List<Pending> out = List.copyOf(queue);
        queue.clear();
        return out;
    }

    private void run() {
        while (true) {
            List<Pending> batch;
            try {
                batch = take();
            } catch (InterruptedException e) {
                return;
            }
            if (batch.isEmpty()) {
                return;  // closed
            }
            List<StoreAction> actions = new ArrayList<>();
            List<Pending> writing = new ArrayList<>();
            for (Pending p : batch) {
                StoreAction a = make(p);
                if (a != null) {
                    actions.add(a);
                    writing.add(p);
                }
            }
            try {
                for (StoreBatch b : BatchWriter.split(actions)) {
                    writer.apply(b);
                }
                writing.forEach(p -> p.done().accept(null));
            } catch (StoreException e) {
                writing.forEach(this::alone);
            } catch (RuntimeException e) {
                writing.forEach(p -> p.done().accept(e));
            }
        }
    }

    /** The pending action as of now; null when nothing is to be written (the caller is told it is done). */
    private StoreAction make(Pending p) {
        try {
            StoreAction a = p.action().get();
            if (a == null) {
                p.done().accept(null);
            }
            return a;
        } catch (RuntimeException e) {
            p.done().accept(e);
            return null;
        }
    }

    /**
     * Writes one action alone, made again from the store after each conflict (another writer
     * changed the object between the read and the write: the allocator gives a joining node
     * its ingress address while its session makes it READY), a few times at most.
     */
    private void alone(Pending p) {
        for (int attempt = 1; ; attempt++) {
            StoreAction a = make(p);
            if (a == null) {
                return;
            }
            try {
                writer.apply(StoreBatch.newBuilder().addActions(a).build());
                p.done().accept(null);
                return;
            } catch (StoreException e) {
                if (e.code() != io.jswarm.api.store.StoreResult.Code.CONFLICT || attempt == MAX_ATTEMPTS) {
                    p.done().accept(e);
                    return;
                }
            } catch (RuntimeException e) {
                p.done().accept(e);
                return;
            }
        }
    }

    @Override
    public void close() {
        List<Pending> left;
        synchronized (this) {
            closed = true;
            left = List.copyOf(queue);
            queue.clear();
            notifyAll();
        }
        left.forEach(p -> p.done().accept(new RaftUnavailableException("this manager is stopping")));
        thread.interrupt();
    }
}
