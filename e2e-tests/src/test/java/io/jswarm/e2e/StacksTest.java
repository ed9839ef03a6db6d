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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * stack deploy on three simulated hosts with real containers: a voting-app-style stack
 * (five services, two networks, a secret, a config, a named volume, a published port, a
 * global service) converges, its services reach each other by their short names, the
 * port answers on every host; deploying the same file again changes nothing; an image
 * change rolls only that service with its update delay; --prune removes a service left
 * out; bad files are refused with their line and create nothing; stack rm leaves nothing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class StacksTest {
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member m1;
    static List<Member> hosts;
    static Path dir;
    static final String PASSWORD = "stack-pw-" + Long.toHexString(System.nanoTime());
    static final String CONF = "max_connections 10\n";

    /** The stack file; {@code ${REGISTRY}} comes from the .env file beside it, VOTE_TAG from .env too unless overridden. */
    static String file(String voteTag, boolean withResult) {
        return """
                version: "3.8"
                x-backend: &backend
                  networks: [backend]
                services:
                  vote:
                    image: ${REGISTRY}/busybox:%s
                    ports: ["8080:80"]
                    networks: [frontend, backend]
                    deploy:
                      replicas: 2
                      update_config:
                        parallelism: 1
                        delay: 3s
                  redis:
                    <<: *backend
                    image: ${REGISTRY}/busybox:1
                  worker:
                    <<: *backend
                    image: ${REGISTRY}/busybox:1
                    secrets: [db_password]
                    deploy:
                      mode: global
                  db:
                    <<: *backend
                    image: ${REGISTRY}/busybox:1
                    volumes: ["db-data:/var/lib/db"]
                    secrets: [db_password]
                    configs:
                      - source: db_conf
                        target: /etc/db.conf
                        mode: 0440
                    environment:
                      POSTGRES_USER: ${DB_USER:-postgres}
                    depends_on: [redis]
                %s
                networks:
                  frontend:
                  backend:
                volumes:
                  db-data:
                secrets:
                  db_password:
                    file: ./db_password.txt
                configs:
                  db_conf:
                    file: ./db.conf
                """.formatted(voteTag, withResult ? """
                  result:
                    image: ${REGISTRY}/busybox:1
                    networks: [frontend, backend]
                """ : "");
    }

    @BeforeAll
    static void start() throws Exception {
        sim = new SimulatedCluster(2, "1s");
        cluster = sim.cluster;
        m1 = sim.m1;
        hosts = List.of(m1, cluster.member("w1"), cluster.member("w2"));
        byte[] busybox = TestImages.busyboxLayer();
        List<String> httpd = List.of("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www");
        TestImages.push(sim.registry.addr, "busybox", "web", List.of(busybox), httpd, List.of());
        TestImages.push(sim.registry.addr, "busybox", "web2", List.of(busybox), httpd, List.of("VERSION=2"));
        dir = Files.createTempDirectory("jswarm-stack-test-");
        Files.writeString(dir.resolve(".env"), "REGISTRY=" + sim.registry.addr + "\n");
        Files.writeString(dir.resolve("db_password.txt"), PASSWORD);
        Files.writeString(dir.resolve("db.conf"), CONF);
        Files.writeString(dir.resolve("app.yml"), file("web", true));
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

    static LocalCluster.Result swarmctl(String... args) throws Exception {
        return cluster.swarmctl(m1, args);
    }

    static List<Task> running(String service) {
        return tasks(m1, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING
                && t.getStatus().getState() == TaskState.RUNNING).toList();
    }

    static Map<String, Service> stackServices(String stack) {
        Map<String, Service> out = new TreeMap<>();
        for (Service s : LocalCluster.services(m1)) {
            if (stack.equals(s.getSpec().getAnnotations().getLabelsMap().get("com.docker.stack.namespace"))) {
                out.put(s.getSpec().getAnnotations().getName(), s);
            }
        }
        return out;
    }

    /** Every task id of the stack with its service's version: what a deploy that changes nothing leaves alone. */
    static Map<String, String> snapshot() {
        Map<String, String> out = new TreeMap<>();
        for (Service s : stackServices("app").values()) {
            out.put(s.getSpec().getAnnotations().getName(), "v" + s.getMeta().getVersion());
        }
        for (Task t : tasks(m1, "")) {
            if (t.getServiceName().startsWith("app_")) {
                out.put(t.getMeta().getId(), t.getServiceName() + " " + t.getDesiredState());
            }
        }
        return out;
    }

    /** The service's virtual IP on a network of the stack, without its prefix length. */
    static String vip(String service, String network) {
        String id = networkId(network);
        for (var v : stackServices("app").get(service).getEndpoint().getVirtualIpsList()) {
            if (v.getNetworkId().equals(id)) {
                return v.getAddr().substring(0, v.getAddr().indexOf('/'));
            }
        }
        throw new AssertionError("no VIP of " + service + " on " + network);
    }

    static String networkId(String name) {
        try (var c = m1.control()) {
            return c.stub().getNetwork(io.jswarm.api.control.GetNetworkRequest.newBuilder().setNetworkId(name).build()).getNetwork()
                    .getMeta().getId();
        }
    }

    @Test
    @Order(1)
    void aStackComesUpAndItsServicesReachEachOtherByName() throws Exception {
        var r = swarmctl("stack", "deploy", "-c", dir.resolve("app.yml").toString(), "app").ok();
        assertTrue(r.err().contains("Ignoring unsupported options: depends_on"), "depends_on is warned about: " + r.err());
        for (String s : List.of("app_vote", "app_redis", "app_worker", "app_db", "app_result")) {
            assertTrue(r.out().contains("Creating service " + s), r.out());
        }
        assertTrue(r.out().contains("Creating network app_frontend") && r.out().contains("Creating network app_backend")
                && r.out().contains("Creating secret app_db_password") && r.out().contains("Creating config app_db_conf"), r.out());
        assertFalse(r.out().contains("app_default"), "no default network: every service names its networks");
        // Converged when the command returned (it waits): 2 + 1 + 3 (global) + 1 + 1 tasks.
        assertEquals(2, running("app_vote").size());
        assertEquals(3, running("app_worker").size(), "the global service runs on every node");
        for (String s : List.of("app_redis", "app_db", "app_result")) {
            assertEquals(1, running(s).size(), s);
        }
        assertTrue(swarmctl("stack", "ls").ok().out().lines().anyMatch(l -> l.matches("app\\s+5")), "stack ls: app with 5 services");
        assertEquals(5, swarmctl("stack", "services", "app").ok().out().lines().filter(l -> l.contains("app_")).count());
        assertTrue(swarmctl("stack", "ps", "app").ok().out().lines().filter(l -> l.contains("Running")).count() >= 8);

        // Short names across the stack's network: result (frontend + backend) finds db (backend) at its VIP.
        Task result = running("app_result").get(0);
        assertEquals(Set.of(vip("app_db", "app_backend")), InContainer.resolve(cluster, result, "db"));
        assertEquals(Set.of(vip("app_redis", "app_backend")), InContainer.resolve(cluster, result, "redis"));
        assertTrue(InContainer.resolve(cluster, result, "vote").contains(vip("app_vote", "app_frontend")), "vote by its short name");
        // The secret, the config (with its mode) and the interpolated default in db's container.
        Task db = running("app_db").get(0);
        assertEquals(PASSWORD, InContainer.exec(cluster, db, "cat", "/run/secrets/db_password"));
        assertEquals(CONF, InContainer.exec(cluster, db, "cat", "/etc/db.conf"));
        assertEquals("440", InContainer.exec(cluster, db, "busybox", "stat", "-c", "%a", "/etc/db.conf").trim());
        assertTrue(InContainer.exec(cluster, db, "env").contains("POSTGRES_USER=postgres"));
        // The published port answers on every host, from the vote tasks.
        Set<String> voteHosts = new TreeSet<>();
        running("app_vote").forEach(t -> voteHosts.add(t.getMeta().getId().substring(0, 12)));
        for (Member h : hosts) {
            assertTrue(voteHosts.contains(RoutingMeshTest.get(h.ip(), 8080, "/")), "port 8080 on " + h.name);
        }
    }

    @Test
    @Order(2)
    void deployingTheSameFileAgainChangesNothing() throws Exception {
        Map<String, String> before = snapshot();
        var r = swarmctl("stack", "deploy", "-c", dir.resolve("app.yml").toString(), "app").ok();
        for (String s : List.of("app_vote", "app_redis", "app_worker", "app_db", "app_result")) {
            assertTrue(r.out().contains("Service " + s + " is unchanged"), r.out());
        }
        assertFalse(r.out().contains("Creating"), "nothing created: " + r.out());
        Thread.sleep(2_000);  // time for anything the deploy might have started
        assertEquals(before, snapshot(), "no task replaced, no service version changed");
    }

    @Test
    @Order(3)
    void anImageChangeRollsOnlyThatServiceWithItsDelay() throws Exception {
        Map<String, String> before = snapshot();
        Set<String> oldVote = new TreeSet<>();
        running("app_vote").forEach(t -> oldVote.add(t.getMeta().getId()));
        Files.writeString(dir.resolve("app.yml"), file("web2", true));
        var r = swarmctl("stack", "deploy", "-c", dir.resolve("app.yml").toString(), "app").ok();
        assertTrue(r.out().contains("Updating service app_vote"), r.out());
        List<Task> vote = running("app_vote");
        assertEquals(2, vote.size());
        for (Task t : vote) {
            assertTrue(t.getSpec().getContainer().getImage().contains("/busybox:web2@sha256:"), t.getSpec().getContainer().getImage());
            assertFalse(oldVote.contains(t.getMeta().getId()));
        }
        List<Long> created = vote.stream().map(t -> t.getMeta().getCreatedAtMs()).sorted().toList();
        assertTrue(created.get(1) - created.get(0) >= 3_000, "the update_config delay of 3s between the two: " + created);
        // Every other service kept its tasks and its version.
        Map<String, String> after = snapshot();
        before.forEach((k, v) -> {
            if (!v.startsWith("app_vote") && !k.equals("app_vote")) {
                assertEquals(v, after.get(k), k);
            }
        });
    }

    @Test
    @Order(4)
    void pruneRemovesAServiceLeftOutOfTheFile() throws Exception {
        Files.writeString(dir.resolve("app.yml"), file("web2", false));
        var noPrune = swarmctl("stack", "deploy", "-d", "-c", dir.resolve("app.yml").toString(), "app").ok();
        assertFalse(noPrune.out().contains("Removing"), noPrune.out());
        assertTrue(stackServices("app").containsKey("app_result"), "without --prune the service stays");
        var r = swarmctl("stack", "deploy", "--prune", "-c", dir.resolve("app.yml").toString(), "app").ok();
        assertTrue(r.out().contains("Removing service app_result"), r.out());
        assertEquals(Set.of("app_db", "app_redis", "app_vote", "app_worker"), stackServices("app").keySet());
        await(Duration.ofSeconds(30), () -> tasks(m1, "").stream().noneMatch(t -> t.getServiceName().equals("app_result")
                && t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE), "app_result's task stops");
    }

    /** Each bad file: exit 1, one line naming the fault (and its line), and no object of the stack "bad" anywhere. */
    @Test
    @Order(5)
    void badFilesAreRefusedWithTheirLineAndCreateNothing() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("services:\n  web:\n    image: x\n    deploy:\n      replica: 2\n",
                "bad.yml:5: services.web.deploy.replica: unknown key \"replica\"");
        cases.put("services:\n  web:\n    image: x\n    deploy:\n      replicas: three\n",
                "bad.yml:5: services.web.deploy.replicas: expected a whole number, got \"three\"");
        cases.put("services:\n  web:\n    image: x\n    networks: [nope]\n",
                "bad.yml:4: services.web.networks[0]: network \"nope\" is not declared");
        cases.put("services:\n  web:\n    image: x\n    secrets: [nope]\n",
                "bad.yml:4: services.web.secrets[0]: secret \"nope\" is not declared");
        cases.put("services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s:\n    file: ./missing.txt\n",
                "bad.yml:7: secrets.s.file: secret file");
        cases.put("services:\n  web:\n    image: x\n   bad: [\n", "bad.yml:4: invalid YAML");
        cases.put("services:\n  web:\n    image: ${NOT_SET_ANYWHERE:?set it to the image}\n",
                "bad.yml:3: services.web.image: required variable NOT_SET_ANYWHERE is missing a value: set it to the image");
        // Valid up to the second service, whose spec the managers' own checks refuse: the first is not created either.
        cases.put("services:\n  ok:\n    image: " + sim.image + "\n  web:\n    image: " + sim.image + "\n    stop_signal: SIGFOO\n",
                "bad.yml:4: services.web");
        for (var c : cases.entrySet()) {
            Files.writeString(dir.resolve("bad.yml"), c.getKey());
            var r = swarmctl("stack", "deploy", "-c", dir.resolve("bad.yml").toString(), "bad");
            assertEquals(1, r.exit(), c.getKey());
            assertTrue(r.err().startsWith("Error: ") && r.err().contains(c.getValue()), "expected " + c.getValue() + ", got " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        }
        assertTrue(stackServices("bad").isEmpty(), "no service of the refused stack");
        String all = swarmctl("network", "ls").ok().out() + swarmctl("secret", "ls").ok().out() + swarmctl("config", "ls").ok().out();
        assertFalse(all.contains("bad_"), "no network, secret or config of the refused stack: " + all);
        // A secret whose file changed is refused (secrets are immutable), and the stack stays as it was.
        Map<String, String> before = snapshot();
        Files.writeString(dir.resolve("db_password.txt"), PASSWORD + "-changed");
        var r = swarmctl("stack", "deploy", "-d", "-c", dir.resolve("app.yml").toString(), "app");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("secret \"app_db_password\" exists with other data"), r.err());
        assertEquals(before, snapshot());
        Files.writeString(dir.resolve("db_password.txt"), PASSWORD);
    }

    @Test
    @Order(6)
    void stackRmLeavesNothing() throws Exception {
        var r = swarmctl("stack", "rm", "app").ok();
        assertTrue(r.out().contains("Removing service app_vote") && r.out().contains("Removing network app_backend")
                && r.out().contains("Removing secret app_db_password") && r.out().contains("Removing config app_db_conf"), r.out());
        assertTrue(stackServices("app").isEmpty());
        String all = swarmctl("network", "ls").ok().out() + swarmctl("secret", "ls").ok().out() + swarmctl("config", "ls").ok().out();
        assertFalse(all.contains("app_"), "no network, secret or config of the stack: " + all);
        await(Duration.ofSeconds(60), () -> {
            try {
                for (Member h : hosts) {
                    String rules = TestNetwork.out("nsenter", "--net=/var/run/netns/" + h.host.netns(), "nft", "list", "ruleset");
                    if (rules.contains("dport 8080")) {
                        return false;
                    }
                }
                return cluster.containers().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }, "no container and no rule for port 8080 left on any host");
        assertEquals(1, swarmctl("stack", "ps", "app").exit(), "nothing found in stack app");
        assertTrue(swarmctl("stack", "rm", "app").ok().err().contains("Nothing found in stack: app"));
    }
}
