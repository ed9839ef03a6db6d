package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * What an operator touches every day, with real containers on simulated hosts: health
 * checks, restart policies, node availability.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DayToDayTest {
    static SimulatedCluster sim;
    static TestNetwork net;
    static LocalCluster cluster;
    static Member m1;
    static String image;
    static String failing;

    @BeforeAll
    static void start() throws Exception {
        // A node is down after three missed periods: 2 s leaves a restarted agent time to come back.
        sim = new SimulatedCluster(2, "2s");
        net = sim.net;
        cluster = sim.cluster;
        m1 = sim.m1;
        image = sim.image;
        failing = sim.failing;
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
    }

    static List<Task> current(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).toList();
    }

    static String nodeId(String hostname) {
        return nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals(hostname)).findFirst().orElseThrow()
                .getMeta().getId();
    }

    static String replicas(String service) throws Exception {
        for (String line : cluster.swarmctl(m1, "service", "ls").ok().out().lines().toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 3 && f[1].equals(service)) {
                return f[3];
            }
        }
        return "";
    }

    @Test
    @Order(1)
    void healthChecksDecideWhenATaskCountsAndFailTheUnhealthy() throws Exception {
        String created = cluster.swarmctl(m1, "service", "create", "--name", "fine", "--health-cmd", "true", "--health-interval", "500ms",
                image).ok().out();
        // Without -d, create waits until the service has converged (healthy, here).
        assertTrue(created.contains("1/1: running") && created.trim().endsWith("verify: Service converged"), created);
        await(Duration.ofSeconds(60), () -> current("fine").stream().anyMatch(t -> t.getStatus().getHealth().equals("healthy")),
                "fine is healthy");
        assertEquals("1/1", replicas("fine"));
        assertTrue(cluster.swarmctl(m1, "service", "ps", "fine").ok().out().contains("Running (healthy)"));

        cluster.swarmctl(m1, "service", "create", "-d", "--name", "sick", "--health-cmd", "false", "--health-interval", "500ms",
                "--health-retries", "2", "--restart-delay", "1s", image).ok();
        await(Duration.ofSeconds(60), () -> tasks(m1, "sick").stream().filter(t -> t.getStatus().getState() == TaskState.FAILED
                && t.getStatus().getErr().equals("task: unhealthy container")).count() >= 2, "unhealthy tasks are failed and replaced");
        assertEquals("0/1", replicas("sick"), "a task that is not healthy does not count");
        cluster.swarmctl(m1, "service", "rm", "fine", "sick").ok();
    }

    @Test
    @Order(2)
    void restartPoliciesEndToEnd() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "flaky", "--restart-condition", "on-failure", "--restart-max-attempts", "3",
                "--restart-delay", "500ms", failing).ok();
        await(Duration.ofSeconds(60), () -> tasks(m1, "flaky").size() == 4
                && tasks(m1, "flaky").stream().allMatch(t -> t.getStatus().getState() == TaskState.FAILED), "four attempts failed");
        Thread.sleep(3000);
        assertEquals(4, tasks(m1, "flaky").size(), "exactly three replacements, then the slot stays failed");
        String ps = cluster.swarmctl(m1, "service", "ps", "flaky").ok().out();
        assertTrue(ps.contains("task: non-zero exit (7)"), ps);

        cluster.swarmctl(m1, "service", "create", "-d", "--name", "done", "--restart-condition", "any", "--restart-delay", "500ms",
                image, "true").ok();
        await(Duration.ofSeconds(60), () -> tasks(m1, "done").stream().filter(t -> t.getStatus().getState() == TaskState.COMPLETE)
                .count() >= 2, "any restarts tasks that exit 0");
        LocalCluster.Result broken = cluster.swarmctl(m1, "service", "create", "--name", "broken", "--restart-condition", "none", failing);
        assertEquals(1, broken.exit(), "a service that cannot converge fails the command: " + broken);
        assertTrue(broken.err().contains("task broken.1.") && broken.err().contains("task: non-zero exit (7)"), broken.err());
        cluster.swarmctl(m1, "service", "rm", "flaky", "done", "broken").ok();
    }

    @Test
    @Order(3)
    void drainPauseAndActive() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s", image).ok();
        cluster.swarmctl(m1, "service", "create", "--name", "agent", "--mode", "global", "--stop-grace-period", "1s", image).ok();
        await(Duration.ofSeconds(60), () -> current("web").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() == 3
                && current("agent").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() == 3, "web and agent run");
        String w1 = nodeId("w1");
        cluster.swarmctl(m1, "node", "update", "--availability", "drain", "w1").ok();
        await(Duration.ofSeconds(60), () -> current("web").size() == 3 && current("web").stream().noneMatch(t -> t.getNodeId().equals(w1))
                && current("web").stream().allMatch(t -> t.getStatus().getState() == TaskState.RUNNING)
                && current("agent").size() == 2 && current("agent").stream().noneMatch(t -> t.getNodeId().equals(w1)),
                "drain moves web off w1 and the global service follows");
        cluster.swarmctl(m1, "node", "update", "--availability", "pause", "w1").ok();
        cluster.swarmctl(m1, "service", "scale", "web=5").ok();
        await(Duration.ofSeconds(60), () -> current("web").size() == 5
                && current("web").stream().allMatch(t -> t.getStatus().getState() == TaskState.RUNNING), "web runs 5");
        assertTrue(current("web").stream().noneMatch(t -> t.getNodeId().equals(w1)), "a paused node takes nothing new");
        cluster.swarmctl(m1, "node", "update", "--availability", "active", "w1").ok();
        await(Duration.ofSeconds(60), () -> current("agent").size() == 3, "the global service comes back to w1");
        cluster.swarmctl(m1, "service", "scale", "web=8").ok();
        await(Duration.ofSeconds(60), () -> current("web").stream().anyMatch(t -> t.getNodeId().equals(w1)), "w1 takes work again");
        cluster.swarmctl(m1, "service", "rm", "web", "agent").ok();
    }

    @Test
    @Order(4)
    void prettyInspectAndEvents() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "shown", "--replicas", "2", "--limit-memory", "32m",
                "--constraint", "node.role==worker", image).ok();
        String pretty = cluster.swarmctl(m1, "service", "inspect", "--pretty", "shown").ok().out();
        assertTrue(pretty.contains("Name:                   shown"), pretty);
        assertTrue(pretty.contains(" Replicas:              2"), pretty);
        assertTrue(pretty.contains("  Memory:               32MiB"), pretty);
        assertTrue(pretty.contains("[node.role==worker]"), pretty);
        String node = cluster.swarmctl(m1, "node", "inspect", "--pretty", "w1").ok().out();
        assertTrue(node.contains("Hostname:               w1"), node);
        assertTrue(node.contains(" Availability:          Active"), node);
        // The recent past: the drain of w1, the services created and removed, their tasks.
        String events = cluster.swarmctl(m1, "events", "--since", "10m", "--until", "2s", "--filter", "type=node").ok().out();
        assertTrue(events.lines().anyMatch(l -> l.contains(" node update ") && l.contains("availability=drain") && l.contains("name=w1")),
                events);
        assertTrue(events.lines().noneMatch(l -> l.contains(" task ") || l.contains(" service ")), "filtered to nodes: " + events);
        String services = cluster.swarmctl(m1, "events", "--since", "10m", "--until", "2s", "--filter", "type=service").ok().out();
        assertTrue(services.lines().anyMatch(l -> l.contains(" service create ") && l.contains("name=shown")), services);
        assertTrue(services.lines().anyMatch(l -> l.contains(" service remove ") && l.contains("name=web")), services);
        // rollback returns the spec to what it was before the last update.
        cluster.swarmctl(m1, "service", "update", "-d", "--env-add", "COLOR=blue", "shown").ok();
        assertTrue(cluster.swarmctl(m1, "service", "inspect", "--pretty", "shown").ok().out().contains("COLOR=blue"));
        cluster.swarmctl(m1, "service", "rollback", "-d", "shown").ok();
        // The current spec no longer has it (the JSON keeps it as the previous spec, as Docker does).
        assertTrue(!cluster.swarmctl(m1, "service", "inspect", "--pretty", "shown").ok().out().contains("COLOR=blue"), "rolled back");
        LocalCluster.Result none = cluster.swarmctl(m1, "service", "rollback", "nosuch");
        assertEquals(1, none.exit());
        cluster.swarmctl(m1, "service", "rm", "shown").ok();
    }
}
