package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Node;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * swarmctl service logs with real containers on simulated hosts: every task's lines from
 * every node with Docker's prefixes, the options, no line lost or doubled, follow across
 * new tasks, bounded rotating files, and a follow ended by a manager failover.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LogsTest {
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member m1;
    static String image;
    static Path dir;
    static final List<Process> followers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        sim = new SimulatedCluster(2, "2s", "--log-max-size", "1m", "--log-max-files", "2");
        cluster = sim.cluster;
        m1 = sim.m1;
        image = sim.image;
        dir = Files.createTempDirectory("jswarm-logs-test-");
    }

    @AfterAll
    static void stop() throws Exception {
        for (Process p : followers) {
            p.destroyForcibly();
        }
        if (sim != null) {
            sim.close();
        }
        LocalCluster.deleteTree(dir);
    }

    static boolean running(String service, int n) {
        try {
            return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                    && t.getStatus().getState() == TaskState.RUNNING).count() == n;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Starts swarmctl service logs -f ... in the background, its output in files. */
    static Process follow(Member via, String name, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("service", "logs", "-f"));
        a.addAll(List.of(args));
        Process p = cluster.swarmctlToFiles(via, dir.resolve(name + ".out"), dir.resolve(name + ".err"), a.toArray(String[]::new));
        followers.add(p);
        return p;
    }

    static List<String> lines(String file) {
        try {
            return Files.readAllLines(dir.resolve(file));
        } catch (IOException e) {
            return List.of();
        }
    }

    static String hostname(String nodeId) {
        return nodes(m1).stream().filter(n -> n.getMeta().getId().equals(nodeId)).findFirst().orElseThrow()
                .getDescription().getHostname();
    }

    @Test
    @Order(1)
    void everyTaskOnEveryNodeWithDockerPrefixes() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "talk", "--replicas", "3", image, "sh", "-c",
                "echo \"hello from $(hostname)\"; echo oops >&2; exec sleep 1000").ok();
        List<Task> ts = tasks(m1, "talk");
        assertEquals(3, ts.stream().map(Task::getNodeId).distinct().count(), "spread over the three nodes");
        await(Duration.ofSeconds(30), () -> {
            try {
                return cluster.swarmctl(m1, "service", "logs", "talk").out().lines().count() == 3;
            } catch (Exception e) {
                return false;
            }
        }, "three tasks logged");

        LocalCluster.Result r = cluster.swarmctl(m1, "service", "logs", "talk").ok();
        // The container's hostname is the short task id: the line names the task it came from.
        Pattern line = Pattern.compile("talk\\.(\\d)\\.([a-z0-9]{12})@(\\S+) \\| hello from ([a-z0-9]{12})");
        Set<String> slots = new TreeSet<>();
        for (String l : r.out().lines().toList()) {
            Matcher m = line.matcher(l);
            assertTrue(m.matches(), "NAME.SLOT.TASKID@NODE | line: " + l);
            assertEquals(m.group(2), m.group(4), "the line comes from the task of its prefix: " + l);
            Task t = ts.stream().filter(x -> x.getMeta().getId().startsWith(m.group(2))).findFirst().orElseThrow();
            assertEquals(m.group(1), String.valueOf(t.getSlot()), l);
            assertEquals(hostname(t.getNodeId()), m.group(3), "the node that runs it: " + l);
            slots.add(m.group(1));
        }
        assertEquals(Set.of("1", "2", "3"), slots);
        assertEquals(3, r.err().lines().filter(l -> l.matches("talk\\.\\d\\.[a-z0-9]{12}@\\S+ \\| oops")).count(),
                "stderr lines go to stderr: " + r.err());

        String plain = cluster.swarmctl(m1, "service", "logs", "--no-task-ids", "talk").ok().out();
        assertTrue(plain.lines().allMatch(l -> l.matches("talk\\.\\d@\\S+ \\| hello from .*")), plain);
        String stamped = cluster.swarmctl(m1, "service", "logs", "-t", "talk").ok().out();
        assertTrue(stamped.lines().allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z talk\\.\\d\\..*")), stamped);
        assertEquals("", cluster.swarmctl(m1, "service", "logs", "--tail", "0", "talk").ok().out());
        assertEquals("", cluster.swarmctl(m1, "service", "logs", "--since", Instant.now().plusSeconds(5).toString(), "talk").ok().out());
        assertEquals(3, cluster.swarmctl(m1, "service", "logs", "--since", "1h", "talk").ok().out().lines().count());

        String one = ts.get(0).getMeta().getId();
        String single = cluster.swarmctl(m1, "service", "logs", one).ok().out();
        assertEquals(1, single.lines().count(), single);
        assertTrue(single.contains("." + one.substring(0, 12) + "@"), single);

        LocalCluster.Result bad = cluster.swarmctl(m1, "service", "logs", "nosuch");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("no such service or task: nosuch"), bad.err());
        LocalCluster.Result badTail = cluster.swarmctl(m1, "service", "logs", "--tail", "-3", "talk");
        assertEquals(1, badTail.exit());
        assertTrue(badTail.err().contains("--tail"), badTail.err());
        cluster.swarmctl(m1, "service", "rm", "talk").ok();
    }

    /** The numbers after " | ", checked to be 1..n, each once, in order. */
    static void assertCountsTo(int n, List<String> lines) {
        List<Integer> got = new ArrayList<>();
        for (String l : lines) {
            got.add(Integer.parseInt(l.substring(l.indexOf(" | ") + 3)));
        }
        for (int i = 0; i < got.size(); i++) {
            if (got.get(i) != i + 1) {
                throw new AssertionError("line " + (i + 1) + " is " + got.get(i) + ": a line was lost, doubled or reordered");
            }
        }
        assertEquals(n, got.size(), "every line once");
    }

    @Test
    @Order(2)
    void tenThousandLinesNoneLostNoneDoubled() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "count", "--restart-condition", "none", image, "sh", "-c",
                "sleep 2; seq 1 10000; exec sleep 1000").ok();
        Process f = follow(m1, "count", "count");  // following from before the first line
        await(Duration.ofSeconds(60), () -> lines("count.out").size() >= 10000, "the follow saw 10000 lines");
        Thread.sleep(1000);  // anything doubled would arrive by now
        assertTrue(f.isAlive(), "a follow keeps following");
        f.destroy();
        assertCountsTo(10000, lines("count.out"));
        assertCountsTo(10000, cluster.swarmctl(m1, "service", "logs", "count").ok().out().lines().toList());
        List<String> tail = cluster.swarmctl(m1, "service", "logs", "--tail", "3", "count").ok().out().lines().toList();
        assertEquals(List.of("9998", "9999", "10000"), tail.stream().map(l -> l.substring(l.indexOf(" | ") + 3)).toList());
        cluster.swarmctl(m1, "service", "rm", "count").ok();
    }

    @Test
    @Order(3)
    void followPicksUpTasksThatStartLater() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "grow", image, "sh", "-c", "echo \"up $(hostname)\"; exec sleep 1000").ok();
        follow(m1, "grow", "grow");
        await(Duration.ofSeconds(30), () -> lines("grow.out").size() == 1, "the first task's line");
        cluster.swarmctl(m1, "service", "scale", "grow=3").ok();
        await(Duration.ofSeconds(60), () -> lines("grow.out").size() == 3, "the new tasks' lines");
        Set<String> slots = new TreeSet<>();
        for (String l : lines("grow.out")) {
            assertTrue(l.matches("grow\\.\\d\\.([a-z0-9]{12})@\\S+ \\| up \\1"), l);
            slots.add(l.substring(5, 6));
        }
        assertEquals(Set.of("1", "2", "3"), slots);
    }

    @Test
    @Order(4)
    void logFilesAreBoundedAndGoAwayWithTheTask() throws Exception {
        // About 9 MB of records against --log-max-size 1m --log-max-files 2.
        cluster.swarmctl(m1, "service", "create", "--name", "flood", "--restart-condition", "none", image, "sh", "-c",
                "seq 1 300000; echo done; exec sleep 1000").ok();
        Task t = tasks(m1, "flood").get(0);
        Member node = cluster.member(hostname(t.getNodeId()));
        Path taskDir = node.stateDir.resolve("tasks").resolve(t.getMeta().getId());
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.swarmctl(m1, "service", "logs", "--tail", "1", "flood").out().contains("| done");
            } catch (Exception e) {
                return false;
            }
        }, "the flood is written");
        List<String> files;
        try (Stream<Path> s = Files.list(taskDir)) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("log")).sorted().toList();
        }
        assertEquals(List.of("log", "log.1"), files, "two files kept");
        for (String name : files) {
            assertTrue(Files.size(taskDir.resolve(name)) <= (1 << 20) + 64, name + " is bounded: " + Files.size(taskDir.resolve(name)));
        }
        List<String> tail = cluster.swarmctl(m1, "service", "logs", "--tail", "3", "flood").ok().out().lines().toList();
        assertEquals(List.of("299999", "300000", "done"), tail.stream().map(l -> l.substring(l.indexOf(" | ") + 3)).toList());
        cluster.swarmctl(m1, "service", "rm", "flood").ok();
        await(Duration.ofSeconds(60), () -> !Files.exists(taskDir), "the task's logs go away with it");
    }

    @Test
    @Order(5)
    void aFollowGoesOnWhenTheNodesAgentRestarts() throws Exception {
        cluster.swarmctl(m1, "service", "create", "--name", "tick", "--constraint", "node.hostname==w2", image, "sh", "-c",
                "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done").ok();
        String id = tasks(m1, "tick").get(0).getMeta().getId();
        follow(m1, "tick", "tick");
        await(Duration.ofSeconds(30), () -> lines("tick.out").size() >= 10, "following");
        Member w2 = cluster.member("w2");
        w2.kill();  // the container and its log writer go on without the agent
        int atKill = lines("tick.out").size();
        Thread.sleep(1500);
        w2.start();
        await(Duration.ofSeconds(60), () -> lines("tick.out").size() >= atKill + 60, "the follow goes on after the agent is back");
        // The task's numbers: consecutive from the first line seen, none lost or doubled across the restart.
        List<String> mine = lines("tick.out").stream().filter(l -> l.contains("." + id.substring(0, 12) + "@")).toList();
        int first = Integer.parseInt(mine.get(0).substring(mine.get(0).indexOf(" | ") + 3));
        for (int i = 0; i < mine.size(); i++) {
            String l = mine.get(i);
            assertEquals(first + i, Integer.parseInt(l.substring(l.indexOf(" | ") + 3)), "line " + i + " of " + mine.size());
        }
        assertTrue(mine.size() >= atKill + 50, "lines from before and after the restart: " + mine.size());
        cluster.swarmctl(m1, "service", "rm", "tick").ok();
    }

    @Test
    @Order(6)
    void managerFailoverEndsAFollowWithAMessage() throws Exception {
        Member w1 = sim.promoteWorkers();
        Node leaderNode = nodes(w1).stream().filter(n -> n.getManagerStatus().getLeader()).findFirst().orElseThrow();
        Member leader = cluster.member(leaderNode.getDescription().getHostname());
        Member via = leader == w1 ? cluster.member("w2") : w1;
        Process f = follow(via, "failover", "grow");
        await(Duration.ofSeconds(30), () -> lines("failover.out").size() == 3, "following through a follower");
        leader.kill();
        assertTrue(f.waitFor(30, TimeUnit.SECONDS), "the follow ends rather than hangs");
        assertEquals(1, f.exitValue());
        String err = String.join("\n", lines("failover.err"));
        assertTrue(err.contains("log stream ended") && err.contains("run the command again"), err);
        assertFalse(err.contains("Exception"), err);
    }
}
