package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * swarmd --metrics-addr on a one-node cluster with real containers: the Prometheus text
 * that an HTTP GET of /metrics returns shows what the test caused.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MetricsTest {
    static TestRegistry registry;
    static LocalCluster cluster;
    static Member m1;
    static String metrics;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startCluster() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        int port = LocalCluster.freePort();
        metrics = "http://127.0.0.1:" + port + "/metrics";
        m1 = cluster.init("m1", "--metrics-addr", "127.0.0.1:" + port);
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

    static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one series in a scrape, or NaN when the scrape has no such series. */
    static double value(String series) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(get(metrics).body());
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    static boolean seen(String series, double v) {
        try {
            return value(series) == v;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void theScrapeShowsWhatTheClusterDid() throws Exception {
        HttpResponse<String> r = get(metrics);
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        assertEquals(1.0, value("jswarm_raft_leader"), "the only manager leads");
        assertEquals(1.0, value("jswarm_nodes{availability=\"active\",state=\"ready\"}"));
        assertTrue(r.body().contains("\njvm_memory_used_bytes{"), "the JVM's own meters are there");
        assertEquals(404, get(metrics.replace("/metrics", "/other")).statusCode());

        cluster.swarmctl(m1, "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "0s",
                registry.addr + "/busybox:1").ok();
        await(Duration.ofSeconds(60), () -> seen("jswarm_service_replicas_running{service=\"web\"}", 3), "3 running in the scrape");
        assertEquals(3.0, value("jswarm_service_replicas_desired{service=\"web\"}"));
        cluster.swarmctl(m1, "service", "scale", "-d", "web=5").ok();
        await(Duration.ofSeconds(60), () -> seen("jswarm_service_replicas_running{service=\"web\"}", 5), "5 running in the scrape");
        assertEquals(5.0, value("jswarm_service_replicas_desired{service=\"web\"}"));
        assertEquals(5.0, value("jswarm_containers{state=\"running\"}"));
        assertEquals(5.0, value("jswarm_container_start_seconds_count"), "every start was timed");
        assertTrue(value("jswarm_control_request_seconds_count{code=\"ok\",method=\"UpdateService\"}") >= 1);
        assertTrue(value("jswarm_scheduler_placements_total") >= 5);

        // A container killed from outside: the agent counts a failed exit, the orchestrator replaces it.
        Task victim = LocalCluster.tasks(m1, "web").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).findFirst().orElseThrow();
        double failed = value("jswarm_container_exits_total{reason=\"failed\"}");
        LocalCluster.run(List.of("runc", "--root", cluster.runtimeRoot(victim.getMeta().getId()).toString(), "kill",
                victim.getMeta().getId(), "KILL"));
        await(Duration.ofSeconds(30), () -> seen("jswarm_container_exits_total{reason=\"failed\"}", (Double.isNaN(failed) ? 0 : failed) + 1),
                "the failed exit counted");
        await(Duration.ofSeconds(60), () -> seen("jswarm_service_replicas_running{service=\"web\"}", 5), "5 running again");

        cluster.swarmctl(m1, "service", "rm", "web").ok();
        await(Duration.ofSeconds(30), () -> {
            try {
                return !get(metrics).body().contains("service=\"web\"");
            } catch (Exception e) {
                return false;
            }
        }, "a removed service's series are gone");
    }
}
