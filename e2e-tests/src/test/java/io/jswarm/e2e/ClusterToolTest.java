package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/cluster as a person runs it: up (three simulated hosts), a service spread over
 * them, a host's swarmd killed and its tasks moved, ls showing it, and down leaving no
 * process, namespace, mount, cgroup, bridge or file behind.
 */
@Timeout(value = 420, unit = TimeUnit.SECONDS)
class ClusterToolTest {
    @TempDir
    static Path tmp;

    /** bin/cluster with this test's own classpath (the build is the test run's) and a directory of its own. */
    static LocalCluster.Result cluster(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.ROOT.resolve("bin/cluster").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("JSWARM_CLUSTER_DIR", dir.toString());
        pb.environment().put("JSWARM_E2E_CLASSPATH", System.getProperty("java.class.path"));
        Process p = pb.redirectError(tmp.resolve("err").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "bin/cluster " + String.join(" ", args) + " ends");
        return new LocalCluster.Result(p.exitValue(), out, Files.readString(tmp.resolve("err")));
    }

    static LocalCluster.Result swarmctl(String socket, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--socket", socket));
        cmd.addAll(List.of(args));
        return LocalCluster.run(cmd);
    }

    /** Running tasks of a service by node hostname, from `service ps`. */
    static Map<String, Long> runningByNode(String socket, String service) throws Exception {
        String out = swarmctl(socket, "service", "ps", service, "--filter", "desired-state=running").out();
        return out.lines().skip(1).filter(l -> l.contains(" Running "))
                .map(l -> l.trim().split("\\s+")[3])
                .collect(java.util.stream.Collectors.groupingBy(n -> n, java.util.stream.Collectors.counting()));
    }

    @Test
    void upServiceKillLsDownLeavesNothing() throws Exception {
        Assumptions.assumeFalse(Files.exists(Path.of("/sys/class/net/jsbr" + ClusterTool.TAG)),
                "a bin/cluster cluster is up on this machine: this test would share its names");
        Path dir = tmp.resolve("cluster");
        List<Long> pids = new ArrayList<>();
        try {
            LocalCluster.Result up = cluster(dir, "up", "--managers", "1", "--workers", "2");
            assertEquals(0, up.exit(), up.out() + up.err());
            Matcher export = Pattern.compile("export SWARM_SOCKET=(\\S+)").matcher(up.out());
            assertTrue(export.find(), up.out());
            String socket = export.group(1);
            assertEquals(dir.resolve("m1/swarmd.sock").toString(), socket);
            for (String host : List.of("m1", "w1", "w2")) {
                Matcher m = Pattern.compile("(?m)^" + host + "\\s+(10\\.231\\.5\\.\\d+)\\s+running \\(pid (\\d+)\\)\\s+up\\s+ready").matcher(up.out());
                assertTrue(m.find(), host + " listed as running and ready: " + up.out());
                pids.add(Long.parseLong(m.group(2)));
            }
            String image = ClusterTool.PREFIX + ".1:5000/busybox:1";
            swarmctl(socket, "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s", image).ok();
            await(Duration.ofSeconds(90), () -> {
                try {
                    return runningByNode(socket, "web").size() == 3;
                } catch (Exception e) {
                    return false;
                }
            }, "web runs one task on each of the three hosts");

            LocalCluster.Result kill = cluster(dir, "kill", "w1");
            assertEquals(0, kill.exit(), kill.err());
            assertTrue(kill.out().startsWith("cluster: killed w1's swarmd (pid " + pids.get(1) + ", kill -9)"), kill.out());
            await(Duration.ofSeconds(90), () -> {
                try {
                    Map<String, Long> by = runningByNode(socket, "web");
                    return !by.containsKey("w1") && by.values().stream().mapToLong(Long::longValue).sum() == 3;
                } catch (Exception e) {
                    return false;
                }
            }, "web's task on w1 runs elsewhere");
            LocalCluster.Result ls = cluster(dir, "ls");
            assertTrue(ls.out().matches("(?s).*\\nw1\\s+10\\.231\\.5\\.12\\s+not running\\s+up\\s+down, worker.*"), ls.out());

            LocalCluster.Result down = cluster(dir, "down");
            assertEquals(0, down.exit(), down.out() + down.err());
        } finally {
            cluster(dir, "down");  // whatever failed above
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "swarmd " + pid + " is gone");
        }
        assertFalse(Files.exists(dir), dir + " is removed");
        assertFalse(Files.exists(Path.of("/sys/class/net/jsbr" + ClusterTool.TAG)), "the bridge is removed");
        try (var ns = Files.list(Path.of("/var/run/netns"))) {
            List<String> left = ns.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("jsh" + ClusterTool.TAG + "-")).toList();
            assertEquals(List.of(), left, "no host namespace is left");
        }
        assertTrue(Files.readAllLines(Path.of("/proc/self/mounts")).stream().noneMatch(l -> l.contains(dir.toString())), "no mount is left");
        for (String c : List.of("memory", "cpu", "pids")) {
            assertFalse(Files.exists(Path.of("/sys/fs/cgroup", c, ClusterTool.CGROUP_PARENT)), "no cgroup is left in " + c);
        }
        assertTrue(ProcessHandle.allProcesses().noneMatch(p -> p.info().commandLine().orElse("").contains(dir.toString())),
                "no process of the cluster is left (the registry included)");
    }
}
