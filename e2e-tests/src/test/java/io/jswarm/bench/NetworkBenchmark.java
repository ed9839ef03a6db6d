package io.jswarm.bench;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.InContainer;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.SimulatedCluster;
import io.jswarm.e2e.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Overlay networks on three simulated hosts, each figure against a baseline in the same run:
 * <ul>
 * <li>DNS: dnsperf in a container's namespace against the embedded server (127.0.0.11), and
 * against dnsmasq serving the same names from a hosts file in the same namespace;</li>
 * <li>throughput: iperf3 between containers on two hosts over the overlay, and between the
 * two hosts' own addresses;</li>
 * <li>start: 20 replicas on an overlay network until RUNNING, and 20 with no network;</li>
 * <li>convergence: {@code service scale web=50} until a container on another host sees
 * all 50 addresses in {@code tasks.web} (dig over TCP: 50 answers do not fit in 512 bytes).</li>
 * </ul>
 */
public final class NetworkBenchmark {
    static LocalCluster cluster;
    static Member m1;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        try (SimulatedCluster sim = new SimulatedCluster(2, "1s")) {
            cluster = sim.cluster;
            m1 = sim.m1;
            String web = sim.registry.addr + "/busybox:web";
            TestImages.push(sim.registry.addr, "busybox", "web", List.of(TestImages.busyboxLayer()),
                    List.of("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"), List.of());
            swarmctl("network", "create", "bench");
            swarmctl("service", "create", "-d", "--name", "web", "--replicas", "3", "--network", "bench", "--stop-grace-period", "0s", web);
            swarmctl("service", "create", "-d", "--name", "client", "--network", "bench", "--constraint", "node.hostname==m1",
                    "--stop-grace-period", "0s", sim.image);
            LocalCluster.await(Duration.ofSeconds(90), () -> running("web").size() == 3 && running("client").size() == 1, "web and client run");
            Task client = running("client").get(0);
            LocalCluster.await(Duration.ofSeconds(30), () -> {
                try {
                    return InContainer.resolve(cluster, client, "tasks.web").size() == 3;
                } catch (Exception e) {
                    return false;
                }
            }, "tasks.web resolves");

            // bin/bench networks RUNS [dns|throughput|start|convergence]: one part only.
            String only = args.length > 1 ? args[1] : "all";
            if (only.equals("all") || only.equals("dns")) {
                dns(client, runs);
            }
            if (only.equals("all") || only.equals("throughput")) {
                throughput(sim, runs);
            }
            if (only.equals("all") || only.equals("start")) {
                start(sim.image, runs);
            }
            if (only.equals("all") || only.equals("convergence")) {
                convergence(client);
            }
        }
    }

    static void swarmctl(String... args) throws Exception {
        cluster.swarmctl(m1, args).ok();
    }

    static List<Task> running(String service) {
        try (ControlClient c = m1.control()) {
            return c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(service).build()).getTasksList().stream()
                    .filter(t -> t.getDesiredState() == TaskState.RUNNING && t.getStatus().getState() == TaskState.RUNNING).toList();
        }
    }

    static String run(List<String> cmd, long timeoutS) throws Exception {
        return io.jswarm.overlay.Commands.check(cmd, timeoutS);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double number(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no figure matching " + regex + " in: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    static void dns(Task client, int runs) throws Exception {
        String vip = InContainer.resolve(cluster, client, "web").iterator().next();
        List<String> tasks = new ArrayList<>(InContainer.resolve(cluster, client, "tasks.web"));
        Path dir = Files.createTempDirectory("jswarm-dnsbench-");
        try {
            StringBuilder hosts = new StringBuilder(vip + " web\n");
            for (String t : tasks) {
                hosts.append(t).append(" tasks.web\n");
            }
            hosts.append(InContainer.addr(client)).append(" client\n");
            Files.writeString(dir.resolve("hosts"), hosts);
            Files.writeString(dir.resolve("queries"), "web A\ntasks.web A\nclient A\n");
            String ns = InContainer.netns(client);
            // dnsmasq on 127.0.0.12 in the same namespace, the same names, no upstream.
            Process dnsmasq = new ProcessBuilder("nsenter", "--net=" + ns, "dnsmasq", "-k", "--no-resolv", "--no-hosts",
                    "--addn-hosts=" + dir.resolve("hosts"), "--listen-address=127.0.0.12", "--bind-interfaces", "--port=53",
                    "--user=root", "--cache-size=1000", "--pid-file=" + dir.resolve("pid"))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("dnsmasq.log").toFile()).start();
            try {
                Thread.sleep(500);
                double[] ours = new double[runs];
                double[] base = new double[runs];
                for (int r = 0; r < runs; r++) {
                    ours[r] = dnsperf(ns, "127.0.0.11", dir.resolve("queries"));
                    base[r] = dnsperf(ns, "127.0.0.12", dir.resolve("queries"));
                }
                System.out.printf("dns: embedded server %.0f queries/s, dnsmasq %.0f queries/s (medians of %d), ratio %.2f (target >= 1)%n",
                        median(ours), median(base), runs, median(ours) / median(base));
            } finally {
                dnsmasq.destroy();
                dnsmasq.waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            LocalCluster.deleteTree(dir);
        }
    }

    static double dnsperf(String ns, String server, Path queries) throws Exception {
        String out = run(List.of("nsenter", "--net=" + ns, "dnsperf", "-s", server, "-d", queries.toString(), "-l", "5", "-c", "4",
                "-q", "200"), 60);
        double lost = number(out, "Queries lost:\\s+(\\d+)");
        if (lost > 0) {
            System.out.println("  (" + server + " lost " + (long) lost + " queries)");
        }
        return number(out, "Queries per second:\\s+([0-9.]+)");
    }

    static void throughput(SimulatedCluster sim, int runs) throws Exception {
        List<Task> web = running("web");
        Task a = web.get(0);
        Task b = web.stream().filter(t -> !t.getNodeId().equals(a.getNodeId())).findFirst().orElseThrow();
        String hostA = hostNs(sim, a.getNodeId());
        String hostB = hostNs(sim, b.getNodeId());
        String hostAddrA = nodeAddr(a.getNodeId());
        double[] overlay = new double[runs];
        double[] underlay = new double[runs];
        for (int r = 0; r < runs; r++) {
            overlay[r] = iperf(InContainer.netns(a), InContainer.netns(b), InContainer.addr(a));
            underlay[r] = iperf("/var/run/netns/" + hostA, "/var/run/netns/" + hostB, hostAddrA);
        }
        System.out.printf("throughput: overlay %.2f Gbit/s, hosts' own addresses %.2f Gbit/s (medians of %d), ratio %.2f (target >= 0.8)%n",
                median(overlay) / 1e9, median(underlay) / 1e9, runs, median(overlay) / median(underlay));
    }

    static String nodeAddr(String nodeId) {
        String a = LocalCluster.nodes(m1).stream().filter(n -> n.getMeta().getId().equals(nodeId)).findFirst().orElseThrow()
                .getStatus().getAddr();
        return a.substring(0, a.lastIndexOf(':'));
    }

    static String hostNs(SimulatedCluster sim, String nodeId) {
        String hostname = LocalCluster.nodes(m1).stream().filter(n -> n.getMeta().getId().equals(nodeId)).findFirst().orElseThrow()
                .getDescription().getHostname();
        return "jsh" + sim.net.tag + "-" + hostname;
    }

    /** iperf3 for 5 s from one namespace to a server in the other; bits per second received. */
    static double iperf(String serverNs, String clientNs, String serverAddr) throws Exception {
        Process server = new ProcessBuilder("nsenter", "--net=" + serverNs, "iperf3", "-s", "-1", "-p", "5299")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            String out = run(List.of("nsenter", "--net=" + clientNs, "iperf3", "-c", serverAddr, "-p", "5299", "-t", "5", "-J"), 60);
            return number(out.substring(out.indexOf("\"sum_received\"")), "\"bits_per_second\":\\s*([0-9.e+]+)");
        } finally {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static void start(String image, int runs) throws Exception {
        double[] withNet = new double[runs];
        double[] without = new double[runs];
        for (int r = 0; r < runs; r++) {
            without[r] = timeStart("plain" + r, image, null);
            withNet[r] = timeStart("net" + r, image, "bench");
        }
        System.out.printf("start: 20 replicas on an overlay network %.2f s, with no network %.2f s (medians of %d), ratio %.2f (target <= 1.3)%n",
                median(withNet), median(without), runs, median(withNet) / median(without));
    }

    static double timeStart(String name, String image, String network) throws Exception {
        io.jswarm.api.TaskSpec.Builder task = io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                .setImage(image).setStopGracePeriod(com.google.protobuf.Duration.getDefaultInstance()));
        if (network != null) {
            task.addNetworks(io.jswarm.api.NetworkAttachmentConfig.newBuilder().setTarget(network));
        }
        long t0 = System.nanoTime();
        double took;
        try (ControlClient c = m1.control()) {
            c.stub().createService(io.jswarm.api.control.CreateServiceRequest.newBuilder().setSpec(io.jswarm.api.ServiceSpec.newBuilder()
                    .setAnnotations(io.jswarm.api.Annotations.newBuilder().setName(name)).setTask(task)
                    .setReplicated(io.jswarm.api.ReplicatedService.newBuilder().setReplicas(20))).build());
            while (true) {
                List<Task> ts = c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(name).build()).getTasksList();
                if (ts.stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() == 20) {
                    took = (System.nanoTime() - t0) / 1e9;
                    break;
                }
                if (System.nanoTime() - t0 > 180e9) {
                    throw new IllegalStateException(name + " did not start 20 tasks in 180 s");
                }
                Thread.sleep(20);
            }
        }
        swarmctl("service", "rm", name);
        LocalCluster.await(Duration.ofSeconds(120), () -> {
            try (ControlClient c = m1.control()) {
                return c.stub().listTasks(ListTasksRequest.getDefaultInstance()).getTasksList().stream()
                        .noneMatch(t -> t.getServiceName().equals(name));
            }
        }, name + " is gone");
        return took;
    }

    static void convergence(Task client) throws Exception {
        long t0 = System.nanoTime();
        swarmctl("service", "scale", "-d", "web=50");
        while (true) {
            String out = run(List.of("nsenter", "--net=" + InContainer.netns(client), "dig", "+tcp", "+short", "+time=2", "+tries=1",
                    "@127.0.0.11", "tasks.web"), 30);
            if (out.lines().filter(l -> l.matches("\\d+\\.\\d+\\.\\d+\\.\\d+")).count() == 50) {
                break;
            }
            if (System.nanoTime() - t0 > 300e9) {
                throw new IllegalStateException("tasks.web did not reach 50 addresses in 300 s: " + out);
            }
            Thread.sleep(100);
        }
        System.out.printf("convergence: service scale web=50 until a container on another host sees 50 addresses in tasks.web: %.2f s%n",
                (System.nanoTime() - t0) / 1e9);
    }
}
