package io.jswarm.bench;

import io.jswarm.agent.Agent;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.ServiceSpec;
import io.jswarm.bench.ControlPlaneBenchmark.Managers;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.Browser;
import io.jswarm.e2e.LocalCluster;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Is the dashboard responsive on a big cluster? Three managers (the dashboard on m1), 100
 * simulated nodes, one service of 10,000 replicas, the page open in headless Chromium. Each
 * run scales the service up by 100 and back down; for each step it measures, from the
 * moment swarmctl's scale call returned, how long until the store shows the new count
 * (polled through the Control API, as {@code service ps} reads it: the baseline) and how
 * long until the page shows it (its task cards counted in the page's DOM), concurrently.
 * Also: how long the first load of the page takes (10,000 cards), and how long a script
 * call into the page takes during the runs (the page's main thread is free or not).
 */
public final class DashboardBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int replicas = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int agents = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        int step = args.length > 3 ? Integer.parseInt(args[3]) : 100;
        int port = LocalCluster.freePort();
        List<Agent> fleet = new ArrayList<>();
        try (LocalCluster cluster = new LocalCluster()) {
            Managers c = ControlPlaneBenchmark.managers(cluster, "dashboard on m1",
                    name -> name.equals("m1") ? new String[] {"--dashboard-addr", "127.0.0.1:" + port} : new String[0]);
            fleet.addAll(ControlPlaneBenchmark.fleet(c, agents, false));
            double created = ControlPlaneBenchmark.timeCreate(c.m2(), "big", replicas);
            System.out.printf("service create --replicas %d: all ASSIGNED on %d simulated nodes in %.2f s%n", replicas, agents, created);
            try (Browser browser = new Browser(1500, 900); ControlClient api = c.m2().control()) {
                long t0 = System.nanoTime();
                browser.driver.get("http://127.0.0.1:" + port + "/");
                waitForPage(browser, replicas, t0);
                double load = (System.nanoTime() - t0) / 1e9;
                System.out.printf("page load: %d task cards on %d node columns %.2f s after navigation%n", replicas,
                        ((Number) browser.driver.executeScript("return document.querySelectorAll('#board .node:not(.unassigned)').length;")).intValue(),
                        load);
                List<Double> scripts = new ArrayList<>();
                browser.driver.executeScript(WATCH_LONG_TASKS);
                double[][] up = new double[2][runs];
                double[][] down = new double[2][runs];
                for (int r = -1; r < runs; r++) {  // run -1 warms up, not counted
                    double[] u = step(browser, api, replicas + step, scripts);
                    double[] d = step(browser, api, replicas, scripts);
                    if (r >= 0) {
                        up[0][r] = u[0];
                        up[1][r] = u[1];
                        down[0][r] = d[0];
                        down[1][r] = d[1];
                    } else {
                        scripts.clear();
                        browser.driver.executeScript("window.jswarmLong = [];");
                    }
                }
                report("scale +" + step, up);
                report("scale -" + step, down);
                double[] s = scripts.stream().mapToDouble(Double::doubleValue).toArray();
                System.out.printf("a script call into the page during the runs (Selenium's round trip): median %.1f ms, max %.1f ms over %d calls%n",
                        ControlPlaneBenchmark.median(s) * 1e3, Arrays.stream(s).max().orElse(Double.NaN) * 1e3, s.length);
                @SuppressWarnings("unchecked")
                List<Number> longTasks = (List<Number>) browser.driver.executeScript("return window.jswarmLong;");
                double[] lt = longTasks.stream().mapToDouble(Number::doubleValue).toArray();
                System.out.printf("the page's main thread during the %d runs: %d long tasks (>= 50 ms), %.0f ms in all, the longest %.0f ms%n",
                        runs, lt.length, Arrays.stream(lt).sum(), Arrays.stream(lt).max().orElse(0));
                browser.screenshot(LocalCluster.ROOT.resolve("e2e-tests/target/dashboard-benchmark.png"));
            }
        } finally {
            for (Agent a : fleet) {
                a.close();
            }
        }
    }

    private static void report(String what, double[][] t) {
        double store = ControlPlaneBenchmark.median(t[0]);
        double page = ControlPlaneBenchmark.median(t[1]);
        System.out.printf("%s: the store shows it after median %.3f s %s, the page after %.3f s %s: ratio %.2f%n", what, store,
                Arrays.toString(ControlPlaneBenchmark.round(t[0])), page, Arrays.toString(ControlPlaneBenchmark.round(t[1])), page / store);
    }

    /** The page's cards of "big" meant to run, and all its cards, by selectors (cheap next to the page's own work). */
    private static final String PAGE_COUNT = "return document.querySelectorAll('#board .task.state-assigned:not(.stopping)[data-service=\"big\"]').length"
            + " + ':' + document.querySelectorAll('#board .task').length;";

    /** Records the page's long tasks (main thread busy 50 ms or more), as a user would feel them. */
    private static final String WATCH_LONG_TASKS = "window.jswarmLong = []; new PerformanceObserver(l => l.getEntries()"
            + ".forEach(e => window.jswarmLong.push(e.duration))).observe({type: 'longtask'});";

    private static void waitForPage(Browser browser, int replicas, long since) throws InterruptedException {
        String want = replicas + ":" + replicas;
        while (!want.equals(browser.driver.executeScript(PAGE_COUNT))) {
            if (System.nanoTime() - since > 120e9) {
                throw new IllegalStateException("the page does not show " + want + " after 120 s: " + browser.driver.executeScript(PAGE_COUNT));
            }
            Thread.sleep(10);
        }
    }

    /** Scales "big" to {@code target}: {seconds until the store shows it, seconds until the page does}, both from the call's return. */
    private static double[] step(Browser browser, ControlClient api, int target, List<Double> scripts) throws Exception {
        var svc = api.stub().getService(io.jswarm.api.control.GetServiceRequest.newBuilder().setServiceId("big").build()).getService();
        ServiceSpec.Builder spec = svc.getSpec().toBuilder();
        spec.getReplicatedBuilder().setReplicas(target);
        api.stub().updateService(io.jswarm.api.control.UpdateServiceRequest.newBuilder().setServiceId(svc.getMeta().getId())
                .setServiceVersion(svc.getMeta().getVersion()).setSpec(spec).setScale(true).build());
        long t0 = System.nanoTime();
        AtomicLong storeAt = new AtomicLong();
        Thread poller = new Thread(() -> {
            try {
                while (true) {
                    List<Task> ts = api.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(svc.getMeta().getId()).build()).getTasksList();
                    long meant = ts.stream().filter(t -> t.getDesiredState() == TaskState.RUNNING && t.getStatus().getState() == TaskState.ASSIGNED).count();
                    long alive = ts.stream().filter(t -> t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE).count();
                    if (meant == target && alive == target) {
                        storeAt.set(System.nanoTime());
                        return;
                    }
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "store-poller");
        poller.start();
        String want = target + ":" + target;
        while (true) {
            long s0 = System.nanoTime();
            Object seen = browser.driver.executeScript(PAGE_COUNT);
            long s1 = System.nanoTime();
            scripts.add((s1 - s0) / 1e9);
            if (want.equals(seen)) {
                break;
            }
            if (s1 - t0 > 120e9) {
                throw new IllegalStateException("the page does not show " + want + " after 120 s: " + seen);
            }
            Thread.sleep(10);
        }
        long pageAt = System.nanoTime();
        poller.join(120_000);
        if (storeAt.get() == 0) {
            throw new IllegalStateException("the store did not show " + target + " tasks in 120 s");
        }
        return new double[] {(storeAt.get() - t0) / 1e9, (pageAt - t0) / 1e9};
    }
}
