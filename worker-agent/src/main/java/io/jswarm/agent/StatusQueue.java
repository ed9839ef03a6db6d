package io.jswarm.agent;

import io.jswarm.api.TaskStatus;
import io.jswarm.api.dispatcher.TaskStatusUpdate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Task status changes waiting to be sent to the managers, in batches, at most every
 * 50 ms. Only the latest status of a task is kept: states only move forward, so a
 * manager may see a task jump from ACCEPTED to RUNNING. A failed send is retried, after
 * a pause that doubles with every failure up to 2 s (with jitter): a leader that sheds
 * load (RESOURCE_EXHAUSTED) or is being elected is not hammered by every node at once.
 */
public final class StatusQueue {
    private final Map<String, TaskStatus> unreported = new LinkedHashMap<>();
    private volatile Predicate<List<TaskStatusUpdate>> sender = batch -> false;
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-status");
        t.setDaemon(true);
        return t;
    });

    private static final long MAX_BACKOFF_MS = 2_000;
    private long backoffMs;        // on the flusher thread only
    private long nextAttemptMs;

    public StatusQueue() {
        flusher.scheduleWithFixedDelay(this::flush, 50, 50, TimeUnit.MILLISECONDS);
    }

    /** Where batches go: returns false when they could not be delivered (kept for later). */
    void sendTo(Predicate<List<TaskStatusUpdate>> s) {
        this.sender = s;
    }

    public synchronized void report(String taskId, TaskStatus status) {
        unreported.put(taskId, status);
    }

    /** Every status given so far has reached a manager. */
    public synchronized boolean isEmpty() {
        return unreported.isEmpty();
    }

    private void flush() {
        if (System.currentTimeMillis() < nextAttemptMs) {
            return;
        }
        List<TaskStatusUpdate> batch = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<String, TaskStatus> e : unreported.entrySet()) {
                batch.add(TaskStatusUpdate.newBuilder().setTaskId(e.getKey()).setStatus(e.getValue()).build());
                if (batch.size() >= 500) {
                    break;
                }
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        if (!sender.test(batch)) {
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs == 0 ? 100 : backoffMs * 2);
            nextAttemptMs = System.currentTimeMillis() + backoffMs / 2
                    + java.util.concurrent.ThreadLocalRandom.current().nextLong(backoffMs / 2 + 1);
            return;
        }
        backoffMs = 0;
        synchronized (this) {
            for (TaskStatusUpdate u : batch) {
                unreported.remove(u.getTaskId(), u.getStatus());
            }
        }
    }

    public void close() {
        flusher.shutdownNow();
    }
}
