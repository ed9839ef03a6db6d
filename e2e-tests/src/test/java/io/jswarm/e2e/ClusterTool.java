package io.jswarm.e2e;

import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.e2e.LocalCluster.Member;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * bin/cluster: a cluster of simulated hosts on this machine, built from the end-to-end
 * harness's own parts (TestNetwork, TestRegistry, TestImages, LocalCluster): each host a
 * network namespace with its address on a bridge and its own swarmd (state directory,
 * runtime root, cgroup parent); a registry on the bridge with the demo image. Every
 * command after {@code up} finds the cluster again from its directory: the swarmd
 * processes by the pid files their locks hold, the hosts by their fixed names. One such
 * cluster per machine.
 */
public final class ClusterTool {
    /** Names no test uses: tests tag their networks with four hex digits, and take 10.231.10-249. */
    static final String TAG = "cl";
    static final String PREFIX = "10.231.5";
    static final String CGROUP_PARENT = "/jswarm-cluster";
    static final String HEARTBEAT = "2s";

    private final Path dir;

    ClusterTool(Path dir) {
        this.dir = dir;
    }

    public static void main(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        Path dir = Path.of(System.getenv().getOrDefault("JSWARM_CLUSTER_DIR", "/var/lib/jswarm-cluster"));
        int status;
        try {
            status = new ClusterTool(dir).run(a);
        } catch (IllegalArgumentException e) {
            System.err.println("cluster: " + e.getMessage());
            status = 1;
        } catch (Exception | AssertionError e) {
            System.err.println("cluster: " + (e.getMessage() != null ? e.getMessage() : "failed: " + e));
            status = 1;
        }
        System.exit(status);
    }

    static final String USAGE = String.join("\n",
            "usage: bin/cluster up [--managers N] [--workers N]   a cluster of simulated hosts (default 3 managers, 2 workers)",
            "       bin/cluster ls                                 the hosts: address, swarmd, link, and the cluster's view",
            "       bin/cluster kill HOST                          kill -9 of the host's swarmd (its containers keep running)",
            "       bin/cluster cut HOST | heal HOST               the host's link down / up",
            "       bin/cluster restart HOST                       stop the host's swarmd if it runs, and start it again",
            "       bin/cluster down                               remove everything (also after a crash)",
            "The cluster lives in $JSWARM_CLUSTER_DIR (default /var/lib/jswarm-cluster).");

    int run(List<String> a) throws Exception {
        if (a.isEmpty()) {
            throw new IllegalArgumentException("no command\n" + USAGE);
        }
        String cmd = a.remove(0);
        switch (cmd) {
            case "up" -> up(a);
            case "ls" -> ls(noArgs(cmd, a));
            case "kill", "cut", "heal", "restart" -> host(cmd, a);
            case "down" -> down(noArgs(cmd, a));
            case "-h", "--help", "help" -> System.out.println(USAGE);
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"\n" + USAGE);
        }
        return 0;
    }

    private static List<String> noArgs(String cmd, List<String> a) {
        if (!a.isEmpty()) {
            throw new IllegalArgumentException(cmd + " takes no arguments: " + String.join(" ", a));
        }
        return a;
    }

    // ------------------------------------------------------------------ the cluster's record

    private Path record() {
        return dir.resolve("cluster.properties");
    }

    private Properties load() throws IOException {
        Properties p = new Properties();
        if (Files.exists(record())) {
            try (InputStream in = Files.newInputStream(record())) {
                p.load(in);
            }
        }
        return p;
    }

    /** Host names and numbers: managers m1..mN on hosts 1..N, workers w1..wM after them. */
    static Map<String, Integer> hostNumbers(int managers, int workers) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int i = 1; i <= managers; i++) {
            out.put("m" + i, i);
        }
        for (int i = 1; i <= workers; i++) {
            out.put("w" + i, managers + i);
        }
        return out;
    }

    private Map<String, Integer> hostNumbers(Properties p) {
        return hostNumbers(Integer.parseInt(p.getProperty("managers", "0")), Integer.parseInt(p.getProperty("workers", "0")));
    }

    /** The recorded cluster, found again; refuses when there is none. */
    private LocalCluster attach(TestNetwork net, Properties p) throws IOException {
        if (!Files.exists(record())) {
            throw new IllegalArgumentException("no cluster in " + dir + ": bin/cluster up makes one");
        }
        Map<String, TestNetwork.Host> hosts = new LinkedHashMap<>();
        hostNumbers(p).forEach((name, n) -> hosts.put(name, net.host(name, n)));
        return new LocalCluster(dir, CGROUP_PARENT, hosts).insecureRegistry(p.getProperty("registry"));
    }

    // ------------------------------------------------------------------ commands

    private void up(List<String> a) throws Exception {
        int managers = 3;
        int workers = 2;
        for (int i = 0; i < a.size(); i++) {
            String flag = a.get(i);
            if (!flag.equals("--managers") && !flag.equals("--workers")) {
                throw new IllegalArgumentException("unknown flag \"" + flag + "\" for up\n" + USAGE);
            }
            if (i + 1 >= a.size() || !a.get(i + 1).matches("[0-9]{1,3}")) {
                throw new IllegalArgumentException(flag + " needs a number");
            }
            int n = Integer.parseInt(a.get(++i));
            if (flag.equals("--managers")) {
                managers = n;
            } else {
                workers = n;
            }
        }
        if (managers < 1 || managers > 7) {
            throw new IllegalArgumentException("--managers must be 1 to 7 (odd numbers keep a majority: 1, 3, 5, 7)");
        }
        if (workers < 0 || workers > 20) {
            throw new IllegalArgumentException("--workers must be 0 to 20");
        }
        if (Files.exists(record()) || Files.exists(Path.of("/sys/class/net/jsbr" + TAG))) {
            throw new IllegalArgumentException("a cluster is already up (" + dir + "): bin/cluster ls shows it,"
                    + " bin/cluster down removes it");
        }
        // Recorded first: whatever the rest does, down finds it.
        Properties p = new Properties();
        p.setProperty("managers", String.valueOf(managers));
        p.setProperty("workers", String.valueOf(workers));
        String registryAddr = PREFIX + ".1:5000";
        p.setProperty("registry", registryAddr);
        Files.createDirectories(dir);
        try (OutputStream out = Files.newOutputStream(record())) {
            p.store(out, "bin/cluster");
        }
        TestNetwork net = new TestNetwork(TAG, PREFIX, true);
        System.out.println("cluster: bridge " + net.bridge + " (" + net.gateway() + "/24)");
        TestRegistry.detached(net.gateway(), 5000, dir.resolve("registry"));
        String image = TestImages.busybox(registryAddr);
        System.out.println("cluster: registry on " + registryAddr + " with " + image);
        LocalCluster c = new LocalCluster(dir, CGROUP_PARENT, Map.of()).insecureRegistry(registryAddr);
        Map<String, Integer> numbers = hostNumbers(managers, workers);
        Member m1 = c.init("m1", net.addHost("m1", 1), "--heartbeat-period", HEARTBEAT);
        String managerToken = c.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
        String workerToken = c.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        for (Map.Entry<String, Integer> h : numbers.entrySet()) {
            if (!h.getKey().equals("m1")) {
                c.join(h.getKey(), net.addHost(h.getKey(), h.getValue()), m1, h.getKey().startsWith("m") ? managerToken : workerToken);
            }
        }
        LocalCluster.await(Duration.ofSeconds(180), () -> LocalCluster.readyNodes(m1) == numbers.size(),
                "all " + numbers.size() + " nodes are ready");
        System.out.println();
        ls(List.of());
        System.out.println();
        System.out.println("cluster: to use it:  export SWARM_SOCKET=" + m1.socket());
        System.out.println("cluster: then e.g.   bin/swarmctl service create --name web --replicas 6 -p 8080:80 " + image
                + " sh -c 'echo \"hello from $(hostname)\" > /tmp/index.html && exec httpd -f -p 80 -h /tmp'");
        System.out.println("cluster:             curl http://" + m1.ip() + ":8080/   (any host's address answers)");
    }

    private void ls(List<String> a) throws Exception {
        Properties p = load();
        TestNetwork net = new TestNetwork(TAG, PREFIX, false);
        LocalCluster c = attach(net, p);
        Map<String, Node> seen = clusterView(c);
        System.out.println(String.format("%-6s %-14s %-22s %-6s %s", "HOST", "ADDRESS", "SWARMD", "LINK", "IN THE CLUSTER"));
        for (Map.Entry<String, Integer> h : hostNumbers(p).entrySet()) {
            TestNetwork.Host host = net.host(h.getKey(), h.getValue());
            Member m = c.member(h.getKey());
            String swarmd = m == null ? "-" : m.running() ? "running (pid " + m.pid() + ")" : "not running";
            Node n = seen.get(h.getKey());
            String view = n == null ? (seen.isEmpty() ? "(no manager answers)" : "-")
                    : n.getStatus().getState().name().replace("NODE_", "").toLowerCase(java.util.Locale.ROOT)
                            + ", " + (n.getRole() == NodeRole.MANAGER ? (n.getManagerStatus().getLeader() ? "manager (leader)" : "manager")
                                    : "worker")
                            + ", " + n.getSpec().getAvailability().name().toLowerCase(java.util.Locale.ROOT);
            System.out.println(String.format("%-6s %-14s %-22s %-6s %s", h.getKey(), host.ip(), swarmd, linkUp(host) ? "up" : "down", view));
        }
    }

    /** The nodes as the first manager that answers sees them, by hostname; empty when none answers. */
    private static Map<String, Node> clusterView(LocalCluster c) {
        Map<String, Node> out = new LinkedHashMap<>();
        for (Member m : c.members()) {
            if (!m.running() || !Files.exists(m.socket())) {
                continue;
            }
            try (var cc = m.control()) {
                for (Node n : cc.stub().withDeadlineAfter(3, java.util.concurrent.TimeUnit.SECONDS)
                        .listNodes(io.jswarm.api.control.ListNodesRequest.getDefaultInstance()).getNodesList()) {
                    out.put(n.getDescription().getHostname(), n);
                }
                return out;
            } catch (RuntimeException e) {
                // a worker, or no quorum: the next
            }
        }
        return out;
    }

    /** Its swarmd answers on its socket (a worker's refusal of the Control API is an answer too). */
    private static boolean answers(Member m) {
        if (!m.running() || !Files.exists(m.socket())) {
            return false;
        }
        try (var cc = m.control()) {
            cc.stub().withDeadlineAfter(2, java.util.concurrent.TimeUnit.SECONDS)
                    .listNodes(io.jswarm.api.control.ListNodesRequest.getDefaultInstance());
            return true;
        } catch (io.grpc.StatusRuntimeException e) {
            return e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean linkUp(TestNetwork.Host h) {
        try {
            return TestNetwork.out("ip", "-o", "link", "show", h.veth()).matches("(?s)[^<]*<[^>]*\\bUP\\b.*");
        } catch (IOException e) {
            return false;
        }
    }

    private void host(String cmd, List<String> a) throws Exception {
        if (a.size() != 1) {
            throw new IllegalArgumentException(cmd + " needs one host, e.g. bin/cluster " + cmd + " m1 (bin/cluster ls lists them)");
        }
        String name = a.get(0);
        Properties p = load();
        TestNetwork net = new TestNetwork(TAG, PREFIX, false);
        LocalCluster c = attach(net, p);
        Integer n = hostNumbers(p).get(name);
        Member m = c.member(name);
        if (n == null || m == null) {
            throw new IllegalArgumentException("no host \"" + name + "\" in this cluster; its hosts: "
                    + String.join(", ", hostNumbers(p).keySet()));
        }
        switch (cmd) {
            case "kill" -> {
                long pid = m.pid();
                if (pid < 0) {
                    throw new IllegalArgumentException(name + "'s swarmd is not running (bin/cluster restart " + name + " starts it)");
                }
                m.kill();
                System.out.println("cluster: killed " + name + "'s swarmd (pid " + pid + ", kill -9); its containers keep running");
            }
            case "cut", "heal" -> {
                net.link(net.host(name, n), cmd.equals("heal"));
                System.out.println("cluster: " + name + "'s link is " + (cmd.equals("heal") ? "up again" : "down: the host is cut off"));
            }
            case "restart" -> {
                if (m.running()) {
                    m.stop();
                }
                c.restartWith(m, List.of());
                LocalCluster.await(Duration.ofSeconds(60), () -> answers(m), name + "'s swarmd answers on its socket");
                System.out.println("cluster: " + name + "'s swarmd runs again (pid " + m.pid() + ")");
            }
            default -> throw new IllegalStateException(cmd);
        }
    }

    private void down(List<String> a) throws Exception {
        Properties p = load();
        // Without a record (a crash before it was written), the hosts are the directories there are.
        if (p.isEmpty() && Files.isDirectory(dir)) {
            int managers = 0;
            int workers = 0;
            try (var all = Files.list(dir)) {
                for (Path d : all.toList()) {
                    String f = d.getFileName().toString();
                    if (f.matches("m[0-9]+")) {
                        managers = Math.max(managers, Integer.parseInt(f.substring(1)));
                    } else if (f.matches("w[0-9]+")) {
                        workers = Math.max(workers, Integer.parseInt(f.substring(1)));
                    }
                }
            }
            p.setProperty("managers", String.valueOf(managers));
            p.setProperty("workers", String.valueOf(workers));
        }
        TestNetwork net = new TestNetwork(TAG, PREFIX, false);
        Map<String, TestNetwork.Host> hosts = new LinkedHashMap<>();
        hostNumbers(p).forEach((name, n) -> hosts.put(name, net.host(name, n)));
        int nodes = 0;
        if (Files.isDirectory(dir)) {
            TestRegistry.stop(dir.resolve("registry"));
            LocalCluster c = new LocalCluster(dir, CGROUP_PARENT, hosts);
            nodes = c.members().size();
            c.close();  // swarmd by pid, containers, mounts, namespaces, cgroups, locks, the directory
        }
        net.close();  // the hosts' namespaces, the bridge, its forwarding rule
        System.out.println("cluster: down: " + nodes + " nodes, their containers and the registry stopped; hosts, bridge and "
                + dir + " removed");
    }
}
