package io.jswarm.manager.dispatcher;

import io.grpc.Context;
import io.grpc.Status;
import io.jswarm.api.Meta;
import io.jswarm.api.Task;
import io.jswarm.api.TaskStatus;
import io.jswarm.api.dispatcher.TaskStatusUpdate;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.BatchWriter;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Agents' task status reports on their way into the store: queued by the gRPC handlers
 * (which return at once), written by one thread in few large Raft entries, each report
 * answered when the entry holding it is applied. Many nodes' reports share an entry, and
 * several reports of one task in it become one (the most advanced), as SwarmKit's
 * dispatcher batches them.
 *
 * <p>Why: written one report per entry on the handler threads, status traffic from
 * thousands of nodes took every Raft client slot and thread, and the controllers' and
 * users' writes queued behind it. Here agents' traffic holds at most {@link #IN_FLIGHT}
 * entries in flight (a lane of its own), the queue is bounded (beyond it a report is refused with
 * RESOURCE_EXHAUSTED and the agent retries later, instead of a thread parking), and a
 * report whose caller gave up (deadline, cancellation) is dropped before it is written.
 * Reports are {@link StoreAction.Kind#STATUS} actions, merged at apply time: they never
 * conflict with a controller's write to the same task.
 */
final class StatusBatcher implements AutoCloseable {
    /** Updates waiting beyond which reports are refused: about a second of writing at full speed. */
    static final int MAX_QUEUED = 50_000;
    /** Reports (calls held open) waiting beyond which more are refused, however few updates they carry. */
    static final int MAX_REPORTS = 10_000;
    /** How long the writer waits for more reports once it has some, when the entry is not full yet. */
    static final long LINGER_MS = 5;
    /**
     * Entries written at once. With one, each waited a whole Raft round (with three
     * managers: the leader's append, a follower's, the commit, the apply) while the next
     * reports queued; two keep Raft busy. A node's reports are never in two entries in
     * flight at once, so that they apply in the order it sent them.
     */
    static final int IN_FLIGHT = 2;

    /**
     * One node's call: its updates, its gRPC context, and how to answer it. Compared by
     * identity (not a record): the queue is a set, and hashing a report's hundreds of
     * updates on every add and remove would cost the hot path for nothing.
     */
    static final class Report {
        private final String nodeId;
        private final List<TaskStatusUpdate> updates;
        private final Context context;
        private final Consumer<Status> answer;

        Report(String nodeId, List<TaskStatusUpdate> updates, Context context, Consumer<Status> answer) {
            this.nodeId = nodeId;
            this.updates = updates;
            this.context = context;
            this.answer = answer;
        }

        String nodeId() {
            return nodeId;
        }

        List<TaskStatusUpdate> updates() {
            return updates;
        }

        Context context() {
            return context;
        }

        Consumer<Status> answer() {
            return answer;
        }
    }

    private final Function<StoreBatch, ?> writer;
    private final int maxQueued;
    /** In arrival order; a report whose caller gives up leaves it at once (each holds a call open). */
    private final java.util.LinkedHashSet<Report> queue = new java.util.LinkedHashSet<>();
    private int queuedUpdates;
    private boolean closed;
    private final Thread thread;
    /** Entries being written, and the nodes whose reports they hold. */
    private int inFlight;
    private final java.util.Set<String> busyNodes = new java.util.HashSet<>();
    private final java.util.concurrent.ExecutorService writers = java.util.concurrent.Executors.newFixedThreadPool(IN_FLIGHT, r -> {
        Thread t = new Thread(r, "status-write");
        t.setDaemon(true);
        return t;
    });
    private long written;
    private long shed;

    /** @param writer writes one entry and returns when it is applied (RaftNode::propose); throws when it cannot */
    StatusBatcher(Function<StoreBatch, ?> writer, int maxQueued) {
        this.writer = writer;
        this.maxQueued = maxQueued;
        this.thread = new Thread(this::run, "status-writer");
        thread.setDaemon(true);
        thread.start();
    }

    StatusBatcher(RaftNode raft) {
        this(raft::propose, MAX_QUEUED);
    }

    /** Queues a node's report; false when the queue is full (the caller answers RESOURCE_EXHAUSTED). */
    boolean submit(Report r) {
        synchronized (this) {
            if (closed || queue.size() >= MAX_REPORTS || (queuedUpdates > 0 && queuedUpdates + r.updates().size() > maxQueued)) {
                shed++;
                return false;
            }
            queue.add(r);
            queuedUpdates += r.updates().size();
            notifyAll();
        }
        // A caller that gives up (its deadline, a cancellation) before the report is taken: out of the queue now.
        r.context().addListener(ctx -> {
            if (withdraw(r)) {
                r.answer().accept(io.grpc.Contexts.statusFromCancelled(ctx));
            }
        }, Runnable::run);
        return true;
    }

    private synchronized boolean withdraw(Report r) {
        if (queue.remove(r)) {
            queuedUpdates -= r.updates().size();
            return true;
        }
        return false;
    }

    synchronized int queued() {
        return queuedUpdates;
    }

    /** Reports refused since start. */
    synchronized long shed() {
        return shed;
    }

    /** Entries written since start. */
    synchronized long written() {
        return written;
    }

    /**
     * Waits for a free slot and reports of nodes with none in flight, lingers briefly for
     * more unless an entry's worth is there, takes up to that many updates (the slot and the
     * nodes are then held until {@link #written} frees them).
     */
    private synchronized List<Report> take() throws InterruptedException {
        List<Report> out = new ArrayList<>();
        while (out.isEmpty()) {
            while (!closed && (inFlight >= IN_FLIGHT || !anyEligible())) {
                wait();
            }
            long until = System.currentTimeMillis() + LINGER_MS;
            for (long left = LINGER_MS; !closed && queuedUpdates < BatchWriter.MAX_ACTIONS && left > 0;
                    left = until - System.currentTimeMillis()) {
                wait(left);
            }
            if (closed) {
                return out;
            }
            takeEligible(out);  // none when the one there was withdrawn meanwhile (its caller gave up): wait again
        }
        for (Report r : out) {
            busyNodes.add(r.nodeId());
        }
        inFlight++;
        return out;
    }

    /** Moves reports of nodes with none in flight from the queue to {@code out}, up to an entry's worth. */
    private void takeEligible(List<Report> out) {
        int n = 0;
        for (var it = queue.iterator(); it.hasNext(); ) {
            Report r = it.next();
            if (busyNodes.contains(r.nodeId())) {
                continue;
            }
            if (!out.isEmpty() && n + r.updates().size() > BatchWriter.MAX_ACTIONS) {
                break;
            }
            it.remove();
            queuedUpdates -= r.updates().size();
            n += r.updates().size();
            out.add(r);
        }
    }

    private boolean anyEligible() {
        if (busyNodes.isEmpty()) {
            return !queue.isEmpty();
        }
        for (Report r : queue) {
            if (!busyNodes.contains(r.nodeId())) {
                return true;
            }
        }
        return false;
    }

    /** An entry's write has ended: its slot and its nodes are free. */
    private synchronized void written(List<Report> reports, int entries) {
        inFlight--;
        written += entries;
        for (Report r : reports) {
            busyNodes.remove(r.nodeId());
        }
        notifyAll();
    }

    private void run() {
        while (true) {
            List<Report> reports;
            try {
                reports = take();
            } catch (InterruptedException e) {
                return;
            }
            if (reports.isEmpty()) {
                return;  // closed
            }
            try {
                writers.execute(() -> write(reports));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                for (Report r : reports) {
                    r.answer().accept(Status.UNAVAILABLE.withDescription("this manager is stopping; report to the leader"));
                }
                return;
            }
        }
    }

    private void write(List<Report> reports) {
        List<Report> live = new ArrayList<>(reports.size());
        for (Report r : reports) {
            if (r.context().isCancelled()) {
                // The caller has given up (and will send it again): writing it would be wasted.
                r.answer().accept(io.grpc.Contexts.statusFromCancelled(r.context()));
            } else {
                live.add(r);
            }
        }
        Status outcome = Status.OK;
        int entries = 0;
        try {
            for (StoreBatch b : live.isEmpty() ? List.<StoreBatch>of() : entries(live)) {
                writer.apply(b);
                entries++;
            }
        } catch (RuntimeException e) {
            outcome = io.jswarm.manager.control.GrpcErrors.toStatus(e).getStatus();
        } finally {
            written(reports, entries);
        }
        for (Report r : live) {
            r.answer().accept(outcome);
        }
    }

    /**
     * The reports as STATUS actions, one per task (the most advanced state; of equal ones
     * the last reported), in entries within Raft's size bound.
     */
    static List<StoreBatch> entries(List<Report> reports) {
        Map<String, Task> byTask = new LinkedHashMap<>();
        for (Report r : reports) {
            for (TaskStatusUpdate u : r.updates()) {
                Task prior = byTask.get(u.getTaskId());
                TaskStatus s = u.getStatus();
                if (prior == null || prior.getStatus().getState().getNumber() <= s.getState().getNumber()) {
                    byTask.put(u.getTaskId(), Task.newBuilder().setMeta(Meta.newBuilder().setId(u.getTaskId()))
                            .setNodeId(r.nodeId()).setStatus(s).build());
                }
            }
        }
        List<StoreAction> actions = new ArrayList<>(byTask.size());
        for (Task t : byTask.values()) {
            actions.add(StoreAction.newBuilder().setKind(StoreAction.Kind.STATUS).setObject(StoreObjects.of(t)).build());
        }
        return BatchWriter.split(actions);
    }

    @Override
    public void close() {
        List<Report> left;
        synchronized (this) {
            closed = true;
            left = new ArrayList<>(queue);
            queue.clear();
            queuedUpdates = 0;
            notifyAll();
        }
        for (Report r : left) {
            r.answer().accept(Status.UNAVAILABLE.withDescription("this manager is stopping; report to the leader"));
        }
        thread.interrupt();
        writers.shutdown();  // entries being written finish, and their reports are answered
    }
}
