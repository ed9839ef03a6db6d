package io.jswarm.cli.engine;

import io.grpc.Context;
import io.jswarm.api.control.Event;
import io.jswarm.api.control.EventsRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /events}: the cluster's events as dockerd streams its swarm-scoped ones (one
 * JSON object a line: {@code Type}, {@code Action}, {@code Actor}, {@code scope: swarm},
 * {@code time}, {@code timeNano}), from the Control API's event window. Docker shows no
 * task events; neither does this (swarmctl events does).
 */
final class EventsEndpoint {
    private static final Set<String> FILTERS = Set.of("type", "event", "scope", "service", "node");
    private static final List<String> TYPES = List.of("service", "node");
    /** The event types dockerd knows: a filter on another is refused as dockerd refuses it. */
    private static final Set<String> DOCKER_TYPES = Set.of("container", "image", "volume", "network", "daemon", "plugin", "node",
            "service", "secret", "config");
    /** Ends streams at their {@code until}: an idle cluster sends nothing that would end them. */
    private static final ScheduledExecutorService UNTIL = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "engine-api-events-until");
        t.setDaemon(true);
        return t;
    });

    private final ControlClient control;

    EventsEndpoint(ControlClient control) {
        this.control = control;
    }

    void register(EngineApi api) {
        api.route(HttpMethod.GET, "/events", this::events);
    }

    private Reply events(Call c) {
        Filters f = Filters.parse(c.query("filters"), FILTERS);
        for (String t : f.get("type")) {
            if (!DOCKER_TYPES.contains(t)) {
                throw EngineError.badRequest("Invalid filter 'type=" + t + "'");
            }
        }
        boolean swarmScope = !f.has("scope") || f.get("scope").contains("swarm");
        long since = time(c.query("since"), "since");
        long until = time(c.query("until"), "until");
        EventsRequest.Builder req = EventsRequest.newBuilder().addAllTypes(TYPES).setSinceMs(since);
        return new Reply(200, new EngineApi.Stream("application/json", out -> {
            if (!swarmScope) {
                return;  // jswarm has no local events
            }
            Context.CancellableContext call = Context.current().withCancellation();
            out.onGone(() -> call.cancel(null));
            if (until > 0) {
                // a second past until: the window's events up to it (an until in the past) arrive first
                UNTIL.schedule(() -> call.cancel(null), Math.max(0, until - System.currentTimeMillis()) + 1_000,
                        TimeUnit.MILLISECONDS);
            }
            Context before = call.attach();
            try {
                Iterator<Event> it = control.streamingStub().events(req.build());
                while (it.hasNext()) {
                    Event e = it.next();
                    if (until > 0 && e.getTimeMs() > until) {
                        break;
                    }
                    String action = e.getAction();
                    String name = e.getAttributesMap().getOrDefault("name", "");
                    if ((f.has("type") && !f.get("type").contains(e.getType()))
                            || (f.has("event") && !f.get("event").contains(action))
                            || (f.has("service") && !(e.getType().equals("service") && (f.get("service").contains(name)
                                    || f.get("service").contains(e.getId()))))
                            || (f.has("node") && !(e.getType().equals("node") && (f.get("node").contains(name)
                                    || f.get("node").contains(e.getId()))))) {
                        continue;
                    }
                    JsonObject attrs = new JsonObject();
                    e.getAttributesMap().forEach(attrs::put);
                    JsonObject j = new JsonObject().put("Type", e.getType()).put("Action", action)
                            .put("Actor", new JsonObject().put("ID", e.getId()).put("Attributes", attrs))
                            .put("scope", "swarm").put("time", e.getTimeMs() / 1000).put("timeNano", e.getTimeMs() * 1_000_000L);
                    out.write(j.toBuffer().appendString("\n"));
                }
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.CANCELLED) {
                    throw e;
                }
            } finally {
                call.detach(before);
                call.cancel(null);
            }
        }));
    }

    /** Docker's since/until: Unix seconds with an optional fraction; 0 when absent. */
    private static long time(String s, String what) {
        if (s == null || s.isEmpty()) {
            return 0;
        }
        try {
            return LogsEndpoint.sinceMs(s);
        } catch (EngineError e) {
            throw EngineError.badRequest("could not parse " + what + " timestamp \"" + s + "\": expected Unix seconds");
        }
    }
}
