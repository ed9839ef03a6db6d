package io.jswarm.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static io.jswarm.e2e.LocalCluster.await;

import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeState;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's life on one machine, against real swarmd processes on 127.0.0.1 (three managers,
 * two workers, real containers): leaving the cluster as docker swarm leave does, and what
 * stops two daemons from sharing what only one may own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class NodeLifecycleTest {
    @TempDir
    static Path tmp;
    static TestRegistry registry;
    static String image;
    static LocalCluster cluster;
    static Member m1;

    @BeforeAll
    static void startCluster() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        image = TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        m1 = cluster.init("m1", "--heartbeat-period", "1s");
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

    static Node node(String hostname) {
        return LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals(hostname)).findFirst().orElseThrow();
    }

    static List<Task> running(String service) {
        return LocalCluster.tasks(m1, service).stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    /** Everything a node that left must have removed: its process, containers, state, cgroups, locks. */
    static void assertNothingLeft(Member m, List<String> itsTasks) throws Exception {
        await(Duration.ofSeconds(30), () -> m.pid() == -1, m.name + "'s swarmd exits");
        assertEquals("", LocalCluster.runc(m, "list", "-q"), "no container left in " + m.runtimeRoot);
        assertFalse(Files.exists(m.runtimeRoot), m.runtimeRoot + " is gone");
        assertFalse(Files.exists(m.stateDir), m.stateDir + " is gone (nothing in it was to be kept)");
        for (String id : itsTasks) {
            assertFalse(Files.exists(Path.of("/var/run/netns/jswarm-" + id.substring(0, 12))), "task " + id + "'s network namespace is gone");
        }
        for (String c : List.of("memory", "cpu", "pids")) {
            assertFalse(Files.exists(Path.of("/sys/fs/cgroup", c, m.cgroupParent)), "cgroup " + c + m.cgroupParent + " is gone");
        }
        assertFalse(Files.exists(io.jswarm.cli.DaemonLocks.runtimeRootLock(m.runtimeRoot.toString())), "its runtime root's lock is gone");
        assertFalse(Files.exists(io.jswarm.cli.DaemonLocks.cgroupParentLock(m.cgroupParent)), "its cgroup parent's lock is gone");
    }

    @Test
    @Order(1)
    void aWorkersSocketServesOnlyWhatActsOnTheNode() throws Exception {
        LocalCluster.Result r = cluster.swarmctl(cluster.member("w1"), "service", "ls");
        assertEquals(1, r.exit());
        assertEquals("Error: this node is not a manager: a worker cannot view or change the cluster; run swarmctl on a manager"
                + " (or with --host and a client certificate), or promote this node\n", r.err());
        r = LocalCluster.run(List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--socket", cluster.member("w1").socket().toString(),
                "--host", "127.0.0.1:1", "cluster", "leave"));
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("Error: cluster leave acts on the node whose socket swarmctl uses"), r.err());
    }

    @Test
    @Order(2)
    void aWorkerLeavesItsTasksMoveAndNothingOfItRemains() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "web", "--replicas", "5", "--stop-grace-period", "1s", image).ok();
        await(Duration.ofSeconds(90), () -> running("web").size() == 5, "web runs 5 tasks");
        Member w1 = cluster.member("w1");
        String w1Id = node("w1").getMeta().getId();
        List<String> itsTasks = running("web").stream().filter(t -> t.getNodeId().equals(w1Id)).map(t -> t.getMeta().getId()).toList();
        assertFalse(itsTasks.isEmpty(), "w1 runs a task of web");

        LocalCluster.Result r = cluster.swarmctl(w1, "cluster", "leave").ok();
        assertTrue(r.out().startsWith("Node " + w1Id + " left the cluster; removed: " + itsTasks.size() + " container"), r.out());
        assertEquals("", r.err());
        Node gone = node("w1");
        assertEquals(NodeState.NODE_DOWN, gone.getStatus().getState(), "the managers mark it down at once");
        assertEquals("left the cluster", gone.getStatus().getMessage());
        await(Duration.ofSeconds(60), () -> running("web").size() == 5
                && running("web").stream().noneMatch(t -> t.getNodeId().equals(w1Id)), "web's tasks run elsewhere");
        assertNothingLeft(w1, itsTasks);
    }

    @Test
    @Order(3)
    void aManagerLeavesTheRaftGroupFirst() throws Exception {
        Member m3 = cluster.member("m3");
        String m3Id = node("m3").getMeta().getId();
        List<String> itsTasks = running("web").stream().filter(t -> t.getNodeId().equals(m3Id)).map(t -> t.getMeta().getId()).toList();
        LocalCluster.Result r = cluster.swarmctl(m3, "cluster", "leave").ok();
        assertTrue(r.out().startsWith("Node " + m3Id + " left the cluster"), r.out());
        Node gone = node("m3");
        assertEquals(NodeRole.WORKER, gone.getRole(), "it left the Raft group: a worker now");
        assertEquals(NodeState.NODE_DOWN, gone.getStatus().getState());
        assertEquals(2, LocalCluster.nodes(m1).stream().filter(n -> n.getRole() == NodeRole.MANAGER).count());
        assertNothingLeft(m3, itsTasks);
        // Two managers of two: still a quorum, the cluster takes writes.
        cluster.swarmctl(m1, "service", "scale", "web=6").ok();
        await(Duration.ofSeconds(60), () -> running("web").size() == 6
                && running("web").stream().noneMatch(t -> t.getNodeId().equals(m3Id)), "web runs 6 tasks, none on m3");
    }

    @Test
    @Order(4)
    void theLastManagerLeavesOnlyWithForceAndTakesTheClusterWithIt() throws Exception {
        try (LocalCluster single = new LocalCluster().insecureRegistry(registry.addr)) {
            Member s1 = single.init("s1");
            single.swarmctl(s1, "service", "create", "--name", "solo", "--replicas", "2", "--stop-grace-period", "1s", image).ok();
            await(Duration.ofSeconds(60), () -> LocalCluster.tasks(s1, "solo").stream()
                    .filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() == 2, "solo runs 2 tasks");
            List<String> itsTasks = LocalCluster.tasks(s1, "solo").stream().map(t -> t.getMeta().getId()).toList();
            LocalCluster.Result r = single.swarmctl(s1, "cluster", "leave");
            assertEquals(1, r.exit());
            assertEquals("Error: this node is the cluster's last manager: leaving ends the cluster and everything it holds (services,"
                    + " secrets, configs, networks); `swarmctl cluster leave --force` does that\n", r.err());
            assertEquals(2, single.containers().size(), "refused: nothing changed");
            assertEquals(1, LocalCluster.readyNodes(s1));
            r = single.swarmctl(s1, "cluster", "leave", "--force").ok();
            assertTrue(r.out().contains("left the cluster; removed: 2 containers"), r.out());
            assertNothingLeft(s1, itsTasks);
        }
    }

    /** bin/swarmd with its own ports and these directories, run to its end. */
    static LocalCluster.Result swarmd(Path stateDir, Path runtimeRoot, String cgroupParent) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.ROOT.resolve("bin/swarmd").toString(), "--state-dir", stateDir.toString(),
                "--runtime-root", runtimeRoot.toString(), "--cgroup-parent", cgroupParent,
                "--listen-remote-api", "127.0.0.1:" + LocalCluster.freePort(), "--listen-raft-api", "127.0.0.1:" + LocalCluster.freePort(),
                "--dns-upstream", "none", "--routing-mesh", "off"));
        return LocalCluster.run(cmd);
    }

    @Test
    @Order(5)
    void aSecondSwarmdSharingTheStateDirRuntimeRootOrCgroupParentOfARunningOneIsRefused() throws Exception {
        long pid = m1.pid();
        Path state = tmp.resolve("state");
        Path root = tmp.resolve("runc");
        String cgroup = "/jswarm-lock-test-" + Long.toHexString(System.nanoTime());
        try {
            LocalCluster.Result r = swarmd(m1.stateDir, root, cgroup);
            assertEquals(1, r.exit(), r.err());
            assertEquals("swarmd: another swarmd (pid " + pid + ") is using --state-dir " + m1.stateDir
                    + "; give this one its own --state-dir (and its own --runtime-root and --cgroup-parent)\n", r.err());
            r = swarmd(state, m1.runtimeRoot, cgroup);
            assertEquals(1, r.exit(), r.err());
            assertEquals("swarmd: another swarmd (pid " + pid + ") is using --runtime-root " + m1.runtimeRoot
                    + "; two daemons on one runtime root remove each other's containers: give this one its own --runtime-root"
                    + " and --cgroup-parent\n", r.err());
            r = swarmd(state, root, m1.cgroupParent);
            assertEquals(1, r.exit(), r.err());
            assertTrue(r.err().startsWith("swarmd: another swarmd (pid " + pid + ") is using --cgroup-parent " + m1.cgroupParent
                    + "; two daemons on one cgroup parent"), r.err());
            // Refused before it wrote anything of a node, and the running one is untouched.
            assertFalse(Files.exists(state.resolve("node.properties")), "the refused daemon made no node");
            assertEquals(pid, m1.pid(), "the running swarmd still runs");
            assertEquals(NodeState.NODE_READY, node("m1").getStatus().getState());
        } finally {
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.runtimeRootLock(root.toString()));
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.cgroupParentLock(cgroup));
        }
    }
}
