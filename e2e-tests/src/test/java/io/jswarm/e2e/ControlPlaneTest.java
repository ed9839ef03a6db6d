package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.services;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeState;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Three managers and two workers as separate swarmd processes on 127.0.0.1, driven with
 * swarmctl. The tests run in order on one cluster, as an operator's day would.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ControlPlaneTest {
    static LocalCluster cluster;
    static TestRegistry registry;
    static Member m1;
    static String image;

    @BeforeAll
    static void startCluster() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        image = TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        m1 = cluster.init("m1", "--heartbeat-period", "1s");
        String managerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
        assertTrue(managerToken.startsWith("SWMTKN-1-"), managerToken);
        cluster.joinAll(m1, 3, 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (registry != null) {
            registry.close();
        }
    }


    static List<Task> runningDesired(Member via, String service) {
        return tasks(via, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).toList();
    }

    /** n tasks meant to run, all running in containers. */
    static boolean allRunning(Member via, String service, int n) {
        try {
            List<Task> ts = runningDesired(via, service);
            return ts.size() == n && ts.stream().allMatch(t -> t.getStatus().getState() == TaskState.RUNNING);
        } catch (RuntimeException e) {
            return false;
        }
    }

    static Member leader(Member via) {
        for (Node n : nodes(via)) {
            if (n.hasManagerStatus() && n.getManagerStatus().getLeader()) {
                return cluster.member(n.getDescription().getHostname());
            }
        }
        return null;
    }

    static String nodeId(Member via, String hostname) {
        return nodes(via).stream().filter(n -> n.getDescription().getHostname().equals(hostname)).findFirst().orElseThrow()
                .getMeta().getId();
    }

    @Test
    @Order(1)
    void nodesJoinedWithTheirRoles() throws Exception {
        String table = cluster.swarmctl(m1, "node", "ls").ok().out();
        assertTrue(table.lines().findFirst().orElse("").startsWith("ID"), table);
        Map<String, String> roles = new HashMap<>();
        for (Node n : nodes(m1)) {
            roles.put(n.getDescription().getHostname(), n.getRole().name());
            assertTrue(n.getDescription().getResources().getMemoryBytes() > 0, "nodes report their memory");
            assertTrue(n.getDescription().getResources().getNanoCpus() >= 1_000_000_000L, "nodes report their CPUs");
        }
        assertEquals(Map.of("m1", "MANAGER", "m2", "MANAGER", "m3", "MANAGER", "w1", "WORKER", "w2", "WORKER"), roles);
        String json = cluster.swarmctl(m1, "node", "ls", "--format", "json").ok().out();
        assertEquals(5, json.lines().count());
        assertTrue(json.contains("\"ManagerStatus\":\"Leader\""), json);
        assertEquals(2, json.lines().filter(l -> l.contains("\"ManagerStatus\":\"Reachable\"")).count(), json);
    }

    @Test
    @Order(2)
    void sixReplicasAreSpreadOverFiveNodes() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "web", "--replicas", "6", image, "sleep", "1000").ok();
        await(Duration.ofSeconds(60), () -> allRunning(m1, "web", 6), "6 tasks of web run");
        Map<String, Long> perNode = runningDesired(m1, "web").stream()
                .collect(Collectors.groupingBy(Task::getNodeId, Collectors.counting()));
        assertEquals(5, perNode.size(), "every node got a task: " + perNode);
        assertTrue(perNode.values().stream().allMatch(c -> c <= 2), perNode.toString());
        // Slots 1..6, one each.
        assertEquals(Set.of(1L, 2L, 3L, 4L, 5L, 6L), runningDesired(m1, "web").stream().map(Task::getSlot).collect(Collectors.toSet()));
        String ps = cluster.swarmctl(m1, "service", "ps", "web").ok().out();
        assertEquals(7, ps.lines().count(), ps);
        assertTrue(ps.contains("Running"), ps);
        // Six real containers, and the tag is pinned to the digest every node runs.
        await(Duration.ofSeconds(10), () -> {
            try {
                return cluster.containers().size() == 6;
            } catch (java.io.IOException e) {
                return false;
            }
        }, "six containers exist");
        assertTrue(cluster.swarmctl(m1, "service", "inspect", "web").ok().out().contains(image + "@sha256:"));
        // A follower answers reads too.
        assertEquals(6, runningDesired(cluster.member("m3"), "web").size());
    }

    @Test
    @Order(3)
    void badInputIsRefusedAndChangesNothing() throws Exception {
        String before = cluster.swarmctl(m1, "service", "inspect", "web").ok().out();
        String[][] bad = {
            {"service", "create", "--name", "bad", "--replicas", "-1", image},
            {"service", "create", "--name", "bad", "--update-delay", "5x", image},
            {"service", "create", "--name", "bad", "--constraint", "node.labels.a=b", image},
            {"service", "create", "--name", "web", image},
            {"service", "create", "--name", "-bad-", image},
            {"service", "create", "--name", "bad", "Not An Image"},
            {"service", "update", "--replicas", "x", "web"},
            {"service", "update", "--replicas", "2", "nosuch"},
            {"service", "scale", "web=3", "nosuch=1"},
            {"service", "rm", "nosuch"},
            {"node", "update", "--availability", "sleepy", "w1"},
            {"node", "rm", "w1"},
            {"service", "create", "--bogus-flag", image},
            // Spec validation (overflow, minimums, control characters, meaningless values,
            // a mount over the root, huge payloads): a sample of each class.
            {"service", "create", "--name", "bad", "--limit-memory", "99999999999999999999999", image},
            {"service", "create", "--name", "bad", "--update-delay", "99999999999999999999999h", image},
            {"service", "create", "--name", "bad", "--health-cmd", "true", "--health-interval", "1ns", image},
            {"service", "create", "--name", "bad\u001b[31m", image},
            {"service", "create", "--name", "bad", "--hostname", "a/b", image},
            {"service", "create", "--name", "bad", "-e", "A\nB=1", image},
            {"service", "create", "--name", "bad", "--label", "k\u001b[2J=v", image},
            {"service", "create", "--name", "bad", "--constraint", "node.labels.a==b\nx", image},
            {"service", "create", "--name", "bad", "--stop-signal", "NOTASIG", image},
            {"service", "create", "--name", "bad", "--workdir", "relative/dir", image},
            {"service", "create", "--name", "bad", "--user", "", image},
            {"service", "create", "--name", "bad", "--publish", "80:", image},
            {"service", "create", "--name", "bad", "--mount", "type=tmpfs,target=/t,readonly=maybe", image},
            {"service", "create", "--name", "bad", "--placement-pref", "spread=node.labels.zone junk", image},
            {"service", "create", "--name", "bad", "127.0.0.1:99999/busybox:1"},
            {"service", "create", "--name", "bad", "--image", image, image},
            {"service", "create", "--name", "bad", "--mount", "type=bind,src=/tmp,dst=/", image},
            {"service", "create", "--name", "x".repeat(100_000), image},
            {"service", "create", "--name", "bad", "--label", "big=" + "x".repeat(100_000), image},
            {"service", "update", "--stop-grace-period", "99999999999999999999999h", "web"},
            {"node", "update", "--label-add", "a\nb=c", "w1"},
        };
        for (String[] args : bad) {
            LocalCluster.Result r = cluster.swarmctl(m1, args);
            assertEquals(1, r.exit(), String.join(" ", args) + " -> " + r);
            assertEquals(1, r.err().strip().lines().count(), "one line on stderr: " + r.err());
            assertTrue(r.err().startsWith("Error: "), r.err());
            assertTrue(r.err().strip().chars().noneMatch(ch -> ch < 0x20 || ch == 0x7f), "no control characters: " + r.err());
            assertTrue(r.err().length() < 500, "a short line: " + r.err().length() + " characters");
        }
        assertEquals(Set.of("web"), services(m1).stream().map(s -> s.getSpec().getAnnotations().getName()).collect(Collectors.toSet()));
        assertEquals(before, cluster.swarmctl(m1, "service", "inspect", "web").ok().out());
        assertEquals(6, runningDesired(m1, "web").size());
        LocalCluster.Result dup = cluster.swarmctl(m1, "service", "create", "--name", "web", image);
        assertTrue(dup.err().contains("already in use"), dup.err());

        // Published ports: one service per port, and a port left out chosen from 30000-32767.
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "pub1", "-p", "8080:80", image).ok();
        LocalCluster.Result taken = cluster.swarmctl(m1, "service", "create", "-d", "--name", "pub2", "-p", "8080:81", image);
        assertEquals(1, taken.exit(), taken.toString());
        assertEquals("Error: port 8080/tcp is already published by service pub1", taken.err().strip());
        assertTrue(services(m1).stream().noneMatch(x -> x.getSpec().getAnnotations().getName().equals("pub2")), "nothing written");
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "pub3", "-p", "80", "-p", "81/udp", image).ok();
        String ls = cluster.swarmctl(m1, "service", "ls").ok().out();
        assertTrue(ls.contains("*:30000->80/tcp,*:30000->81/udp"), ls);
        assertTrue(ls.contains("*:8080->80/tcp"), ls);
        cluster.swarmctl(m1, "service", "update", "-d", "--env-add", "X=1", "pub3").ok();
        assertTrue(cluster.swarmctl(m1, "service", "ls").ok().out().contains("*:30000->80/tcp"), "an update keeps the chosen port");
        cluster.swarmctl(m1, "service", "rm", "pub1").ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "pub2", "-p", "8080:81", image).ok();  // free again at once
        cluster.swarmctl(m1, "service", "rm", "pub2", "pub3").ok();
    }

    @Test
    @Order(4)
    void unschedulableTaskStaysPendingWithReason() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "zoned", "--constraint", "node.labels.zone==b", image).ok();
        await(Duration.ofSeconds(20), () -> tasks(m1, "zoned").stream()
                .anyMatch(t -> t.getStatus().getState() == TaskState.PENDING), "zoned is pending");
        String ps = cluster.swarmctl(m1, "service", "ps", "zoned").ok().out();
        assertTrue(ps.contains("no suitable node (constraint node.labels.zone==b not met on 5 nodes)"), ps);
        cluster.swarmctl(m1, "node", "update", "--label-add", "zone=b", "w2").ok();
        await(Duration.ofSeconds(20), () -> allRunning(m1, "zoned", 1), "zoned is assigned once w2 has the label");
        assertEquals(nodeId(m1, "w2"), runningDesired(m1, "zoned").get(0).getNodeId());
        cluster.swarmctl(m1, "service", "rm", "zoned").ok();
        await(Duration.ofSeconds(20), () -> tasks(m1, "web").size() > 0 && services(m1).size() == 1, "zoned is removed");
    }

    @Test
    @Order(5)
    void leaderFailover() throws Exception {
        Member leader = leader(m1);
        assertTrue(leader != null, "a leader is known");
        List<Member> survivors = cluster.members().stream()
                .filter(m -> m != leader && m.name.startsWith("m")).toList();
        String deadNode = nodeId(survivors.get(0), leader.name);
        // The tasks on the nodes that stay up: a failover must leave every one of them alone.
        Set<String> healthyTasks = runningDesired(survivors.get(0), "web").stream()
                .filter(t -> !t.getNodeId().equals(deadNode)).map(t -> t.getMeta().getId()).collect(Collectors.toSet());
        leader.kill();
        await(Duration.ofSeconds(30), () -> {
            try {
                Member l = leader(survivors.get(0));
                return l != null && l != leader;
            } catch (RuntimeException e) {
                return false;
            }
        }, "another manager leads");
        // The killed leader's port refused connections: a survivor stood for election on
        // that, without waiting out the election timeout.
        assertTrue(survivors.stream().anyMatch(m -> m.logText().contains("refuses connections")
                && m.logText().contains("stands for election now")), "a survivor saw the leader's process gone");
        // Every surviving manager answers and accepts writes.
        int replicas = 6;
        for (Member m : survivors) {
            assertTrue(cluster.swarmctl(m, "service", "ls").ok().out().contains("web"));
            replicas++;
            cluster.swarmctl(m, "service", "scale", "-d", "web=" + replicas).ok();
        }
        final int expected = replicas;
        await(Duration.ofSeconds(60), () -> {
            try {
                return nodes(survivors.get(0)).stream().anyMatch(n -> n.getMeta().getId().equals(deadNode)
                        && n.getStatus().getState() == NodeState.NODE_DOWN)
                        && allRunning(survivors.get(0), "web", expected)
                        && runningDesired(survivors.get(0), "web").stream().noneMatch(t -> t.getNodeId().equals(deadNode));
            } catch (RuntimeException e) {
                return false;
            }
        }, "the dead manager is down and its tasks run elsewhere");
        Set<String> after = runningDesired(survivors.get(0), "web").stream().map(t -> t.getMeta().getId())
                .collect(Collectors.toSet());
        assertTrue(after.containsAll(healthyTasks), "the new leader moved no task off a healthy node:\n"
                + cluster.swarmctl(survivors.get(0), "service", "ps", "web").out()
                + cluster.swarmctl(survivors.get(0), "node", "ls").out());
        // The killed manager comes back from its state directory with all state.
        leader.start();
        await(Duration.ofSeconds(60), () -> {
            try {
                return services(leader).stream().anyMatch(s -> s.getSpec().getAnnotations().getName().equals("web")
                        && s.getSpec().getReplicated().getReplicas() == expected);
            } catch (RuntimeException e) {
                return false;
            }
        }, "the restarted manager has the current state");
        await(Duration.ofSeconds(60), () -> {
            try {
                return nodes(survivors.get(0)).stream().anyMatch(n -> n.getMeta().getId().equals(deadNode)
                        && n.getStatus().getState() == NodeState.NODE_READY);
            } catch (RuntimeException e) {
                return false;
            }
        }, "the restarted manager is ready again");
        String table = cluster.swarmctl(survivors.get(0), "node", "ls").ok().out();
        String line = table.lines().filter(l -> l.contains(" " + leader.name + " ")).findFirst().orElseThrow();
        assertTrue(line.contains("Reachable") || line.contains("Leader"), table);
    }

    @Test
    @Order(6)
    void killedWorkersTasksAreReplaced() throws Exception {
        Member w1 = cluster.member("w1");
        Member via = cluster.member("m2");
        String w1Id = nodeId(via, "w1");
        int replicas = runningDesired(via, "web").size();
        if (runningDesired(via, "web").stream().noneMatch(t -> t.getNodeId().equals(w1Id))) {
            throw new AssertionError("w1 has no tasks:\n" + cluster.swarmctl(via, "service", "ps", "web").out());
        }
        w1.kill();
        await(Duration.ofSeconds(60), () -> {
            try {
                return allRunning(via, "web", replicas)
                        && runningDesired(via, "web").stream().noneMatch(t -> t.getNodeId().equals(w1Id));
            } catch (RuntimeException e) {
                return false;
            }
        }, "w1's tasks are replaced on live nodes");
        String ps = cluster.swarmctl(via, "service", "ps", "web").ok().out();
        assertTrue(ps.contains("\\_ web."), "replaced tasks show as history: " + ps);
        w1.start();
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(via) == 5, "w1 is back");
    }

    @Test
    @Order(7)
    void wrongOrRotatedTokenIsRefused() throws Exception {
        String old = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        String rotated = cluster.swarmctl(m1, "cluster", "join-token", "--rotate", "-q", "worker").ok().out().trim();
        assertFalse(old.equals(rotated));
        for (String token : List.of(old, "SWMTKN-1-bogus-secret")) {
            Member bad = cluster.join("bad" + Math.abs(token.hashCode() % 1000), m1, token);
            assertTrue(bad.process.waitFor(60, TimeUnit.SECONDS), "a node with a bad token exits");
            assertEquals(1, bad.process.exitValue());
            assertTrue(bad.logText().contains("invalid join token"), bad.logText());
        }
        assertEquals(5, nodes(m1).size(), "no node was added");
    }

    @Test
    @Order(8)
    void promoteAndDemote() throws Exception {
        Member via = cluster.member("m2");
        LocalCluster.Result last = cluster.swarmctl(via, "node", "promote", "w2");
        last.ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return nodes(via).stream().anyMatch(n -> n.getDescription().getHostname().equals("w2")
                        && n.getRole() == NodeRole.MANAGER);
            } catch (RuntimeException e) {
                return false;
            }
        }, "w2 is a manager");
        Member w2 = cluster.member("w2");
        await(Duration.ofSeconds(30), () -> {
            try {
                return services(w2).size() == 1;
            } catch (RuntimeException e) {
                return false;
            }
        }, "w2 serves the Control API with the cluster state");
        cluster.swarmctl(via, "node", "demote", "w2").ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return nodes(via).stream().anyMatch(n -> n.getDescription().getHostname().equals("w2")
                        && n.getRole() == NodeRole.WORKER);
            } catch (RuntimeException e) {
                return false;
            }
        }, "w2 is a worker again");
        // Its socket stays (every node serves one), without the Control API.
        await(Duration.ofSeconds(30), () -> {
            try {
                services(w2);
                return false;
            } catch (io.grpc.StatusRuntimeException e) {
                return e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED;
            }
        }, "w2 stopped its manager");
    }

    @Test
    @Order(9)
    void wholeClusterRestartKeepsEverything() throws Exception {
        Member via = cluster.member("m2");
        String before = cluster.swarmctl(via, "service", "inspect", "web").ok().out();
        long replicas = runningDesired(via, "web").size();
        for (Member m : cluster.members()) {
            m.stop();
        }
        for (Member m : cluster.members()) {
            if (!m.name.startsWith("bad")) {
                m.start();
            }
        }
        await(Duration.ofSeconds(90), () -> LocalCluster.readyNodes(via) == 5, "all five nodes are ready after the restart");
        assertEquals(before, cluster.swarmctl(via, "service", "inspect", "web").ok().out());
        await(Duration.ofSeconds(30), () -> allRunning(via, "web", (int) replicas), "web has all its tasks");
        cluster.swarmctl(via, "service", "scale", "-d", "web=2").ok();
        await(Duration.ofSeconds(30), () -> allRunning(via, "web", 2), "scaling works after the restart");
    }
}
