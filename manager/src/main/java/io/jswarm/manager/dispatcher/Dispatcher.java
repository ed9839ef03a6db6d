package io.jswarm.manager.dispatcher;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.Cluster;
import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeState;
import io.jswarm.api.Task;
import io.jswarm.api.NetworkTableDelta;
import io.jswarm.api.TaskState;
import io.jswarm.api.dispatcher.*;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.Durations;
import io.jswarm.manager.control.GrpcErrors;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.BatchWriter;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreEvent;
import io.jswarm.manager.store.StoreException;
import io.jswarm.manager.store.StoreListener;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Agent sessions, on the leader only. An agent opens a session (the node becomes READY),
 * heartbeats, and receives its assignments: the full set when the session opens, then
 * the changes as they are committed. A node whose heartbeats stop for three periods is
 * reported by {@link #expiredNodes} and marked DOWN by the controllers; one that
 * heartbeats again is reported by {@link #revivedNodes} and marked READY.
 */
public final class Dispatcher extends DispatcherGrpc.DispatcherImplBase implements StoreListener {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    public static final long DEFAULT_HEARTBEAT_MS = 5_000;

    private final MemoryStore store;
    private final RaftNode raft;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    /** Agent sessions open on this manager (only the leader's are active). */
    public int sessionCount() {
        return sessions.size();
    }
    private final Heartbeats heartbeats = new Heartbeats();
    /** Whether the last judgement of the nodes was held (most were late at once): logged when it changes. */
    private boolean holding;
    private final ExecutorService sender = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "dispatcher-sender");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean active;
    private final List<java.util.function.Consumer<String>> sessionListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    static final class Session {
        final String id;
        final String nodeId;
        final StreamObserver<SessionMessage> out;
        boolean closed;
        /** Whether the node is to get its network tables whole with the next refresh (sender thread only). */
        boolean needsTables;
        /** The network tables this node was last sent (sender thread only). */
        final Map<String, NetworkTable> networks = new HashMap<>();
        /** The secrets and configs this node holds, as last sent (sender thread only). */
        final java.util.Set<String> files = new java.util.HashSet<>();
        /** Passed over by a refresh because it had not read what it was sent: refresh again once it has. */
        volatile boolean passedOver;

        Session(String id, String nodeId, StreamObserver<SessionMessage> out) {
            this.id = id;
            this.nodeId = nodeId;
            this.out = out;
        }

        /**
         * Messages for this session sent before its first (another thread's changes, tables, log
         * subscriptions between the session's registration and its first message): held until
         * the first has gone. The first tells the node its session and heartbeat period; a node
         * that took its session from an earlier message heartbeated every 100 ms instead of 5 s.
         */
        private List<SessionMessage> early = new ArrayList<>();

        synchronized void send(SessionMessage m) {
            if (early != null) {
                early.add(m);
            } else if (!closed) {
                try {
                    out.onNext(m);
                } catch (RuntimeException e) {
                    closed = true;
                }
            }
        }

        /** The session's first message, then whatever was held for it. */
        synchronized void sendFirst(SessionMessage first) {
            List<SessionMessage> held = early;
            early = null;
            send(first);
            held.forEach(this::send);
        }

        /** False while the node has not read what was sent (gRPC's outbound buffer is full). */
        boolean keepingUp() {
            return !(out instanceof ServerCallStreamObserver<SessionMessage> so) || so.isReady();
        }

        synchronized void close(Status s) {
            if (!closed) {
                closed = true;
                try {
                    out.onError(s.asRuntimeException());
                } catch (RuntimeException ignored) {
                    // already cancelled by the agent
                }
            }
        }
    }

    private final io.jswarm.manager.secrets.DataKey keys;

    /** Agents' status reports, written in batches by a thread of their own. */
    private final StatusBatcher statuses;
    /** Nodes made READY by their sessions, many to an entry (and, with the membership service, nodes joining). */
    private final io.jswarm.manager.store.CoalescingWriter nodeWriter;

    public Dispatcher(MemoryStore store, RaftNode raft, io.jswarm.manager.secrets.DataKey keys) {
        this.statuses = new StatusBatcher(raft);
        this.nodeWriter = new io.jswarm.manager.store.CoalescingWriter("node-writer", raft::propose);
        this.keys = keys;
        this.store = store;
        this.raft = raft;
        store.addListener(this);
        refreshTimer.scheduleWithFixedDelay(() -> heartbeats.pulse(System.currentTimeMillis()), Heartbeats.PULSE_MS, Heartbeats.PULSE_MS,
                java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Called when this manager becomes the leader. Every node gets a full period of grace. */
    public void activate() {
        heartbeats.activate(System.currentTimeMillis());
        active = true;
    }

    /** Called when leadership is lost: agents must find the new leader. */
    public void deactivate() {
        active = false;
        for (Session s : sessions.values()) {
            s.close(Status.UNAVAILABLE.withDescription("this manager is no longer the leader"));
        }
        sessions.clear();
    }

    public long heartbeatPeriodMs() {
        Cluster c = store.cluster();
        if (c != null && c.getSpec().getDispatcher().hasHeartbeatPeriod()) {
            return Durations.millis(c.getSpec().getDispatcher().getHeartbeatPeriod());
        }
        return DEFAULT_HEARTBEAT_MS;
    }

    /** Milliseconds this manager stood still and did not hold against nodes' heartbeats (for the metrics). */
    public long stalledMs() {
        return heartbeats.stalledMs();
    }

    /**
     * READY nodes that missed three heartbeat periods (not counting this manager's own
     * stalls); none while most nodes are late at once (see {@link Heartbeats#judge}).
     */
    public List<Node> expiredNodes(long now) {
        heartbeats.pulse(System.currentTimeMillis());  // a stall that has just ended counts before anyone is judged
        Map<String, Node> ready = new java.util.LinkedHashMap<>();
        for (Node n : store.nodes()) {
            if (n.getStatus().getState() == NodeState.NODE_READY) {
                ready.put(n.getMeta().getId(), n);
            }
        }
        long period = heartbeatPeriodMs();
        Heartbeats.Verdict v = heartbeats.judge(ready.keySet(), now, period);
        if (v.held() != holding) {
            holding = v.held();
            if (holding) {
                LOG.warn("{} of {} nodes have missed a heartbeat at once (or were just marked down): marking none down, as this"
                        + " manager is likelier to be the one falling behind (heartbeats read late); they are judged again when fewer"
                        + " are late", v.late(), v.judged());
            } else {
                LOG.info("fewer nodes are late ({} of {}): missed heartbeats mark nodes down again", v.late(), v.judged());
            }
        }
        List<Node> out = new ArrayList<>(v.expired().size());
        for (String id : v.expired()) {
            out.add(ready.get(id));
        }
        return out;
    }

    /**
     * Nodes recorded as not READY (marked DOWN, say, while they were cut off) that have a
     * session and have heartbeated within the last three periods: a node that heartbeats
     * is READY again, whatever it was.
     */
    public List<Node> revivedNodes(long now) {
        long limit = 3 * heartbeatPeriodMs();
        List<Node> out = new ArrayList<>();
        for (Node n : store.nodes()) {
            if (n.getStatus().getState() == NodeState.NODE_READY || !sessions.containsKey(n.getMeta().getId())) {
                continue;
            }
            if (heartbeats.recent(n.getMeta().getId(), now, limit)) {
                out.add(n);
            }
        }
        return out;
    }

    private List<ManagerPeer> managers() {
        List<ManagerPeer> out = new ArrayList<>();
        for (Node n : store.nodes()) {
            if (n.getRole() == NodeRole.MANAGER) {
                out.add(ManagerPeer.newBuilder().setNodeId(n.getMeta().getId()).setAddr(n.getManagerStatus().getAddr())
                        .setRaftAddr(n.getManagerStatus().getRaftAddr()).build());
            }
        }
        return out;
    }

    /** The leader's remote API address, for redirecting agents; empty while unknown. */
    public String leaderAddr() {
        String id = raft.currentLeaderId();
        Node n = id == null ? null : store.node(id);
        return n == null ? "" : n.getManagerStatus().getAddr();
    }

    @Override
    public void session(SessionRequest req, StreamObserver<SessionMessage> out) {
        try {
            io.jswarm.manager.ca.Callers.requireNode(req.getNodeId());
        } catch (RuntimeException e) {
            out.onError(e);
            return;
        }
        if (!active) {
            String leader = leaderAddr();
            if (leader.isEmpty()) {
                out.onError(Status.UNAVAILABLE.withDescription("no leader elected yet").asRuntimeException());
                return;
            }
            out.onNext(SessionMessage.newBuilder().setLeaderAddr(leader).addAllManagers(managers()).build());
            out.onCompleted();
            return;
        }
        if (store.node(req.getNodeId()) == null) {
            out.onError(notFound(req.getNodeId()).asRuntimeException());
            return;
        }
        // Counted as heard from before READY is committed, or the monitor could see a READY
        // node without a heartbeat and mark it down at once.
        heartbeats.heard(req.getNodeId(), System.currentTimeMillis());
        String sessionId = io.jswarm.manager.Ids.random(16);
        Session s = new Session(sessionId, req.getNodeId(), out);
        Session old = sessions.put(req.getNodeId(), s);
        if (old != null) {
            old.close(Status.CANCELLED.withDescription("replaced by a new session of the same node"));
        }
        if (out instanceof ServerCallStreamObserver<SessionMessage> so) {
            so.setOnCancelHandler(() -> sessions.remove(req.getNodeId(), s));
            // The node has read what was queued for it: what a refresh passed it over for comes now.
            so.setOnReadyHandler(() -> {
                if (s.passedOver) {
                    s.passedOver = false;
                    scheduleNetworkRefresh();
                }
            });
        }
        // READY is written with other nodes' by the node writer, while the session starts:
        // the node heartbeats meanwhile. A node whose READY cannot be written is sent away
        // to open its session again.
        nodeWriter.submit(() -> readyAction(req), e -> {
            if (e != null) {
                LOG.warn("node {}: its session could not make it READY: {}", req.getNodeId(), e.getMessage());
                sessions.remove(req.getNodeId(), s);
                s.close(GrpcErrors.toStatus(e).getStatus());
            }
        });
        // The full set goes out on the sender thread too, so it is ordered before increments.
        sender.execute(() -> {
            Assignments.Builder a = Assignments.newBuilder().setType(Assignments.Type.COMPLETE);
            for (Task t : store.tasksOnNode(req.getNodeId())) {
                if (t.getStatus().getState().getNumber() >= TaskState.ASSIGNED_VALUE) {
                    a.addUpdated(t);
                }
            }
            addFiles(s, a, true);
            SessionMessage.Builder first = SessionMessage.newBuilder().setSessionId(sessionId).setHeartbeatPeriodMs(heartbeatPeriodMs())
                    .addAllManagers(managers()).setAssignments(a);
            Node node = store.node(req.getNodeId());
            if (node != null) {
                first.setNode(node);
            }
            Autolock lock = autolockFor(req.getNodeId());
            if (lock != null) {
                first.setAutolock(lock);
            }
            s.sendFirst(first.build());
            // Its tables whole with the next refresh, which builds them once for every node
            // whose session opened meanwhile: built here for each, they held up the first
            // messages of the sessions behind (a 2,000-endpoint ingress table each), and nodes
            // not told to heartbeat in time were marked down.
            s.needsTables = true;
            scheduleNetworkRefresh();
            for (var l : sessionListeners) {
                l.accept(req.getNodeId());  // after the full set: what they send follows it
            }
        });
        LOG.info("session {} opened for node {} ({})", sessionId, req.getNodeId(), req.getDescription().getHostname());
    }

    private static Status notFound(String nodeId) {
        return Status.NOT_FOUND.withDescription("node " + nodeId + " is not part of this cluster (removed?); join again with a token");
    }

    /**
     * The write that makes a node READY with what its session says of it; null when the store
     * has it so already (after a leader change thousands of nodes open sessions again).
     */
    private StoreAction readyAction(SessionRequest req) {
        Node node = store.node(req.getNodeId());
        if (node == null) {
            throw notFound(req.getNodeId()).asRuntimeException();
        }
        if (node.getStatus().getState() == NodeState.NODE_READY && node.getDescription().equals(req.getDescription())
                && node.getStatus().getAddr().equals(req.getAddr()) && node.getStatus().getMessage().isEmpty()) {
            return null;
        }
        Node.Builder nb = node.toBuilder().setDescription(req.getDescription());
        nb.getStatusBuilder().setState(NodeState.NODE_READY).setMessage("").setAddr(req.getAddr())
                .setLastHeartbeatMs(System.currentTimeMillis());
        return update(StoreObjects.of(nb.build()));
    }

    private static StoreAction update(StoreObject o) {
        return StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE).setObject(o).build();
    }

    private Session checkSession(String nodeId, String sessionId) {
        io.jswarm.manager.ca.Callers.requireNode(nodeId);
        Session s = sessions.get(nodeId);
        if (!active || s == null || !s.id.equals(sessionId)) {
            throw Status.NOT_FOUND.withDescription("session " + sessionId + " is not known to this manager; open a new one")
                    .asRuntimeException();
        }
        return s;
    }

    @Override
    public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
        try {
            checkSession(req.getNodeId(), req.getSessionId());
        } catch (RuntimeException e) {
            out.onError(e);
            return;
        }
        heartbeats.heard(req.getNodeId(), System.currentTimeMillis());
        out.onNext(HeartbeatResponse.newBuilder().setPeriodMs(heartbeatPeriodMs()).build());
        out.onCompleted();
    }

    @Override
    public void updateTaskStatus(UpdateTaskStatusRequest req, StreamObserver<UpdateTaskStatusResponse> out) {
        try {
            checkSession(req.getNodeId(), req.getSessionId());
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        // Queued for the status writer; answered when written. This thread does not wait.
        StatusBatcher.Report r = new StatusBatcher.Report(req.getNodeId(), req.getUpdatesList(), io.grpc.Context.current(), status -> {
            try {
                if (status.isOk()) {
                    out.onNext(UpdateTaskStatusResponse.getDefaultInstance());
                    out.onCompleted();
                } else {
                    out.onError(status.asRuntimeException());
                }
            } catch (RuntimeException e) {
                // the call has ended meanwhile (cancelled): nothing to answer
            }
        });
        if (!statuses.submit(r)) {
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription("the leader has " + statuses.queued()
                    + " task status updates waiting to be written; retry in a second").asRuntimeException());
        }
    }

    /**
     * What a manager node must do with its keys: seal them under the unlock key (autolock
     * on), or not. Null for a worker (autolock is the managers'), or while unknown.
     */
    private Autolock autolockFor(String nodeId) {
        Node n = store.node(nodeId);
        Cluster c = store.cluster();
        if (n == null || c == null || (n.getRole() != NodeRole.MANAGER && n.getSpec().getDesiredRole() != NodeRole.MANAGER)) {
            return null;
        }
        if (!c.getSpec().getAutolock()) {
            return Autolock.newBuilder().setOn(false).build();
        }
        try {
            return Autolock.newBuilder().setOn(true).setUnlockKey(com.google.protobuf.ByteString.copyFrom(keys.unlockKey(c))).build();
        } catch (RuntimeException e) {
            LOG.warn("cannot give node {} the unlock key: {}", nodeId, e.getMessage());
            return null;
        }
    }

    /** Forwards committed changes to the sessions of the nodes they concern. */
    @Override
    public void onApplied(StoreEvent event) {
        if (!active || sessions.isEmpty()) {
            return;
        }
        Map<String, Assignments.Builder> perNode = new HashMap<>();
        Map<String, Node> nodeChanges = new HashMap<>();
        boolean networksChanged = false;
        boolean clusterChanged = false;
        for (StoreAction a : event.actions()) {
            StoreObject o = a.getObject();
            networksChanged |= concernsNetworks(o);
            clusterChanged |= o.hasCluster();
            if (o.hasTask()) {
                Task t = o.getTask();
                // A node's own status report comes back to it as nothing new (SwarmKit skips
                // these too): echoing them doubled the traffic of a status storm.
                if (a.getKind() == StoreAction.Kind.STATUS || t.getNodeId().isEmpty() || !sessions.containsKey(t.getNodeId())) {
                    continue;
                }
                Assignments.Builder b = perNode.computeIfAbsent(t.getNodeId(),
                        k -> Assignments.newBuilder().setType(Assignments.Type.INCREMENTAL));
                if (a.getKind() == StoreAction.Kind.REMOVE) {
                    b.addRemoved(t.getMeta().getId());
                } else if (t.getStatus().getState().getNumber() >= TaskState.ASSIGNED_VALUE) {
                    b.addUpdated(t);
                }
            } else if (o.hasNode() && a.getKind() != StoreAction.Kind.REMOVE && sessions.containsKey(o.getNode().getMeta().getId())) {
                nodeChanges.put(o.getNode().getMeta().getId(), o.getNode());
            }
        }
        if (networksChanged) {
            scheduleNetworkRefresh();
        }
        if (clusterChanged) {
            sender.execute(() -> {
                for (Session s : sessions.values()) {
                    Autolock lock = autolockFor(s.nodeId);
                    if (lock != null) {
                        s.send(SessionMessage.newBuilder().setSessionId(s.id).setAutolock(lock).build());
                    }
                }
            });
        }
        if (perNode.isEmpty() && nodeChanges.isEmpty()) {
            return;
        }
        sender.execute(() -> {
            for (Map.Entry<String, Assignments.Builder> e : perNode.entrySet()) {
                Session s = sessions.get(e.getKey());
                if (s != null) {
                    addFiles(s, e.getValue(), false);
                    s.send(SessionMessage.newBuilder().setSessionId(s.id).setAssignments(e.getValue()).build());
                }
            }
            for (Map.Entry<String, Node> e : nodeChanges.entrySet()) {
                Session s = sessions.get(e.getKey());
                if (s != null) {
                    s.send(SessionMessage.newBuilder().setSessionId(s.id).setNode(e.getValue())
                            .setHeartbeatPeriodMs(heartbeatPeriodMs()).addAllManagers(managers()).build());
                }
            }
        });
    }

    /**
     * Adds to a node's assignments the secrets and configs its tasks need now that it does
     * not hold yet (opened from their sealed form only here, for this node), and tells it
     * to drop the ones no task there needs any more. Sender thread only.
     */
    private void addFiles(Session s, Assignments.Builder a, boolean complete) {
        if (s.files.isEmpty() && !store.hasFiles()) {
            return;  // no secret or config in the cluster: nothing to look for on the node's tasks
        }
        java.util.Set<String> needed = new java.util.LinkedHashSet<>();
        java.util.Set<String> secretIds = new java.util.HashSet<>();
        for (Task t : store.tasksOnNode(s.nodeId)) {
            int state = t.getStatus().getState().getNumber();
            if (state < TaskState.ASSIGNED_VALUE || state > TaskState.RUNNING_VALUE
                    || t.getDesiredState().getNumber() > TaskState.RUNNING_VALUE) {
                continue;
            }
            for (var r : t.getSpec().getContainer().getSecretsList()) {
                needed.add(r.getSecretId());
                secretIds.add(r.getSecretId());
            }
            for (var r : t.getSpec().getContainer().getConfigsList()) {
                needed.add(r.getConfigId());
            }
        }
        if (complete) {
            s.files.clear();
        }
        for (String id : needed) {
            if (s.files.contains(id)) {
                continue;
            }
            TaskFileData.Builder f = TaskFileData.newBuilder().setId(id).setSecret(secretIds.contains(id));
            if (f.getSecret()) {
                io.jswarm.api.Secret secret = store.secret(id);
                if (secret == null) {
                    continue;  // removed meanwhile: its task fails to prepare and says so
                }
                f.setData(com.google.protobuf.ByteString.copyFrom(
                        io.jswarm.manager.control.SecretsAndConfigs.open(keys.of(store.cluster()), secret)));
            } else {
                io.jswarm.api.Config config = store.config(id);
                if (config == null) {
                    continue;
                }
                f.setData(config.getSpec().getData());
            }
            a.addFiles(f);
            s.files.add(id);
        }
        for (String id : List.copyOf(s.files)) {
            if (!needed.contains(id)) {
                a.addRemovedFiles(id);
                s.files.remove(id);
            }
        }
    }

    /** Changes that can alter a network table: tasks and services on networks, networks, nodes (state, address). */
    private static boolean concernsNetworks(StoreObject o) {
        return switch (o.getObjectCase()) {
            case TASK -> o.getTask().getNetworksCount() > 0;
            case SERVICE -> o.getService().getSpec().getTask().getNetworksCount() > 0 || o.getService().getEndpoint().getVirtualIpsCount() > 0
                    || o.getService().getEndpoint().getPortsCount() > 0;
            case NETWORK, NODE -> true;
            default -> false;
        };
    }

    private final java.util.concurrent.atomic.AtomicBoolean refreshQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.ScheduledExecutorService refreshTimer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dispatcher-networks");
        t.setDaemon(true);
        return t;
    });

    /**
     * Network tables are rebuilt at most every 20 ms, so that a burst of changes makes one
     * refresh, and less often the more nodes there are (2 ms per session, at most 2 s):
     * each refresh is a message to every node, and thousands of nodes joining, each a
     * change to the ingress table, kept the fleet too busy reading them to heartbeat in
     * time.
     */
    private void scheduleNetworkRefresh() {
        if (refreshQueued.compareAndSet(false, true)) {
            long delayMs = Math.min(2_000, Math.max(20, 2L * sessions.size()));
            refreshTimer.schedule(() -> sender.execute(() -> {
                refreshQueued.set(false);
                sendNetworks(List.copyOf(sessions.values()));
            }), delayMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Sends each session the tables of the networks its node has tasks on that changed
     * since they were last sent, and the networks it no longer needs. On the sender thread,
     * after the assignments queued before: a node learns of a task before its network. A
     * node that has not read what it was sent is passed over: it gets everything that
     * changed meanwhile as one message on the refresh its reading sets off (its call's
     * onReady), not on refreshes every pace until it reads, each a build of every table.
     */
    private void sendNetworks(List<Session> targets) {
        if (!active || targets.isEmpty()) {
            return;
        }
        List<Session> reading = new ArrayList<>(targets.size());
        for (Session s : targets) {
            if (s.keepingUp()) {
                reading.add(s);
            } else {
                s.passedOver = true;
                if (s.keepingUp()) {  // it read meanwhile, before its onReady could see the mark
                    s.passedOver = false;
                    reading.add(s);
                }
            }
        }
        targets = reading;
        Map<Session, java.util.Set<String>> needed = new HashMap<>();
        java.util.Set<String> all = new java.util.HashSet<>();
        io.jswarm.api.Network ingress = store.ingressNetwork();
        for (Session s : targets) {
            java.util.Set<String> n = NetworkTableBuilder.networksOfNode(store.tasksOnNode(s.nodeId));
            if (ingress != null) {
                n.add(ingress.getMeta().getId());  // every node serves the routing mesh
            }
            needed.put(s, n);
            all.addAll(n);
        }
        Map<String, NetworkTable> tables = Map.of();
        if (!all.isEmpty()) {
            Map<String, io.jswarm.api.Network> networks = new HashMap<>();
            for (io.jswarm.api.Network n : store.networks()) {
                networks.put(n.getMeta().getId(), n);
            }
            Map<String, Node> nodes = new HashMap<>();
            for (Node n : store.nodes()) {
                nodes.put(n.getMeta().getId(), n);
            }
            tables = NetworkTableBuilder.build(all, networks, store.services(), store.tasks(), nodes);
        }
        tables = canonical(tables, store.networks());
        // Most nodes hold the same earlier table (the one instance all were sent): one diff each.
        Map<NetworkTable, NetworkTable> diffs = new java.util.IdentityHashMap<>();
        for (Session s : targets) {
            boolean complete = s.needsTables;
            NetworkTables.Builder m = NetworkTables.newBuilder().setComplete(complete);
            if (complete) {
                s.networks.clear();
                s.needsTables = false;
            }
            for (String id : needed.get(s)) {
                NetworkTable t = tables.get(id);
                NetworkTable held = s.networks.get(id);
                if (t == null || t == held) {
                    continue;
                }
                NetworkTable change = held == null ? t : diffs.computeIfAbsent(held, h -> NetworkTableDelta.diff(h, t));
                if (held == null || !NetworkTableDelta.changesNoEntry(change) || !held.getNetwork().equals(t.getNetwork())) {
                    m.addTables(change);
                }
                s.networks.put(id, t);
            }
            for (String id : List.copyOf(s.networks.keySet())) {
                if (!needed.get(s).contains(id) || !tables.containsKey(id)) {
                    m.addRemoved(id);
                    s.networks.remove(id);
                }
            }
            if (complete || m.getTablesCount() > 0 || m.getRemovedCount() > 0) {
                s.send(SessionMessage.newBuilder().setSessionId(s.id).setNetworks(m).build());
            }
        }
    }

    /** The tables last built, by network id (sender thread only). */
    private final Map<String, NetworkTable> lastBuilt = new HashMap<>();

    /**
     * The tables with each unchanged one replaced by the instance built before, so that a
     * session holding it is seen to be current by identity: comparing every node's copy of
     * the ingress table (which names every node) cost the square of the fleet per refresh.
     */
    private Map<String, NetworkTable> canonical(Map<String, NetworkTable> built, java.util.Collection<io.jswarm.api.Network> existing) {
        Map<String, NetworkTable> out = new HashMap<>();
        built.forEach((id, t) -> {
            NetworkTable before = lastBuilt.get(id);
            if (t.equals(before)) {
                out.put(id, before);
            } else {
                out.put(id, t);
                lastBuilt.put(id, t);
            }
        });
        java.util.Set<String> ids = new java.util.HashSet<>();
        existing.forEach(n -> ids.add(n.getMeta().getId()));
        lastBuilt.keySet().retainAll(ids);
        return out;
    }

    /** The writer of nodes' READY, which the membership service shares for nodes joining. */
    public io.jswarm.manager.store.CoalescingWriter nodeWriter() {
        return nodeWriter;
    }

    /** Told (on the sender thread) of each node whose session opens, once its full assignment set is queued. */
    public void onSessionOpened(java.util.function.Consumer<String> listener) {
        sessionListeners.add(listener);
    }

    /**
     * Asks a node to publish task logs (service logs). Sent on the sender thread, so it
     * follows the assignments already queued for the node. False when the node has no session.
     */
    public boolean sendLogSubscription(String nodeId, io.jswarm.api.logs.LogSubscription sub) {
        Session s = sessions.get(nodeId);
        if (!active || s == null) {
            return false;
        }
        sender.execute(() -> s.send(SessionMessage.newBuilder().setSessionId(s.id).addLogSubscriptions(sub).build()));
        return true;
    }

    public void close() {
        deactivate();
        statuses.close();
        nodeWriter.close();
        refreshTimer.shutdownNow();
        sender.shutdownNow();
    }
}
