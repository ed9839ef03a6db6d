package io.jswarm.bench;

import static io.jswarm.bench.NetworkBenchmark.median;
import static io.jswarm.bench.NetworkBenchmark.number;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.SimulatedCluster;
import io.jswarm.e2e.TestImages;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The routing mesh on three simulated hosts: m1 is the client, w1 the entry host, and
 * the service {@code web} has one task on w1 and one on w2. Each round runs wrk from m1
 * (keep-alive off: busybox httpd answers one request per connection, so every request is
 * a new connection through the rules) three ways, in turns:
 * <ul>
 * <li>mesh: w1:8080, published in ingress mode (w1's sandbox, then either task);</li>
 * <li>direct: w1:8081, the same task's host-mode port (one DNAT, no sandbox);</li>
 * <li>haproxy: w1:8090, haproxy (tcp mode) in w1's namespace forwarding round-robin to
 * both tasks' host-mode ports.</li>
 * </ul>
 * Then the backend change: while a client sends requests through the mesh back to back,
 * {@code service scale web=1} removes a task; printed are when its last request was
 * answered and when it stopped, from the scale command.
 */
public final class MeshBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String only = args.length > 1 ? args[1] : "all";  // bin/bench mesh RUNS [wrk|backend]: one part only
        try (SimulatedCluster sim = new SimulatedCluster(2, "1s")) {
            LocalCluster cluster = sim.cluster;
            Member m1 = sim.m1;
            Member w1 = cluster.member("w1");
            Member w2 = cluster.member("w2");
            String web = sim.registry.addr + "/busybox:web";
            TestImages.push(sim.registry.addr, "busybox", "web", List.of(TestImages.busyboxLayer()),
                    List.of("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"), List.of());
            cluster.swarmctl(m1, "service", "create", "-d", "--name", "web", "--mode", "global", "--constraint", "node.role==worker",
                    "-p", "8080:80", "--publish", "mode=host,published=8081,target=80", "--stop-grace-period", "1s", web).ok();
            LocalCluster.await(Duration.ofSeconds(90), () -> running(m1, "web").size() == 2, "web runs on w1 and w2");
            LocalCluster.await(Duration.ofSeconds(30), () -> answers(w1.ip(), 8080) && answers(w1.ip(), 8081) && answers(w2.ip(), 8081),
                    "the ports answer");
            Path cfg = Files.createTempFile("jswarm-haproxy-", ".cfg");
            Files.writeString(cfg, "global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n"
                    + "  timeout server 30s\nfrontend f\n  bind " + w1.ip() + ":8090\n  default_backend b\nbackend b\n  balance roundrobin\n"
                    + "  server s1 " + w1.ip() + ":8081\n  server s2 " + w2.ip() + ":8081\n");
            Process haproxy = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + w1.host.netns(), "haproxy", "-db", "-f", cfg.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                LocalCluster.await(Duration.ofSeconds(10), () -> answers(w1.ip(), 8090), "haproxy answers");
                if (only.equals("backend")) {
                    runs = 0;
                }
                double[][] rps = new double[3][runs];
                double[][] p99 = new double[3][runs];
                String[] names = {"mesh", "direct", "haproxy"};
                int[] ports = {8080, 8081, 8090};
                for (int r = 0; r < runs; r++) {
                    for (int i = 0; i < 3; i++) {
                        String out = wrk(m1, "http://" + w1.ip() + ":" + ports[i] + "/");
                        rps[i][r] = number(out, "Requests/sec:\\s+([0-9.]+)");
                        p99[i][r] = millis(out);
                    }
                }
                for (int i = 0; i < 3 && runs > 0; i++) {
                    System.out.printf("mesh benchmark: %-8s %8.0f requests/s, p99 %.2f ms (medians of %d)%n", names[i], median(rps[i]),
                            median(p99[i]), runs);
                }
                if (runs > 0) {
                    System.out.printf("mesh benchmark: mesh/direct %.2f (target >= 0.8), mesh/haproxy %.2f (target >= 1)%n",
                            median(rps[0]) / median(rps[1]), median(rps[0]) / median(rps[2]));
                }
            } finally {
                haproxy.destroy();
                haproxy.waitFor(10, TimeUnit.SECONDS);
                Files.deleteIfExists(cfg);
            }
            if (!only.equals("wrk")) {
                backendChange(cluster, m1, w1, web);
            }
        }
    }

    static List<Task> running(Member via, String service) {
        return LocalCluster.tasks(via, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static boolean answers(String ip, int port) {
        try {
            get(ip, port);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String get(String ip, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(ip, port), 1000);
            s.setSoTimeout(2000);
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int body = r.indexOf("\r\n\r\n");
            if (body < 0) {
                throw new IOException("no answer");
            }
            return r.substring(body + 4).strip();
        }
    }

    static String wrk(Member from, String url) throws Exception {
        return NetworkBenchmark.run(List.of("nsenter", "--net=/var/run/netns/" + from.host.netns(), "wrk", "-t1", "-c16", "-d5s",
                "--latency", "-H", "Connection: close", url), 60);
    }

    /** wrk's 99th percentile ("99%   3.21ms"), in milliseconds. */
    static double millis(String out) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("99%\\s+([0-9.]+)(us|ms|s)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no p99 in: " + out);
        }
        double v = Double.parseDouble(m.group(1));
        return switch (m.group(2)) {
            case "us" -> v / 1000;
            case "s" -> v * 1000;
            default -> v;
        };
    }

    /** While a client sends requests back to back through the mesh, one of web's two tasks is removed. */
    static void backendChange(LocalCluster cluster, Member m1, Member entry, String web) throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "web2", "--replicas", "2", "--constraint", "node.role==worker",
                "--replicas-max-per-node", "1", "-p", "8070:80", "--stop-grace-period", "1s", web).ok();
        LocalCluster.await(Duration.ofSeconds(90), () -> running(m1, "web2").size() == 2, "web2 runs");
        LocalCluster.await(Duration.ofSeconds(30), () -> answers(entry.ip(), 8070), "web2 answers");
        java.util.Map<String, Long> last = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        Thread client = new Thread(() -> {
            while (!done.get()) {
                try {
                    last.put(get(entry.ip(), 8070), System.currentTimeMillis());
                } catch (IOException e) {
                    failed.incrementAndGet();
                }
            }
        });
        client.start();
        Thread.sleep(1000);
        Set<String> before = new java.util.HashSet<>();
        running(m1, "web2").forEach(t -> before.add(t.getMeta().getId()));
        long t0 = System.currentTimeMillis();
        cluster.swarmctl(m1, "service", "scale", "-d", "web2=1").ok();
        // The removed task: the one no longer running; when it stopped, as it reported (or when it left the store).
        String[] removed = new String[1];
        long[] stoppedAt = new long[1];
        java.util.Map<String, Long> toldToStop = new java.util.HashMap<>();
        LocalCluster.await(Duration.ofSeconds(30), () -> {
            List<Task> all = LocalCluster.tasks(m1, "web2");
            long now = System.currentTimeMillis();
            for (Task t : all) {
                if (before.contains(t.getMeta().getId()) && t.getDesiredState() != TaskState.RUNNING) {
                    toldToStop.putIfAbsent(t.getMeta().getId(), now);
                }
            }
            for (String id : before) {
                Task t = all.stream().filter(x -> x.getMeta().getId().equals(id)).findFirst().orElse(null);
                if (t == null || t.getStatus().getState().getNumber() > TaskState.RUNNING_VALUE) {
                    removed[0] = id;
                    stoppedAt[0] = t == null ? System.currentTimeMillis() : t.getStatus().getTimestampMs();
                    return true;
                }
            }
            return false;
        }, "a task of web2 stopped");
        Thread.sleep(2000);
        done.set(true);
        client.join();
        Long lastAnswer = last.get(removed[0].substring(0, 12));
        long told = toldToStop.getOrDefault(removed[0], t0);
        System.out.printf("mesh benchmark: backend change: from the removed task's desired state leaving RUNNING (seen %d ms"
                        + " after the scale command was started), its last request answered %d ms later, it stopped %d ms later;"
                        + " %d requests failed%n",
                told - t0, lastAnswer == null ? -1 : lastAnswer - told, stoppedAt[0] - told, failed.get());
    }
}
