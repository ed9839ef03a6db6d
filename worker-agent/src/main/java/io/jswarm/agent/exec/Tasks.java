package io.jswarm.agent.exec;

import io.jswarm.api.TaskState;

/** Task state helpers for the agent side. */
final class Tasks {
    private Tasks() {}

    static boolean terminal(TaskState s) {
        return s.getNumber() > TaskState.RUNNING_VALUE;
    }
}
