package io.jswarm.cli;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * swarmd --metrics-addr: Prometheus text format at {@code http://ADDR/metrics}, served by
 * Vert.x from Micrometer's Prometheus registry. The registry joins Micrometer's global one,
 * where the manager and the agent record their meters (a swarmd without the flag records
 * into nothing). Read-only, unauthenticated, as dockerd's metrics-addr.
 */
final class MetricsEndpoint implements Closeable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;

    /** @param beforeScrape brings gauges whose label sets change (services) up to date */
    MetricsEndpoint(HostPort addr, Runnable beforeScrape) throws IOException {
        Metrics.addRegistry(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        HttpServer s = vertx.createHttpServer().requestHandler(req -> {
            if (!req.path().equals("/metrics")) {
                req.response().setStatusCode(404).putHeader("Content-Type", "text/plain; charset=utf-8")
                        .end("not found: metrics are at /metrics\n");
            } else if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
                req.response().setStatusCode(405).putHeader("Allow", "GET, HEAD").end();
            } else {
                // The scrape reads the store: off the event loop.
                vertx.executeBlocking(() -> {
                    beforeScrape.run();
                    return registry.scrape();
                }).onComplete(r -> {
                    if (r.succeeded()) {
                        req.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(r.result());
                    } else {
                        req.response().setStatusCode(500).end("scrape failed: " + r.cause().getMessage() + "\n");
                    }
                });
            }
        });
        try {
            server = s.listen(addr.port(), addr.host()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("--metrics-addr " + addr + ": cannot listen (" + cause.getMessage() + ")");
        }
    }

    int port() {
        return server.actualPort();
    }

    @Override
    public void close() {
        Metrics.removeRegistry(registry);
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // exiting anyway
        }
    }
}
