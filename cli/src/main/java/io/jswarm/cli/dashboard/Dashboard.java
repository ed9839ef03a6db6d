package io.jswarm.cli.dashboard;

import io.grpc.StatusRuntimeException;
import io.jswarm.api.logs.LogMessage;
import io.jswarm.api.logs.LogMessages;
import io.jswarm.api.logs.LogSelector;
import io.jswarm.api.logs.SubscribeLogsRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.manager.Manager;
import io.jswarm.tls.NodeTls;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * swarmd --dashboard-addr: a read-only page of the cluster as this manager's replica of the
 * store holds it, served by Vert.x. The page gets the whole picture once and then what
 * changed, as server-sent events ({@code GET /events}) fed by the store's change feed;
 * it never polls. A task's recent log lines come from {@code GET /api/tasks/ID/logs},
 * through the node's own Logs API (the same path as swarmctl service logs).
 *
 * <p>Access: plain HTTP on a loopback address (only this machine's users reach it); on any
 * other address HTTPS that requires a client certificate of the cluster (a manager's, or
 * one from swarmctl cluster client-cert), unless swarmd was told --dashboard-insecure.
 */
public final class Dashboard implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);
    /** How often changes are gathered into one delta: a burst of writes is one message to the page. */
    static final long TICK_MS = 100;
    private static final long KEEPALIVE_MS = 15_000;
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html", "/index.html", "index.html", "/dashboard.js", "dashboard.js", "/dashboard.css", "dashboard.css");

    /** A page's open event stream: written on its connection's context, in the order messages were made. */
    private record Client(HttpServerResponse response, Context context) {}

    private final Supplier<Manager> managers;
    private final Path socket;
    private final Vertx vertx = Vertx.vertx();
    /** The one thread that makes snapshots and deltas: see {@link DashboardFeed}. */
    private final ScheduledExecutorService feedThread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dashboard-feed");
        t.setDaemon(true);
        return t;
    });
    private final List<Client> clients = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final boolean https;
    /** Served on loopback: only requests that name a loopback host (see {@link #hostAllowed}). */
    private final boolean loopbackOnly;
    private DashboardFeed feed;   // on the feed thread only
    private long lastKeepalive = System.currentTimeMillis();

    /**
     * @param managers this node's manager now (null while it is a worker): promotion and demotion change it
     * @param socket the node's local socket, for task logs
     * @param tls the node's certificates, for HTTPS off loopback; null serves plain HTTP
     */
    public Dashboard(String host, int port, Supplier<Manager> managers, Path socket, NodeTls tls) throws IOException {
        this.managers = managers;
        this.socket = socket;
        this.https = tls != null;
        this.loopbackOnly = loopback(host);
        HttpServerOptions options = (tls != null ? io.jswarm.cli.ClusterHttps.options(tls, managers) : new HttpServerOptions())
                .setCompressionSupported(true);
        HttpServer s = vertx.createHttpServer(options).requestHandler(this::handle);
        try {
            server = s.listen(port, host).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("--dashboard-addr " + host + ":" + port + ": cannot listen (" + cause.getMessage() + ")");
        }
        feedThread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /** True for an address only this machine reaches: served without TLS. */
    public static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            throw new IllegalArgumentException("--dashboard-addr: cannot resolve " + host + " (" + e.getMessage() + ")");
        }
    }

    /**
     * A page on the web could make the browser of someone on this machine ask for a name of
     * its own that resolves to 127.0.0.1 (DNS rebinding) and read the loopback dashboard:
     * such requests carry that name in Host, so only loopback names and addresses are served.
     */
    static boolean hostAllowed(String host) {
        if (host == null) {
            return false;
        }
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (!h.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            return false;  // a name: never resolved here
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    public int port() {
        return server.actualPort();
    }

    public String url(String host) {
        return (https ? "https://" : "http://") + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/";
    }

    private void handle(HttpServerRequest req) {
        HttpServerResponse resp = req.response();
        if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
            resp.setStatusCode(405).putHeader("Allow", "GET, HEAD").end();  // read-only
            return;
        }
        if (loopbackOnly && !hostAllowed(req.authority() == null ? null : req.authority().host())) {
            error(resp, 403, "the dashboard answers requests for localhost or a loopback address only");
            return;
        }
        String path = req.path();
        if (ASSETS.containsKey(path)) {
            asset(resp, ASSETS.get(path));
        } else if (path.equals("/events")) {
            events(req);
        } else if (path.startsWith("/api/tasks/") && path.endsWith("/logs")) {
            logs(resp, path.substring("/api/tasks/".length(), path.length() - "/logs".length()));
        } else {
            error(resp, 404, "not found: " + path);
        }
    }

    private static void error(HttpServerResponse resp, int code, String message) {
        resp.setStatusCode(code).putHeader("Content-Type", "application/json")
                .end(new JsonObject().put("message", message).encode());
    }

    /** The page itself: files in the jar, nothing fetched from elsewhere. */
    private static void asset(HttpServerResponse resp, String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream(name)) {
            if (in == null) {
                error(resp, 500, "the dashboard's " + name + " is missing from this build");
                return;
            }
            String type = name.endsWith(".html") ? "text/html" : name.endsWith(".js") ? "text/javascript" : "text/css";
            resp.putHeader("Content-Type", type + "; charset=utf-8").putHeader("Cache-Control", "no-cache")
                    .putHeader("Content-Security-Policy", "default-src 'self'")
                    .end(io.vertx.core.buffer.Buffer.buffer(in.readAllBytes()));
        } catch (IOException e) {
            error(resp, 500, "cannot read the dashboard's " + name + ": " + e.getMessage());
        }
    }

    /** An event stream: the whole picture first, then deltas as they are made. */
    private void events(HttpServerRequest req) {
        HttpServerResponse resp = req.response();
        resp.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache")
                .putHeader("X-Accel-Buffering", "no");
        resp.write("retry: 1000\n\n");
        Client c = new Client(resp, vertx.getOrCreateContext());
        resp.closeHandler(v -> clients.remove(c));
        feedThread.execute(() -> {
            try {
                String first = message("snapshot", feed != null ? feed.snapshot() : notManager());
                clients.add(c);  // after the snapshot was read: every delta from now on reaches it
                send(c, first);
            } catch (RuntimeException e) {
                LOG.warn("dashboard: cannot read the store for a page: {}", e.toString());
                c.context().runOnContext(v -> resp.end());
            }
        });
    }

    private static JsonObject notManager() {
        return new JsonObject().put("manager", false)
                .put("message", "this node is not a manager now: the dashboard shows a manager's view of the cluster; open it on a manager");
    }

    private static String message(String event, JsonObject data) {
        return "event: " + event + "\ndata: " + data.encode() + "\n\n";
    }

    private void send(Client c, String text) {
        c.context().runOnContext(v -> {
            if (c.response().closed()) {
                clients.remove(c);
            } else if (c.response().writeQueueFull()) {
                // A page that cannot keep up: it reconnects (EventSource does) and starts from a snapshot.
                clients.remove(c);
                c.response().reset();
            } else {
                c.response().write(text);
            }
        });
    }

    private void broadcast(String text) {
        for (Client c : clients) {
            send(c, text);
        }
    }

    /** On the feed thread: follows the node's manager, and sends what changed to every page. */
    private void tick() {
        try {
            Manager m = managers.get();
            if (feed == null ? m != null : feed.manager() != m) {
                if (feed != null) {
                    feed.close();
                }
                feed = m == null ? null : new DashboardFeed(m);
                broadcast(message("snapshot", feed != null ? feed.snapshot() : notManager()));
                return;
            }
            if (feed != null && clients.isEmpty()) {
                feed.discard();
            } else if (feed != null) {
                JsonObject d = feed.delta();
                if (d != null) {
                    broadcast(message(d.containsKey("reset") ? "snapshot" : "delta", d));
                    lastKeepalive = System.currentTimeMillis();
                }
            }
            if (System.currentTimeMillis() - lastKeepalive > KEEPALIVE_MS) {
                broadcast(": keep-alive\n\n");  // through proxies that end idle streams
                lastKeepalive = System.currentTimeMillis();
            }
        } catch (RuntimeException e) {
            LOG.warn("dashboard: {}", e.toString());
        }
    }

    /** A task's last lines of output, as swarmctl service logs --tail 100 reads them. */
    private void logs(HttpServerResponse resp, String taskId) {
        if (!taskId.matches("[a-z0-9]{1,64}")) {
            error(resp, 400, "invalid task id \"" + taskId + "\"");
            return;
        }
        Manager m = managers.get();
        if (m == null) {
            error(resp, 503, notManager().getString("message"));
            return;
        }
        if (m.store().task(taskId) == null) {
            error(resp, 404, "task " + taskId + " not found");
            return;
        }
        vertx.executeBlocking(() -> {
            JsonArray lines = new JsonArray();
            try (ControlClient cc = new ControlClient(socket)) {
                Iterator<LogMessages> it = cc.logs().withDeadlineAfter(10, TimeUnit.SECONDS).subscribeLogs(SubscribeLogsRequest.newBuilder()
                        .setSelector(LogSelector.newBuilder().addTaskIds(taskId)).setTail(100).setFollow(false).build());
                while (it.hasNext()) {
                    for (LogMessage l : it.next().getMessagesList()) {
                        lines.add(new JsonObject().put("time", l.getTimestampNs() / 1_000_000)
                                .put("stream", l.getStream() == LogMessage.Stream.STDERR ? "stderr" : "stdout")
                                .put("line", l.getData().toString(StandardCharsets.UTF_8)));
                    }
                }
            }
            return new JsonObject().put("task", taskId).put("lines", lines);
        }).onComplete(r -> {
            if (r.succeeded()) {
                resp.putHeader("Content-Type", "application/json").end(r.result().encode());
            } else if (r.cause() instanceof StatusRuntimeException e) {
                String d = e.getStatus().getDescription();
                error(resp, 502, "cannot read the task's logs: " + (d != null ? d : e.getStatus().getCode().name().toLowerCase()));
            } else {
                error(resp, 502, "cannot read the task's logs: " + r.cause().getMessage());
            }
        });
    }

    @Override
    public void close() {
        feedThread.shutdownNow();
        try {
            feedThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (feed != null) {
            feed.close();
        }
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // exiting anyway
        }
    }
}
