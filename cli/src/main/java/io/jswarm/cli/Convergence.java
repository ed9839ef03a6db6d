package io.jswarm.cli;

import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.UpdateStatus;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.control.ListTasksRequest;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Waits until a service has converged, as {@code docker service create} does: a line per
 * slot with its task's progress (redrawn in place on a terminal, printed when it changes
 * otherwise), then {@code verify: Service converged} once all slots have run their
 * current task for a short while. Slots still on an older spec show as pending update.
 * A task of the current spec that fails or is rejected ends the wait with its reason;
 * during a rolling update the updater judges failures, and a paused update, or one the
 * updater rolled back, ends the wait with the update status message.
 */
final class Convergence {
    static final long VERIFY_MS = 1_000;
    static final long TIMEOUT_MS = 10 * 60_000;
    private static final String[] STAGES = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"};

    private Convergence() {}

    /** What the waiting command did: an update or rollback also follows the service's update status. */
    enum Mode { CREATE, UPDATE, ROLLBACK }

    /**
     * Returns normally when converged; throws IllegalStateException with the failing task's
     * reason, or IllegalArgumentException when an update paused or was rolled back.
     */
    static void await(ControlClient cc, String serviceId, long sinceMs, Mode mode, PrintStream out) throws InterruptedException {
        boolean tty = System.console() != null;
        Map<String, String> printed = new HashMap<>();
        String printedOverall = "";
        String printedRollback = "";
        int drawn = 0;
        long convergedSince = 0;
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            Service s = cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(serviceId).build()).getService();
            List<Task> tasks = cc.listedTasks(ListTasksRequest.newBuilder().addServiceIds(serviceId).build());
            UpdateStatus us = s.getUpdateStatus();
            boolean updating = us.getState() == UpdateStatus.State.UPDATING || us.getState() == UpdateStatus.State.ROLLBACK_STARTED;
            if (mode != Mode.CREATE) {
                if (us.getState() == UpdateStatus.State.PAUSED || us.getState() == UpdateStatus.State.ROLLBACK_PAUSED) {
                    throw new IllegalArgumentException(us.getMessage());
                }
                if (mode == Mode.UPDATE && us.getState() == UpdateStatus.State.ROLLBACK_STARTED && !printedRollback.equals(us.getMessage())) {
                    out.println("rollback: " + us.getMessage());  // the update failed: the updater rolls back
                    printedRollback = us.getMessage();
                }
            }
            boolean global = s.getSpec().hasGlobal();
            Map<String, String> hostnames = global ? hostnames(cc) : Map.of();
            TreeMap<String, String> lines = new TreeMap<>();
            TreeMap<String, String> waiting = new TreeMap<>();
            long running = 0;
            for (Task t : tasks) {
                if (!(t.getDesiredState() == TaskState.RUNNING || t.getDesiredState() == TaskState.READY)) {
                    continue;
                }
                String key = global ? hostnames.getOrDefault(t.getNodeId(), t.getNodeId()) : String.format("%5d", t.getSlot());
                if (t.getSpecVersion() != s.getSpecVersion() && updating) {
                    waiting.put(key, key.trim() + "/%d: " + pad("pending update") + " " + bar(TaskState.NEW, false));
                    continue;  // the updater has not reached this slot yet (a paused update's old tasks count as they run)
                }
                TaskState st = t.getStatus().getState();
                String health = t.getStatus().getHealth();
                boolean up = st == TaskState.RUNNING && (health.isEmpty() || health.equals("healthy"));
                if (up) {
                    running++;
                }
                // While an update runs, the updater judges failures (monitor, failure action).
                if ((st == TaskState.FAILED || st == TaskState.REJECTED) && t.getStatus().getTimestampMs() >= sinceMs
                        && !(mode != Mode.CREATE && updating)) {
                    throw new IllegalStateException("task " + t.getAnnotations().getName() + "." + t.getMeta().getId() + " "
                            + st.name().toLowerCase() + ": " + (t.getStatus().getErr().isEmpty() ? t.getStatus().getMessage()
                            : t.getStatus().getErr()));
                }
                String stage = st.name().toLowerCase() + (up || health.isEmpty() ? "" : " (" + health + ")");
                lines.put(key, key.trim() + "/%d: " + pad(stage) + " " + bar(st, up));
            }
            waiting.keySet().removeAll(lines.keySet());
            lines.putAll(waiting);
            long want = global ? lines.size() : s.getSpec().getReplicated().getReplicas();
            lines.replaceAll((k, v) -> String.format(v, want));
            String overall = "overall progress: " + running + " out of " + want + " tasks";
            if (tty) {
                if (drawn > 0) {
                    out.print("\033[" + drawn + "A");
                }
                out.println("\033[2K" + overall);
                for (String l : lines.values()) {
                    out.println("\033[2K" + l);
                }
                drawn = lines.size() + 1;
            } else {
                if (!overall.equals(printedOverall)) {
                    out.println(overall);
                    printedOverall = overall;
                }
                for (Map.Entry<String, String> e : lines.entrySet()) {
                    if (!e.getValue().equals(printed.get(e.getKey()))) {
                        out.println(e.getValue());
                        printed.put(e.getKey(), e.getValue());
                    }
                }
            }
            out.flush();
            boolean converged = running == want && lines.size() == want && waiting.isEmpty() && !(mode != Mode.CREATE && updating);
            long now = System.currentTimeMillis();
            if (converged) {
                if (convergedSince == 0) {
                    convergedSince = now;
                } else if (now - convergedSince >= VERIFY_MS) {
                    out.println("verify: Service converged");
                    if (mode == Mode.UPDATE && us.getState() == UpdateStatus.State.ROLLBACK_COMPLETED && !printedRollback.isEmpty()) {
                        throw new IllegalArgumentException(printedRollback);  // converged, but on the old spec
                    }
                    return;
                }
            } else {
                convergedSince = 0;
            }
            if (now > deadline) {
                throw new IllegalStateException("service did not converge within " + TIMEOUT_MS / 60_000 + " minutes: "
                        + running + " of " + want + " tasks running");
            }
            Thread.sleep(200);
        }
    }

    private static Map<String, String> hostnames(ControlClient cc) {
        Map<String, String> out = new HashMap<>();
        for (var n : cc.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList()) {
            out.put(n.getMeta().getId(), n.getDescription().getHostname());
        }
        return out;
    }

    private static String pad(String s) {
        return s.length() >= 10 ? s : s + " ".repeat(10 - s.length());
    }

    /** Docker's bar: [====>    ] by stage, full when running. */
    static String bar(TaskState st, boolean up) {
        int stage = 0;
        for (int i = 0; i < STAGES.length; i++) {
            if (STAGES[i].equals(st.name().toLowerCase())) {
                stage = i;
            }
        }
        int width = 50;
        int fill = up ? width : Math.max(1, (stage + 1) * width / (STAGES.length + 1));
        List<String> parts = new ArrayList<>();
        parts.add("=".repeat(Math.max(0, fill - 1)) + ">");
        return "[" + parts.get(0) + " ".repeat(width - fill) + "]";
    }
}
