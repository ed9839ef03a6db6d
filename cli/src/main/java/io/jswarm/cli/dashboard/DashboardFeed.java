package io.jswarm.cli.dashboard;

import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.control.Event;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.Manager;
import io.jswarm.manager.orchestrator.Tasks;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreEvent;
import io.jswarm.manager.store.StoreListener;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * What the dashboard shows, read from one manager's replica of the store: the whole
 * picture for a page that connects, then only the objects that changed since the last
 * delta. The store's change feed only names what changed (on the apply thread, which must
 * not wait); the objects are read from the store when a delta is made, so a delta always
 * carries the newest state and a burst of changes to one task costs one entry.
 *
 * <p>{@link #snapshot()} and {@link #delta()} are called from one thread at a time (the
 * dashboard's), in the order their results are sent: then a page that got a snapshot and
 * every delta after it has every change.
 */
final class DashboardFeed implements StoreListener, AutoCloseable {
    /** Events kept for a page that connects, and sent at most per delta. */
    static final int EVENTS = 40;

    private final Manager manager;
    private final MemoryStore store;
    private final Set<String> nodes = ConcurrentHashMap.newKeySet();
    private final Set<String> services = ConcurrentHashMap.newKeySet();
    private final Set<String> tasks = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedDeque<Event> newEvents = new ConcurrentLinkedDeque<>();
    private final ArrayDeque<JsonObject> recentEvents = new ArrayDeque<>();
    private final Runnable unsubscribe;
    private long restores;
    private String leader;

    DashboardFeed(Manager manager) {
        this.manager = manager;
        this.store = manager.store();
        this.restores = store.restores();
        store.addListener(this);
        // The last few minutes' events, for the page's event list.
        this.unsubscribe = manager.eventLog().subscribe(System.currentTimeMillis() - 600_000, this::arrived);
    }

    Manager manager() {
        return manager;
    }

    @Override
    public void onApplied(StoreEvent e) {
        for (StoreAction a : e.actions()) {
            StoreObject o = a.getObject();
            switch (o.getObjectCase()) {
                case NODE -> nodes.add(o.getNode().getMeta().getId());
                case SERVICE -> services.add(o.getService().getMeta().getId());
                case TASK -> {
                    tasks.add(o.getTask().getMeta().getId());
                    services.add(o.getTask().getServiceId());  // its replica counts
                }
                default -> { }
            }
        }
    }

    private void arrived(Event ev) {
        newEvents.addLast(ev);
        while (newEvents.size() > EVENTS) {
            newEvents.pollFirst();
        }
    }

    /**
     * Everything, for a page that connects. Leaves what is pending for the next delta alone:
     * the pages already open need it (the new page gets some objects twice, which is harmless).
     */
    JsonObject snapshot() {
        JsonArray events = new JsonArray(java.util.List.copyOf(recentEvents));
        for (Event ev : newEvents) {
            events.add(event(ev));
        }
        JsonArray n = new JsonArray();
        for (Node x : store.nodes()) {
            n.add(node(x));
        }
        JsonArray s = new JsonArray();
        for (Service x : store.services()) {
            s.add(service(x));
        }
        JsonArray t = new JsonArray();
        for (Task x : store.tasks()) {
            t.add(task(x));
        }
        return new JsonObject().put("cluster", cluster(manager.raft().leaderId())).put("nodes", n).put("services", s)
                .put("tasks", t).put("events", events);
    }

    /** What changed since the last snapshot or delta; null when nothing did. */
    JsonObject delta() {
        if (store.restores() != restores) {
            // Replaced by a snapshot from the leader: no one was told what changed.
            discard();
            return snapshot().put("reset", true);
        }
        JsonObject d = new JsonObject();
        String nowLeader = manager.raft().leaderId();
        if (!Objects.equals(nowLeader, leader)) {
            leader = nowLeader;
            d.put("cluster", cluster(leader));
            for (Node x : store.nodes()) {  // the leader mark moved
                if (x.getRole() == NodeRole.MANAGER) {
                    nodes.add(x.getMeta().getId());
                }
            }
        }
        changed(d, nodes, "nodes", id -> {
            Node x = store.node(id);
            return x == null ? null : node(x);
        });
        changed(d, services, "services", id -> {
            Service x = store.service(id);
            return x == null ? null : service(x);
        });
        changed(d, tasks, "tasks", id -> {
            Task x = store.task(id);
            return x == null ? null : task(x);
        });
        JsonArray ev = takeEvents();
        if (!ev.isEmpty()) {
            d.put("events", ev);
        }
        return d.isEmpty() ? null : d;
    }

    /** Objects that changed under {@code key}, and the ids of those removed under {@code key + "Removed"}. */
    private static void changed(JsonObject d, Set<String> ids, String key, java.util.function.Function<String, JsonObject> read) {
        JsonArray now = new JsonArray();
        JsonArray gone = new JsonArray();
        for (var it = ids.iterator(); it.hasNext(); ) {
            String id = it.next();
            it.remove();
            JsonObject o = read.apply(id);
            if (o == null) {
                gone.add(id);
            } else {
                now.add(o);
            }
        }
        if (!now.isEmpty()) {
            d.put(key, now);
        }
        if (!gone.isEmpty()) {
            d.put(key + "Removed", gone);
        }
    }

    /** Forgets what changed (no page is open to be told), keeping the recent events. */
    void discard() {
        restores = store.restores();
        nodes.clear();
        services.clear();
        tasks.clear();
        takeEvents();
    }

    private JsonArray takeEvents() {
        JsonArray out = new JsonArray();
        for (Event ev; (ev = newEvents.pollFirst()) != null; ) {
            JsonObject e = event(ev);
            out.add(e);
            recentEvents.addLast(e);
            if (recentEvents.size() > EVENTS) {
                recentEvents.removeFirst();
            }
        }
        return out;
    }

    private static JsonObject event(Event ev) {
        return new JsonObject().put("time", ev.getTimeMs()).put("type", ev.getType()).put("action", ev.getAction())
                .put("id", ev.getId()).put("attributes", new JsonObject(new java.util.TreeMap<String, Object>(ev.getAttributesMap())));
    }

    private JsonObject cluster(String leaderId) {
        var c = store.cluster();
        return new JsonObject().put("id", c == null ? "" : c.getMeta().getId()).put("leader", leaderId == null ? "" : leaderId)
                .put("self", manager.nodeId());
    }

    static JsonObject node(Node n) {
        var r = n.getDescription().getResources();
        return new JsonObject().put("id", n.getMeta().getId()).put("name", n.getDescription().getHostname())
                .put("role", n.getRole() == NodeRole.MANAGER ? "manager" : "worker")
                .put("state", n.getStatus().getState().name().toLowerCase(Locale.ROOT).replace("node_", ""))
                .put("message", n.getStatus().getMessage())
                .put("availability", n.getSpec().getAvailability().name().toLowerCase(Locale.ROOT))
                .put("addr", n.getStatus().getAddr()).put("cpus", r.getNanoCpus() / 1e9).put("memory", r.getMemoryBytes());
    }

    private JsonObject service(Service s) {
        long[] replicas = Tasks.replicas(s, store);
        var u = s.getUpdateStatus();
        return new JsonObject().put("id", s.getMeta().getId()).put("name", s.getSpec().getAnnotations().getName())
                .put("mode", s.getSpec().hasGlobal() ? "global" : "replicated")
                .put("image", s.getSpec().getTask().getContainer().getImage())
                .put("desired", replicas[0]).put("running", replicas[1])
                .put("update", u.getState() == io.jswarm.api.UpdateStatus.State.UNKNOWN ? ""
                        : u.getState().name().toLowerCase(Locale.ROOT).replace('_', ' '))
                .put("updateMessage", u.getMessage());
    }

    static JsonObject task(Task t) {
        return new JsonObject().put("id", t.getMeta().getId()).put("service", t.getServiceName())
                .put("serviceId", t.getServiceId()).put("slot", t.getSlot()).put("node", t.getNodeId())
                .put("state", t.getStatus().getState().name().toLowerCase(Locale.ROOT))
                .put("desired", t.getDesiredState().name().toLowerCase(Locale.ROOT))
                .put("message", t.getStatus().getMessage()).put("err", t.getStatus().getErr())
                .put("health", t.getStatus().getHealth()).put("specVersion", t.getSpecVersion());
    }

    @Override
    public void close() {
        store.removeListener(this);
        unsubscribe.run();
    }
}
