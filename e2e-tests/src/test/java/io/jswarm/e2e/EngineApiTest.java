package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.LocalCluster.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The Engine API driven by Docker's own client, the docker CLI 20.10 of Debian 12 (only its
 * client; no dockerd anywhere), against three simulated hosts with real containers: what a
 * docker swarm user types works against jswarm, down to the columns they read; bad
 * requests get Docker's status codes and change nothing; two clients updating one service
 * with the same version cannot both win.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class EngineApiTest {
    static final Path DOCKER = DockerCli.DOCKER;
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member m1;
    static List<Member> hosts;
    static Path dir;
    static String web;
    static String web2;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isExecutable(DOCKER), "the docker CLI is missing at " + DOCKER + ": run bin/setup");
        sim = new SimulatedCluster(2, "1s");
        cluster = sim.cluster;
        m1 = sim.m1;
        hosts = List.of(m1, cluster.member("w1"), cluster.member("w2"));
        byte[] busybox = TestImages.busyboxLayer();
        List<String> httpd = List.of("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www");
        TestImages.push(sim.registry.addr, "busybox", "web", List.of(busybox), httpd, List.of());
        TestImages.push(sim.registry.addr, "busybox", "web2", List.of(busybox), httpd, List.of("VERSION=2"));
        web = sim.registry.addr + "/busybox:web";
        web2 = sim.registry.addr + "/busybox:web2";
        dir = Files.createTempDirectory("jswarm-engine-test-");
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
        if (dir != null) {
            LocalCluster.deleteTree(dir);
        }
    }

    static Path socket(Member m) {
        return m.stateDir.resolve("docker.sock");
    }

    /** The docker CLI against a node's Engine API socket. */
    static Result docker(Member via, String... args) throws Exception {
        return DockerCli.run(dir, Map.of("DOCKER_HOST", "unix://" + socket(via)), List.of(args));
    }

    static Result ok(Result r, String... args) {
        if (r.exit() != 0) {
            throw new AssertionError("docker failed (" + r.exit() + "): " + r.err() + r.out());
        }
        return r;
    }

    static Result docker(String... args) throws Exception {
        return ok(docker(m1, args));
    }

    static List<Task> running(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static Service service(String name) {
        return LocalCluster.services(m1).stream().filter(s -> s.getSpec().getAnnotations().getName().equals(name)).findFirst()
                .orElse(null);
    }

    /** The rows of a table the CLI printed (without its header), split at runs of two or more spaces. */
    static List<List<String>> rows(String table) {
        List<List<String>> out = new ArrayList<>();
        table.lines().skip(1).filter(l -> !l.isBlank()).forEach(l -> out.add(List.of(l.trim().split("\\s{2,}"))));
        return out;
    }

    @Test
    @Order(1)
    void versionInfoAndNodes() throws Exception {
        String version = docker("version").out();
        assertTrue(version.contains("Server: jswarm") && version.matches("(?s).*API version:\\s+1\\.41 \\(minimum version 1\\.24\\).*"),
                version);
        String info = docker("info").out();
        assertTrue(info.contains("Swarm: active") && info.contains("Is Manager: true") && info.contains("Managers: 1")
                && info.contains("Nodes: 3"), info);
        List<List<String>> nodes = rows(docker("node", "ls").out());
        assertEquals(3, nodes.size(), nodes.toString());
        List<String> self = nodes.stream().filter(r -> r.get(0).endsWith("*")).findFirst().orElseThrow();
        assertEquals(List.of("m1", "Ready", "Active", "Leader"), self.subList(1, 5), "this node, marked, the leader: " + self);
        assertEquals(2, nodes.stream().filter(r -> r.contains("Ready") && r.contains("Active") && r.size() == 5).count(),
                "two workers, Ready, no manager status: " + nodes);
        // A worker answers as a Docker worker does.
        Result onWorker = docker(cluster.member("w1"), "node", "ls");
        assertEquals(1, onWorker.exit());
        assertTrue(onWorker.err().contains("This node is not a swarm manager.") && onWorker.err().contains("Managers: " + m1.addr()),
                onWorker.err());
        // and its docker info names the manager it reaches, as a Docker worker's does.
        String workerInfo = docker(cluster.member("w1"), "info").out();
        assertTrue(workerInfo.contains("Is Manager: false") && workerInfo.matches("(?s).*Manager Addresses:\\s+" + m1.addr().replace(".", "\\.") + ".*"),
                workerInfo);
    }

    @Test
    @Order(2)
    void aServiceCreatedWithTheDockerCliConvergesAndServesItsPort() throws Exception {
        assertEquals(25, docker("network", "create", "-d", "overlay", "front").out().trim().length());
        Files.writeString(dir.resolve("pw"), "s3cret");
        docker("secret", "create", "pw", dir.resolve("pw").toString());
        Files.writeString(dir.resolve("conf"), "c=1\n");
        docker("config", "create", "conf", dir.resolve("conf").toString());
        // Without -d: the CLI's own progress display waits until the service has converged.
        Result create = docker("service", "create", "--name", "web", "--replicas", "3", "-p", "8080:80", "--network", "front",
                "--config", "conf", web);
        assertTrue(create.out().contains("verify: Service converged"), create.out());
        assertEquals(3, running("web").size());
        List<List<String>> ls = rows(docker("service", "ls").out());
        List<String> row = ls.stream().filter(r -> r.get(1).equals("web")).findFirst().orElseThrow();
        assertEquals(List.of("web", "replicated", "3/3"), row.subList(1, 4), row.toString());
        assertTrue(row.get(4).startsWith(web + "@sha256:") || row.get(4).equals(web), row.toString());
        assertEquals("*:8080->80/tcp", row.get(5));
        List<List<String>> ps = rows(docker("service", "ps", "web").out());
        assertEquals(3, ps.size(), ps.toString());
        assertTrue(ps.stream().allMatch(r -> r.get(1).matches("web\\.[123]") && r.get(4).equals("Running")
                && r.get(5).startsWith("Running")), ps.toString());
        String pretty = docker("service", "inspect", "--pretty", "web").out();
        assertTrue(pretty.contains("Name:\t\tweb") && pretty.contains("Replicas:\t3") && pretty.contains("PublishedPort = 8080"),
                pretty);
        // The port answers on every host, from the service's tasks.
        Set<String> ids = new TreeSet<>();
        running("web").forEach(t -> ids.add(t.getMeta().getId().substring(0, 12)));
        for (Member h : hosts) {
            assertTrue(ids.contains(RoutingMeshTest.get(h.ip(), 8080, "/")), "port 8080 on " + h.name);
        }
        assertEquals("c=1\n", InContainer.exec(cluster, running("web").get(0), "cat", "/conf"), "the config at /NAME");
    }

    @Test
    @Order(3)
    void scaleUpdateOneAtATimeAndRollback() throws Exception {
        assertTrue(docker("service", "scale", "web=5").out().contains("verify: Service converged"));
        assertEquals(5, running("web").size());
        long before = System.currentTimeMillis();
        Result update = docker("service", "update", "--image", web2, "--update-delay", "2s", "--update-parallelism", "1", "web");
        assertTrue(update.out().contains("verify: Service converged"), update.out());
        List<Task> now = running("web");
        assertEquals(5, now.size());
        assertTrue(now.stream().allMatch(t -> t.getSpec().getContainer().getImage().startsWith(web2)), "all on web2");
        List<Long> started = now.stream().map(t -> t.getMeta().getCreatedAtMs()).sorted().toList();
        for (int i = 1; i < started.size(); i++) {
            assertTrue(started.get(i) - started.get(i - 1) >= 2_000, "one task at a time, 2 s apart: " + started);
        }
        assertTrue(started.get(0) >= before);
        assertTrue(docker("service", "rollback", "web").out().contains("verify: Service converged"));
        await(Duration.ofSeconds(60), () -> running("web").size() == 5 && running("web").stream()
                .allMatch(t -> t.getSpec().getContainer().getImage().startsWith(web + "@") || t.getSpec().getContainer().getImage().equals(web)),
                "rolled back to web");
        assertEquals("rollback_completed", docker("service", "inspect", "-f", "{{.UpdateStatus.State}}", "web").out().trim());
    }

    @Test
    @Order(4)
    void logsOfEveryTaskWithTheirNames() throws Exception {
        docker("service", "create", "--name", "talker", "--replicas", "2", sim.image, "sh", "-c",
                "echo hello from $(hostname); sleep 1; echo second line; sleep 1000");
        await(Duration.ofSeconds(30), () -> {
            try {
                return docker("service", "logs", "talker").out().lines().filter(l -> l.contains("second line")).count() == 2;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, "two tasks' lines");
        String logs = docker("service", "logs", "talker").out();
        for (Task t : running("talker")) {
            String prefix = "talker." + t.getSlot() + "." + t.getMeta().getId().substring(0, 12) + "@";
            assertTrue(logs.lines().anyMatch(l -> l.startsWith(prefix) && l.endsWith("| hello from " + t.getMeta().getId()
                    .substring(0, 12))), "a line of " + prefix + " in " + logs);
        }
        // follow: a line written later arrives
        Path out = dir.resolve("follow.txt");
        ProcessBuilder pb = new ProcessBuilder(DOCKER.toString(), "service", "logs", "-f", "--tail", "0", "talker");
        pb.environment().put("DOCKER_HOST", "unix://" + socket(m1));
        Process follow = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            Thread.sleep(1_000);
            Task t = running("talker").get(0);
            InContainer.exec(cluster, t, "sh", "-c", "echo late line > /proc/1/fd/1");
            await(Duration.ofSeconds(20), () -> {
                try {
                    return Files.readString(out).contains("| late line");
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the followed line", () -> {
                try {
                    return Files.readString(out);
                } catch (java.io.IOException e) {
                    return "";
                }
            });
        } finally {
            follow.destroy();
            follow.waitFor(10, TimeUnit.SECONDS);
        }
        docker("service", "rm", "talker");
    }

    @Test
    @Order(5)
    void dockerStackDeployOfAComposeFile() throws Exception {
        Files.writeString(dir.resolve("pw.txt"), "stack-secret");
        Files.writeString(dir.resolve("db.conf"), "max 10\n");
        Files.writeString(dir.resolve("app.yml"), """
                version: "3.8"
                services:
                  front:
                    image: %s
                    ports: ["8081:80"]
                    networks: [public, private]
                    deploy:
                      replicas: 2
                  db:
                    image: %s
                    networks: [private]
                    secrets: [pw]
                    configs:
                      - source: dbconf
                        target: /etc/db.conf
                  agent:
                    image: %s
                    command: ["sleep", "1000"]
                    networks: [private]
                    deploy:
                      mode: global
                networks:
                  public:
                  private:
                secrets:
                  pw:
                    file: ./pw.txt
                configs:
                  dbconf:
                    file: ./db.conf
                """.formatted(web, web, sim.image));
        Result deploy = docker("stack", "deploy", "-c", dir.resolve("app.yml").toString(), "app");
        for (String s : List.of("Creating network app_public", "Creating network app_private", "Creating secret app_pw",
                "Creating config app_dbconf", "Creating service app_front", "Creating service app_db", "Creating service app_agent")) {
            assertTrue(deploy.out().contains(s), deploy.out());
        }
        await(Duration.ofSeconds(90), () -> running("app_front").size() == 2 && running("app_db").size() == 1
                && running("app_agent").size() == 3, "the stack converges (the global service on all three hosts)");
        assertTrue(rows(docker("stack", "ls").out()).stream().anyMatch(r -> r.get(0).equals("app") && r.get(1).equals("3")));
        List<List<String>> services = rows(docker("stack", "services", "app").out());
        assertEquals(Set.of("app_front 2/2", "app_db 1/1", "app_agent 3/3"), Set.copyOf(services.stream()
                .map(r -> r.get(1) + " " + r.get(3)).toList()), services.toString());
        assertEquals(6, rows(docker("stack", "ps", "app").out()).stream().filter(r -> r.get(4).equals("Running")).count());
        // names resolve across the stack's network, and the secret and config are in place
        Task agent = running("app_agent").get(0);
        assertFalse(InContainer.resolve(cluster, agent, "db").isEmpty(), "db by its short name from agent");
        Task db = running("app_db").get(0);
        assertEquals("stack-secret", InContainer.exec(cluster, db, "cat", "/run/secrets/pw"));
        assertEquals("max 10\n", InContainer.exec(cluster, db, "cat", "/etc/db.conf"));
        Result rm = docker("stack", "rm", "app");
        assertFalse(rm.err().contains("Failed"), rm.err());
        assertTrue(LocalCluster.services(m1).stream().noneMatch(s -> s.getSpec().getAnnotations().getName().startsWith("app_")));
        String left = docker("network", "ls").out() + docker("secret", "ls").out() + docker("config", "ls").out();
        assertFalse(left.contains("app_"), "stack rm leaves nothing: " + left);
    }

    @Test
    @Order(6)
    void badRequestsGetDockersCodesAndChangeNothing() throws Exception {
        Service before = service("web");
        int count = LocalCluster.services(m1).size();
        Path s = socket(m1);
        String spec = "{\"Name\":\"other\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"" + web + "\"}}}";
        expect(EngineHttp.request(s, "GET", "/v1.41/nope", null), 404, "page not found");
        expect(EngineHttp.request(s, "GET", "/v1.41/containers/json", null), 404, "not a container engine");
        expect(EngineHttp.request(s, "POST", "/v1.41/services/create", "{\"Name\": "), 400, "invalid JSON");
        expect(EngineHttp.request(s, "POST", "/v1.41/services/create", spec.replace("\"Name\":\"other\",",
                "\"Name\":\"other\",\"Mode\":{\"Replicated\":{\"Replicas\":\"3\"}},")), 400,
                "Mode.Replicated.Replicas: expected an integer");
        expect(EngineHttp.request(s, "POST", "/v1.41/services/create", spec.replace("\"Image\"",
                "\"Privileges\":{\"NoNewPrivileges\":true},\"Image\"")), 400, "TaskTemplate.ContainerSpec.Privileges is not supported");
        expect(EngineHttp.request(s, "POST", "/v1.41/services/create", spec.replace("other", "web")), 409, "already in use");
        expect(EngineHttp.request(s, "POST", "/v1.41/services/web/update?version=1", spec.replace("other", "web")), 500,
                "update out of sequence");
        expect(EngineHttp.request(s, "GET", "/v1.41/services?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D", null), 400,
                "invalid filter 'nope'");
        expect(EngineHttp.request(s, "GET", "/v1.99/services", null), 400, "client version 1.99 is too new. Maximum supported"
                + " API version is 1.41");
        expect(EngineHttp.request(s, "GET", "/v1.19/services", null), 400, "client version 1.19 is too old");
        // through the CLI: a flag jswarm cannot honour is refused, naming the field, and creates nothing
        Result capped = docker(m1, "service", "create", "--name", "capped", "--cap-add", "NET_ADMIN", web);
        assertEquals(1, capped.exit());
        assertTrue(capped.err().contains("TaskTemplate.ContainerSpec.CapabilityAdd is not supported by jswarm"), capped.err());
        assertEquals(before.getMeta().getVersion(), service("web").getMeta().getVersion(), "web unchanged");
        assertEquals(count, LocalCluster.services(m1).size(), "no service created");
        // the handshake the CLI and docker-py rely on
        EngineHttp.Response ping = EngineHttp.request(s, "GET", "/_ping", null);
        assertEquals(200, ping.status());
        assertEquals("OK", ping.body());
        assertEquals("1.41", ping.headers().get("api-version"));
    }

    static void expect(EngineHttp.Response r, int status, String message) {
        assertEquals(status, r.status(), r.body());
        assertEquals("application/json", r.headers().get("content-type"), r.headers().toString());
        assertTrue(r.body().startsWith("{\"message\":\"") && r.body().contains(message), "expected " + message + ": " + r.body());
    }

    @Test
    @Order(7)
    void twoClientsUpdatingWithTheSameVersionCannotBothWin() throws Exception {
        Service s = service("web");
        long version = s.getMeta().getVersion();
        String inspect = docker("service", "inspect", "-f", "{{json .Spec}}", "web").out().trim();
        String a = inspect.replace("\"Labels\":{}", "\"Labels\":{\"who\":\"a\"}");
        String b = inspect.replace("\"Labels\":{}", "\"Labels\":{\"who\":\"b\"}");
        assertFalse(a.equals(inspect), "the spec has its labels to edit: " + inspect);
        String path = "/v1.41/services/web/update?version=" + version;
        CompletableFuture<EngineHttp.Response> fa = CompletableFuture.supplyAsync(() -> call(path, a));
        CompletableFuture<EngineHttp.Response> fb = CompletableFuture.supplyAsync(() -> call(path, b));
        List<EngineHttp.Response> both = List.of(fa.get(60, TimeUnit.SECONDS), fb.get(60, TimeUnit.SECONDS));
        assertEquals(1, both.stream().filter(r -> r.status() == 200).count(), "one wins: " + both);
        EngineHttp.Response lost = both.stream().filter(r -> r.status() != 200).findFirst().orElseThrow();
        expect(lost, 500, "update out of sequence");
        String winner = both.get(0).status() == 200 ? "a" : "b";
        assertEquals(winner, service("web").getSpec().getAnnotations().getLabelsMap().get("who"), "the winner's spec stands");
    }

    private static EngineHttp.Response call(String path, String body) {
        try {
            return EngineHttp.request(socket(m1), "POST", path, body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    @Order(8)
    void nodesTheSwarmAndTheLabelsOfSecrets() throws Exception {
        docker("node", "update", "--label-add", "zone=a", "w1");
        docker("node", "update", "--availability", "drain", "w2");
        var w1 = LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals("w1")).findFirst().orElseThrow();
        var w2 = LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals("w2")).findFirst().orElseThrow();
        assertEquals("a", w1.getSpec().getAnnotations().getLabelsMap().get("zone"));
        assertEquals(io.jswarm.api.NodeAvailability.DRAIN, w2.getSpec().getAvailability());
        docker("node", "update", "--availability", "active", "w2");
        assertTrue(rows(docker("node", "ls", "--filter", "node.label=zone=a").out()).stream().allMatch(r -> r.get(1).equals("w1")));
        docker("swarm", "update", "--task-history-limit", "3");
        assertTrue(docker("info").out().contains("Task History Retention Limit: 3"));
        String events = docker("events", "--since", "10m", "--until", "0s", "--filter", "type=service").out();
        assertTrue(events.lines().anyMatch(l -> l.contains(" service create ") && l.endsWith("(name=web)")), events);
        assertTrue(events.lines().noneMatch(l -> l.contains(" node ")), "only service events: " + events);
        Result init = docker(m1, "swarm", "init");
        assertEquals(1, init.exit());
        assertTrue(init.err().contains("This node is already part of a swarm"), init.err());
        // a secret's labels change at the version read; its data and name do not
        Path s = socket(m1);
        long version = Long.parseLong(docker("secret", "inspect", "-f", "{{.Version.Index}}", "pw").out().trim());
        EngineHttp.Response r = EngineHttp.request(s, "POST", "/v1.41/secrets/pw/update?version=" + version,
                "{\"Name\":\"pw\",\"Labels\":{\"owner\":\"ops\"}}");
        assertEquals(200, r.status(), r.body());
        assertEquals("map[owner:ops]", docker("secret", "inspect", "-f", "{{.Spec.Labels}}", "pw").out().trim());
        expect(EngineHttp.request(s, "POST", "/v1.41/secrets/pw/update?version=" + version, "{\"Name\":\"pw\"}"), 500,
                "update out of sequence");
        long now = Long.parseLong(docker("secret", "inspect", "-f", "{{.Version.Index}}", "pw").out().trim());
        expect(EngineHttp.request(s, "POST", "/v1.41/secrets/pw/update?version=" + now, "{\"Name\":\"pw\",\"Data\":\"eA==\"}"),
                400, "only updates to Labels are allowed");
        assertEquals("map[owner:ops]", docker("secret", "inspect", "-f", "{{.Spec.Labels}}", "pw").out().trim());
    }

    @Test
    @Order(9)
    void rmAndTheSecretsAndConfigs() throws Exception {
        assertTrue(rows(docker("secret", "ls").out()).stream().anyMatch(r -> r.get(1).equals("pw")));
        Result inUse = docker(m1, "config", "rm", "conf");
        assertEquals(1, inUse.exit());
        assertTrue(inUse.err().contains("in use by service web"), inUse.err());
        docker("service", "rm", "web");
        await(Duration.ofSeconds(60), () -> service("web") == null && tasks(m1, "").stream()
                .noneMatch(t -> t.getServiceName().equals("web")), "web and its tasks gone");
        docker("secret", "rm", "pw");
        docker("config", "rm", "conf");
        docker("network", "rm", "front");
        String left = docker("service", "ls").out() + docker("secret", "ls").out() + docker("config", "ls").out()
                + docker("network", "ls").out();
        assertFalse(left.contains("web") || left.contains(" pw ") || left.contains("conf") || left.contains("front"), left);
        assertTrue(new String(docker("network", "ls").out().getBytes(StandardCharsets.UTF_8)).contains("ingress"));
    }
}
