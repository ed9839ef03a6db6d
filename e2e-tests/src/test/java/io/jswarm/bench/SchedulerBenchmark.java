package io.jswarm.bench;

import io.jswarm.scheduler.Constraint;
import io.jswarm.scheduler.Decision;
import io.jswarm.scheduler.NodeInfo;
import io.jswarm.scheduler.Scheduler;
import io.jswarm.scheduler.TaskRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Scheduler alone: 100,000 tasks (100 services, half of them constrained to
 * node.labels.disk==ssd, a third with a zone spread preference) onto 10,000 nodes. The
 * baseline, timed in the same process, places the same tasks round-robin with no filters
 * and no strategy: the ratio is what filtering and spreading cost.
 */
public final class SchedulerBenchmark {
    static final int NODES = 10_000;
    static final int SERVICES = 100;
    static final int TASKS_PER_SERVICE = 1_000;

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        List<NodeInfo> nodes = new ArrayList<>(NODES);
        String[] zones = {"a", "b", "c"};
        for (int i = 0; i < NODES; i++) {
            nodes.add(new NodeInfo("node-" + i, "host-" + i, i < 3 ? "manager" : "worker", "linux", "amd64",
                    Map.of("zone", zones[i % 3], "disk", i % 2 == 0 ? "ssd" : "hdd"), true, "active",
                    8_000_000_000L, 32L << 30));
        }
        List<TaskRequest> tasks = new ArrayList<>(SERVICES * TASKS_PER_SERVICE);
        for (int s = 0; s < SERVICES; s++) {
            List<Constraint> cons = s % 2 == 0 ? List.of(Constraint.parse("node.labels.disk==ssd")) : List.of();
            List<String> prefs = s % 3 == 0 ? List.of("node.labels.zone") : List.of();
            for (int t = 0; t < TASKS_PER_SERVICE; t++) {
                tasks.add(new TaskRequest("s" + s + "-t" + t, "svc-" + s, "svc-" + s, 100_000_000L, 64L << 20, cons, prefs, 0, Set.of()));
            }
        }
        double[] rates = new double[runs];
        double[] baseline = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            List<Decision> ds = new Scheduler(nodes, new HashMap<>()).schedule(tasks);
            long t1 = System.nanoTime();
            long placed = ds.stream().filter(Decision::placed).count();
            if (placed != tasks.size()) {
                throw new IllegalStateException("only " + placed + " placed");
            }
            rates[r] = tasks.size() / ((t1 - t0) / 1e9);
            baseline[r] = roundRobin(nodes, tasks);
        }
        // The first runs warm up the JIT; report the median of the rest.
        double median = median(Arrays.copyOfRange(rates, 2, runs));
        double base = median(Arrays.copyOfRange(baseline, 2, runs));
        System.out.printf("scheduler: %,d tasks onto %,d nodes: median %,.0f placements/s over %d runs (target >= 100,000)%n",
                tasks.size(), NODES, median, runs - 2);
        System.out.printf("baseline round-robin without filters: %,.0f placements/s; scheduler/baseline = %.2f%n", base, median / base);
    }

    /** Places every task on the next node in turn, recording only the node's task count. */
    static double roundRobin(List<NodeInfo> nodes, List<TaskRequest> tasks) {
        long t0 = System.nanoTime();
        Map<String, Integer> counts = new HashMap<>();
        List<Decision> out = new ArrayList<>(tasks.size());
        int i = 0;
        for (TaskRequest t : tasks) {
            NodeInfo n = nodes.get(i++ % nodes.size());
            counts.merge(n.id(), 1, Integer::sum);
            out.add(new Decision(t.taskId(), n.id(), null));
        }
        long t1 = System.nanoTime();
        if (out.size() != tasks.size()) {
            throw new IllegalStateException();
        }
        return tasks.size() / ((t1 - t0) / 1e9);
    }

    static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }
}
