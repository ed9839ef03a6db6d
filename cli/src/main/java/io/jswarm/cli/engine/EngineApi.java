package io.jswarm.cli.engine;

import io.grpc.StatusRuntimeException;
import io.jswarm.cli.ControlClient;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * swarmd --engine-api: the swarm part of Docker's Engine API (version 1.41), so that the
 * docker CLI, docker-py and tools built on them drive jswarm unchanged. Served by Vert.x;
 * every request is translated onto the node's own Control API (its unix socket), so the
 * same validation, Raft writes and errors apply as to swarmctl. This class is the HTTP
 * side: versions in paths, the routes, Docker's error bodies and headers; {@link
 * SwarmEndpoints} does the translating.
 */
public final class EngineApi implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineApi.class);
    static final String API_VERSION = "1.41";
    static final int MIN_MINOR = 24;
    static final int MAX_MINOR = 41;
    private static final Pattern VERSIONED = Pattern.compile("/v(\\d+)\\.(\\d+)(/.*)");
    /** What a node in no swarm yet (swarmd --inactive) answers; the rest is 503, as dockerd's. */
    private static final Pattern IN_NO_SWARM = Pattern.compile("/version|/info|/swarm/init|/swarm/join");
    /** What a manager waiting for its unlock key answers (autolock); the rest is 503, as dockerd's. */
    private static final Pattern WHILE_LOCKED = Pattern.compile("/version|/info|/swarm/unlock");
    private static final String LOCKED = "Swarm is encrypted and needs to be unlocked before it can be used. Please use"
            + " \"docker swarm unlock\" to unlock it.";
    /** What a container engine serves and a swarm orchestrator does not. */
    private static final Pattern ENGINE_ONLY = Pattern.compile(
            "/(containers|images|volumes|build|exec|plugins|commit|session|auth|grpc|system/df|networks/prune)(/.*)?");

    /** What a route's handler is given: read on the event loop, handled on a call thread. */
    record Call(HttpMethod method, String path, Matcher params, MultiMap query, MultiMap headers, Buffer body) {
        String param(int i) {
            return params.group(i);
        }

        String query(String name) {
            return query.get(name);
        }

        /** The {@code version} an update names: the object's version as the client read it (Version.Index). */
        long version() {
            String v = query.get("version");
            try {
                long n = Long.parseLong(v == null ? "" : v);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw EngineError.badRequest("invalid version '" + (v == null ? "" : v) + "': give the version the object had"
                    + " when read (Version.Index)");
        }

        /** Docker's boolean query parameters: 1, true, True (and 0, false, absent). */
        boolean flag(String name) {
            String v = query.get(name);
            return v != null && (v.equals("1") || v.equalsIgnoreCase("true"));
        }
    }

    /** A response: JSON (an object or array), plain text, or nothing. */
    record Reply(int status, Object body) {
        static Reply json(Object body) {
            return new Reply(200, body);
        }

        static Reply empty(int status) {
            return new Reply(status, null);
        }
    }

    interface Handler {
        Reply handle(Call call) throws Exception;
    }

    /**
     * A reply written as it is made (logs): run on a thread of its own once the status and
     * headers are out; {@code out.write} waits while the client is slow to read, and fails
     * once it has gone, as {@code out.gone()} tells a stream that waits for more.
     */
    interface Streamer {
        void stream(Chunks out) throws Exception;
    }

    /** The body of a streamed reply. */
    interface Chunks {
        void write(Buffer b) throws IOException, InterruptedException;

        /** Runs when the client goes away (closes the connection). */
        void onGone(Runnable r);
    }

    record Stream(String contentType, Streamer streamer) {}

    private record Route(HttpMethod method, Pattern path, Handler handler) {}

    private final Vertx vertx;
    private final HttpServer server;
    private final Path unixSocket;
    private final ControlClient control;
    private final SwarmEndpoints.LocalNode node;
    /** Requests wait here for the Control API (its calls block); a burst queues rather than making threads. */
    private final ExecutorService calls;
    private final List<Route> routes = new ArrayList<>();
    /** Streamed replies (logs that follow), each as long as its client reads: a thread each. */
    private final ExecutorService streams = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "engine-api-stream");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param listen {@code unix:///path} or {@code tcp://host:port}
     * @param nodeSocket the node's own socket, whose Control API the requests are translated onto
     * @param registry the node's registry client, for what an image reference names (the CLI asks before creates)
     * @param options the server's options: HTTPS with client certificates (ClusterHttps) off loopback
     * @param waiting for a node started with swarmd --inactive, what takes its swarm init or join; else null
     */
    public EngineApi(String listen, Path nodeSocket, SwarmEndpoints.LocalNode node,
            io.jswarm.agent.image.RegistryClient registry, HttpServerOptions options, WaitingNode waiting) throws IOException {
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        AtomicInteger n = new AtomicInteger();
        this.calls = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "engine-api-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.control = new ControlClient(nodeSocket, false);
        this.node = node;
        SocketAddress address;
        if (listen.startsWith("unix://")) {
            unixSocket = Path.of(listen.substring("unix://".length()));
            if (!unixSocket.isAbsolute()) {
                throw new IllegalArgumentException("--engine-api " + listen + ": the socket's path must be absolute");
            }
            Files.createDirectories(unixSocket.getParent());
            Files.deleteIfExists(unixSocket);
            address = SocketAddress.domainSocketAddress(unixSocket.toString());
        } else if (listen.startsWith("tcp://")) {
            unixSocket = null;
            io.jswarm.cli.HostPort hp = io.jswarm.cli.HostPort.parse("--engine-api", listen.substring("tcp://".length()));
            address = SocketAddress.inetSocketAddress(hp.port(), hp.host());
        } else {
            throw new IllegalArgumentException("--engine-api " + listen + ": expected unix:///PATH or tcp://HOST:PORT");
        }
        new SwarmEndpoints(control, node).register(this);
        new SwarmSpecEndpoints(control, unixSocket != null, node, waiting).register(this);
        new ObjectEndpoints(control).register(this);
        new LogsEndpoint(control).register(this);
        new EventsEndpoint(control).register(this);
        route(HttpMethod.GET, "/distribution/(.+)/json", new Distribution(registry)::inspect);
        try {
            server = vertx.createHttpServer(options).requestHandler(this::handle).listen(address)
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("--engine-api " + listen + ": cannot listen (" + cause.getMessage() + ")");
        }
        if (unixSocket != null) {
            // root and the socket's group, as dockerd's socket
            Files.setPosixFilePermissions(unixSocket, PosixFilePermissions.fromString("rw-rw----"));
        }
    }

    /** The port a tcp:// listener got (for port 0), or -1 on a unix socket. */
    public int port() {
        return unixSocket == null ? server.actualPort() : -1;
    }

    void route(HttpMethod method, String path, Handler handler) {
        routes.add(new Route(method, Pattern.compile(path), handler));
    }

    private void handle(HttpServerRequest req) {
        Context ctx = vertx.getOrCreateContext();
        HttpMethod method = req.method();
        String path = req.path();
        MultiMap query = MultiMap.caseInsensitiveMultiMap().addAll(req.params());
        MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(req.headers());
        req.body().onComplete(ar -> {
            if (ar.failed()) {
                return;  // the client went away
            }
            Buffer body = ar.result();
            calls.execute(() -> {
                Reply reply = answer(method, path, query, headers, body);
                if (reply.body() instanceof Stream st) {
                    ctx.runOnContext(v -> startStream(req.response(), ctx, st));
                } else {
                    ctx.runOnContext(v -> write(req.response(), method, reply));
                }
            });
        });
    }

    /** The reply to one request: never throws (a bug is a 500 that says where to look). */
    Reply answer(HttpMethod method, String path, MultiMap query, MultiMap headers, Buffer body) {
        try {
            if (path.equals("/_ping")) {
                return ping(method);
            }
            Matcher v = VERSIONED.matcher(path);
            if (v.matches()) {
                checkVersion(v.group(1) + "." + v.group(2), Integer.parseInt(v.group(1)), Integer.parseInt(v.group(2)));
                path = v.group(3);
                if (path.equals("/_ping")) {
                    return ping(method);
                }
            }
            if (node.nodeId() == null && !IN_NO_SWARM.matcher(path).matches() && !ENGINE_ONLY.matcher(path).matches()) {
                // swarmd --inactive, before docker swarm init or join: as dockerd in no swarm
                throw new EngineError(503, WaitingNode.NOT_IN_A_SWARM);
            }
            if (node.locked() && !WHILE_LOCKED.matcher(path).matches() && !ENGINE_ONLY.matcher(path).matches()) {
                throw new EngineError(503, LOCKED);
            }
            boolean pathKnown = false;
            for (Route r : routes) {
                Matcher m = r.path().matcher(path);
                if (m.matches()) {
                    pathKnown = true;
                    if (r.method().equals(method)) {
                        return r.handler().handle(new Call(method, path, m, query, headers, body));
                    }
                }
            }
            if (ENGINE_ONLY.matcher(path).matches()) {
                throw EngineError.notFound("jswarm serves the swarm part of Docker's Engine API (swarm, nodes, services,"
                        + " tasks, networks, secrets, configs); " + method + " " + path + " is not there: jswarm is a swarm"
                        + " orchestrator, not a container engine, and keeps no local containers, images or volumes");
            }
            throw pathKnown ? new EngineError(405, "method " + method + " is not allowed on " + path)
                    : EngineError.notFound("page not found");
        } catch (EngineError e) {
            return new Reply(e.status, new JsonObject().put("message", e.getMessage()));
        } catch (StatusRuntimeException e) {
            EngineError err = EngineError.from(e);
            String message = err.getMessage();
            List<String> managers = e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED
                    ? node.managers().stream().map(p -> p.getAddr()).toList() : List.of();
            if (!managers.isEmpty()) {
                // a worker: Docker's words, and where the managers are
                message += " Managers: " + String.join(", ", managers) + ".";
            }
            return new Reply(err.status, new JsonObject().put("message", message));
        } catch (Exception e) {
            LOG.error("engine API: {} {} failed", method, path, e);
            return new Reply(500, new JsonObject().put("message", "internal error in jswarm's Engine API"
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + " (details in the swarmd log)"));
        }
    }

    private static Reply ping(HttpMethod method) {
        return new Reply(200, method.equals(HttpMethod.HEAD) ? null : "OK");
    }

    private static void checkVersion(String given, int major, int minor) {
        if (major != 1 || minor > MAX_MINOR) {
            throw EngineError.badRequest("client version " + given + " is too new. Maximum supported API version is "
                    + API_VERSION);
        }
        if (minor < MIN_MINOR) {
            throw EngineError.badRequest("client version " + given + " is too old. Minimum supported API version is 1."
                    + MIN_MINOR + ", please upgrade your client to a newer version");
        }
    }

    private static void headers(HttpServerResponse resp, int status) {
        resp.setStatusCode(status);
        resp.putHeader("API-Version", API_VERSION).putHeader("Docker-Experimental", "false").putHeader("OSType", "linux")
                .putHeader("Server", "jswarm/" + io.jswarm.cli.LocalNode.VERSION + " (linux)");
    }

    /** On the connection's context: the headers now, then the body from a stream thread. */
    private void startStream(HttpServerResponse resp, Context ctx, Stream st) {
        headers(resp, 200);
        resp.putHeader("Content-Type", st.contentType()).setChunked(true);
        resp.writeHead();
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        List<Runnable> onGone = new java.util.concurrent.CopyOnWriteArrayList<>();
        resp.closeHandler(v -> {
            gone.set(true);
            onGone.forEach(Runnable::run);
        });
        Chunks chunks = new Chunks() {
            @Override
            public void write(Buffer b) throws IOException, InterruptedException {
                java.util.concurrent.CompletableFuture<Boolean> written = new java.util.concurrent.CompletableFuture<>();
                ctx.runOnContext(v -> {
                    if (gone.get() || resp.ended() || resp.closed()) {
                        written.complete(false);
                        return;
                    }
                    resp.write(b);
                    if (resp.writeQueueFull()) {
                        resp.drainHandler(d -> written.complete(true));
                    } else {
                        written.complete(true);
                    }
                });
                try {
                    if (!written.get()) {
                        throw new IOException("the client went away");
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IOException(e.getCause());
                }
            }

            @Override
            public void onGone(Runnable r) {
                onGone.add(r);
                if (gone.get()) {
                    r.run();
                }
            }
        };
        streams.execute(() -> {
            try {
                st.streamer().stream(chunks);
            } catch (IOException | InterruptedException e) {
                // the client went away: nothing to tell it
            } catch (StatusRuntimeException e) {
                // after the headers an error can only end the stream; Docker writes it as a last line
                LOG.debug("engine API: stream ended: {}", e.getStatus());
            } catch (Exception e) {
                LOG.error("engine API: stream failed", e);
            } finally {
                ctx.runOnContext(v -> {
                    if (!resp.ended() && !resp.closed()) {
                        resp.end();
                    }
                });
            }
        });
    }

    private static void write(HttpServerResponse resp, HttpMethod method, Reply reply) {
        headers(resp, reply.status());
        if (reply.body() == null) {
            if (method.equals(HttpMethod.HEAD)) {
                resp.putHeader("Content-Type", "text/plain; charset=utf-8");
            }
            resp.end();
        } else if (reply.body() instanceof Buffer json) {
            resp.putHeader("Content-Type", "application/json").end(json.appendString("\n"));
        } else if (reply.body() instanceof String s) {
            resp.putHeader("Content-Type", "text/plain; charset=utf-8").end(s);
        } else {
            Buffer json = reply.body() instanceof JsonArray a ? a.toBuffer() : ((JsonObject) reply.body()).toBuffer();
            resp.putHeader("Content-Type", "application/json").end(json.appendString("\n"));
        }
    }

    @Override
    public void close() {
        calls.shutdownNow();
        streams.shutdownNow();
        control.close();
        vertx.close();
        if (unixSocket != null) {
            try {
                Files.deleteIfExists(unixSocket);
            } catch (IOException ignored) {
                // gone with the node
            }
        }
    }
}
