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
                .setEndpoint(s.getEndpoint())  // its published ports, as allocated: the allocator and the agent read them here
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

    /**
     * A task still meant to run holds its slot: desired RUNNING, or READY (a stop-first
     * update prepares the new task and starts it once the old one has stopped).
     */
    public static boolean holdsSlot(Task t) {
        return t.getDesiredState() == TaskState.RUNNING || t.getDesiredState() == TaskState.READY;
    }

    /** Running, and healthy where it has a health check: it serves. */
    public static boolean up(Task t) {
        return io.jswarm.manager.store.MemoryStore.up(t);
    }

    /**
     * A service's replicas as {@code service ls} shows them: {desired, running}. Desired is
     * the replica count, or for a global service one per task the orchestrator made for an
     * eligible node; running counts tasks meant to run that are {@link #up}. From the
     * store's index: a listing of 100,000 tasks scans none of them.
     */
    public static long[] replicas(Service s, io.jswarm.manager.store.MemoryStore store) {
        long[] c = store.replicaCounts(s.getMeta().getId());
        return new long[] {s.getSpec().hasGlobal() ? c[0] : s.getSpec().getReplicated().getReplicas(), c[1]};
    }

    /**
     * Two tasks hold one slot. During a start-first update the new one (a newer spec) and
     * the old one both run until the new one is up; then the old one is shut down, and if
     * the new one fails instead, it is shut down and the old one keeps the slot. Any other
     * pair: the newer stays. Returns the task that stands for the slot.
     */
    public static Task settle(Task a, Task b, long now, Changes out) {
        Task older = a.getMeta().getCreatedAtMs() <= b.getMeta().getCreatedAtMs() ? a : b;
        Task newer = older == a ? b : a;
        if (newer.getSpecVersion() > older.getSpecVersion()) {
            if (terminal(newer.getStatus().getState())) {
                out.updates.add(withDesired(newer, TaskState.SHUTDOWN, now));
                return older;
            }
            if (!up(newer)) {
                return newer;  // both kept: the old one serves until the new one is up
            }
        }
        out.updates.add(withDesired(older, TaskState.SHUTDOWN, now));
        return newer;
    }

    public static Task withDesired(Task t, TaskState desired, long now) {
        return t.toBuilder().setDesiredState(desired).setMeta(t.getMeta().toBuilder().setUpdatedAtMs(now)).build();
    }

    /** The slot key: the slot number for replicated tasks, the node for global ones. */
    public static String slotKey(Task t) {
        return t.getSlot() > 0 ? Long.toString(t.getSlot()) : "node:" + t.getNodeId();
    }
}
