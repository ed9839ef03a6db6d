package io.jswarm.bench;

import io.jswarm.e2e.FaultScenarios;
import io.jswarm.e2e.FaultScenarios.Round;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fault suite's scenarios repeated (default 20 rounds each) on one cluster of
 * simulated hosts, printing per scenario the property counts summed over the rounds and
 * the median and maximum of each time measured, against the targets of the faults issue:
 * majority writes within 3 s of a leader cut, every manager within 10 s of a heal, first
 * write within 5 s of a whole-cluster restart.
 */
public final class FaultsBenchmark {
    interface Scenario {
        Round run(int round) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        try (FaultScenarios f = new FaultScenarios()) {
            Map<String, Scenario> scenarios = new LinkedHashMap<>();
            scenarios.put("leader partitioned", i -> f.managerPartition(i, true));
            scenarios.put("follower partitioned", i -> f.managerPartition(i, false));
            scenarios.put("worker partitioned", f::workerPartition);
            scenarios.put("every swarmd killed", f::killAll);
            scenarios.put("full disk", f::fullDisk);
            System.out.printf("fault scenarios: 3 managers, 2 workers on simulated hosts, heartbeat %d ms, cuts of %d ms, %d rounds each%n",
                    FaultScenarios.HEARTBEAT_MS, FaultScenarios.CUT_MS, rounds);
            for (var e : scenarios.entrySet()) {
                Map<String, Long> counts = new LinkedHashMap<>();
                Map<String, List<Double>> times = new LinkedHashMap<>();
                List<String> violations = new ArrayList<>();
                for (int i = 0; i < rounds; i++) {
                    Round r = e.getValue().run(100 + i);
                    r.counts.forEach((k, v) -> counts.merge(k, v, Long::sum));
                    r.seconds.forEach((k, v) -> times.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
                    violations.addAll(r.violations());
                }
                System.out.println(e.getKey() + ":");
                counts.forEach((k, v) -> System.out.printf("  %-55s %d%n", k.replace("info: ", ""), v));
                times.forEach((k, v) -> {
                    double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                    StringBuilder all = new StringBuilder();
                    for (double x : a) {
                        all.append(all.length() == 0 ? "" : ", ").append(String.format("%.2f", x));
                    }
                    System.out.printf("  %-55s median %.2f s, max %.2f s (%s)%n", k, a[a.length / 2], a[a.length - 1], all);
                });
                System.out.println("  violations: " + (violations.isEmpty() ? "none" : violations));
            }
        }
    }
}
