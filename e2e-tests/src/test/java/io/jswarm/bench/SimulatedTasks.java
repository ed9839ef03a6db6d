package io.jswarm.bench;

import io.jswarm.agent.StatusQueue;
import io.jswarm.agent.TaskRunner;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import java.util.List;

/**
 * The task runner of a benchmark's simulated node: it runs nothing, so tasks stay
 * ASSIGNED, and when told to stop one it says so truthfully (nothing ran), which lets
 * the managers reap removed services between runs.
 */
final class SimulatedTasks implements TaskRunner {
    private final StatusQueue statuses;

    SimulatedTasks(StatusQueue statuses) {
        this.statuses = statuses;
    }

    @Override
    public void complete(List<Task> assigned) {
        update(assigned, List.of());
    }

    @Override
    public void update(List<Task> updated, List<String> removed) {
        for (Task t : updated) {
            if (t.getDesiredState().getNumber() >= TaskState.SHUTDOWN_VALUE
                    && t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE) {
                statuses.report(t.getMeta().getId(), TaskStatus.newBuilder().setState(TaskState.SHUTDOWN)
                        .setTimestampMs(System.currentTimeMillis()).setMessage("simulated node: nothing ran").build());
            }
        }
    }
}
