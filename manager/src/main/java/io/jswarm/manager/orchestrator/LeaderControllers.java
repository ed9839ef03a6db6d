package io.jswarm.manager.orchestrator;

import io.jswarm.api.Cluster;
import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.dispatcher.Dispatcher;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader-only controllers, run one pass at a time on one thread: node monitor, role
 * changes, replicated and global orchestrators with the restart supervisor, task reaper,
 * then allocation and scheduling. The first pass after a leader change reads the whole
 * store and catches up on anything missed; later passes run when the store changes or a
 * restart delay expires, and look only at what the change feed says changed
 * ({@link ReconcileQueue}), with a full pass now and then as a safety net.
 */
public final class LeaderControllers implements StoreListener {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderControllers.class);
    private static final long IDLE_PASS_MS = 1_000;

    private final MemoryStore store;
    private final RaftNode raft;
    private final Dispatcher dispatcher;
    private final Object wake = new Object();
    private boolean dirty = true;
    private final ReconcileQueue queue = new ReconcileQueue();
    private volatile boolean running;
    private Thread thread;
    /** Where the allocator goes on in each network's subnet (a hint: the store's claims are what count). */
    private final Map<String, Long> addressCursor = new HashMap<>();

    private final io.jswarm.manager.secrets.DataKey keys;

    public LeaderControllers(MemoryStore store, RaftNode raft, Dispatcher dispatcher, io.jswarm.manager.secrets.DataKey keys) {
        this.keys = keys;
        this.store = store;
        this.raft = raft;
        this.dispatcher = dispatcher;
    }

    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        dirty = true;
        queue.all();
        store.addListener(this);
        thread = new Thread(this::loop, "leader-controllers");
        thread.setDaemon(true);
        thread.start();
    }

    public synchronized void stop() {
        running = false;
        store.removeListener(this);
        if (thread != null) {
            thread.interrupt();
            thread = null;
        }
    }

    @Override
    public void onApplied(StoreEvent event) {
        for (StoreAction a : event.actions()) {
            queue.observe(a);
        }
        synchronized (wake) {
            dirty = true;
            wake.notifyAll();
        }
    }

    private void loop() {
        long wakeAt = 0;
        while (running) {
            try {
                synchronized (wake) {
                    long now = System.currentTimeMillis();
                    long until = Math.min(wakeAt, now + IDLE_PASS_MS);
                    while (!dirty && running && now < until) {
                        wake.wait(Math.max(1, until - now));
                        now = System.currentTimeMillis();
                    }
                    dirty = false;
                }
                if (!running) {
                    return;
                }
                long t0 = System.nanoTime();
                wakeAt = pass();
                PASSES.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                return;
            } catch (StoreException e) {
                // Someone else changed an object we read: the next pass sees the new state.
                LOG.debug("controller pass conflicted: {}", e.getMessage());
                wakeAt = 0;
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warn("controller pass failed: {}", e.toString());
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Nodes last reported to have no address on the ingress network (this thread only). */
    private long withoutIngress;

    /**
     * Says so, when it changes, that nodes have no address on the ingress network: the
     * routing mesh does not reach them (its subnet, a /24 by default as Docker's, holds 253
     * nodes: the 2,000-node benchmark leaves 1,747 without).
     */
    private void warnIfIngressFull(long without, io.jswarm.api.Network ingress) {
        if (without == withoutIngress) {
            return;
        }
        withoutIngress = without;
        if (without > 0) {
            LOG.warn("{} node(s) have no address on the ingress network {} ({} is full): the routing mesh does not reach "
                    + "them; its subnet is sized when the cluster is made (swarmd --default-addr-pool-mask-length)", without, ingress.getSpec().getAnnotations().getName(),
                    ingress.getIpamCount() > 0 ? ingress.getIpam(0).getSubnet() : "its subnet");
        }
    }

    /** Passes that ran to their end, and their duration (swarmd --metrics-addr). */
    private static final io.micrometer.core.instrument.Timer PASSES = io.micrometer.core.instrument.Timer
            .builder("jswarm_controller_pass").description("the leader's reconciliation passes that ran to their end")
            .register(io.micrometer.core.instrument.Metrics.globalRegistry);

    /** One reconciliation pass; returns when the next one is due at the latest. */
    long pass() {
        long now = System.currentTimeMillis();
        Map<String, Node> nodes = new HashMap<>();
        for (Node n : store.nodes()) {
            nodes.put(n.getMeta().getId(), n);
        }
        List<StoreAction> nodeActions = new ArrayList<>();
        List<String> said = new ArrayList<>();
        for (Node n : dispatcher.expiredNodes(now)) {
            Node.Builder b = n.toBuilder();
            b.getStatusBuilder().setState(NodeState.NODE_DOWN).setMessage("heartbeat failure");
            said.add("node " + n.getMeta().getId() + " (" + n.getDescription().getHostname() + ") is down: heartbeat failure");
            io.micrometer.core.instrument.Metrics.counter("jswarm_dispatcher_heartbeat_failures").increment();
            nodeActions.add(update(StoreObjects.of(b.build())));
        }
        for (Node n : dispatcher.revivedNodes(now)) {
            Node.Builder b = n.toBuilder();
            b.getStatusBuilder().setState(NodeState.NODE_READY).setMessage("").setLastHeartbeatMs(now);
            said.add("node " + n.getMeta().getId() + " (" + n.getDescription().getHostname() + ") is ready again: it heartbeats");
            nodeActions.add(update(StoreObjects.of(b.build())));
        }
        demotions(nodes, nodeActions);
        Cluster rotating = store.cluster();
        if (nodeActions.isEmpty() && rotating != null && rotating.hasCaRotation()) {
            nodeActions.addAll(io.jswarm.manager.ca.CaRotations.finishIfDone(rotating, nodes.values(), keys.of(rotating)));
            if (!nodeActions.isEmpty()) {
                said.add("root CA rotation finished: every node holds a certificate from the new root, which replaces the old");
            }
        }
        if (!nodeActions.isEmpty()) {
            written(nodeActions.size());
            BatchWriter.write(raft, nodeActions);
            said.forEach(LOG::info);  // once committed: a leader cut off from the others decides nothing
            return 0;  // read again before deciding anything else on stale nodes
        }

        ReconcileQueue.Work work = queue.take(now);
        try {
            reconcile(work, nodes, now);
        } catch (RuntimeException e) {
            queue.retry(work);
            throw e;
        }
        return queue.nextWake();
    }

    /** Orchestrators, reaper, allocator and scheduler, over everything or over the services the work names. */
    private void reconcile(ReconcileQueue.Work work, Map<String, Node> nodes, long now) {
        Cluster cluster = store.cluster();
        long retention = cluster != null && cluster.getSpec().getOrchestration().getTaskHistoryRetentionLimit() > 0
                ? cluster.getSpec().getOrchestration().getTaskHistoryRetentionLimit() : TaskReaper.DEFAULT_RETENTION;
        Changes changes = new Changes();
        Map<String, Service> services = new HashMap<>();
        for (Service s : store.services()) {
            services.put(s.getMeta().getId(), s);
        }
        if (work.full()) {
            for (Service s : services.values()) {
                reconcileService(s, store.tasksOfService(s.getMeta().getId()), nodes, retention, now, changes);
            }
            // Tasks of removed services: shut them down, then let the reaper delete them.
            Map<String, List<Task>> orphans = new HashMap<>();
            for (Task t : store.tasks()) {
                if (!services.containsKey(t.getServiceId())) {
                    orphans.computeIfAbsent(t.getServiceId(), k -> new ArrayList<>()).add(t);
                }
            }
            for (List<Task> tasks : orphans.values()) {
                removeOrphans(tasks, nodes, now, changes);
            }
        } else {
            for (String id : work.services()) {
                Service s = services.get(id);
                if (s == null) {
                    removeOrphans(store.tasksOfService(id), nodes, now, changes);
                } else if (!work.progressOnly().contains(id) || Updater.active(s)) {
                    // Only then its tasks: a status storm names a 100,000-task service in
                    // every pass, and reading them all each time took a fifth of the leader.
                    reconcileService(s, store.tasksOfService(id), nodes, retention, now, changes);
                }
            }
        }
        write(changes);

        Map<String, io.jswarm.api.Network> networks = new HashMap<>();
        for (io.jswarm.api.Network n : store.networks()) {
            networks.put(n.getMeta().getId(), n);
        }
        var addresses = new io.jswarm.manager.network.NetworkAllocator.Addresses(c -> store.claimHolder(c) != null, addressCursor);
        io.jswarm.api.Network ingress = store.ingressNetwork();
        if (ingress != null) {
            List<StoreAction> na = new ArrayList<>();
            var given = io.jswarm.manager.network.NetworkAllocator.withIngressAddresses(nodes.values(), ingress, addresses);
            for (Node n : given.given()) {
                na.add(update(StoreObjects.of(n)));
            }
            if (!na.isEmpty()) {
                written(na.size());
                BatchWriter.write(raft, na);
            }
            warnIfIngressFull(given.leftWithout(), ingress);
        }
        if (!work.schedule()) {
            return;  // nothing new to place, and nothing freed room for a task that waits
        }
        List<Task> scheduled = SchedulingPass.run(store.tasks(), nodes, services, networks, addresses, now);
        if (!scheduled.isEmpty()) {
            List<StoreAction> sa = new ArrayList<>(scheduled.size());
            for (Task t : scheduled) {
                sa.add(update(StoreObjects.of(t)));
            }
            written(sa.size());
            io.micrometer.core.instrument.Metrics.counter("jswarm_scheduler_placements").increment(scheduled.size());
            BatchWriter.write(raft, sa);
        }
    }

    /** One service's orchestrator (replicated or global), its update if one runs, and the reaper of its old tasks. */
    private void reconcileService(Service s, List<Task> tasks, Map<String, Node> nodes, long retention, long now, Changes changes) {
        Changes one = new Changes();
        Changes orchestrated = s.getSpec().hasGlobal()
                ? GlobalOrchestrator.reconcile(s, tasks, nodes, now)
                : ReplicatedOrchestrator.reconcile(s, tasks, nodes, now);
        one.addAll(orchestrated);
        if (Updater.active(s)) {
            java.util.Set<String> touched = new java.util.HashSet<>();
            for (Task t : orchestrated.creates) {
                touched.add(Tasks.slotKey(t));
            }
            for (Task t : orchestrated.updates) {
                touched.add(Tasks.slotKey(t));
            }
            one.addAll(Updater.plan(s, tasks, nodes, touched, now));
        }
        one.removes.addAll(TaskReaper.reap(tasks, nodes, retention));
        queue.wakeAt(s.getMeta().getId(), one.wakeAtMs);
        changes.addAll(one);
    }

    /** Tasks whose service is gone: told to stop, and deleted once nothing of them runs. */
    private static void removeOrphans(List<Task> tasks, Map<String, Node> nodes, long now, Changes changes) {
        for (Task t : tasks) {
            if (TaskReaper.gone(t, nodes)) {
                changes.removes.add(t);
            } else if (t.getDesiredState() != TaskState.REMOVE) {
                changes.updates.add(Tasks.withDesired(t, TaskState.REMOVE, now));
            }
        }
    }

    private void write(Changes changes) {
        List<StoreAction> actions = new ArrayList<>();
        for (Service s : changes.services) {
            actions.add(update(StoreObjects.of(s)));  // with the version read: a concurrent user edit wins
        }
        for (Task t : changes.updates) {
            actions.add(update(StoreObjects.of(t)));
        }
        for (Task t : changes.creates) {
            actions.add(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(t)).build());
        }
        java.util.Set<String> removed = new java.util.HashSet<>();
        for (Task t : changes.removes) {
            if (removed.add(t.getMeta().getId())) {
                // Its id and the version read are all a removal needs (the store publishes the
                // task it held): not the whole task, for every manager to replicate, store and
                // parse, 100,000 times over when a large service goes.
                Task named = Task.newBuilder().setMeta(t.getMeta()).build();
                actions.add(StoreAction.newBuilder().setKind(StoreAction.Kind.REMOVE).setObject(StoreObjects.of(named)).build());
            }
        }
        if (!actions.isEmpty()) {
            written(actions.size());
            BatchWriter.write(raft, actions);
        }
    }

    /** Managers asked to become workers leave the Raft group first, then lose the role. */
    private void demotions(Map<String, Node> nodes, List<StoreAction> out) {
        for (Node n : nodes.values()) {
            if (n.getRole() != NodeRole.MANAGER || n.getSpec().getDesiredRole() != NodeRole.WORKER) {
                continue;
            }
            boolean member = raft.peers().stream().anyMatch(p -> p.getId().toString().equals(n.getMeta().getId()));
            if (member) {
                try {
                    raft.removePeer(n.getMeta().getId());
                    LOG.info("node {} removed from the Raft group", n.getMeta().getId());
                } catch (java.io.IOException e) {
                    LOG.warn("cannot remove {} from the Raft group: {}", n.getMeta().getId(), e.getMessage());
                    continue;
                }
                if (n.getMeta().getId().equals(raft.nodeId())) {
                    return;  // this manager steps down; the next leader records the role
                }
            }
            out.add(update(StoreObjects.of(n.toBuilder().setRole(NodeRole.WORKER).clearManagerStatus().build())));
        }
    }

    private static void written(int actions) {
        io.micrometer.core.instrument.Metrics.counter("jswarm_controller_writes").increment(actions);
    }

    private static StoreAction update(StoreObject o) {
        return StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE).setObject(o).build();
    }
}
