package io.jswarm.agent;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
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
 * The tasks assigned to this node and the status changes waiting to be reported, which
 * are sent in batches.
 *
 * <p>The executor that starts containers is not built yet, so nothing here ever runs a
 * task: assigned tasks stay ASSIGNED. What the agent can say truthfully is that a task it
 * is told to stop is not running on this node, so it reports those as SHUTDOWN.
 */
public final class TaskTable {
    private final Map<String, Task> tasks = new LinkedHashMap<>();
    private final Map<String, TaskStatus> unreported = new LinkedHashMap<>();
    private final Predicate<List<TaskStatusUpdate>> reporter;
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-status");
        t.setDaemon(true);
        return t;
    });

    TaskTable(Predicate<List<TaskStatusUpdate>> reporter) {
        this.reporter = reporter;
        flusher.scheduleWithFixedDelay(this::flush, 100, 100, TimeUnit.MILLISECONDS);
    }

    synchronized void replaceAll(List<Task> all) {
        tasks.clear();
        for (Task t : all) {
            tasks.put(t.getMeta().getId(), t);
            react(t);
        }
    }

    synchronized void update(List<Task> updated, List<String> removed) {
        for (String id : removed) {
            tasks.remove(id);
            unreported.remove(id);
        }
        for (Task t : updated) {
            tasks.put(t.getMeta().getId(), t);
            react(t);
        }
    }

    private void react(Task t) {
        TaskState state = t.getStatus().getState();
        boolean stopWanted = t.getDesiredState().getNumber() >= TaskState.SHUTDOWN_VALUE;
        if (stopWanted && state.getNumber() <= TaskState.RUNNING_VALUE && !unreported.containsKey(t.getMeta().getId())) {
            unreported.put(t.getMeta().getId(), TaskStatus.newBuilder().setState(TaskState.SHUTDOWN)
                    .setTimestampMs(System.currentTimeMillis()).setMessage("shutdown: nothing of this task ran on this node")
                    .build());
        }
    }

    private void flush() {
        List<TaskStatusUpdate> batch = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<String, TaskStatus> e : unreported.entrySet()) {
                batch.add(TaskStatusUpdate.newBuilder().setTaskId(e.getKey()).setStatus(e.getValue()).build());
                if (batch.size() >= 500) {
                    break;
                }
            }
        }
        if (batch.isEmpty() || !reporter.test(batch)) {
            return;
        }
        synchronized (this) {
            for (TaskStatusUpdate u : batch) {
                unreported.remove(u.getTaskId(), u.getStatus());
            }
        }
    }

    public synchronized List<Task> all() {
        return new ArrayList<>(tasks.values());
    }

    void close() {
        flusher.shutdownNow();
    }
}
