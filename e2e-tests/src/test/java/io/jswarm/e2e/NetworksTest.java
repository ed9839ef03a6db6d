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
    static StubDns stub;
    static LocalCluster cluster;
    static Member m1;
    static String sleeper;
    static String web;

    @BeforeAll
    static void start() throws Exception {
        // The workers forward names outside the cluster to a stub DNS server the test runs on
        // its bridge; the manager has no upstream at all (NXDOMAIN).
        sim = new SimulatedCluster(2, "1s", new String[0], new String[] {"--dns-upstream", "{gateway}:5353"});
        stub = new StubDns(sim.net.gateway(), 5353, "outside.example", sim.net.prefix + ".250");
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
        if (stub != null) {
            stub.close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    static List<Task> running(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static String addr(Task t) {
        return InContainer.addr(t);
    }

    static String exec(Task t, String... cmd) throws Exception {
        return InContainer.exec(cluster, t, cmd);
    }

    static Set<String> resolve(Task from, String name) throws Exception {
        return InContainer.resolve(cluster, from, name);
    }

    static String wget(Task from, String url) throws Exception {
        return InContainer.wget(cluster, from, url);
    }

    /** What a container's network looks like, for failure messages. */
    static String describe(Task t) {
        StringBuilder b = new StringBuilder("\n--- " + t.getAnnotations().getName() + " ---\n");
        try {
            b.append(exec(t, "ip", "addr")).append(exec(t, "ip", "route")).append(exec(t, "ip", "neigh"));
            String ns = InContainer.netns(t);
            b.append(TestNetwork.out("nsenter", "--net=" + ns, "nft", "list", "ruleset"));
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

    static Task one(String service) {
        List<Task> r = running(service);
        assertEquals(1, r.size(), service + " runs one task");
        return r.get(0);
    }

    static void awaitResolves(Task from, String name, java.util.function.Supplier<Set<String>> want, String what) throws Exception {
        await(Duration.ofSeconds(20), () -> {
            try {
                return resolve(from, name).equals(want.get());
            } catch (Exception e) {
                return false;
            }
        }, what, () -> {
            try {
                return name + " -> " + resolve(from, name) + ", wanted " + want.get();
            } catch (Exception e) {
                return e.toString();
            }
        });
    }

    @Test
    @Order(2)
    void requestsToTheVipReachEveryTaskOnEveryHost() throws Exception {
        cluster.swarmctl(m1, "network", "create", "front").ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "web", "--replicas", "3", "--network", "front",
                "--stop-grace-period", "1s", web).ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "client", "--network", "front", "--constraint",
                "node.hostname==m1", "--stop-grace-period", "1s", sleeper).ok();
        await(Duration.ofSeconds(60), () -> running("web").size() == 3 && running("client").size() == 1, "web and client run");
        assertEquals(3, running("web").stream().map(Task::getNodeId).distinct().count(), "web spread over the 3 hosts");
        Task client = one("client");
        awaitResolves(client, "web", () -> Set.of(uncheckedVip("web", "front")), "web resolves to its VIP");
        Set<String> hostnames = new HashSet<>();
        for (Task t : running("web")) {
            hostnames.add(exec(t, "hostname").trim());
        }
        Set<String> answered = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            answered.add(wget(client, "http://web/"));
        }
        assertEquals(hostnames, answered, "60 requests to the VIP reach all three tasks");
    }

    static String uncheckedVip(String service, String network) {
        try {
            return vip(service, network);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    @Order(3)
    void tasksNameFollowsScalingAndReplacedTasks() throws Exception {
        Task client = one("client");
        awaitResolves(client, "tasks.web", () -> addrs(running("web")), "tasks.web lists the running tasks");
        cluster.swarmctl(m1, "service", "scale", "-d", "web=5").ok();
        await(Duration.ofSeconds(60), () -> running("web").size() == 5, "web runs 5");
        awaitResolves(client, "tasks.web", () -> addrs(running("web")), "tasks.web lists 5 after the scale-up");
        assertEquals(5, resolve(client, "tasks.web").size());
        // A task's container killed from its host: its address leaves, its replacement's arrives.
        Task victim = running("web").get(0);
        String gone = addr(victim);
        TestNetwork.out("runc", "--root", cluster.runtimeRoot(victim.getMeta().getId()).toString(), "kill", victim.getMeta().getId(), "KILL");
        await(Duration.ofSeconds(60), () -> running("web").size() == 5
                && running("web").stream().noneMatch(t -> t.getMeta().getId().equals(victim.getMeta().getId())), "web replaced its task");
        awaitResolves(client, "tasks.web", () -> addrs(running("web")), "tasks.web follows the replacement");
        assertTrue(!resolve(client, "tasks.web").contains(gone) || addrs(running("web")).contains(gone),
                "the killed task's address left (unless its replacement got it again)");
        cluster.swarmctl(m1, "service", "scale", "-d", "web=3").ok();
        await(Duration.ofSeconds(60), () -> running("web").size() == 3, "web back to 3");
        awaitResolves(client, "tasks.web", () -> addrs(running("web")), "tasks.web lists 3 after the scale-down");
    }

    @Test
    @Order(4)
    void anotherNetworkCannotReachOrResolveThisOne() throws Exception {
        cluster.swarmctl(m1, "network", "create", "back").ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "outsider", "--network", "back", "--constraint",
                "node.hostname==m1", "--stop-grace-period", "1s", sleeper).ok();
        await(Duration.ofSeconds(60), () -> running("outsider").size() == 1, "outsider runs");
        Task outsider = one("outsider");
        assertEquals(Set.of(), resolve(outsider, "web"), "web does not resolve on another network");
        assertEquals(Set.of(), resolve(outsider, "tasks.web"));
        assertTrue(exec(outsider, "nslookup", "web").contains("NXDOMAIN"), exec(outsider, "nslookup", "web"));
        for (String a : addrs(running("web"))) {
            assertTrue(exec(outsider, "ping", "-c", "1", "-W", "1", a).startsWith("exit "), "a task of front is unreachable from back: " + a);
        }
        assertTrue(exec(outsider, "ping", "-c", "1", "-W", "1", vip("web", "front")).startsWith("exit "), "front's VIP too");
        // And the outsider's own name is not visible on front.
        assertEquals(Set.of(), resolve(one("client"), "outsider"));
        // Both have egress through m1's gateway bridge, where their ports are isolated: they do not meet there either.
        String gw = exec(outsider, "ip", "-4", "-o", "addr", "show", "eth1").replaceAll("(?s).*inet ([0-9.]+)/.*", "$1").trim();
        assertTrue(gw.matches("172\\.18\\.\\d+\\.\\d+"), "outsider's gateway bridge address: " + gw);
        assertTrue(exec(one("client"), "ping", "-c", "1", "-W", "1", gw).startsWith("exit "), "not through the gateway bridge");
        // A task on both networks has an interface on each and sees the names of both.
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "both", "--network", "front", "--network", "back",
                "--stop-grace-period", "1s", sleeper).ok();
        await(Duration.ofSeconds(60), () -> running("both").size() == 1, "both runs");
        Task both = one("both");
        assertEquals(2, both.getNetworksCount());
        String links = exec(both, "ip", "-o", "addr");
        assertTrue(links.contains("eth0") && links.contains("eth1") && links.contains(addr(both)), links);
        awaitResolves(both, "web", () -> Set.of(uncheckedVip("web", "front")), "web resolves from a task on both networks");
        assertEquals(Set.of(addr(outsider)), resolve(both, "tasks.outsider"));
        assertEquals(12, wget(both, "http://web/").length(), "front's VIP answers");
        assertTrue(exec(both, "ping", "-c", "1", "-W", "2", addr(outsider)).contains("1 packets received"), "back's task answers");
        cluster.swarmctl(m1, "service", "rm", "both").ok();
    }

    @Test
    @Order(5)
    void containersReachOutsideUnlessTheirNetworkIsInternal() throws Exception {
        // "Outside" is the test bridge's address, where the registry listens: nothing beyond the test's own network.
        String registry = "http://" + sim.registry.addr + "/v2/";
        Task client = one("client");
        assertEquals("{}", wget(client, registry), "egress through the node's gateway bridge, NATed to the node's address");
        cluster.swarmctl(m1, "network", "create", "--internal", "inner").ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "hermit", "--network", "inner", "--stop-grace-period", "1s",
                sleeper).ok();
        await(Duration.ofSeconds(60), () -> running("hermit").size() == 1, "hermit runs");
        Task hermit = one("hermit");
        assertTrue(wget(hermit, registry).startsWith("exit "), "no egress from an internal network");
        assertTrue(exec(hermit, "ip", "route").trim().lines().noneMatch(l -> l.startsWith("default")), "no default route");
    }

    @Test
    @Order(6)
    void dnsrrResolvesToTheTasksThemselves() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "rr", "--replicas", "2", "--endpoint-mode", "dnsrr",
                "--network", "front", "--stop-grace-period", "1s", web).ok();
        await(Duration.ofSeconds(60), () -> running("rr").size() == 2, "rr runs 2");
        Task client = one("client");
        awaitResolves(client, "rr", () -> addrs(running("rr")), "rr resolves to its tasks' addresses");
        String json = cluster.swarmctl(m1, "network", "inspect", "front").ok().out();
        assertTrue(json.contains("\"name\": \"rr\""), json);
        assertTrue(!json.matches("(?s).*\"name\": \"rr\",\\s+\"virtualIp\".*"), "no VIP in dnsrr mode: " + json);
        assertTrue(wget(client, "http://rr/").length() == 12, "rr answers by name");
    }

    @Test
    @Order(7)
    void namesOutsideTheClusterGoUpstreamFromWorkersAndAreNxdomainWithout() throws Exception {
        Task onWorker = running("web").stream().filter(t -> !t.getNodeId().equals(one("client").getNodeId())).findFirst().orElseThrow();
        int before = stub.queries.get();
        assertEquals(Set.of(sim.net.prefix + ".250"), resolve(onWorker, "outside.example"), "forwarded to the stub");
        assertTrue(stub.queries.get() > before);
        assertTrue(exec(onWorker, "nslookup", "nosuch.example").contains("NXDOMAIN"), "the stub's NXDOMAIN is passed on");
        // m1 has no upstream: NXDOMAIN, and nothing is sent anywhere.
        int seen = stub.queries.get();
        String out = exec(one("client"), "nslookup", "outside.example");
        assertTrue(out.contains("NXDOMAIN"), out);
        assertEquals(seen, stub.queries.get(), "a node without upstream asks no one");
    }

    @Test
    @Order(8)
    void anAgentRestartKeepsAddressesAndNames() throws Exception {
        Member w1 = cluster.member("w1");
        String w1Id = LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals("w1")).findFirst()
                .orElseThrow().getMeta().getId();
        Task onW1 = running("web").stream().filter(t -> t.getNodeId().equals(w1Id)).findFirst().orElseThrow();
        Set<String> before = addrs(running("web"));
        Set<String> containersBefore = new TreeSet<>(cluster.containers());
        sim.restartWorker(w1);
        assertEquals(before, addrs(running("web")), "the same tasks, the same addresses");
        awaitResolves(onW1, "web", () -> Set.of(uncheckedVip("web", "front")), "a re-adopted container resolves again");
        assertEquals(exec(running("web").stream().filter(t -> !t.getNodeId().equals(w1Id)).findFirst().orElseThrow(), "hostname").trim(),
                wget(onW1, "http://" + addr(running("web").stream().filter(t -> !t.getNodeId().equals(w1Id)).findFirst().orElseThrow()) + "/"),
                "and reaches the other hosts");
        assertEquals(containersBefore, new TreeSet<>(cluster.containers()), "nothing started again or twice");
    }

    @Test
    @Order(9)
    void aKilledHostsTasksLeaveDnsAndTheVipOnceItIsDown() throws Exception {
        Member w2 = cluster.member("w2");
        String w2Id = LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals("w2")).findFirst()
                .orElseThrow().getMeta().getId();
        Set<String> onW2 = new TreeSet<>();
        for (Task t : running("web")) {
            if (t.getNodeId().equals(w2Id)) {
                onW2.add(addr(t));
            }
        }
        assertTrue(!onW2.isEmpty(), "w2 runs a web task");
        Task client = one("client");
        w2.kill();
        await(Duration.ofSeconds(30), () -> LocalCluster.nodes(m1).stream().anyMatch(n -> n.getMeta().getId().equals(w2Id)
                && n.getStatus().getState() == io.jswarm.api.NodeState.NODE_DOWN), "w2 is down");
        // Within 2 heartbeat periods of DOWN (plus a poll): its tasks are gone from the names.
        await(Duration.ofSeconds(5), () -> {
            try {
                Set<String> r = resolve(client, "tasks.web");
                return r.stream().noneMatch(onW2::contains);
            } catch (Exception e) {
                return false;
            }
        }, "w2's tasks left tasks.web");
        for (int i = 0; i < 20; i++) {
            assertEquals(12, wget(client, "http://web/").length(), "the VIP keeps answering (request " + i + ")");
        }
        w2.start();
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(m1) == 3, "w2 is back");
    }

    @Test
    @Order(10)
    void badNetworkInputIsRefusedAndChangesNothing() throws Exception {
        String before = cluster.swarmctl(m1, "network", "ls", "--format", "json").ok().out();
        String[][] cases = {
            {"network", "create", "--subnet", "10.0.0.0/33", "x1"},
            {"network", "create", "--subnet", "banana", "x2"},
            {"network", "create", "--subnet", "10.77.0.1/24", "x3"},
            {"network", "create", "--subnet", "10.77.0.0/24", "--gateway", "10.78.0.1", "x4"},
            {"network", "create", "--gateway", "10.77.0.1", "x5"},
            {"network", "create", "--subnet", sim.net.prefix + ".0/24", "x6"},
            {"network", "create", "--driver", "bridge", "x7"},
            {"network", "create", "front"},
            {"network", "create", "bad name"},
            {"network", "rm", "front"},
            {"network", "rm", "nosuch"},
            {"service", "create", "--name", "lost", "--network", "nosuch", sleeper},
            {"service", "update", "--network-add", "nosuch", "web"},
            {"service", "update", "--network-rm", "back", "web"},
            {"service", "create", "--name", "twice", "--network", "front", "--network", "front", sleeper},
        };
        String overlapping = cluster.swarmctl(m1, "network", "inspect", "front").ok().out()
                .replaceAll("(?s).*\"subnet\": \"([0-9./]+)\".*", "$1");
        List<String[]> all = new ArrayList<>(List.of(cases));
        all.add(new String[] {"network", "create", "--subnet", overlapping, "x8"});
        for (String[] c : all) {
            LocalCluster.Result r = cluster.swarmctl(m1, c);
            assertEquals(1, r.exit(), String.join(" ", c) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), String.join(" ", c) + ": one line: " + r.err());
            assertTrue(r.err().startsWith("Error: "), r.err());
            assertTrue(!r.err().contains("Exception"), r.err());
        }
        assertEquals(before, cluster.swarmctl(m1, "network", "ls", "--format", "json").ok().out(), "no network changed");
        assertTrue(LocalCluster.services(m1).stream().noneMatch(x -> x.getSpec().getAnnotations().getName().equals("lost")
                || x.getSpec().getAnnotations().getName().equals("twice")), "no service was created");
    }

    @Test
    @Order(11)
    void removingServicesAndNetworksLeavesNothingOnAnyHost() throws Exception {
        for (String svc : List.of("local-database", "application-server", "web", "client", "rr", "outsider", "hermit")) {
            cluster.swarmctl(m1, "service", "rm", svc).ok();
        }
        for (String n : List.of("service_network", "front", "back", "inner")) {
            await(Duration.ofSeconds(60), () -> {
                try {
                    return cluster.swarmctl(m1, "network", "rm", n).exit() == 0;
                } catch (Exception e) {
                    return false;
                }
            }, "network " + n + " can be removed once its tasks are gone");
        }
        String left = cluster.swarmctl(m1, "network", "ls").ok().out();
        assertEquals(2, left.strip().lines().count(), "only the cluster's own ingress network is left: " + left);
        assertTrue(left.contains(" ingress "), left);
        await(Duration.ofSeconds(30), () -> {
            try {
                return leftovers().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }, "no overlay plumbing is left", () -> {
            try {
                return leftovers().toString();
            } catch (Exception e) {
                return e.toString();
            }
        });
    }

    /** Overlay namespaces, VXLAN devices and veth ends of this cluster's networks, on any host. */
    static List<String> leftovers() throws Exception {
        List<String> out = new ArrayList<>();
        Set<String> ours = new HashSet<>();
        for (var n : LocalCluster.nodes(m1)) {
            ours.add("jsov-" + n.getMeta().getId().substring(0, 8) + "-");
        }
        for (String id : cluster.containers()) {
            out.add("container " + id);
        }
        for (String line : TestNetwork.out("ip", "netns", "list").split("\n")) {
            String ns = line.split(" ")[0];
            if (ours.stream().anyMatch(ns::startsWith)) {
                out.add("namespace " + ns);
            }
            if (ns.startsWith("jsh" + sim.net.tag)) {
                String nat = TestNetwork.out("nsenter", "--net=/var/run/netns/" + ns, "iptables", "-t", "nat", "-S", "POSTROUTING");
                if (nat.contains("MASQUERADE")) {
                    out.add(ns + ": " + nat.trim());
                }
                for (String l : TestNetwork.out("ip", "-n", ns, "-o", "link").split("\n")) {
                    if (l.contains("jsvx") || l.contains("vxlan") || l.contains("jsgwbr0")) {
                        out.add(ns + ": " + l.trim());
                    }
                }
            }
        }
        return out;
    }
}
