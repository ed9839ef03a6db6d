package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * swarmd --metrics-addr on a three-node cluster (a manager and two workers on 127.0.0.1,
 * real containers) scraped every second by a real Prometheus (Debian's) on loopback: its
 * query API shows what the test caused.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MetricsTest {
    @TempDir
    static Path tmp;
    static TestRegistry registry;
    static LocalCluster cluster;
    static Member m1;
    static String m1Metrics;
    static Process prometheus;
    static String prometheusApi;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        List<String> targets = new ArrayList<>();
        int port = LocalCluster.freePort();
        targets.add("127.0.0.1:" + port);
        m1Metrics = "http://127.0.0.1:" + port + "/metrics";
        // Snapshots every 20 entries: the test sees some.
        m1 = cluster.init("m1", "--heartbeat-period", "1s", "--metrics-addr", "127.0.0.1:" + port, "--snapshot-interval", "20");
        String token = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        for (String w : List.of("w1", "w2")) {
            int p = LocalCluster.freePort();
            targets.add("127.0.0.1:" + p);
            cluster.join(w, null, m1, token, "--metrics-addr", "127.0.0.1:" + p);
        }
        await(Duration.ofSeconds(90), () -> LocalCluster.readyNodes(m1) == 3, "three nodes are ready");

        Path config = tmp.resolve("prometheus.yml");
        Files.writeString(config, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: jswarm\n    static_configs:\n"
                + "      - targets: ['" + String.join("', '", targets) + "']\n");
        int apiPort = LocalCluster.freePort();
        prometheusApi = "http://127.0.0.1:" + apiPort + "/api/v1/query?query=";
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + config, "--storage.tsdb.path=" + tmp.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + apiPort).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("prometheus.log").toFile()).start();
        await(Duration.ofSeconds(60), () -> query("sum(up{job=\"jswarm\"})") == 3, "Prometheus scrapes the three nodes",
                () -> tmp.resolve("prometheus.log").toFile().exists() ? read(tmp.resolve("prometheus.log")) : "");
    }

    @AfterAll
    static void stop() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (cluster != null) {
            cluster.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "";
        }
    }

    static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** One number from Prometheus' query API (an instant vector of one series, or a sum); NaN when there is none. */
    static double query(String promql) {
        try {
            JsonNode r = JSON.readTree(get(prometheusApi + URLEncoder.encode(promql, StandardCharsets.UTF_8)).body());
            JsonNode result = r.path("data").path("result");
            if (result.size() != 1) {
                return Double.NaN;
            }
            return Double.parseDouble(result.get(0).path("value").get(1).asText());
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    @Test
    void theEndpointAnswersInPrometheusTextFormat() throws Exception {
        HttpResponse<String> r = get(m1Metrics);
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        assertTrue(r.body().contains("\njvm_memory_used_bytes{"), "the JVM's own meters are there");
        assertEquals(404, get(m1Metrics.replace("/metrics", "/other")).statusCode());
        assertEquals(1.0, query("sum(jswarm_raft_leader)"), "one leader among the scraped nodes");
        assertEquals(3.0, query("sum(jswarm_nodes{state=\"ready\"})"), "the manager sees three ready nodes");
    }

    @Test
    void prometheusSeesWhatTheTestCaused() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "0s",
                registry.addr + "/busybox:1").ok();
        await(Duration.ofSeconds(60), () -> query("jswarm_service_replicas_running{service=\"web\"}") == 3, "3 running in Prometheus");
        cluster.swarmctl(m1, "service", "scale", "-d", "web=5").ok();
        await(Duration.ofSeconds(60), () -> query("jswarm_service_replicas_running{service=\"web\"}") == 5, "5 running in Prometheus");
        await(Duration.ofSeconds(10), () -> query("jswarm_service_replicas_desired{service=\"web\"}") == 5, "5 desired in Prometheus");
        await(Duration.ofSeconds(30), () -> query("sum(jswarm_containers{state=\"running\"})") == 5, "5 containers running on the nodes");
        assertTrue(query("sum(jswarm_container_start_seconds_count)") >= 5, "every start was timed");
        assertTrue(query("sum(jswarm_control_request_seconds_count{code=\"ok\",method=\"UpdateService\"})") >= 1);

        // A container killed from outside: its node counts a failed exit, the orchestrator replaces it.
        double before = query("sum(jswarm_container_exits_total{reason=\"failed\"})");
        double failedBefore = Double.isNaN(before) ? 0 : before;
        Task victim = LocalCluster.tasks(m1, "web").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).findFirst().orElseThrow();
        LocalCluster.run(List.of("runc", "--root", cluster.runtimeRoot(victim.getMeta().getId()).toString(), "kill",
                victim.getMeta().getId(), "KILL"));
        await(Duration.ofSeconds(30), () -> query("sum(jswarm_container_exits_total{reason=\"failed\"})") == failedBefore + 1,
                "Prometheus counts the failed exit");
        await(Duration.ofSeconds(60), () -> query("jswarm_service_replicas_running{service=\"web\"}") == 5, "5 running again");

        // A rolling update, all at once: its state in a gauge per service.
        cluster.swarmctl(m1, "service", "update", "-d", "--update-parallelism", "0", "--env-add", "V=2", "web").ok();
        await(Duration.ofSeconds(60), () -> query("jswarm_service_update_state{service=\"web\",state=\"completed\"}") == 1,
                "the update completed in Prometheus");
        // A task no node can take: pending, with the scheduler's reason as a label.
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "huge", "--reserve-memory", "100000g", registry.addr + "/busybox:1").ok();
        await(Duration.ofSeconds(30), () -> query("jswarm_tasks_pending{reason=\"memory\"}") == 1, "one task pending for memory");
        assertTrue(query("jswarm_raft_snapshot_seconds_count") >= 1, "the manager wrote snapshots");
        assertTrue(query("jswarm_raft_snapshot_bytes") > 0);
        cluster.swarmctl(m1, "service", "rm", "huge").ok();

        cluster.swarmctl(m1, "service", "rm", "web").ok();
        await(Duration.ofSeconds(30), () -> {
            try {
                return !get(m1Metrics).body().contains("service=\"web\"");
            } catch (Exception e) {
                return false;
            }
        }, "a removed service's series are gone from the endpoint");
    }

    @Test
    void logBytesCountWhatContainersWrote() throws Exception {
        double before = query("sum(jswarm_log_written_bytes_total)");
        assertTrue(!Double.isNaN(before), "every node serves the counter");
        // 1,000 lines of 99 bytes: records of 19 digits of time, " o ", the line and "\n".
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "chatty", "--stop-grace-period", "0s", registry.addr + "/busybox:1",
                "sh", "-c", "yes " + "x".repeat(99) + " | head -n 1000; exec sleep 3600").ok();
        double expected = 1000 * (19 + 3 + 99 + 1);
        await(Duration.ofSeconds(60), () -> query("sum(jswarm_log_written_bytes_total)") >= before + expected,
                "Prometheus counts the 122,000 bytes written", () -> "" + query("sum(jswarm_log_written_bytes_total)"));
        double after = query("sum(jswarm_log_written_bytes_total)");
        String id = LocalCluster.tasks(m1, "chatty").get(0).getMeta().getId();
        cluster.swarmctl(m1, "service", "rm", "chatty").ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return !cluster.containers().contains(id);
            } catch (java.io.IOException e) {
                return false;
            }
        }, "chatty's container is gone");
        Thread.sleep(3_000);  // scraped again after the node removed the task's files
        assertTrue(query("sum(jswarm_log_written_bytes_total)") >= after, "a counter: the removed task's bytes still count");
    }
}
