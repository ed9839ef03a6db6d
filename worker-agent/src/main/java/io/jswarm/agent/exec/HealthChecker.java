package io.jswarm.agent.exec;

import io.jswarm.overlay.Commands;
import io.jswarm.api.HealthConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Runs containers' health checks inside them ({@code runc exec}) on their interval, with
 * their timeout, and reports "starting", "healthy" or "unhealthy" (after {@code retries}
 * consecutive failures; failures during the start period do not count).
 */
final class HealthChecker {
    static final long DEFAULT_INTERVAL_MS = 30_000;
    static final long DEFAULT_TIMEOUT_MS = 30_000;
    static final int DEFAULT_RETRIES = 3;

    private final OciRuntime runtime;
    private final BiConsumer<String, String> onChange;  // task id, health
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "health-checks");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, ScheduledFuture<?>> checks = new ConcurrentHashMap<>();

    HealthChecker(OciRuntime runtime, BiConsumer<String, String> onChange) {
        this.runtime = runtime;
        this.onChange = onChange;
    }

    /** The check that applies: the service's, else the image's; null when there is none. */
    static HealthConfig effective(HealthConfig service, HealthConfig image) {
        HealthConfig h = service.getTestCount() > 0 ? service : image;
        if (h.getTestCount() == 0 || h.getTest(0).equals("NONE")) {
            return null;
        }
        // Unset values of the service's check fall back to the image's, then to Docker's defaults.
        HealthConfig.Builder b = h.toBuilder();
        if (!b.hasInterval() && image.hasInterval()) {
            b.setInterval(image.getInterval());
        }
        if (!b.hasTimeout() && image.hasTimeout()) {
            b.setTimeout(image.getTimeout());
        }
        if (b.getRetries() == 0 && image.getRetries() > 0) {
            b.setRetries(image.getRetries());
        }
        return b.build();
    }

    static List<String> command(HealthConfig h) {
        List<String> test = h.getTestList();
        List<String> out = new ArrayList<>();
        if (test.get(0).equals("CMD-SHELL")) {
            out.add("sh");
            out.add("-c");
            out.add(String.join(" ", test.subList(1, test.size())));
        } else if (test.get(0).equals("CMD")) {
            out.addAll(test.subList(1, test.size()));
        } else {
            out.add("sh");
            out.add("-c");
            out.add(String.join(" ", test));
        }
        return out;
    }

    private static long ms(com.google.protobuf.Duration d, long dflt) {
        long v = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
        return v > 0 ? v : dflt;
    }

    void watch(String id, HealthConfig h) {
        long interval = ms(h.getInterval(), DEFAULT_INTERVAL_MS);
        long timeout = ms(h.getTimeout(), DEFAULT_TIMEOUT_MS);
        long startPeriod = ms(h.getStartPeriod(), 0);
        int retries = h.getRetries() > 0 ? h.getRetries() : DEFAULT_RETRIES;
        long started = System.currentTimeMillis();
        List<String> cmd = new ArrayList<>(List.of("exec", id));
        cmd.addAll(command(h));
        int[] failures = {0};
        String[] last = {"starting"};
        ScheduledFuture<?> f = timer.scheduleWithFixedDelay(() -> {
            boolean ok;
            try {
                ok = Commands.run(runtime.cmd(cmd.toArray(new String[0])), Math.max(1, (timeout + 999) / 1000)).exit() == 0;
            } catch (IOException e) {
                ok = false;
            }
            io.micrometer.core.instrument.Metrics.counter("jswarm_health_checks", "result", ok ? "pass" : "fail").increment();
            String now;
            if (ok) {
                failures[0] = 0;
                now = "healthy";
            } else if (System.currentTimeMillis() - started < startPeriod) {
                now = last[0];
            } else {
                failures[0]++;
                now = failures[0] >= retries ? "unhealthy" : last[0];
            }
            if (!now.equals(last[0])) {
                last[0] = now;
                onChange.accept(id, now);
            }
            if (now.equals("unhealthy")) {
                unwatch(id);
            }
        }, interval, interval, TimeUnit.MILLISECONDS);
        checks.put(id, f);
    }

    void unwatch(String id) {
        ScheduledFuture<?> f = checks.remove(id);
        if (f != null) {
            f.cancel(false);
        }
    }

    void close() {
        timer.shutdownNow();
    }
}
