package io.jswarm.bench;

import io.jswarm.agent.Agent;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.Platform;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.Resources;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.control.RemoveServiceRequest;
import io.jswarm.api.control.UpdateClusterRequest;
import io.jswarm.api.dispatcher.JoinRequest;
import io.jswarm.api.Node;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Through three manager processes on 127.0.0.1:
 * <ul>
 * <li>create: {@code service create --replicas 10000} until every task is ASSIGNED on 100
 * nodes registered through the real join and dispatcher protocol by agents in this
 * process; baseline: the same for one replica;</li>
 * <li>failover: {@code kill -9} of the leader until the Control API of a survivor accepts a
 * write; baseline: one write while the leader is healthy. Most of a failover is the
 * followers' randomized election timeout (0.8 to 1.6 s), the same with and without TLS:
 * its spread swamps what TLS costs unless there are many runs, so failover runs
 * ({@code FAILOVERS}, 15 by default) are counted apart from the create runs.</li>
 * </ul>
 * Prints the median of several runs, for a cluster with mutual TLS (as every cluster
 * runs) and, as its baseline, the same cluster in plaintext (swarmd's hidden
 * {@code --tls=false}), with the ratios: what TLS costs.
 */
public final class ControlPlaneBenchmark {
    /** One of the two clusters the benchmark compares: three managers, plaintext or TLS. */
    record Managers(String mode, LocalCluster cluster, Member m1, Member m2, Member m3, String workerToken) {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int replicas = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int agents = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        int failovers = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        // Both clusters live side by side for the whole run, so that a slower spell of the
        // machine falls on both: failovers alternate between them.
        try (LocalCluster plainCluster = new LocalCluster(); LocalCluster tlsCluster = new LocalCluster()) {
            Managers plain = managers(plainCluster, false);
            Managers tls = managers(tlsCluster, true);
            double[] plainCreate = creates(plain, runs, replicas, agents);
            double[] tlsCreate = creates(tls, runs, replicas, agents);
            double[][] plainFailover = new double[2][failovers];
            double[][] tlsFailover = new double[2][failovers];
            for (int r = 0; r < failovers; r++) {
                // Which cluster goes first changes every round.
                if (r % 2 == 0) {
                    failover(plain, plainFailover, r);
                    failover(tls, tlsFailover, r);
                } else {
                    failover(tls, tlsFailover, r);
                    failover(plain, plainFailover, r);
                }
            }
            report(plain.mode, plainFailover);
            report(tls.mode, tlsFailover);
            double pc = median(plainCreate), tc = median(tlsCreate);
            double pf = median(plainFailover[0]), tf = median(tlsFailover[0]);
            double pm = mean(plainFailover[0]), tm = mean(tlsFailover[0]);
            double ph = median(plainFailover[1]), th = median(tlsFailover[1]);
            System.out.printf("TLS: create %.2f s vs plaintext %.2f s: ratio %.2f; failover median %.2f s vs %.2f s: ratio %.2f"
                    + " (means %.2f s vs %.2f s: %.2f); healthy write %.3f s vs %.3f s: ratio %.2f (target <= 1.15)%n",
                    tc, pc, tc / pc, tf, pf, tf / pf, tm, pm, tm / pm, th, ph, th / ph);
        }
    }

    static Managers managers(LocalCluster cluster, boolean tls) throws Exception {
        String[] tlsArgs = tls ? new String[0] : new String[] {"--tls=false"};
        return managers(cluster, tls ? "mutual TLS" : "plaintext (--tls=false)", name -> tlsArgs);
    }

    /** Three managers on 127.0.0.1, each started with its own extra flags, drained. */
    static Managers managers(LocalCluster cluster, String mode, java.util.function.Function<String, String[]> args) throws Exception {
        Member m1 = cluster.init("m1", concat(args.apply("m1"), "--heartbeat-period", "1s"));
        String managerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
        String workerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        Member m2 = cluster.join("m2", null, m1, managerToken, args.apply("m2"));
        Member m3 = cluster.join("m3", null, m1, managerToken, args.apply("m3"));
        LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(m1) == 3, "3 managers are ready");
        // Managers only manage here, as in a production cluster: all tasks go to the simulated nodes.
        for (String m : List.of("m1", "m2", "m3")) {
            cluster.swarmctl(m1, "node", "update", "--availability", "drain", m).ok();
        }
        return new Managers(mode, cluster, m1, m2, m3, workerToken);
    }

    /** The create runs on one cluster, with its fleet of simulated nodes joined for them. */
    static double[] creates(Managers c, int runs, int replicas, int agents) throws Exception {
        List<Agent> fleet = fleet(c, agents, c.mode.startsWith("plaintext"));
        try {
            double[] create = new double[runs];
            double[] createOne = new double[runs];
            for (int r = 0; r < runs; r++) {
                createOne[r] = timeCreate(c.m2, "one" + r, 1);
                create[r] = timeCreate(c.m2, "big" + r, replicas);
                remove(c.m2, "one" + r, "big" + r);
            }
            System.out.printf("create (%s): --replicas %d ASSIGNED on %d nodes through 3 managers: median %.2f s over %d runs %s (target <= 5 s)%n",
                    c.mode, replicas, agents, median(create), runs, Arrays.toString(round(create)));
            System.out.printf("baseline --replicas 1: median %.3f s; ratio %.1f%n", median(createOne), median(create) / median(createOne));
            return create;
        } finally {
            for (Agent a : fleet) {
                a.close();
            }
        }
    }

    /**
     * Simulated nodes joined to a cluster through the real join and session protocol (they
     * run no containers), ready when this returns; closed by the caller.
     */
    static List<Agent> fleet(Managers c, int agents, boolean plaintext) throws Exception {
        List<Agent> fleet = new ArrayList<>();
        boolean done = false;
        try {
            // Simulated workers run no tasks: they only use the real protocol to register.
            for (int i = 0; i < agents; i++) {
                NodeDescription d = NodeDescription.newBuilder().setHostname("bench-" + i)
                        .setPlatform(Platform.newBuilder().setOs("linux").setArchitecture("amd64"))
                        .setResources(Resources.newBuilder().setNanoCpus(8_000_000_000L).setMemoryBytes(32L << 30)).build();
                // Joined as swarmd joins: the root checked against the token, a certificate for a key of its own.
                io.jswarm.cli.Joining.Joined j = io.jswarm.cli.Joining.join(c.m1.addr(), c.workerToken,
                        JoinRequest.newBuilder().setDescription(d).setAddr("127.0.0.1:1"), plaintext);
                io.jswarm.agent.StatusQueue statuses = new io.jswarm.agent.StatusQueue();
                Agent a = new Agent(j.response().getNodeId(), d, "127.0.0.1:1", List.of(c.m1.addr(), c.m2.addr(), c.m3.addr()), (n, m) -> {},
                        new SimulatedTasks(statuses), statuses, j.tls().channelCredentials());
                a.start();
                fleet.add(a);
            }
            LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(c.m1) == 3 + agents, agents + " agents are ready");
            done = true;
            return fleet;
        } finally {
            if (!done) {
                for (Agent a : fleet) {
                    a.close();
                }
            }
        }
    }

    /**
     * One failover of this cluster: the median of 20 writes with a healthy leader into
     * {@code out[1][r]}, then {@code kill -9} of the leader until a survivor accepts a write
     * into {@code out[0][r]}; the killed manager is restarted and settles as a follower.
     */
    static void failover(Managers c, double[][] out, int r) throws Exception {
        Member leader = leader(c.cluster, c.m1, c.m2, c.m3);
        Member survivor = leader == c.m1 ? c.m2 : c.m1;
        // One write is a few tens of milliseconds: the median of 20 is what the run reports.
        double[] writes = new double[20];
        for (int w = 0; w < writes.length; w++) {
            writes[w] = timeWrite(survivor, 10_000);
        }
        out[1][r] = median(writes);
        long t0 = System.nanoTime();
        leader.kill();
        timeWrite(survivor, 60_000);
        out[0][r] = (System.nanoTime() - t0) / 1e9;
        leader.start();
        LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(survivor) >= 3 && leaderKnown(survivor), "the manager is back");
        awaitAnswering(leader, Duration.ofSeconds(120));
        Thread.sleep(3_000);  // let it settle as a follower before the next kill
    }

    /** Until a restarted manager answers a read on its control socket. */
    static void awaitAnswering(Member m, Duration timeout) throws Exception {
        LocalCluster.await(timeout, () -> {
            try (ControlClient cc = m.control()) {
                return cc.stub().listServices(ListServicesRequest.getDefaultInstance()) != null;
            } catch (RuntimeException e) {
                return false;
            }
        }, "the restarted manager " + m.name + " answers");
    }

    static void report(String mode, double[][] failover) {
        System.out.printf("failover (%s): kill -9 of the leader until a write is accepted: median %.2f s, mean %.2f s over %d runs %s (target <= 3 s)%n",
                mode, median(failover[0]), mean(failover[0]), failover[0].length, Arrays.toString(round(failover[0])));
        System.out.printf("baseline write with a healthy leader (%s): median %.3f s%n", mode, median(failover[1]));
    }

    static double mean(double[] xs) {
        return Arrays.stream(xs).average().orElse(Double.NaN);
    }

    static String[] concat(String[] head, String... tail) {
        String[] out = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    static boolean leaderKnown(Member via) {
        try (ControlClient c = via.control()) {
            return c.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList().stream()
                    .anyMatch(n -> n.hasManagerStatus() && n.getManagerStatus().getLeader());
        } catch (RuntimeException e) {
            return false;
        }
    }

    static Member leader(LocalCluster cluster, Member... via) {
        for (Member m : via) {
            try (ControlClient c = m.control()) {
                for (Node n : c.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList()) {
                    if (n.hasManagerStatus() && n.getManagerStatus().getLeader()) {
                        return cluster.member(n.getDescription().getHostname());
                    }
                }
            } catch (RuntimeException e) {
                // try the next one
            }
        }
        throw new IllegalStateException("no leader");
    }

    static double timeCreate(Member via, String name, int replicas) throws Exception {
        try (ControlClient c = via.control()) {
            long t0 = System.nanoTime();
            String id = c.stub().createService(CreateServiceRequest.newBuilder().setSpec(ServiceSpec.newBuilder()
                    .setAnnotations(io.jswarm.api.Annotations.newBuilder().setName(name))
                    .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                            .setImage("127.0.0.1:5000/busybox:1")))
                    .setReplicated(ReplicatedService.newBuilder().setReplicas(replicas))).build()).getService().getMeta().getId();
            while (true) {
                List<Task> ts = c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(id).build()).getTasksList();
                long assigned = ts.stream().filter(t -> t.getStatus().getState() == TaskState.ASSIGNED).count();
                if (assigned == replicas) {
                    return (System.nanoTime() - t0) / 1e9;
                }
                if ((System.nanoTime() - t0) > 120e9) {
                    throw new IllegalStateException("only " + assigned + " of " + replicas + " assigned after 120 s");
                }
                Thread.sleep(20);
            }
        }
    }

    static void remove(Member via, String... names) throws Exception {
        try (ControlClient c = via.control()) {
            for (String name : names) {
                c.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(name).build());
            }
            LocalCluster.await(Duration.ofSeconds(120), () -> c.stub().listTasks(ListTasksRequest.getDefaultInstance())
                    .getTasksCount() == 0, "the removed services' tasks are gone");
        }
    }

    /** Time until one cluster update is accepted through this manager. */
    static double timeWrite(Member via, long timeoutMs) throws Exception {
        long t0 = System.nanoTime();
        while (true) {
            try (ControlClient c = via.control()) {
                var cl = c.stub().getCluster(io.jswarm.api.control.GetClusterRequest.getDefaultInstance()).getCluster();
                c.stub().updateCluster(UpdateClusterRequest.newBuilder().setClusterVersion(cl.getMeta().getVersion())
                        .setSpec(cl.getSpec()).build());
                return (System.nanoTime() - t0) / 1e9;
            } catch (RuntimeException e) {
                if ((System.nanoTime() - t0) / 1e6 > timeoutMs) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
    }

    static double median(double[] xs) {
        return SchedulerBenchmark.median(xs);
    }

    static double[] round(double[] xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            out[i] = Math.round(xs[i] * 100) / 100.0;
        }
        return out;
    }
}
