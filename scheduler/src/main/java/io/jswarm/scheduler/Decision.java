package io.jswarm.scheduler;

/** The outcome for one task: a node, or null with a reason a person can act on. */
public record Decision(String taskId, String nodeId, String reason) {
    public boolean placed() {
        return nodeId != null;
    }
}
