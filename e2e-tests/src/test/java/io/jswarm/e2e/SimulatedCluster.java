package io.jswarm.e2e;

import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.List;

/**
 * The usual end-to-end setup: a test network of simulated hosts, a registry on its
 * bridge holding busybox images (tag 1 runs {@code sleep 1000}, tag fails exits 7), and
 * a cluster of one manager (m1) and the given number of workers (w1, w2, ...), each on
 * its own host. Closing it removes all of it.
 */
public final class SimulatedCluster implements AutoCloseable {
    public final TestNetwork net;
    public final TestRegistry registry;
    public final LocalCluster cluster;
    public final Member m1;
    public final String image;
    public final String failing;

    /** @param nodeArgs more swarmd flags for every node */
    public SimulatedCluster(int workers, String heartbeat, String... nodeArgs) throws Exception {
        this(workers, heartbeat, nodeArgs, nodeArgs);
    }

    /**
     * Flags for the manager and for the workers apart; "{gateway}" in a flag stands for the
     * test bridge's address (where the test's own servers, such as a stub DNS server, listen).
     */
    public SimulatedCluster(int workers, String heartbeat, String[] managerArgs, String[] workerArgs) throws Exception {
        net = new TestNetwork();
        TestRegistry r = null;
        LocalCluster c = null;
        try {
            r = new TestRegistry(net.gateway(), 5000);
            byte[] busybox = TestImages.busyboxLayer();
            TestImages.push(r.addr, "busybox", "1", List.of(busybox), List.of("sleep", "1000"), List.of());
            TestImages.push(r.addr, "busybox", "fails", List.of(busybox), List.of("sh", "-c", "exit 7"), List.of());
            c = new LocalCluster().insecureRegistry(r.addr);
            List<String> initArgs = new java.util.ArrayList<>(List.of("--heartbeat-period", heartbeat));
            initArgs.addAll(withGateway(managerArgs));
            Member m = c.init("m1", net.addHost("m1", 1), initArgs.toArray(String[]::new));
            String token = c.swarmctl(m, "cluster", "join-token", "-q", "worker").ok().out().trim();
            for (int i = 1; i <= workers; i++) {
                c.join("w" + i, net.addHost("w" + i, i + 1), m, token, withGateway(workerArgs).toArray(String[]::new));
            }
            LocalCluster.await(Duration.ofSeconds(90), () -> LocalCluster.readyNodes(m) == workers + 1, (workers + 1) + " nodes are ready");
            this.m1 = m;
        } catch (Exception | AssertionError e) {
            closeAll(c, r, net);
            throw e;
        }
        this.registry = r;
        this.cluster = c;
        this.image = r.addr + "/busybox:1";
        this.failing = r.addr + "/busybox:fails";
    }

    private List<String> withGateway(String[] args) {
        return java.util.Arrays.stream(args).map(a -> a.replace("{gateway}", net.gateway())).toList();
    }

    /**
     * Promotes w1 and w2 (three managers); returns once w1 serves the Control API with the
     * cluster's services. Returns w1.
     */
    public Member promoteWorkers() throws Exception {
        for (String w : List.of("w1", "w2")) {
            cluster.swarmctl(m1, "node", "promote", w).ok();
        }
        Member w1 = cluster.member("w1");
        int services = LocalCluster.services(m1).size();
        LocalCluster.await(Duration.ofSeconds(60), () -> {
            try {
                return LocalCluster.nodes(m1).stream().filter(n -> n.getRole() == io.jswarm.api.NodeRole.MANAGER).count() == 3
                        && LocalCluster.services(w1).size() == services;
            } catch (RuntimeException e) {
                return false;
            }
        }, "three managers");
        return w1;
    }

    /**
     * kill -9 of a worker's swarmd and a restart, returning once every node is READY again.
     * swarmd takes 3-4 s to start here: with the tests' 1 s heartbeats the node would be
     * marked DOWN (3 periods) and its tasks replaced before it is back, so the period is 5 s
     * (the default) meanwhile, then 1 s again.
     */
    public void restartWorker(Member w) throws Exception {
        long nodes = LocalCluster.nodes(m1).size();
        cluster.swarmctl(m1, "cluster", "update", "--heartbeat-period", "5s").ok();
        try {
            w.kill();
            // The node still counts as READY until its heartbeats are missed: back means a new session.
            long sessions = sessionsOpened(w);
            w.start();
            LocalCluster.await(Duration.ofSeconds(60), () -> sessionsOpened(w) > sessions && LocalCluster.readyNodes(m1) == nodes, w.name + " is back");
        } finally {
            cluster.swarmctl(m1, "cluster", "update", "--heartbeat-period", "1s").ok();
        }
    }

    /** How many sessions the node's agent has opened, by its log. */
    static long sessionsOpened(Member m) {
        return m.logText().lines().filter(l -> l.contains("open with manager")).count();
    }


    @Override
    public void close() throws Exception {
        closeAll(cluster, registry, net);
    }

    /** Removes a cluster, its registry and its network, in that order; null parts are skipped. */
    static void closeAll(LocalCluster cluster, TestRegistry registry, TestNetwork net) throws Exception {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            try {
                if (registry != null) {
                    registry.close();
                }
            } finally {
                net.close();
            }
        }
    }
}
