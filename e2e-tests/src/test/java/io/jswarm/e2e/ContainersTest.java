package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.NodeState;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
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
 * Real containers through the whole cluster: one manager and two workers, each on its
 * own simulated host (a network namespace on a test bridge), images from a real registry
 * on the bridge. Each test checks the containers themselves (the runtime's
 * state, /proc of their processes), not only what the managers say.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ContainersTest {
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

    static long ready() {
        return LocalCluster.readyNodes(m1);
    }

    static List<Task> current(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).toList();
    }

    /** Ids of the service's tasks that have a running container. */
    static Set<String> runningContainers(String service) throws IOException {
        Set<String> ids = tasks(m1, service).stream().map(t -> t.getMeta().getId()).collect(Collectors.toSet());
        Set<String> out = new HashSet<>();
        for (String id : cluster.containers()) {
            if (ids.contains(id) && "running".equals(state(id))) {
                out.add(id);
            }
        }
        return out;
    }

    static String state(String id) {
        try {
            Process p = new ProcessBuilder("runc", "--root", cluster.runtimeRoot(id).toString(), "state", id).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            var m = java.util.regex.Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"").matcher(out);
            return m.find() ? m.group(1) : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    static boolean converged(String service, int n) {
        try {
            List<Task> ts = current(service);
            return ts.size() == n && ts.stream().allMatch(t -> t.getStatus().getState() == TaskState.RUNNING)
                    && runningContainers(service).size() == n;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Test
    @Order(1)
    void threeIsolatedContainersSpreadOverTheHosts() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "web", "--replicas", "3", "--restart-delay", "1s", image).ok();
        await(Duration.ofSeconds(60), () -> converged("web", 3), "three containers of web run");
        List<Task> ts = current("web");
        assertEquals(3, ts.stream().map(Task::getNodeId).distinct().count(), "one per host");
        for (Task t : ts) {
            int pid = t.getStatus().getContainer().getPid();
            String nspid = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("NSpid:")).findFirst().orElseThrow();
            assertTrue(nspid.matches("NSpid:\\s+" + pid + "\\s+1"), "pid 1 in its own pid namespace: " + nspid);
            Process p = new ProcessBuilder("runc", "--root", cluster.runtimeRoot(t.getMeta().getId()).toString(), "exec", t.getMeta().getId(), "hostname")
                    .start();
            String hostname = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(t.getMeta().getId().substring(0, 12), hostname);
        }
    }

    @Test
    @Order(2)
    void aKilledContainerIsReplaced() throws Exception {
        Task victim = current("web").get(0);
        int pid = victim.getStatus().getContainer().getPid();
        assertTrue(pid > 1, "the task reports its container's pid: " + victim.getStatus());
        new ProcessBuilder("kill", "-9", String.valueOf(pid)).start().waitFor();
        await(Duration.ofSeconds(30), () -> tasks(m1, "web").stream().anyMatch(t -> t.getMeta().getId().equals(victim.getMeta().getId())
                && t.getStatus().getState() == TaskState.FAILED), "the killed task is failed");
        await(Duration.ofSeconds(30), () -> converged("web", 3), "a replacement runs");
        String ps = cluster.swarmctl(m1, "service", "ps", "web").ok().out();
        assertTrue(ps.contains("\\_ web." + victim.getSlot()), ps);
        assertTrue(ps.contains("task: non-zero exit (137)"), ps);
    }

    @Test
    @Order(3)
    void scalingReconcilesContainerCounts() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "api", "--replicas", "2", image).ok();
        await(Duration.ofSeconds(60), () -> converged("api", 2), "api runs 2");
        cluster.swarmctl(m1, "service", "scale", "web=1", "api=4").ok();
        await(Duration.ofSeconds(60), () -> converged("web", 1) && converged("api", 4), "web 1 and api 4 run");
        cluster.swarmctl(m1, "service", "scale", "web=2", "api=0").ok();
        await(Duration.ofSeconds(60), () -> converged("web", 2) && converged("api", 0), "web 2 and api 0 run");
        cluster.swarmctl(m1, "service", "rm", "api").ok();
    }

    @Test
    @Order(4)
    void aMissingImageIsRejectedAndLeavesNoContainer() throws Exception {
        LocalCluster.Result r = cluster.swarmctl(m1, "service", "create", "-d", "--name", "ghost", "--restart-delay", "1s",
                sim.registry.addr + "/nosuch:1").ok();
        assertTrue(r.err().contains("could not be accessed"), "a warning, the service is created: " + r.err());
        await(Duration.ofSeconds(60), () -> tasks(m1, "ghost").stream().filter(t -> t.getStatus().getState() == TaskState.REJECTED)
                .count() >= 2, "tasks are rejected and retried");
        String ps = cluster.swarmctl(m1, "service", "ps", "ghost").ok().out();
        assertTrue(ps.contains("not found"), ps);
        assertTrue(runningContainers("ghost").isEmpty());
        Set<String> ids = tasks(m1, "ghost").stream().map(t -> t.getMeta().getId()).collect(Collectors.toSet());
        assertTrue(cluster.containers().stream().noneMatch(ids::contains), "no container of ghost exists");
        cluster.swarmctl(m1, "service", "rm", "ghost").ok();
    }

    @Test
    @Order(4)
    void aFailingImageFailsWithItsExitCodeAndIsNotRestartedUnderConditionNone() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "fails", "--restart-condition", "none", failing).ok();
        await(Duration.ofSeconds(60), () -> tasks(m1, "fails").stream().anyMatch(t -> t.getStatus().getState() == TaskState.FAILED),
                "the task fails");
        Thread.sleep(3000);
        List<Task> ts = tasks(m1, "fails");
        assertEquals(1, ts.size(), "no replacement under --restart-condition none");
        assertEquals("task: non-zero exit (7)", ts.get(0).getStatus().getErr());
        cluster.swarmctl(m1, "service", "rm", "fails").ok();
    }

    @Test
    @Order(5)
    void limitsAndMountsReachTheContainer() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "limited", "--limit-cpu", "0.5", "--limit-pids", "50",
                "--limit-memory", "32m", "--read-only", "--mount", "type=tmpfs,target=/scratch", image).ok();
        await(Duration.ofSeconds(60), () -> converged("limited", 1), "limited runs");
        Task t = current("limited").get(0);
        int pid = t.getStatus().getContainer().getPid();
        Map<String, String> cgroups = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            for (String c : f[1].split(",")) {
                cgroups.put(c, f[2]);
            }
        }
        assertEquals("50000", Files.readString(Path.of("/sys/fs/cgroup/cpu" + cgroups.get("cpu"), "cpu.cfs_quota_us")).trim());
        assertEquals("100000", Files.readString(Path.of("/sys/fs/cgroup/cpu" + cgroups.get("cpu"), "cpu.cfs_period_us")).trim());
        assertEquals("50", Files.readString(Path.of("/sys/fs/cgroup/pids" + cgroups.get("pids"), "pids.max")).trim());
        assertEquals(String.valueOf(32L << 20),
                Files.readString(Path.of("/sys/fs/cgroup/memory" + cgroups.get("memory"), "memory.limit_in_bytes")).trim());
        String id = t.getMeta().getId();
        assertTrue(exec(id, "touch", "/x") != 0, "the root filesystem is read-only");
        assertEquals(0, exec(id, "touch", "/scratch/x"), "the tmpfs mount is writable");
        cluster.swarmctl(m1, "service", "rm", "limited").ok();
    }

    static int exec(String id, String... cmd) throws Exception {
        List<String> c = new java.util.ArrayList<>(List.of("runc", "--root", cluster.runtimeRoot(id).toString(), "exec", id));
        c.addAll(List.of(cmd));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.waitFor(30, TimeUnit.SECONDS);
        return p.exitValue();
    }

    @Test
    @Order(5)
    void anOomKillIsReportedAndReplaced() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "hog", "--limit-memory", "16m", "--restart-delay", "1s",
                image, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 1000").ok();
        await(Duration.ofSeconds(60), () -> tasks(m1, "hog").stream().filter(t -> t.getStatus().getErr().contains("OOM")).count() >= 2,
                "OOM kills are reported and the task replaced");
        Task t = tasks(m1, "hog").stream().filter(x -> x.getStatus().getErr().contains("OOM")).findFirst().orElseThrow();
        assertEquals(137, t.getStatus().getContainer().getExitCode());
        cluster.swarmctl(m1, "service", "rm", "hog").ok();
    }

    @Test
    @Order(6)
    void aRestartedAgentKeepsItsContainers() throws Exception {
        await(Duration.ofSeconds(60), () -> converged("web", 2), "web runs 2");
        Member w = null;
        Task onWorker = null;
        for (Task t : current("web")) {
            for (Member m : List.of(cluster.member("w1"), cluster.member("w2"))) {
                if (nodes(m1).stream().anyMatch(n -> n.getMeta().getId().equals(t.getNodeId())
                        && n.getDescription().getHostname().equals(m.name))) {
                    w = m;
                    onWorker = t;
                }
            }
        }
        assertTrue(w != null, "a worker runs a web task");
        Map<String, Integer> pidsBefore = current("web").stream()
                .collect(Collectors.toMap(t -> t.getMeta().getId(), t -> t.getStatus().getContainer().getPid()));
        w.kill();
        assertEquals("running", state(onWorker.getMeta().getId()), "the container outlives its agent");
        w.start();
        Member worker = w;
        await(Duration.ofSeconds(60), () -> ready() == 3, worker.name + " is back");
        Thread.sleep(3000);
        await(Duration.ofSeconds(30), () -> converged("web", 2), "web still runs 2");
        Map<String, Integer> pidsAfter = current("web").stream()
                .collect(Collectors.toMap(t -> t.getMeta().getId(), t -> t.getStatus().getContainer().getPid()));
        assertEquals(pidsBefore, pidsAfter, "the same containers, not new ones");
        assertEquals(2, runningContainers("web").size(), "no duplicates");
    }

    @Test
    @Order(7)
    void aCutOffHostsTasksMoveAndItsStaleContainersStop() throws Exception {
        await(Duration.ofSeconds(60), () -> converged("web", 2), "web runs 2");
        Member w = null;
        String nodeId = null;
        for (Member m : List.of(cluster.member("w1"), cluster.member("w2"))) {
            String id = nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals(m.name)).findFirst().orElseThrow()
                    .getMeta().getId();
            if (current("web").stream().anyMatch(t -> t.getNodeId().equals(id))) {
                w = m;
                nodeId = id;
            }
        }
        assertTrue(w != null, "a worker runs a web task");
        String cutNode = nodeId;
        List<String> stale = current("web").stream().filter(t -> t.getNodeId().equals(cutNode)).map(t -> t.getMeta().getId()).toList();
        w.kill();
        net.link(w.host, false);
        await(Duration.ofSeconds(60), () -> nodes(m1).stream().anyMatch(n -> n.getMeta().getId().equals(cutNode)
                && n.getStatus().getState() == NodeState.NODE_DOWN), w.name + " is down");
        await(Duration.ofSeconds(60), () -> current("web").size() == 2
                && current("web").stream().noneMatch(t -> t.getNodeId().equals(cutNode))
                && current("web").stream().allMatch(t -> t.getStatus().getState() == TaskState.RUNNING),
                "web runs again on the other hosts");
        for (String id : stale) {
            assertEquals("running", state(id), "the cut-off host still runs its old container");
        }
        net.link(w.host, true);
        w.start();
        await(Duration.ofSeconds(60), () -> ready() == 3, w.name + " is back");
        await(Duration.ofSeconds(60), () -> stale.stream().noneMatch(id -> "running".equals(state(id))),
                "the returned host stopped its stale containers");
        await(Duration.ofSeconds(30), () -> converged("web", 2), "web runs exactly 2");
    }

    @Test
    @Order(8)
    void removingAServiceLeavesNothingBehind() throws Exception {
        Set<String> ids = tasks(m1, "web").stream().map(t -> t.getMeta().getId()).collect(Collectors.toSet());
        cluster.swarmctl(m1, "service", "rm", "web").ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.containers().stream().noneMatch(ids::contains) && tasks(m1, "").isEmpty();
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }, "web's containers and tasks are gone", () -> {
            StringBuilder b = new StringBuilder();
            for (Task t : tasks(m1, "")) {
                b.append("task ").append(t.getMeta().getId()).append(' ').append(t.getStatus().getState()).append('/')
                        .append(t.getDesiredState()).append(" on ").append(t.getNodeId()).append(" (")
                        .append(t.getStatus().getMessage()).append("); ");
            }
            try {
                for (String id : cluster.containers()) {
                    b.append("container ").append(id).append(' ').append(state(id)).append("; ");
                }
            } catch (IOException e) {
                b.append("containers: ").append(e.getMessage());
            }
            return b.toString();
        });
        // Agents clean up as the removals reach them: wait for it, then look at every host.
        await(Duration.ofSeconds(30), () -> ids.stream().allMatch(id -> leftovers(id).isEmpty()), "nothing of web is left");
        for (String id : ids) {
            assertEquals(List.of(), leftovers(id));
        }
    }

    /** What remains of a task on this machine: mounts, network namespace, cgroup, files. */
    static List<String> leftovers(String id) {
        List<String> out = new java.util.ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                if (line.contains(id)) {
                    out.add("mount " + line);
                }
            }
        } catch (IOException e) {
            out.add(e.toString());
        }
        if (Files.exists(Path.of("/var/run/netns/jswarm-" + id.substring(0, 12)))) {
            out.add("network namespace");
        }
        for (Member m : cluster.members()) {
            if (Files.exists(Path.of("/sys/fs/cgroup/memory" + m.cgroupParent + "/" + id))) {
                out.add("cgroup");
            }
        }
        for (Member m : cluster.members()) {
            if (Files.exists(m.stateDir.resolve("tasks").resolve(id))) {
                out.add("files on " + m.name);
            }
        }
        if ("running".equals(state(id)) || "created".equals(state(id)) || "stopped".equals(state(id))) {
            out.add("container");
        }
        return out;
    }
}
