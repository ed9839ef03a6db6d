package io.jswarm.manager;

import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.MemoryStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * A manager's gauges (swarmd --metrics-addr): its Raft member, the store, tasks, services
 * and nodes as this manager's replica holds them. Read when scraped, from one count of the
 * store made at most once a second (a scrape reads every gauge; the store is counted once).
 * Removed from the registry when the manager stops (a demoted node drops them).
 */
public final class ManagerMetrics implements Closeable {
    /** The store counted once: what every gauge of one scrape reads. */
    private record Counts(long at, Map<TaskState, Long> tasks, Map<TaskState, Long> desired, Map<String, long[]> services,
            Map<String, io.jswarm.api.UpdateStatus.State> updates, Map<String, Long> nodes, Map<String, Long> objects,
            Map<String, Long> pending, long withoutIngress) {}

    /**
     * Why pending tasks wait, in words the scheduler uses, as a label with a fixed set of
     * values (the scheduler's own message carries counts, ports and constraints).
     */
    static final Map<String, String> PENDING_REASONS = new java.util.LinkedHashMap<>();

    static {
        PENDING_REASONS.put("no nodes in the cluster", "no_nodes");
        PENDING_REASONS.put("node not ready", "node_not_ready");
        PENDING_REASONS.put("node availability", "node_availability");
        PENDING_REASONS.put("constraint ", "constraint");
        PENDING_REASONS.put("insufficient cpu", "cpu");
        PENDING_REASONS.put("insufficient memory", "memory");
        PENDING_REASONS.put("max replicas per node", "max_replicas_per_node");
        PENDING_REASONS.put("host-mode port", "host_port");
    }

    /** The reasons (label values) a pending task's scheduler message names; "other" when none is known. */
    static List<String> pendingReasons(String err) {
        List<String> out = new ArrayList<>();
        PENDING_REASONS.forEach((words, label) -> {
            if (err.contains(words)) {
                out.add(label);
            }
        });
        if (out.isEmpty()) {
            out.add("other");
        }
        return out;
    }

    private final MeterRegistry registry;
    private final RaftNode raft;
    private final MemoryStore store;
    private final List<Meter> meters = new ArrayList<>();
    /** The service gauges there are, by name: added and removed as services come and go. */
    private final Map<String, List<Meter>> serviceMeters = new HashMap<>();
    private volatile Counts counts;

    public ManagerMetrics(MeterRegistry registry, RaftNode raft, MemoryStore store, java.util.function.IntSupplier sessions) {
        this.registry = registry;
        this.raft = raft;
        this.store = store;
        gauge("jswarm_dispatcher_sessions", "agent sessions open on this manager", Tags.empty(), m -> sessions.getAsInt());
        gauge("jswarm_raft_leader", "1 while this manager leads the Raft group", Tags.empty(), m -> m.raft.isLeader() ? 1 : 0);
        gauge("jswarm_raft_term", "the Raft term this manager is in", Tags.empty(), m -> m.raft.term());
        gauge("jswarm_raft_commit_index", "the highest Raft log index this manager knows committed", Tags.empty(),
                m -> m.raft.commitIndex());
        gauge("jswarm_raft_applied_index", "the highest Raft log index this manager's store has applied", Tags.empty(),
                m -> m.store.appliedIndex());
        for (String kind : List.of("service", "task", "node", "network", "secret", "config")) {
            gauge("jswarm_store_objects", "objects in this manager's replica of the store, by kind", Tags.of("kind", kind),
                    m -> m.counts().objects().get(kind));
        }
        for (TaskState s : TaskState.values()) {
            if (s == TaskState.UNRECOGNIZED) {
                continue;
            }
            String state = s.name().toLowerCase(Locale.ROOT);
            gauge("jswarm_tasks", "tasks by current state", Tags.of("state", state), m -> m.counts().tasks().getOrDefault(s, 0L));
            gauge("jswarm_tasks_desired", "tasks by desired state", Tags.of("state", state),
                    m -> m.counts().desired().getOrDefault(s, 0L));
        }
        for (String reason : java.util.stream.Stream.concat(PENDING_REASONS.values().stream(), java.util.stream.Stream.of("other")).toList()) {
            gauge("jswarm_tasks_pending", "tasks the scheduler cannot place yet, by the reasons it gives (a task may count under several)",
                    Tags.of("reason", reason), m -> m.counts().pending().getOrDefault(reason, 0L));
        }
        // Its subnet, sized when the cluster is made, holds one address per node: at 2,000
        // nodes the default /24 leaves 1,747 out, which the leader's log alone used to say.
        gauge("jswarm_nodes_without_ingress_address", "nodes the routing mesh does not reach: no address on the ingress network"
                + " (its subnet is full, or the leader has not given one yet)", Tags.empty(), m -> m.counts().withoutIngress());
        gauge("jswarm_raft_snapshot_bytes", "size of this manager's latest snapshot of the store", Tags.empty(),
                m -> io.jswarm.manager.store.StoreStateMachine.lastSnapshotBytes());
        for (NodeState s : List.of(NodeState.NODE_READY, NodeState.NODE_DOWN, NodeState.NODE_UNKNOWN)) {
            for (NodeAvailability a : List.of(NodeAvailability.ACTIVE, NodeAvailability.PAUSE, NodeAvailability.DRAIN)) {
                String key = nodeKey(s, a);
                gauge("jswarm_nodes", "nodes by state and availability", Tags.of("state", name(s.name()), "availability", name(a.name())),
                        m -> m.counts().nodes().getOrDefault(key, 0L));
            }
        }
    }

    private static String name(String enumName) {
        return enumName.replace("NODE_", "").toLowerCase(Locale.ROOT);
    }

    private static String nodeKey(NodeState s, NodeAvailability a) {
        return s.name() + "/" + a.name();
    }

    private void gauge(String name, String help, Tags tags, ToDoubleFunction<ManagerMetrics> f) {
        meters.add(Gauge.builder(name, this, f).description(help).tags(tags).strongReference(true).register(registry));
    }

    /** The store counted, at most once a second; also brings the per-service gauges up to date. */
    private Counts counts() {
        Counts c = counts;
        long now = System.currentTimeMillis();
        if (c != null && now - c.at() < 1_000) {
            return c;
        }
        synchronized (this) {
            c = counts;
            if (c != null && now - c.at() < 1_000) {
                return c;
            }
            c = count(now);
            counts = c;
            updateServiceMeters(c);
            return c;
        }
    }

    private Counts count(long now) {
        Map<TaskState, Long> tasks = new EnumMap<>(TaskState.class);
        Map<TaskState, Long> desired = new EnumMap<>(TaskState.class);
        Map<String, long[]> services = new HashMap<>();  // name -> {desired replicas, running}
        Map<String, io.jswarm.api.UpdateStatus.State> updates = new HashMap<>();
        Map<String, Long> pending = new HashMap<>();
        List<Service> all = store.services();
        for (Service s : all) {
            updates.put(s.getSpec().getAnnotations().getName(), s.getUpdateStatus().getState());
            long want = s.getSpec().hasReplicated() ? s.getSpec().getReplicated().getReplicas() : -1;
            services.put(s.getSpec().getAnnotations().getName(), new long[] {want, 0});
        }
        // From the store's indexes: a scrape at 100,000 tasks scans none of them.
        MemoryStore.TaskCounts tc = store.taskCounts();
        for (TaskState st : TaskState.values()) {
            if (st != TaskState.UNRECOGNIZED) {
                tasks.put(st, tc.state(st));
                desired.put(st, tc.desired(st));
            }
        }
        tc.pendingErrors().forEach((err, n) -> {
            for (String r : pendingReasons(err)) {
                pending.merge(r, n, Long::sum);
            }
        });
        for (Service s : all) {
            long[] c = store.replicaCounts(s.getMeta().getId());  // {meant to run, up}, as service ls counts them
            long[] v = services.get(s.getSpec().getAnnotations().getName());
            v[1] = c[1];
            if (v[0] < 0) {
                v[0] = c[0];  // a global service wants one task per node that may run it: as many as the orchestrator made
            }
        }
        Map<String, Long> nodes = new HashMap<>();
        List<Node> allNodes = store.nodes();
        io.jswarm.api.Network ingress = store.ingressNetwork();
        long withoutIngress = 0;
        for (Node n : allNodes) {
            nodes.merge(nodeKey(n.getStatus().getState(), n.getSpec().getAvailability()), 1L, Long::sum);
            if (ingress != null && !io.jswarm.manager.network.NetworkAllocator.hasIngressAddress(n, ingress)) {
                withoutIngress++;
            }
        }
        Map<String, Long> objects = Map.of("service", (long) all.size(), "task", tc.total(), "node", (long) allNodes.size(),
                "network", (long) store.networks().size(), "secret", (long) store.secrets().size(), "config", (long) store.configs().size());
        return new Counts(now, tasks, desired, services, updates, nodes, objects, pending, withoutIngress);
    }

    /** One pair of gauges per service (the only label with unbounded values, as the issue allows). */
    private void updateServiceMeters(Counts c) {
        for (String name : List.copyOf(serviceMeters.keySet())) {
            if (!c.services().containsKey(name)) {
                serviceMeters.remove(name).forEach(registry::remove);
            }
        }
        for (String name : c.services().keySet()) {
            serviceMeters.computeIfAbsent(name, n -> java.util.stream.Stream.concat(java.util.stream.Stream.of(
                    Gauge.builder("jswarm_service_replicas_desired", this, m -> m.serviceCount(n, 0))
                            .description("tasks a service wants running (replicas, or one per eligible node for a global service)")
                            .tags("service", n).strongReference(true).register(registry),
                    Gauge.builder("jswarm_service_replicas_running", this, m -> m.serviceCount(n, 1))
                            .description("a service's tasks that are running (and healthy, with a health check) and meant to, as service ls counts")
                            .tags("service", n).strongReference(true).register(registry)),
                    java.util.Arrays.stream(io.jswarm.api.UpdateStatus.State.values())
                            .filter(st -> st != io.jswarm.api.UpdateStatus.State.UNRECOGNIZED)
                            .map(st -> (Meter) Gauge.builder("jswarm_service_update_state", this,
                                            m -> m.counts().updates().get(n) == st ? 1 : 0)
                                    .description("1 for the state of a service's last update (unknown: never updated)")
                                    .tags("service", n, "state", st.name().toLowerCase(Locale.ROOT)).strongReference(true)
                                    .register(registry))).toList());
        }
    }

    private double serviceCount(String service, int which) {
        long[] v = counts().services().get(service);
        return v == null ? Double.NaN : v[which];
    }

    /**
     * Called before a scrape: the per-service gauges exist only once counted, so a scrape
     * must see the services of now, not of the scrape before.
     */
    public synchronized void refresh() {
        // Counted anew: every gauge of the scrape that follows reads this one count.
        counts = count(System.currentTimeMillis());
        updateServiceMeters(counts);
    }

    @Override
    public synchronized void close() {
        meters.forEach(registry::remove);
        serviceMeters.values().forEach(l -> l.forEach(registry::remove));
        meters.clear();
        serviceMeters.clear();
    }
}
