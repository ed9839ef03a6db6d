package io.jswarm.bench;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.SimulatedCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * stack deploy of a file with SERVICES services of REPLICAS replicas each on one network,
 * until every task runs on three simulated hosts, against what a user would do without
 * stacks in the same run: {@code network create}, then {@code service create -d} of the
 * same services in a loop, until every task runs. Both are timed from the first command
 * to the last task RUNNING; the time until the commands returned is printed too (the
 * loop starts one swarmctl JVM per service).
 */
public final class StackBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int services = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int replicas = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int total = services * replicas;
        Path dir = Files.createTempDirectory("jswarm-stack-bench-");
        try (SimulatedCluster sim = new SimulatedCluster(2, "5s")) {
            LocalCluster cluster = sim.cluster;
            Member m1 = sim.m1;
            StringBuilder yml = new StringBuilder("version: \"3.8\"\nservices:\n");
            for (int i = 0; i < services; i++) {
                // stop_grace_period 0: sleep as pid 1 ignores SIGTERM, and the removal between runs need not wait for it.
                yml.append("  s").append(i).append(":\n    image: ").append(sim.image)
                        .append("\n    networks: [net]\n    stop_grace_period: 0s\n    deploy:\n      replicas: ").append(replicas).append('\n');
            }
            // A /21: 500 task addresses and 50 virtual IPs do not fit the default /24.
            yml.append("networks:\n  net:\n    ipam:\n      config:\n        - subnet: 10.200.0.0/21\n");
            Path file = dir.resolve("bench.yml");
            Files.writeString(file, yml);
            // The image on every node first: the figures are about orchestration and containers, not pulls.
            cluster.swarmctl(m1, "service", "create", "--name", "warm", "--mode", "global", "--stop-grace-period", "0s", sim.image).ok();
            cluster.swarmctl(m1, "service", "rm", "warm").ok();
            awaitEmpty(cluster, m1);

            double[] stack = new double[runs];
            double[] stackCmd = new double[runs];
            double[] loop = new double[runs];
            double[] loopCmd = new double[runs];
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                cluster.swarmctl(m1, "stack", "deploy", "-d", "-c", file.toString(), "b").ok();
                stackCmd[r] = (System.nanoTime() - t0) / 1e9;
                awaitRunning(m1, total);
                stack[r] = (System.nanoTime() - t0) / 1e9;
                System.out.printf("run %d: stack deploy %.2f s (command %.2f s)%n", r + 1, stack[r], stackCmd[r]);
                cluster.swarmctl(m1, "stack", "rm", "b").ok();
                awaitEmpty(cluster, m1);

                long t1 = System.nanoTime();
                cluster.swarmctl(m1, "network", "create", "--subnet", "10.200.0.0/21", "loop_net").ok();
                for (int i = 0; i < services; i++) {
                    cluster.swarmctl(m1, "service", "create", "-d", "--name", "loop_s" + i, "--replicas", String.valueOf(replicas),
                            "--network", "loop_net", "--stop-grace-period", "0s", sim.image).ok();
                }
                loopCmd[r] = (System.nanoTime() - t1) / 1e9;
                awaitRunning(m1, total);
                loop[r] = (System.nanoTime() - t1) / 1e9;
                System.out.printf("run %d: service create loop %.2f s (commands %.2f s)%n", r + 1, loop[r], loopCmd[r]);
                for (int i = 0; i < services; i++) {
                    cluster.swarmctl(m1, "service", "rm", "loop_s" + i).ok();
                }
                awaitEmpty(cluster, m1);
                LocalCluster.await(Duration.ofSeconds(120), () -> {
                    try {
                        return cluster.swarmctl(m1, "network", "rm", "loop_net").exit() == 0;
                    } catch (Exception e) {
                        return false;
                    }
                }, "loop_net removed");
            }
            double ms = SchedulerBenchmark.median(stack);
            double ml = SchedulerBenchmark.median(loop);
            System.out.printf("stack deploy: %d services x %d replicas on one network, 3 hosts, until all %d RUNNING: median %.2f s %s;"
                    + " the command returned after %s s%n", services, replicas, total, ms, Arrays.toString(ControlPlaneBenchmark.round(stack)),
                    Arrays.toString(ControlPlaneBenchmark.round(stackCmd)));
            System.out.printf("baseline: network create + %d x service create -d, until all RUNNING: median %.2f s %s; the commands"
                    + " returned after %s s; ratio %.2f%n", services, ml, Arrays.toString(ControlPlaneBenchmark.round(loop)),
                    Arrays.toString(ControlPlaneBenchmark.round(loopCmd)), ms / ml);
        } finally {
            LocalCluster.deleteTree(dir);
        }
    }

    static void awaitRunning(Member m1, int n) throws InterruptedException {
        LocalCluster.await(Duration.ofSeconds(900), () -> running(m1) >= n, n + " tasks RUNNING", () -> running(m1) + " running");
    }

    static long running(Member m1) {
        try (ControlClient c = m1.control()) {
            List<Task> ts = c.stub().listTasks(ListTasksRequest.getDefaultInstance()).getTasksList();
            return ts.stream().filter(t -> t.getDesiredState() == TaskState.RUNNING && t.getStatus().getState() == TaskState.RUNNING).count();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    static void awaitEmpty(LocalCluster cluster, Member m1) throws InterruptedException {
        LocalCluster.await(Duration.ofSeconds(600), () -> ContainerBenchmark.total(m1) == 0 && ContainerBenchmark.containers(cluster) == 0,
                "every task and container gone");
    }
}
