package io.jswarm.agent;

import io.jswarm.api.Task;
import java.nio.file.Path;
import java.util.List;

/** What the agent hands its assignments to: the executor on real nodes. */
public interface TaskRunner {
    /** The whole set assigned to this node: anything else is no longer wanted here. */
    void complete(List<Task> assigned);

    /** Changes: new or updated tasks, and ids no longer assigned. */
    void update(List<Task> updated, List<String> removed);

    /** The secrets and configs that come with an assignment message, before its tasks. */
    default void files(io.jswarm.api.dispatcher.Assignments assignments) {}

    /** The overlay network tables of this node's tasks (the whole set, or changes). */
    default void networks(io.jswarm.api.dispatcher.NetworkTables tables) {}

    /** The directory holding a task's log files; null when this node has none for it. */
    default Path logDirectory(String taskId) {
        return null;
    }
}
