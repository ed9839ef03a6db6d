package io.jswarm.bench;

import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.RemoveServiceRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How far one machine's managers go: {@code NODES} simulated nodes ({@link SimulatedFleet},
 * the real protocol, mutual TLS) join {@code MANAGERS} manager processes started with
 * swarmd's own JVM flags and the default 5 s heartbeat; a service of {@code TASKS}
 * replicas is created and removed. Prints: seconds until every node is READY; until every
 * replica is reported RUNNING; until {@code service rm} leaves no task in the store;
 * idle and peak RSS of the leader and its CPU seconds; the longest GC pause on each
 * manager (sampled from its metrics every second); leadership changes (Raft term);
 * nodes the leader marked DOWN for missed heartbeats (the fleet never stops, so all are
 * wrong); status reports failed and shed; whole-process {@code swarmctl service ls} and
 * {@code service ps} at the largest size; with three managers or more, {@code FAILOVERS}
 * (default 1) times {@code kill -9} of the leader with every task in the store: seconds
 * until a survivor says it leads, until a survivor accepts a write and until every node's
 * session is open again, and the nodes marked down meanwhile.
 */
public final class ScaleBenchmark {
    public static void main(String[] args) throws Exception {
        int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
        int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 50_000;
        int managerCount = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int failovers = args.length > 3 ? Integer.parseInt(args[3]) : managerCount >= 3 ? 1 : 0;
        if (System.getProperty("jswarm.javaOpts") == null) {
            System.setProperty("jswarm.javaOpts", "default");  // swarmd's own JVM flags, as users run it (-Djswarm.javaOpts= to try others)
        }
        HttpClient http = HttpClient.newHttpClient();
        try (LocalCluster cluster = new LocalCluster()) {
            List<Member> managers = new ArrayList<>();
            Map<Member, Integer> metricsPorts = new HashMap<>();
            int p1 = LocalCluster.freePort();
            Member m1 = cluster.init("m1", "--metrics-addr", "127.0.0.1:" + p1);
            managers.add(m1);
            metricsPorts.put(m1, p1);
            String managerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
            String workerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
            for (int i = 2; i <= managerCount; i++) {
                int p = LocalCluster.freePort();
                Member m = cluster.join("m" + i, null, m1, managerToken, "--metrics-addr", "127.0.0.1:" + p);
                managers.add(m);
                metricsPorts.put(m, p);
                // One at a time: Raft takes one membership change at a time.
                int n = i;
                LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(m1) == n && m.running(), m.name + " ready");
            }
            Thread.sleep(2_000);
            for (Member m : managers) {
                if (!m.running()) {
                    throw new IllegalStateException(m.name + " exited: " + m.logText());
                }
            }
            for (Member m : managers) {
                cluster.swarmctl(m1, "node", "update", "--availability", "drain", m.name).ok();
            }
            Thread.sleep(3_000);
            Member leader = ControlPlaneBenchmark.leader(cluster, managers.toArray(new Member[0]));
            long idleRss = rssKb(leader.pid());
            Map<Member, Double> termAtStart = new HashMap<>();
            Map<Member, Double> downAtStart = new HashMap<>();
            for (Member m : managers) {
                Map<String, Double> mm = metrics(http, metricsPorts.get(m));
                termAtStart.put(m, mm.getOrDefault("jswarm_raft_term", 0.0));
                downAtStart.put(m, mm.getOrDefault("jswarm_dispatcher_heartbeat_failures_total", 0.0));
            }
            Map<Member, Double> gcMax = new java.util.concurrent.ConcurrentHashMap<>();
            long[] peakRss = {idleRss};
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    for (Member m : managers) {
                        try {
                            double pause = metrics(http, metricsPorts.get(m)).getOrDefault("jvm_gc_pause_seconds_max", 0.0);
                            gcMax.merge(m, pause, Math::max);
                        } catch (Exception e) {
                            // a manager busy or restarting: the next sample
                        }
                    }
                    peakRss[0] = Math.max(peakRss[0], rssKb(leader.pid()));
                    try {
                        Thread.sleep(1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "sampler");
            sampler.setDaemon(true);
            sampler.start();
            long cpu0 = cpuTicks(leader.pid());

            long t0 = System.nanoTime();
            try (SimulatedFleet fleet = SimulatedFleet.join(m1.addr(), workerToken, nodes, "sim-")) {
                double joined = (System.nanoTime() - t0) / 1e9;
                LocalCluster.await(Duration.ofSeconds(600), () -> LocalCluster.readyNodes(m1) == managerCount + nodes, "all nodes ready");
                double ready = (System.nanoTime() - t0) / 1e9;
                System.out.printf("%d nodes, %d managers: joined in %.1f s, all READY after %.1f s; heartbeats failed so far %s%n",
                        nodes, managerCount, joined, ready, fleet.heartbeatFailures);

                long c0 = System.nanoTime();
                String id;
                try (ControlClient c = leader.control()) {
                    id = c.stub().createService(CreateServiceRequest.newBuilder().setSpec(ServiceSpec.newBuilder()
                            .setAnnotations(io.jswarm.api.Annotations.newBuilder().setName("big"))
                            .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                                    .setImage("127.0.0.1:5000/busybox:1")))
                            .setReplicated(ReplicatedService.newBuilder().setReplicas(tasks))).build()).getService().getMeta().getId();
                    double created = (System.nanoTime() - c0) / 1e9;
                    LocalCluster.await(Duration.ofSeconds(900), () -> running(c, id) == tasks, "all replicas running",
                            () -> running(c, id) + " running " + lastError);
                    double allRunning = (System.nanoTime() - c0) / 1e9;
                    System.out.printf("service create --replicas %d: answered in %.2f s, all RUNNING after %.1f s (%.0f per second);"
                            + " heartbeats failed so far %s%n", tasks, created, allRunning, tasks / allRunning, fleet.heartbeatFailures);
                }
                System.out.printf("swarmctl service ls (whole process, median of 3): %.2f s; service ps big -q: %.2f s%n",
                        timeCli(leader, "service", "ls"), timeCli(leader, "service", "ps", "big", "-q"));
                // What the run cost the leader, before a failover replaces it.
                double cpu = (cpuTicks(leader.pid()) - cpu0) / 100.0;
                long peak = peakRss[0];
                double[] before = termsAndDown(http, managers, metricsPorts, termAtStart, downAtStart);
                Member now = failovers > 0 ? failover(cluster, managers, fleet, nodes, failovers, http, metricsPorts, downAtStart) : leader;
                String failedBeforeRm = fleet.heartbeatFailures.toString();
                long r0 = System.nanoTime();
                try (ControlClient c = now.control()) {
                    c.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(id).build());
                }
                // Asked of whichever manager leads when asked: leadership may change meanwhile.
                LocalCluster.await(Duration.ofSeconds(900), () -> {
                    for (Member m : managers) {
                        try {
                            Map<String, Double> s = metrics(http, metricsPorts.get(m));
                            if (s.getOrDefault("jswarm_raft_leader", 0.0) == 1) {
                                return s.getOrDefault("jswarm_store_objects{kind=\"task\"}", -1.0) == 0;
                            }
                        } catch (Exception e) {
                            // not answering (killed, or too busy): ask the next
                        }
                    }
                    return false;
                }, "no task left");
                System.out.printf("service rm: no task left after %.1f s (heartbeats failed before it %s)%n", (System.nanoTime() - r0) / 1e9,
                        failedBeforeRm);
                sampler.interrupt();
                double terms = before[0];
                double down = before[1];
                System.out.printf("leader %s: RSS idle %d MB, peak %d MB; CPU %.0f s until all RUNNING and listed%n", leader.name,
                        idleRss / 1024, peak / 1024, cpu);
                StringBuilder gc = new StringBuilder();
                for (Member m : managers) {
                    gc.append(String.format(" %s %.0f ms", m.name, gcMax.getOrDefault(m, Double.NaN) * 1e3));
                }
                System.out.println("longest GC pause:" + gc);
                System.out.printf("leadership changes: %.0f; nodes marked DOWN (all wrongly): %.0f (before any failover); sessions opened: %d%n",
                        terms, down, fleet.sessionsOpened.get());
                if (failovers > 0) {
                    double[] after = termsAndDown(http, managers, metricsPorts, termAtStart, downAtStart);
                    System.out.printf("nodes marked DOWN during and after the failover%s: %.0f%n", failovers > 1 ? "s" : "", after[1] - down);
                }
                System.out.printf("status reports: %d sent, %d failed %s, %d shed; longest gap between a node's heartbeats: %.1f s;"
                        + " heartbeats failed %s%n", fleet.reportsSent.get(), fleet.reportsFailed.get(), fleet.failuresByCode,
                        fleet.reportsShed.get(), fleet.longestHeartbeatGapMs.get() / 1e3, fleet.heartbeatFailures);
            }
        }
    }

    /** The largest Raft term change and the nodes marked down, summed over the managers that answer. */
    static double[] termsAndDown(HttpClient http, List<Member> managers, Map<Member, Integer> ports, Map<Member, Double> termAtStart,
            Map<Member, Double> downAtStart) {
        double terms = 0;
        double down = 0;
        for (Member m : managers) {
            try {
                Map<String, Double> mm = metrics(http, ports.get(m));
                terms = Math.max(terms, mm.getOrDefault("jswarm_raft_term", 0.0) - termAtStart.get(m));
                down += mm.getOrDefault("jswarm_dispatcher_heartbeat_failures_total", 0.0) - downAtStart.get(m);
            } catch (Exception e) {
                // a manager restarted by a failover counts from zero: what it did before is lost
            }
        }
        return new double[] {terms, down};
    }

    /**
     * kill -9 of the leader with the whole fleet and every task in the store: seconds until
     * a survivor accepts a write, until every node's session is open again, and the nodes
     * the survivors marked down meanwhile; the killed manager is started again and caught up
     * before the next. Its counter of nodes marked down starts again from zero: its baseline
     * in {@code downAtStart} is moved so that what it had counted before still counts.
     * Returns the leader after.
     */
    static Member failover(LocalCluster cluster, List<Member> managers, SimulatedFleet fleet, int nodes, int runs, HttpClient http,
            Map<Member, Integer> ports, Map<Member, Double> downAtStart) throws Exception {
        double[] toLeader = new double[runs];
        double[] toWrite = new double[runs];
        double[] toSessions = new double[runs];
        double[] downs = new double[runs];
        for (int r = 0; r < runs; r++) {
            Member victim = ControlPlaneBenchmark.leader(cluster, managers.toArray(new Member[0]));
            Member survivor = managers.stream().filter(m -> m != victim).findFirst().orElseThrow();
            Map<Member, Double> atKill = new HashMap<>();
            for (Member m : managers) {
                atKill.put(m, markedDown(http, ports.get(m)));
            }
            long t0 = System.nanoTime();
            victim.kill();
            // Apart from the write: when a survivor says it leads (its metrics, every 50 ms).
            double[] elected = {Double.NaN};
            Thread watch = new Thread(() -> {
                while (Double.isNaN(elected[0]) && !Thread.currentThread().isInterrupted()) {
                    for (Member m : managers) {
                        try {
                            if (m != victim && metrics(http, ports.get(m)).getOrDefault("jswarm_raft_leader", 0.0) == 1.0) {
                                elected[0] = (System.nanoTime() - t0) / 1e9;
                            }
                        } catch (Exception e) {
                            // not answering yet
                        }
                    }
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "election-watch");
            watch.start();
            toWrite[r] = ControlPlaneBenchmark.timeWrite(survivor, 120_000);
            watch.join(60_000);
            toLeader[r] = elected[0];
            LocalCluster.await(Duration.ofSeconds(30), () -> fleet.connected() < nodes, "the fleet sees the leader gone");
            LocalCluster.await(Duration.ofSeconds(600), () -> fleet.connected() == nodes, "every node's session open again");
            toSessions[r] = (System.nanoTime() - t0) / 1e9;
            for (Member m : managers) {
                if (m != victim) {
                    downs[r] += markedDown(http, ports.get(m)) - atKill.get(m);
                }
            }
            victim.start();
            ControlPlaneBenchmark.awaitAnswering(victim, Duration.ofSeconds(600));
            downAtStart.put(victim, downAtStart.get(victim) - atKill.get(victim));
        }
        System.out.printf("failover under load (kill -9 of the leader, %d run%s): to a survivor leading median %.2f s %s; "
                + "to a write accepted median %.2f s %s; to every node's session open again median %.1f s %s; nodes marked down "
                + "meanwhile %s%n", runs, runs > 1 ? "s" : "", ControlPlaneBenchmark.median(toLeader), java.util.Arrays.toString(toLeader),
                ControlPlaneBenchmark.median(toWrite), java.util.Arrays.toString(toWrite), ControlPlaneBenchmark.median(toSessions),
                java.util.Arrays.toString(toSessions), java.util.Arrays.toString(downs));
        return ControlPlaneBenchmark.leader(cluster, managers.toArray(new Member[0]));
    }

    /** The nodes a manager has marked down since it started (its heartbeat failures). */
    private static double markedDown(HttpClient http, int port) throws Exception {
        return metrics(http, port).getOrDefault("jswarm_dispatcher_heartbeat_failures_total", 0.0);
    }

    private static volatile String lastError = "";

    private static long running(ControlClient c, String id) {
        try {
            return c.stub().listServices(ListServicesRequest.getDefaultInstance()).getStatusesList().stream()
                    .filter(s -> s.getServiceId().equals(id)).mapToLong(s -> s.getRunningTasks()).sum();
        } catch (RuntimeException e) {
            lastError = e.toString();
            return -1;
        }
    }

    /**
     * The median of three whole-process runs, after one not counted: the first swarmctl
     * after a build records its class-data archive, which is not what a user waits for.
     */
    private static double timeCli(Member via, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--socket", via.socket().toString()));
        cmd.addAll(List.of(args));
        double[] runs = new double[4];
        for (int i = 0; i < runs.length; i++) {
            long t0 = System.nanoTime();
            LocalCluster.Result r = LocalCluster.run(cmd);
            if (r.exit() != 0) {
                throw new IllegalStateException(String.join(" ", args) + ": " + r.err());
            }
            runs[i] = (System.nanoTime() - t0) / 1e9;
        }
        double[] counted = java.util.Arrays.copyOfRange(runs, 1, runs.length);
        java.util.Arrays.sort(counted);
        return counted[1];
    }

    /** A metrics endpoint's samples: name{labels} -> value. */
    static Map<String, Double> metrics(HttpClient http, int port) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> out = new HashMap<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            int sp = line.lastIndexOf(' ');
            try {
                String key = line.substring(0, sp);
                double v = Double.parseDouble(line.substring(sp + 1));
                out.merge(key, v, Double::sum);
                int brace = key.indexOf('{');
                if (brace > 0) {
                    String name = key.substring(0, brace);
                    out.merge(name, v, name.endsWith("_max") ? Math::max : Double::sum);  // summed over labels
                }
            } catch (RuntimeException e) {
                // not a sample
            }
        }
        return out;
    }

    static long rssKb(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // gone
        }
        return 0;
    }

    /** utime + stime of a process, in clock ticks (100 per second). */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (Exception e) {
            return 0;
        }
    }
}
