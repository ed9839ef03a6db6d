package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Overlay networks across three simulated hosts with real containers: service-name DNS
 * at 127.0.0.11 in each container, VIP load balancing, isolation between networks, and
 * nothing left behind. Everything a test checks is seen from inside the containers
 * (runc exec of busybox nslookup, wget) or on the hosts' own namespaces.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NetworksTest {
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member m1;
    static String sleeper;
    static String web;

    @BeforeAll
    static void start() throws Exception {
        sim = new SimulatedCluster(2, "1s");
        cluster = sim.cluster;
        m1 = sim.m1;
        sleeper = sim.image;
        // A web server answering its hostname.
        web = sim.registry.addr + "/busybox:web";
        TestImages.push(sim.registry.addr, "busybox", "web", List.of(TestImages.busyboxLayer()),
                List.of("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
    }

    static List<Task> running(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static String addr(Task t) {
        String a = t.getNetworks(0).getAddresses(0);
        return a.substring(0, a.indexOf('/'));
    }

    /** Runs a command inside a task's container; returns its output (stdout and stderr), or "exit N: ..." on failure. */
    static String exec(Task t, String... cmd) throws Exception {
        List<String> c = new ArrayList<>(List.of("runc", "--root", cluster.runtimeRoot.toString(), "exec", t.getMeta().getId()));
        c.addAll(List.of(cmd));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    /** The IPv4 addresses busybox nslookup prints for a name (the server's own address left out). */
    static Set<String> resolve(Task from, String name) throws Exception {
        String out = exec(from, "nslookup", name);
        Set<String> addrs = new TreeSet<>();
        boolean answers = false;
        for (String line : out.split("\n")) {
            if (line.startsWith("Name:")) {
                answers = true;
            }
            Matcher m = Pattern.compile("^Address(?: \\d+)?:\\s+(\\d+\\.\\d+\\.\\d+\\.\\d+)").matcher(line.trim());
            if (answers && m.find()) {
                addrs.add(m.group(1));
            }
        }
        return addrs;
    }

    /**
     * GET a URL from inside a container, bounded by timeout(1): busybox-static's own -T
     * option crashes it (exit 139).
     */
    static String wget(Task from, String url) throws Exception {
        return exec(from, "timeout", "5", "wget", "-q", "-O", "-", url).trim();
    }

    /** What a container's network looks like, for failure messages. */
    static String describe(Task t) {
        StringBuilder b = new StringBuilder("\n--- " + t.getAnnotations().getName() + " ---\n");
        try {
            b.append(exec(t, "ip", "addr")).append(exec(t, "ip", "route")).append(exec(t, "ip", "neigh"));
            String ns = "/var/run/netns/jswarm-" + t.getMeta().getId().substring(0, 12);
            b.append(TestNetwork.out("nsenter", "--net=" + ns, "iptables-save"));
            b.append(exec(t, "ping", "-c", "1", "-W", "1", addr(running("local-database").get(0))));
            for (String n : TestNetwork.out("ip", "netns", "list").split("\n")) {
                if (n.startsWith("jsov-")) {
                    String name = n.split(" ")[0];
                    b.append("== ").append(name).append('\n').append(TestNetwork.out("ip", "-n", name, "-d", "link"))
                            .append(TestNetwork.out("ip", "-n", name, "neigh")).append(TestNetwork.out("bridge", "-n", name, "fdb"));
                }
            }
        } catch (Exception e) {
            b.append(e.getMessage());
        }
        return b.toString();
    }

    static Set<String> addrs(List<Task> tasks) {
        Set<String> out = new TreeSet<>();
        for (Task t : tasks) {
            out.add(addr(t));
        }
        return out;
    }

    static String vip(String service, String network) throws Exception {
        String json = cluster.swarmctl(m1, "network", "inspect", network).ok().out();
        Matcher m = Pattern.compile("\"name\": \"" + service + "\",\\s+\"virtualIp\": \"([0-9.]+)/").matcher(json);
        assertTrue(m.find(), json);
        return m.group(1);
    }

    @Test
    @Order(1)
    void theBooksScenarioResolvesTheDatabaseByNameFromEveryHost() throws Exception {
        cluster.swarmctl(m1, "network", "create", "--driver", "overlay", "service_network").ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "local-database", "--network", "service_network",
                "--stop-grace-period", "1s", web).ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "application-server", "--replicas", "3", "--network",
                "service_network", "-e", "DB_HOST=local-database", "--stop-grace-period", "1s", sleeper).ok();
        await(Duration.ofSeconds(90), () -> running("application-server").size() == 3 && running("local-database").size() == 1,
                "the services run");
        List<Task> apps = running("application-server");
        assertEquals(3, apps.stream().map(Task::getNodeId).distinct().count(), "one application-server per host");
        String vip = vip("local-database", "service_network");
        String dbHostname = exec(running("local-database").get(0), "hostname").trim();
        for (Task app : apps) {
            await(Duration.ofSeconds(20), () -> {
                try {
                    return resolve(app, "local-database").equals(Set.of(vip));
                } catch (Exception e) {
                    return false;
                }
            }, "local-database resolves to its VIP in " + app.getAnnotations().getName(), () -> {
                try {
                    return exec(app, "nslookup", "local-database");
                } catch (Exception e) {
                    return e.toString();
                }
            });
            assertEquals(dbHostname, wget(app, "http://local-database/"), () -> "the database answers through its VIP" + describe(app));
            assertEquals(dbHostname, wget(app, "http://" + addr(running("local-database").get(0)) + "/"),
                    "and at its own address");
        }
    }
}
