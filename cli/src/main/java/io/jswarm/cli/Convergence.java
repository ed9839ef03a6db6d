package io.jswarm.cli;

import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
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
 * current task for a short while. A task of the current spec that fails or is rejected
 * ends the wait with its reason.
 */
final class Convergence {
    static final long VERIFY_MS = 1_000;
    static final long TIMEOUT_MS = 10 * 60_000;
    private static final String[] STAGES = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"};

    private Convergence() {}

    /** Returns normally when converged; throws IllegalStateException with the failing task's reason. */
    static void await(ControlClient cc, String serviceId, long sinceMs, PrintStream out) throws InterruptedException {
        boolean tty = System.console() != null;
        Map<String, String> printed = new HashMap<>();
        int drawn = 0;
        long convergedSince = 0;
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            Service s = cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(serviceId).build()).getService();
            List<Task> tasks = cc.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(serviceId).build()).getTasksList();
            boolean global = s.getSpec().hasGlobal();
            long want;
            if (global) {
                want = tasks.stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).count();
            } else {
                want = s.getSpec().getReplicated().getReplicas();
            }
            Map<String, String> hostnames = global ? hostnames(cc) : Map.of();
            TreeMap<String, String> lines = new TreeMap<>();
            long running = 0;
            for (Task t : tasks) {
                // Every task meant to run counts, whatever spec it runs: replacing tasks of an older
                // spec is the rolling updater's work, which is not built yet.
                if (t.getDesiredState() != TaskState.RUNNING) {
                    continue;
                }
                TaskState st = t.getStatus().getState();
                String health = t.getStatus().getHealth();
                boolean up = st == TaskState.RUNNING && (health.isEmpty() || health.equals("healthy"));
                if (up) {
                    running++;
                }
                if ((st == TaskState.FAILED || st == TaskState.REJECTED) && t.getStatus().getTimestampMs() >= sinceMs) {
                    throw new IllegalStateException("task " + t.getAnnotations().getName() + "." + t.getMeta().getId() + " "
                            + st.name().toLowerCase() + ": " + (t.getStatus().getErr().isEmpty() ? t.getStatus().getMessage()
                            : t.getStatus().getErr()));
                }
                String key = global ? hostnames.getOrDefault(t.getNodeId(), t.getNodeId()) : String.format("%5d", t.getSlot());
                String stage = st.name().toLowerCase() + (up || health.isEmpty() ? "" : " (" + health + ")");
                lines.put(key, key.trim() + "/" + want + ": " + pad(stage) + " " + bar(st, up));
            }
            // Tasks of an earlier spec or history are not shown; slots not yet created are.
            if (tty) {
                if (drawn > 0) {
                    out.print("\033[" + drawn + "A");
                }
                out.println("\033[2Koverall progress: " + running + " out of " + want + " tasks");
                for (String l : lines.values()) {
                    out.println("\033[2K" + l);
                }
                drawn = lines.size() + 1;
            } else {
                for (Map.Entry<String, String> e : lines.entrySet()) {
                    if (!e.getValue().equals(printed.get(e.getKey()))) {
                        out.println(e.getValue());
                        printed.put(e.getKey(), e.getValue());
                    }
                }
            }
            out.flush();
            boolean converged = running == want && lines.size() == want;
            long now = System.currentTimeMillis();
            if (converged) {
                if (convergedSince == 0) {
                    convergedSince = now;
                } else if (now - convergedSince >= VERIFY_MS) {
                    out.println("verify: Service converged");
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
