package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.LocalCluster.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
 * Two simulated hosts whose swarmd starts with --inactive, as dockerd starts: in no swarm.
 * The docker CLI makes the swarm (docker swarm init on one) and joins the other with the
 * token init printed (docker swarm join), as a Docker user does; bad requests are refused
 * naming the problem and leave the node waiting for a good one.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SwarmInitTest {
    static TestNetwork net;
    static TestRegistry registry;
    static LocalCluster cluster;
    static Member m1;
    static Member w1;
    static Path dir;
    static String image;
    static String joinCommand;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isExecutable(EngineApiTest.DOCKER), "the docker CLI is missing at " + EngineApiTest.DOCKER + ": run bin/setup");
        try {
            net = new TestNetwork();
            registry = new TestRegistry(net.gateway(), 5000);
            TestImages.push(registry.addr, "busybox", "1", List.of(TestImages.busyboxLayer()), List.of("sleep", "1000"), List.of());
            image = registry.addr + "/busybox:1";
            cluster = new LocalCluster().insecureRegistry(registry.addr);
            m1 = cluster.startInactive("m1", net.addHost("m1", 1), "--heartbeat-period", "1s");
            w1 = cluster.startInactive("w1", net.addHost("w1", 2));
            dir = Files.createTempDirectory("jswarm-swarm-init-");
        } catch (Exception | AssertionError e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (net != null) {
            SimulatedCluster.closeAll(cluster, registry, net);
        }
        if (dir != null) {
            LocalCluster.deleteTree(dir);
        }
    }

    static Result docker(Member via, String... args) throws Exception {
        return dockerWithInput(via, "", args);
    }

    static Result dockerWithInput(Member via, String input, String... args) throws Exception {
        return DockerCli.run(dir, Map.of("DOCKER_HOST", "unix://" + via.stateDir.resolve("docker.sock")), List.of(args), input);
    }

    static boolean says(Member via, String text, String... args) {
        try {
            Result r = docker(via, args);
            return (r.out() + r.err()).contains(text);
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    @Order(1)
    void aNodeInNoSwarmSaysSoAndRefusesBadInitRequests() throws Exception {
        assertTrue(docker(m1, "info").out().contains("Swarm: inactive"));
        Result ls = docker(m1, "node", "ls");
        assertEquals(1, ls.exit());
        assertTrue(ls.err().contains("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\""), ls.err());
        // Bad requests name the problem and make nothing: the node still waits.
        Result iface = docker(m1, "swarm", "init", "--listen-addr", "eth0:2377");
        assertNotEquals(0, iface.exit());
        assertTrue(iface.err().contains("ListenAddr eth0:2377: give an IP address"), iface.err());
        Result raft = docker(m1, "swarm", "init", "--snapshot-interval", "5");
        assertNotEquals(0, raft.exit());
        assertTrue(raft.err().contains("Spec.Raft is not supported by jswarm"), raft.err());
        assertTrue(docker(m1, "info").out().contains("Swarm: inactive"));
        assertTrue(Files.notExists(m1.stateDir.resolve("node.properties")), "no node state written");
    }

    @Test
    @Order(2)
    void dockerSwarmInitMakesTheSwarmAndJoinAddsANode() throws Exception {
        Result init = docker(m1, "swarm", "init", "--listen-addr", m1.addr(), "--advertise-addr", m1.ip());
        assertEquals(0, init.exit(), init.err() + init.out());
        Matcher started = Pattern.compile("Swarm initialized: current node \\((\\w+)\\) is now a manager").matcher(init.out());
        assertTrue(started.find(), init.out());
        Matcher join = Pattern.compile("docker swarm join --token (\\S+) (\\S+)").matcher(init.out());
        assertTrue(join.find(), init.out());
        assertEquals(m1.addr(), join.group(2), "the address to join at is the manager's");
        joinCommand = join.group(1);
        assertTrue(docker(m1, "info").out().contains("Swarm: active"));
        Result again = docker(m1, "swarm", "init");
        assertNotEquals(0, again.exit());
        assertTrue(again.err().contains("This node is already part of a swarm"), again.err());

        // A wrong token is refused; the worker waits for a good one.
        String wrong = joinCommand.substring(0, joinCommand.lastIndexOf('-') + 1) + "0000000000000000000000000";
        Result refused = docker(w1, "swarm", "join", "--listen-addr", w1.addr(), "--token", wrong, m1.addr());
        assertNotEquals(0, refused.exit());
        assertTrue(refused.err().toLowerCase().contains("token"), refused.err());
        assertTrue(docker(w1, "info").out().contains("Swarm: inactive"));

        Result joined = docker(w1, "swarm", "join", "--listen-addr", w1.addr(), "--token", joinCommand, m1.addr());
        assertEquals(0, joined.exit(), joined.err() + joined.out());
        assertTrue(joined.out().contains("This node joined a swarm as a worker."), joined.out());
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(m1) == 2, "both nodes are ready");
        List<List<String>> nodes = EngineApiTest.rows(docker(m1, "node", "ls").out());
        assertEquals(2, nodes.size(), nodes.toString());

        // The swarm runs services on both.
        Result svc = docker(m1, "service", "create", "--detach", "--name", "pair", "--replicas", "2", image);
        assertEquals(0, svc.exit(), svc.err());
        await(Duration.ofSeconds(90), () -> LocalCluster.tasks(m1, "pair").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING)
                .map(t -> t.getNodeId()).distinct().count() == 2, "a task running on each node");
    }

    @Test
    @Order(3)
    void aRestartedNodeComesBackInItsSwarm() throws Exception {
        w1.stop();
        w1.start();
        await(Duration.ofSeconds(60), () -> {
            try {
                return docker(w1, "info").out().contains("Swarm: active");
            } catch (Exception e) {
                return false;
            }
        }, "w1 is back in the swarm after a restart, --inactive notwithstanding");
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(m1) == 2, "both nodes are ready");
    }

    /** Autolock as a Docker user turns it on and meets it: the restarted manager is locked until docker swarm unlock. */
    @Test
    @Order(4)
    void aLockedManagerIsUnlockedWithDockerSwarmUnlock() throws Exception {
        Result update = docker(m1, "swarm", "update", "--autolock=true");
        assertEquals(0, update.exit(), update.err());
        Matcher key = Pattern.compile("SWMKEY-1-\\S+").matcher(update.out());
        assertTrue(key.find(), update.out());
        m1.stop();
        m1.start();
        await(Duration.ofSeconds(60), () -> says(m1, "Swarm: locked", "info"), "m1 restarted locked", m1::logText);
        Result ls = docker(m1, "node", "ls");
        assertEquals(1, ls.exit());
        assertTrue(ls.err().contains("Swarm is encrypted and needs to be unlocked before it can be used"), ls.err());
        Result wrong = dockerWithInput(m1, "SWMKEY-1-" + "A".repeat(43) + "\n", "swarm", "unlock");
        assertNotEquals(0, wrong.exit());
        assertTrue(says(m1, "Swarm: locked", "info"), "still locked after a wrong key");
        Result unlocked = dockerWithInput(m1, key.group() + "\n", "swarm", "unlock");
        assertEquals(0, unlocked.exit(), unlocked.err() + unlocked.out());
        await(Duration.ofSeconds(60), () -> says(m1, "Leader", "node", "ls"), "m1 serves node ls once unlocked", m1::logText);
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(m1) == 2, "both nodes are ready");
    }
}
