package io.jswarm.bench;

import io.jswarm.agent.Agent;
import io.jswarm.bench.ControlPlaneBenchmark.Managers;
import io.jswarm.e2e.LocalCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What metrics cost: {@code service create --replicas 10000} until all are ASSIGNED on 100
 * simulated nodes through three managers, on two clusters side by side, one without
 * {@code --metrics-addr} and one with it on every manager, scraped every second as a
 * Prometheus would (a scrape counts the store). The create runs alternate between the two,
 * which goes first changing every round, after two rounds of warm-up on each. Prints both
 * medians and the ratio (target at most 1.05), and how long a scrape of a manager took while
 * the creates ran.
 */
public final class MetricsBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int replicas = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int agents = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        Map<String, Integer> ports = new ConcurrentHashMap<>();
        List<Agent> fleets = new ArrayList<>();
        List<Double> scrapes = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread scraper = null;
        try (LocalCluster offCluster = new LocalCluster(); LocalCluster onCluster = new LocalCluster()) {
            Managers off = ControlPlaneBenchmark.managers(offCluster, "metrics off", name -> new String[0]);
            Managers on = ControlPlaneBenchmark.managers(onCluster, "metrics on", name -> {
                int port = ports.computeIfAbsent(name, n -> freePort());
                return new String[] {"--metrics-addr", "127.0.0.1:" + port};
            });
            fleets.addAll(ControlPlaneBenchmark.fleet(off, agents, false));
            fleets.addAll(ControlPlaneBenchmark.fleet(on, agents, false));
            HttpClient http = HttpClient.newHttpClient();
            scraper = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    for (int port : ports.values()) {
                        long t0 = System.nanoTime();
                        try {
                            http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                                    HttpResponse.BodyHandlers.discarding());
                            scrapes.add((System.nanoTime() - t0) / 1e9);
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            // counted as missing
                        }
                    }
                    try {
                        Thread.sleep(1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "scraper");
            scraper.setDaemon(true);
            scraper.start();
            // Two rounds on each first, not counted: the managers' code is still being compiled.
            for (int r = 0; r < 2; r++) {
                for (Managers c : List.of(off, on)) {
                    ControlPlaneBenchmark.timeCreate(c.m2(), "warm" + r, replicas);
                    ControlPlaneBenchmark.remove(c.m2(), "warm" + r);
                }
            }
            scrapes.clear();
            double[] offTimes = new double[runs];
            double[] onTimes = new double[runs];
            for (int r = 0; r < runs; r++) {
                Managers first = r % 2 == 0 ? off : on;
                Managers second = first == off ? on : off;
                for (Managers c : List.of(first, second)) {
                    double t = ControlPlaneBenchmark.timeCreate(c.m2(), "big" + r, replicas);
                    ControlPlaneBenchmark.remove(c.m2(), "big" + r);
                    (c == off ? offTimes : onTimes)[r] = t;
                }
            }
            double mOff = ControlPlaneBenchmark.median(offTimes);
            double mOn = ControlPlaneBenchmark.median(onTimes);
            double[] s = scrapes.stream().mapToDouble(Double::doubleValue).toArray();
            System.out.printf("create --replicas %d on %d nodes, 3 managers, metrics off: median %.2f s %s%n", replicas, agents, mOff,
                    Arrays.toString(ControlPlaneBenchmark.round(offTimes)));
            System.out.printf("the same, metrics on and scraped every second: median %.2f s %s%n", mOn,
                    Arrays.toString(ControlPlaneBenchmark.round(onTimes)));
            System.out.printf("scrape of a manager during the runs: median %.3f s, max %.3f s over %d scrapes%n",
                    s.length == 0 ? Double.NaN : ControlPlaneBenchmark.median(s), Arrays.stream(s).max().orElse(Double.NaN), s.length);
            System.out.printf("metrics: create %.2f s vs %.2f s without: ratio %.2f (target <= 1.05)%n", mOn, mOff, mOn / mOff);
        } finally {
            if (scraper != null) {
                scraper.interrupt();
            }
            for (Agent a : fleets) {
                a.close();
            }
        }
    }

    private static int freePort() {
        try {
            return LocalCluster.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
