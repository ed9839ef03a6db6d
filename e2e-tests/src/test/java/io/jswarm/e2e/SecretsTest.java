package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Secrets and configs on three simulated hosts with real containers: the files in the
 * containers with their owner and mode, delivery only to the nodes whose tasks use them,
 * no secret byte on any disk or in any answer (also after a manager restart and a
 * snapshot), an agent restart, rotation the Docker way, refused input, and nothing left
 * after service rm.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SecretsTest {
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member m1;
    /** Random, so that finding these bytes anywhere can only mean they came from the secret. */
    static final String PASSWORD = "pw-" + HexFormat.of().formatHex(java.security.SecureRandom.getSeed(12));
    static final String PASSWORD_V2 = "pw2-" + HexFormat.of().formatHex(java.security.SecureRandom.getSeed(12));
    static final String CONF = "listen 8080\nworkers 4\n";
    static Path files;

    @BeforeAll
    static void start() throws Exception {
        // A snapshot every 20 Raft entries: the managers' snapshots are checked for the secret too.
        sim = new SimulatedCluster(2, "1s", new String[] {"--snapshot-interval", "20"}, new String[0]);
        cluster = sim.cluster;
        m1 = sim.m1;
        files = Files.createTempDirectory("jswarm-secrets-test-");
        Files.writeString(files.resolve("pw"), PASSWORD);
        Files.writeString(files.resolve("pw2"), PASSWORD_V2);
        Files.writeString(files.resolve("conf"), CONF);
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
        if (files != null) {
            LocalCluster.deleteTree(files);
        }
    }

    static List<Task> running(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static String nodeId(String host) {
        return LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals(host)).findFirst()
                .orElseThrow().getMeta().getId();
    }

    static String id(String kind, String name) throws Exception {
        return cluster.swarmctl(m1, kind, "inspect", "--pretty", name).ok().out().lines().filter(l -> l.startsWith("ID:"))
                .findFirst().orElseThrow().substring(3).trim();
    }

    /** What a node's agent says it was given ("holding secret ID"): delivery seen from the node. */
    static boolean holds(String host, String id) {
        return cluster.member(host).logText().contains(" " + id + " (");
    }

    /** The files the containers see: content, owner and mode. */
    static void assertFiles(Task t, String password) throws Exception {
        assertEquals(password, InContainer.exec(cluster, t, "cat", "/run/secrets/db_pw"), "the secret's bytes");
        assertEquals("1000:1000 400", InContainer.exec(cluster, t, "busybox", "stat", "-c", "%u:%g %a", "/run/secrets/db_pw").trim(),
                "the secret's owner and mode");
        assertEquals(CONF, InContainer.exec(cluster, t, "cat", "/etc/app.conf"), "the config's bytes");
        assertEquals("0:0 440", InContainer.exec(cluster, t, "busybox", "stat", "-c", "%u:%g %a", "/etc/app.conf").trim(),
                "the config's owner and mode");
    }

    /**
     * service update of app, detached, then a bounded wait until both of its running tasks
     * are new ones (a convergence wait that never ends would block the test's process read).
     */
    static void updateAndAwait(String... flags) throws Exception {
        Set<String> before = new TreeSet<>();
        tasks(m1, "app").forEach(t -> before.add(t.getMeta().getId()));
        List<String> cmd = new ArrayList<>(List.of("service", "update", "--detach"));
        cmd.addAll(List.of(flags));
        cmd.add("app");
        cluster.swarmctl(m1, cmd.toArray(String[]::new)).ok();
        await(Duration.ofSeconds(90), () -> {
            List<Task> now = running("app");
            return now.size() == 2 && now.stream().noneMatch(t -> before.contains(t.getMeta().getId()))
                    && tasks(m1, "app").stream().filter(t -> t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE).count() == 2;
        }, "app's tasks are replaced", () -> tasks(m1, "app").stream().map(t -> t.getMeta().getId().substring(0, 8) + " "
                + t.getStatus().getState() + "/" + t.getDesiredState() + " " + t.getStatus().getErr()).toList().toString());
    }

    @Test
    @Order(1)
    void aSecretAndAConfigReachTheirTasksAndOnlyTheirNodes() throws Exception {
        cluster.swarmctl(m1, "secret", "create", "--label", "team=db", "db_pw", files.resolve("pw").toString()).ok();
        cluster.swarmctl(m1, "config", "create", "app_conf", files.resolve("conf").toString()).ok();
        // Two replicas on the two workers (read-only root filesystems); the manager runs none.
        cluster.swarmctl(m1, "service", "create", "--name", "app", "--replicas", "2", "--constraint", "node.role==worker",
                "--replicas-max-per-node", "1", "--read-only",
                "--secret", "source=db_pw,target=db_pw,uid=1000,gid=1000,mode=0400",
                "--config", "source=app_conf,target=/etc/app.conf,mode=0440", sim.image).ok();
        await(Duration.ofSeconds(60), () -> running("app").size() == 2, "app runs 2 tasks");
        for (Task t : running("app")) {
            assertFiles(t, PASSWORD);
        }
        String secret = id("secret", "db_pw");
        String config = id("config", "app_conf");
        assertTrue(holds("w1", secret) && holds("w2", secret) && holds("w1", config) && holds("w2", config),
                "both workers were given the secret and the config");
        assertFalse(holds("m1", secret) || holds("m1", config), "the manager's node, which runs no task of app, was given neither");
        // The per-task files are in memory (a tmpfs per task), beside the runtime state, not on disk.
        for (Task t : running("app")) {
            Path dir = Path.of(cluster.runtimeRoot(t.getMeta().getId()) + "-files", t.getMeta().getId());
            assertTrue(mountType(dir).equals("tmpfs"), "task " + t.getMeta().getId() + "'s files are on a tmpfs: " + mountType(dir));
        }
    }

    /** The filesystem type mounted at a path, or "" when nothing is. */
    static String mountType(Path p) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].equals(p.toString())) {
                return f[2];
            }
        }
        return "";
    }

    /** Files under the members' state directories (tasks' bundles included) that hold the bytes: grep -r, as a person would. */
    static List<String> filesHolding(String bytes) throws Exception {
        List<String> dirs = new ArrayList<>();
        for (Member m : cluster.members()) {
            dirs.add(m.stateDir.toString());
        }
        List<String> cmd = new ArrayList<>(List.of("grep", "-r", "-l", "-a", "-F", bytes));
        cmd.addAll(dirs);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.getErrorStream().readAllBytes();
        p.waitFor(60, TimeUnit.SECONDS);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    static boolean hasSnapshot(Member m) throws Exception {
        try (Stream<Path> all = Files.walk(m.stateDir.resolve("raft"))) {
            return all.anyMatch(f -> f.getFileName().toString().startsWith("snapshot."));
        }
    }

    @Test
    @Order(2)
    void noSecretByteOnAnyDiskOrInAnyAnswer() throws Exception {
        assertEquals(List.of(), filesHolding(PASSWORD), "no file in any state directory holds the secret");
        for (String[] cmd : new String[][] {
            {"secret", "inspect", "db_pw"}, {"secret", "inspect", "--pretty", "db_pw"}, {"secret", "ls", "--format", "json"},
            {"service", "inspect", "app"}, {"service", "inspect", "--pretty", "app"},
            {"task", "inspect", running("app").get(0).getMeta().getId()}, {"events", "--since", "10m", "--until", "1s"},
            {"cluster", "inspect"}}) {
            LocalCluster.Result r = cluster.swarmctl(m1, cmd).ok();
            assertFalse((r.out() + r.err()).contains(PASSWORD), String.join(" ", cmd) + " shows the secret");
        }
        String inspect = cluster.swarmctl(m1, "secret", "inspect", "--pretty", "db_pw").ok().out();
        assertTrue(inspect.contains("Used by:\tapp") && inspect.contains("team=db") && inspect.contains("Size:\t\t" + PASSWORD.length()),
                "secret inspect shows the metadata: " + inspect);
        assertTrue(cluster.swarmctl(m1, "config", "inspect", "--pretty", "app_conf").ok().out().contains(CONF),
                "config inspect --pretty shows a config's data");
        // Enough writes for a snapshot (every 20 entries here), then a restart: the managers'
        // state is read back from the snapshot and the log, and still holds no secret byte.
        for (int i = 0; i < 12; i++) {
            cluster.swarmctl(m1, "service", "update", "--detach", "--label-add", "n=" + i, "app").ok();
        }
        await(Duration.ofSeconds(30), () -> {
            try {
                return hasSnapshot(m1);
            } catch (Exception e) {
                return false;
            }
        }, "m1 has taken a snapshot");
        m1.kill();
        m1.start();
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.swarmctl(m1, "secret", "ls").exit() == 0;
            } catch (Exception e) {
                return false;
            }
        }, "m1 answers again");
        assertEquals(List.of(), filesHolding(PASSWORD), "after the restart, no file in any state directory holds the secret");
        // The replayed state still opens the secret: new tasks get the right bytes.
        Set<String> before = new TreeSet<>();
        running("app").forEach(t -> before.add(t.getMeta().getId()));
        updateAndAwait("--force");
        List<Task> now = running("app");
        assertEquals(2, now.size());
        for (Task t : now) {
            assertFalse(before.contains(t.getMeta().getId()), "a new task");
            assertFiles(t, PASSWORD);
        }
    }

    @Test
    @Order(3)
    void aRestartedAgentKeepsItsContainersFilesAndGetsTheSecretsAgain() throws Exception {
        Member w1 = cluster.member("w1");
        String w1Id = nodeId("w1");
        Task onW1 = running("app").stream().filter(t -> t.getNodeId().equals(w1Id)).findFirst().orElseThrow();
        sim.restartWorker(w1);
        assertTrue(running("app").stream().anyMatch(t -> t.getMeta().getId().equals(onW1.getMeta().getId())),
                "w1's task was re-adopted, not replaced");
        assertFiles(onW1, PASSWORD);
        // New tasks on the restarted node get the secret from the managers.
        updateAndAwait("--force");
        Set<String> after = new TreeSet<>();
        running("app").forEach(t -> after.add(t.getMeta().getId()));
        assertFalse(after.contains(onW1.getMeta().getId()), "the tasks were replaced");
        for (Task t : running("app")) {
            assertFiles(t, PASSWORD);
        }
    }

    @Test
    @Order(4)
    void rotationTheDockerWay() throws Exception {
        cluster.swarmctl(m1, "secret", "create", "db_pw_v2", files.resolve("pw2").toString()).ok();
        updateAndAwait("--secret-rm", "db_pw", "--secret-add", "source=db_pw_v2,target=db_pw,uid=1000,gid=1000,mode=0400");
        List<Task> now = running("app");
        assertEquals(2, now.size());
        for (Task t : now) {
            assertFiles(t, PASSWORD_V2);
        }
        // The old secret is free now: it can go.
        cluster.swarmctl(m1, "secret", "rm", "db_pw").ok();
        String id2 = id("secret", "db_pw_v2");
        await(Duration.ofSeconds(10), () -> cluster.member("w1").logText().contains("dropped "), "a node dropped the old secret");
        assertFalse(cluster.swarmctl(m1, "secret", "ls").ok().out().contains("db_pw "), "db_pw is gone");
        assertTrue(holds("w1", id2) && holds("w2", id2), "both workers hold the new secret");
    }

    @Test
    @Order(5)
    void badInputIsRefusedWithOneLineAndChangesNothing() throws Exception {
        String secrets = cluster.swarmctl(m1, "secret", "ls", "--format", "json").ok().out();
        String configs = cluster.swarmctl(m1, "config", "ls", "--format", "json").ok().out();
        // What the refusals must not change: the services' specs (their tasks may still be converging).
        List<io.jswarm.api.ServiceSpec> services = LocalCluster.services(m1).stream().map(io.jswarm.api.Service::getSpec)
                .sorted(java.util.Comparator.comparing(x -> x.getAnnotations().getName())).toList();
        Path big = files.resolve("big");
        Files.write(big, new byte[500 * 1024 + 1]);
        Path empty = files.resolve("empty");
        Files.write(empty, new byte[0]);
        String[][] cases = {
            {"secret", "create", "x1", files.resolve("missing").toString()},
            {"secret", "create", "", files.resolve("pw").toString()},
            {"secret", "create", "bad/name", files.resolve("pw").toString()},
            {"secret", "create", "x2", big.toString()},
            {"secret", "create", "x3", empty.toString()},
            {"secret", "create", "db_pw_v2", files.resolve("pw").toString()},
            {"secret", "rm", "db_pw_v2"},
            {"config", "rm", "app_conf"},
            {"config", "create", "app_conf", files.resolve("conf").toString()},
            {"service", "create", "--name", "x4", "--secret", "nosuch", sim.image},
            {"service", "create", "--name", "x5", "--config", "nosuch", sim.image},
            {"service", "create", "--name", "x6", "--secret", "source=db_pw_v2,mode=999", sim.image},
            {"service", "create", "--name", "x7", "--secret", "source=db_pw_v2,colour=red", sim.image},
            {"service", "create", "--name", "x8", "--secret", "source=db_pw_v2,target=a", "--config", "source=app_conf,target=/run/secrets/a",
                sim.image},
            {"service", "create", "--name", "x9", "--config", "source=app_conf,target=../etc/passwd", sim.image},
            {"service", "update", "--secret-rm", "nosuch", "app"},
        };
        for (String[] c : cases) {
            LocalCluster.Result r = cluster.swarmctl(m1, c);
            assertEquals(1, r.exit(), String.join(" ", c) + " fails: " + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), String.join(" ", c) + " says one line: " + r.err());
            assertTrue(r.err().startsWith("Error: "), r.err());
            assertFalse(r.err().contains("Exception") || r.err().contains("io.grpc"), "no Java in the message: " + r.err());
        }
        assertTrue(cluster.swarmctl(m1, "secret", "rm", "db_pw_v2").err().contains("in use by service app"), "names the user");
        assertTrue(cluster.swarmctl(m1, "secret", "create", "x2", big.toString()).err().contains("500 KB"), "names the limit");
        assertEquals(secrets, cluster.swarmctl(m1, "secret", "ls", "--format", "json").ok().out(), "secrets unchanged");
        assertEquals(configs, cluster.swarmctl(m1, "config", "ls", "--format", "json").ok().out(), "configs unchanged");
        assertEquals(services, LocalCluster.services(m1).stream().map(io.jswarm.api.Service::getSpec)
                .sorted(java.util.Comparator.comparing(x -> x.getAnnotations().getName())).toList(), "services unchanged");
    }

    @Test
    @Order(6)
    void nothingRemainsAfterTheServiceIsRemoved() throws Exception {
        List<String> ids = running("app").stream().map(t -> t.getMeta().getId()).toList();
        cluster.swarmctl(m1, "service", "rm", "app").ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.containers().stream().noneMatch(ids::contains);
            } catch (Exception e) {
                return false;
            }
        }, "app's containers are gone");
        await(Duration.ofSeconds(20), () -> {
            for (LocalCluster.Member m : cluster.members()) {
                Path root = Path.of(m.runtimeRoot + "-files");
                try (Stream<Path> left = Files.isDirectory(root) ? Files.list(root) : Stream.empty()) {
                    if (left.findAny().isPresent()) {
                        return false;
                    }
                } catch (Exception e) {
                    return false;
                }
            }
            return true;
        }, "no task's files remain");
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            for (LocalCluster.Member m : cluster.members()) {
                assertFalse(line.split(" ")[1].startsWith(m.runtimeRoot + "-files"), "no tmpfs left: " + line);
            }
        }
        cluster.swarmctl(m1, "secret", "rm", "db_pw_v2").ok();
        cluster.swarmctl(m1, "config", "rm", "app_conf").ok();
        assertEquals("", cluster.swarmctl(m1, "secret", "ls", "-q").ok().out().strip());
        assertEquals("", cluster.swarmctl(m1, "config", "ls", "-q").ok().out().strip());
        assertEquals(List.of(), filesHolding(PASSWORD_V2), "no file in any state directory holds the new secret");
    }
}
