package io.jswarm.manager.orchestrator;

import io.jswarm.api.Annotations;
import io.jswarm.api.Meta;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import io.jswarm.manager.Ids;

/** Creating tasks and reading their life-cycle. */
public final class Tasks {
    private Tasks() {}

    public static Task newTask(Service s, long slot, String nodeId, long now) {
        String name = s.getSpec().getAnnotations().getName();
        return Task.newBuilder()
                .setMeta(Meta.newBuilder().setId(Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                .setServiceId(s.getMeta().getId())
                .setServiceName(name)
                .setSlot(slot)
                .setNodeId(nodeId == null ? "" : nodeId)
                .setSpec(s.getSpec().getTask())
                .setSpecVersion(s.getSpecVersion())
                .setAnnotations(Annotations.newBuilder().setName(slot > 0 ? name + "." + slot : name + "." + nodeId))
                .setStatus(TaskStatus.newBuilder().setState(TaskState.NEW).setTimestampMs(now).setMessage("created"))
                .setDesiredState(TaskState.RUNNING)
                .build();
    }

    /** The task has stopped (or never will start): nothing of it runs. */
    public static boolean terminal(TaskState s) {
        return s.getNumber() > TaskState.RUNNING_VALUE;
    }

    public static boolean failed(TaskState s) {
        return s == TaskState.FAILED || s == TaskState.REJECTED || s == TaskState.ORPHANED;
    }

    /** A task still meant to run: it holds its slot. */
    public static boolean holdsSlot(Task t) {
        return t.getDesiredState() == TaskState.RUNNING;
    }

    public static Task withDesired(Task t, TaskState desired, long now) {
        return t.toBuilder().setDesiredState(desired).setMeta(t.getMeta().toBuilder().setUpdatedAtMs(now)).build();
    }

    /** The slot key: the slot number for replicated tasks, the node for global ones. */
    public static String slotKey(Task t) {
        return t.getSlot() > 0 ? Long.toString(t.getSlot()) : "node:" + t.getNodeId();
    }
}
