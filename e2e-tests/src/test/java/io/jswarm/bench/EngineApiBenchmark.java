package io.jswarm.bench;

import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.TaskSpec;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.EngineHttp;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The Engine API's cost over the Control API it translates onto: {@code bin/bench engine
 * [RUNS]} starts one manager (swarmd's own JVM flags, drained) and 100 simulated nodes that
 * hold the tasks and report them RUNNING, then prints
 * <ul>
 *   <li>{@code docker service ls} (the docker CLI 20.10) against {@code swarmctl service
 *   ls}, whole processes, RUNS each (default 20), median and p99, with 100 services;
 *   <li>with 1,000 services and 10,000 tasks: the latency of {@code GET
 *   /services?status=true} and {@code GET /tasks} on the Engine API's socket against the
 *   gRPC {@code ListServices} and {@code StreamTasks} they translate to, 200 requests each
 *   after 20 to warm up, p50 and p99 (target p99 at most 100 ms).
 * </ul>
 */
public final class EngineApiBenchmark {
    static final Path DOCKER = Path.of(System.getProperty("jswarm.dockerCli", "/usr/local/lib/jswarm/docker-cli/docker"));

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        if (System.getProperty("jswarm.javaOpts") == null) {
            System.setProperty("jswarm.javaOpts", "default");  // swarmd's own JVM flags, as users run it
        }
        try (LocalCluster cluster = new LocalCluster()) {
            Member m1 = cluster.init("m1");
            cluster.swarmctl(m1, "node", "update", "--availability", "drain", "m1").ok();
            String token = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
            try (SimulatedFleet fleet = SimulatedFleet.join(m1.addr(), token, 100, "bench-");
                    ControlClient cc = m1.control()) {
                LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(m1) == 101, "100 nodes ready");
                create(cc, 0, 100);
                awaitRunning(cc, 1_000);
                Path socket = m1.stateDir.resolve("docker.sock");
                List<String> docker = List.of(DOCKER.toString(), "-H", "unix://" + socket, "service", "ls");
                List<String> swarmctl = List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--socket",
                        m1.socket().toString(), "service", "ls");
                double[] d = new double[runs];
                double[] s = new double[runs];
                for (int r = 0; r < runs; r++) {  // interleaved: the machine's noise falls on both
                    d[r] = wholeProcess(docker, "100 services");
                    s[r] = wholeProcess(swarmctl, "100 services");
                }
                System.out.printf("service ls, 100 services, whole process, %d runs: docker CLI median %.3f s p99 %.3f s;"
                        + " swarmctl median %.3f s p99 %.3f s; ratio %.2f%n", runs, median(d), p99(d), median(s), p99(s),
                        median(d) / median(s));
                create(cc, 100, 1_000);
                awaitRunning(cc, 10_000);
                latency("GET /services?status=true (1,000 services)", () -> check(EngineHttp.request(socket, "GET",
                        "/v1.41/services?status=true", null)), "gRPC ListServices",
                        () -> cc.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesCount());
                latency("GET /tasks (10,000 tasks)", () -> check(EngineHttp.request(socket, "GET", "/v1.41/tasks", null)),
                        "gRPC StreamTasks", () -> {
                            int[] n = {0};
                            cc.stub().streamTasks(ListTasksRequest.getDefaultInstance()).forEachRemaining(p -> n[0] += p.getTasksCount());
                            return n[0];
                        });
            }
        }
    }

    private static Object check(EngineHttp.Response r) {
        if (r.status() != 200) {
            throw new AssertionError(r.status() + " " + r.body());
        }
        return r.body().length();
    }

    /** Services svc-FROM .. svc-(TO-1), 10 replicas each, created over gRPC (the set-up, not what is measured). */
    private static void create(ControlClient cc, int from, int to) {
        for (int i = from; i < to; i++) {
            cc.stub().createService(CreateServiceRequest.newBuilder().setKeepImageTag(true).setSpec(ServiceSpec.newBuilder()
                    .setAnnotations(Annotations.newBuilder().setName("svc-" + i).putLabels("bench", "engine"))
                    .setTask(TaskSpec.newBuilder().setContainer(ContainerSpec.newBuilder().setImage("127.0.0.1:1/bench:1")))
                    .setReplicated(ReplicatedService.newBuilder().setReplicas(10))).build());
        }
    }

    private static void awaitRunning(ControlClient cc, long tasks) throws InterruptedException {
        LocalCluster.await(Duration.ofSeconds(300), () -> cc.stub().listServices(ListServicesRequest.getDefaultInstance())
                .getStatusesList().stream().mapToLong(s -> s.getRunningTasks()).sum() == tasks, tasks + " tasks running");
    }

    private static double wholeProcess(List<String> cmd, String what) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0 || out.lines().count() != 101) {
            throw new AssertionError(String.join(" ", cmd) + " failed or did not list " + what + ": " + out);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void latency(String what, Callable<Object> engine, String baseline, Callable<Object> grpc) throws Exception {
        double[] e = new double[200];
        double[] g = new double[200];
        for (int i = 0; i < 20; i++) {
            engine.call();
            grpc.call();
        }
        for (int i = 0; i < e.length; i++) {
            long t0 = System.nanoTime();
            engine.call();
            e[i] = (System.nanoTime() - t0) / 1e6;
            t0 = System.nanoTime();
            grpc.call();
            g[i] = (System.nanoTime() - t0) / 1e6;
        }
        System.out.printf("%s: p50 %.1f ms p99 %.1f ms (target p99 <= 100 ms); %s p50 %.1f ms p99 %.1f ms; ratio p50 %.2f%n",
                what, median(e), p99(e), baseline, median(g), p99(g), median(e) / median(g));
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static double p99(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)];
    }
}
