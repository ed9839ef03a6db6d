package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.e2e.LocalCluster.Member;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * swarmd --dashboard-addr in a real browser: headless Chromium (Debian's, through Selenium)
 * opens the page of a three-node cluster (a manager and two workers on 127.0.0.1, real
 * containers) and sees what the test does to the cluster, without reloading: a service's
 * tasks on their nodes, a scale, a drain, a task's log lines. The page's screenshot is
 * written to target/dashboard.png. Off loopback the dashboard wants a client certificate.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DashboardTest {
    @TempDir
    static Path tmp;
    static TestRegistry registry;
    static LocalCluster cluster;
    static Member m1;
    static Member w2;
    static String page;
    static int w2Dashboard;
    static Browser browser;

    @BeforeAll
    static void start() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        int port = LocalCluster.freePort();
        page = "http://127.0.0.1:" + port + "/";
        m1 = cluster.init("m1", "--heartbeat-period", "1s", "--dashboard-addr", "127.0.0.1:" + port);
        String token = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        cluster.join("w1", null, m1, token);
        // A worker with the dashboard on every address: HTTPS with client certificates, and "not a manager".
        w2Dashboard = LocalCluster.freePort();
        w2 = cluster.join("w2", null, m1, token, "--dashboard-addr", "0.0.0.0:" + w2Dashboard);
        await(Duration.ofSeconds(90), () -> LocalCluster.readyNodes(m1) == 3, "three nodes are ready");
        browser = new Browser(1500, 900);
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    /** The node columns on the page: hostname -> column. */
    static Map<String, WebElement> columns() {
        return browser.driver.findElements(By.cssSelector("#board .node:not(.unassigned)")).stream()
                .collect(Collectors.toMap(e -> e.getDomAttribute("data-name"), e -> e, (a, b) -> a));
    }

    /** The service's cards on the page, as "node-hostname:state", read in one script (the page changes under Selenium). */
    @SuppressWarnings("unchecked")
    static List<String> cards(String service) {
        return (List<String>) browser.driver.executeScript(
                "return [...document.querySelectorAll('#board .task')].filter(c => c.dataset.service === arguments[0])"
                        + ".map(c => c.closest('.node').dataset.name + ':' + c.dataset.state);", service);
    }

    static long count(List<String> cards, String suffix) {
        return cards.stream().filter(c -> c.endsWith(suffix)).count();
    }

    @Test
    void thePageFollowsTheClusterLive() throws Exception {
        // A request naming another host (a web page rebinding its name to 127.0.0.1) is refused.
        LocalCluster.Result rebound = LocalCluster.run(List.of("curl", "-sS", "-H", "Host: evil.example", "-w", " %{http_code}", page));
        assertTrue(rebound.out().endsWith(" 403"), rebound.out());
        browser.driver.get(page);
        await(Duration.ofSeconds(20), () -> columns().keySet().equals(java.util.Set.of("m1", "w1", "w2")),
                "three node columns: m1, w1, w2", () -> columns().keySet().toString());
        assertEquals("live", browser.driver.findElement(By.id("connection")).getText());
        // A mark on this page's window: gone if the page were ever reloaded.
        browser.driver.executeScript("window.jswarmTestMark = 42;");

        cluster.swarmctl(m1, "service", "create", "-d", "--name", "web", "--replicas", "3", "--stop-grace-period", "0s",
                registry.addr + "/busybox:1", "sh", "-c", "echo hello from $(hostname); exec sleep 3600").ok();
        await(Duration.ofSeconds(60), () -> count(cards("web"), ":running") == 3, "3 running web tasks on the page",
                () -> cards("web").toString());
        List<String> three = cards("web");
        assertEquals(3, three.stream().map(c -> c.split(":")[0]).distinct().count(), "spread over the three nodes: " + three);
        assertEquals("3/3", browser.driver.findElement(By.cssSelector("#services tr[data-name='web'] .replicas")).getText());

        // A scale shows on the page within 2 s of the command's answer.
        cluster.swarmctl(m1, "service", "scale", "-d", "web=6").ok();
        long t0 = System.nanoTime();
        await(Duration.ofSeconds(2), () -> cards("web").size() == 6, "6 web task cards within 2 s of the scale",
                () -> cards("web").toString());
        System.out.printf("dashboard: the scale's new tasks on the page %.0f ms after swarmctl answered%n", (System.nanoTime() - t0) / 1e6);
        await(Duration.ofSeconds(60), () -> count(cards("web"), ":running") == 6, "6 running", () -> cards("web").toString());
        await(Duration.ofSeconds(5), () -> browser.driver.findElement(By.cssSelector("#services tr[data-name='web'] .replicas"))
                .getText().equals("6/6"), "the services table says 6/6");

        // A drain: w1's column says so and its tasks move to the others.
        cluster.swarmctl(m1, "node", "update", "--availability", "drain", "w1").ok();
        await(Duration.ofSeconds(10), () -> "drain".equals(columns().get("w1").getDomAttribute("data-availability")),
                "w1's column shows the drain");
        await(Duration.ofSeconds(60), () -> {
            List<String> c = cards("web");
            return c.stream().noneMatch(x -> x.startsWith("w1:")) && count(c, ":running") == 6;
        }, "w1's tasks moved: 6 running on m1 and w2 and none left on w1", () -> cards("web").toString());
        assertEquals(42L, browser.driver.executeScript("return window.jswarmTestMark;"), "the page was never reloaded");

        // A task's log lines on click.
        browser.driver.findElement(By.cssSelector("#board .task[data-service='web'][data-state='running']")).click();
        await(Duration.ofSeconds(15), () -> browser.driver.findElement(By.id("task-logs")).getText().startsWith("hello from "),
                "the task's log line in the panel", () -> browser.driver.findElement(By.id("task-logs")).getText());
        Path shot = browser.screenshot(LocalCluster.ROOT.resolve("e2e-tests/target/dashboard.png"));
        System.out.println("dashboard: screenshot of the page at " + shot);
    }

    static String run(List<String> cmd) {
        try {
            return LocalCluster.run(cmd).out();
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Test
    void offLoopbackTheDashboardWantsAClientCertificate() throws Exception {
        String url = "https://127.0.0.1:" + w2Dashboard + "/events";
        // Without a certificate: the TLS handshake fails (curl exit 35 or 56), nothing is served.
        LocalCluster.Result none = LocalCluster.run(List.of("curl", "-sS", "-k", "-m", "5", url));
        assertNotEquals(0, none.exit(), none.out());
        assertTrue(none.out().isEmpty(), none.out());
        // Plain HTTP on that port is not served either.
        assertFalse(LocalCluster.run(List.of("curl", "-sS", "-m", "5", "http://127.0.0.1:" + w2Dashboard + "/")).out()
                .contains("jswarm"));
        // A client certificate of the cluster gets in; the node is a worker and says so.
        Path dir = tmp.resolve("admin");
        cluster.swarmctl(m1, "cluster", "client-cert", "admin", "--out", dir.toString()).ok();
        LocalCluster.Result with = LocalCluster.run(List.of("curl", "-sS", "-k", "-m", "3", "--cert", dir.resolve("cert.pem").toString(),
                "--key", dir.resolve("key.pem").toString(), url));
        assertTrue(with.out().contains("event: snapshot") && with.out().contains("\"manager\":false")
                && with.out().contains("this node is not a manager"), with.out() + with.err());
        // Promoted, the same swarmd's dashboard shows the cluster as its new manager's store holds it.
        cluster.swarmctl(m1, "node", "promote", "w2").ok();
        String w2Id = LocalCluster.nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals("w2")).findFirst()
                .orElseThrow().getMeta().getId();
        List<String> curl = List.of("curl", "-sS", "-k", "-m", "3", "--cert", dir.resolve("cert.pem").toString(),
                "--key", dir.resolve("key.pem").toString(), url);
        await(Duration.ofSeconds(60), () -> {
            String out = run(curl);
            return out.contains("\"self\":\"" + w2Id + "\"") && out.contains("\"name\":\"m1\"");
        }, "w2's dashboard shows the cluster once w2 is a manager", () -> run(curl));
    }
}
