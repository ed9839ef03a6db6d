package io.jswarm.manager.store;

import io.jswarm.api.Cluster;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreObject;
import io.jswarm.api.store.StoreObject.ObjectCase;
import io.jswarm.api.store.StoreResult;
import io.jswarm.api.store.StoreSnapshot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The cluster state held in memory by every manager, with the indexes the controllers
 * need. Only {@link #apply} changes it, called by the Raft state machine in log order, so
 * every replica holds the same objects. Objects are immutable protobuf messages and can
 * be handed out freely.
 */
public final class MemoryStore {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<ObjectCase, Map<String, StoreObject>> byKind = new EnumMap<>(ObjectCase.class);
    private final Map<ObjectCase, Map<String, String>> idByName = new EnumMap<>(ObjectCase.class);
    private final Map<String, Set<String>> tasksByService = new HashMap<>();
    private final Map<String, Set<String>> tasksByNode = new HashMap<>();
    /** Addresses and VXLAN ids held, and by whom ("KIND/id"): see {@link Claims}. */
    private final Map<String, String> claims = new HashMap<>();
    /** Per service: {tasks meant to run, those of them up}, so that listings need not scan every task. */
    private final Map<String, long[]> replicaCounts = new HashMap<>();
    /** Tasks by current and by desired state (index = the state's number), and pending tasks by their error: for the metrics. */
    private final long[] byState = new long[16];
    private final long[] byDesired = new long[16];
    private final Map<String, Long> pendingErrors = new HashMap<>();
    /**
     * The ids of the nodes in the cluster, readable without the lock: every call over TLS
     * asks whether its caller is still a member, and must not wait behind a write.
     */
    private final Set<String> memberIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean hasCluster;
    private final List<StoreListener> listeners = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicLong restores = new java.util.concurrent.atomic.AtomicLong();
    private final Object appliedMonitor = new Object();
    private volatile long appliedIndex;
    /** Results of the latest batches that carried a request id, oldest first (see StoreBatch.request_id). */
    private final LinkedHashMap<com.google.protobuf.ByteString, StoreResult> recentRequests = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<com.google.protobuf.ByteString, StoreResult> eldest) {
            return size() > RECENT_REQUESTS;
        }
    };
    /** How many request ids are remembered: far more than can be retried within a write's deadline. */
    static final int RECENT_REQUESTS = 20_000;

    public MemoryStore() {
        for (ObjectCase k : ObjectCase.values()) {
            byKind.put(k, new LinkedHashMap<>());
            idByName.put(k, new HashMap<>());
        }
    }

    public void addListener(StoreListener l) {
        listeners.add(l);
    }

    public void removeListener(StoreListener l) {
        listeners.remove(l);
    }

    // ------------------------------------------------------------------ writes

    /**
     * Applies one log entry, all or nothing. Deterministic: the outcome depends only on
     * the current objects and the batch.
     */
    public StoreResult apply(StoreBatch batch, long index) {
        List<StoreAction> applied;
        StoreResult result;
        com.google.protobuf.ByteString requestId = batch.getRequestId();
        lock.writeLock().lock();
        try {
            StoreResult earlier = requestId.isEmpty() ? null : recentRequests.get(requestId);
            if (earlier != null) {
                // A retry of a batch already applied: the first outcome stands, nothing changes.
                setApplied(index);
                return earlier;
            }
            try {
                applied = stage(batch, index);
                for (StoreAction a : applied) {
                    commit(a);
                }
                result = StoreResult.newBuilder().setCode(StoreResult.Code.OK).setIndex(index).build();
            } catch (StoreException e) {
                applied = List.of();
                result = StoreResult.newBuilder().setCode(e.code()).setError(e.getMessage()).setIndex(index).build();
            }
            if (!requestId.isEmpty()) {
                recentRequests.put(requestId, result);
            }
        } finally {
            lock.writeLock().unlock();
        }
        setApplied(index);
        if (!applied.isEmpty()) {
            StoreEvent event = new StoreEvent(index, applied);
            for (StoreListener l : listeners) {
                l.onApplied(event);
            }
        }
        return result;
    }

    /** Checks every action against the state as the earlier actions of the batch leave it. */
    private List<StoreAction> stage(StoreBatch batch, long index) {
        Map<String, StoreObject> staged = new HashMap<>();       // kind/id -> object, null = removed
        Map<String, String> stagedNames = new HashMap<>();       // kind/name -> id, "" = freed
        Map<String, String> stagedClaims = new HashMap<>();      // claim -> kind/id, "" = freed
        List<StoreAction> out = new ArrayList<>(batch.getActionsCount());
        for (StoreAction a : batch.getActionsList()) {
            StoreObject o = a.getObject();
            if (o.getObjectCase() == ObjectCase.OBJECT_NOT_SET) {
                throw new StoreException(StoreResult.Code.INVALID, "store action without an object");
            }
            ObjectCase kind = o.getObjectCase();
            String id = StoreObjects.id(o);
            if (id.isEmpty()) {
                throw new StoreException(StoreResult.Code.INVALID, StoreObjects.kind(o) + " without an id");
            }
            String key = kind + "/" + id;
            StoreObject current = staged.containsKey(key) ? staged.get(key) : byKind.get(kind).get(id);
            String name = StoreObjects.uniqueName(o);
            switch (a.getKind()) {
                case CREATE -> {
                    if (current != null) {
                        throw new StoreException(StoreResult.Code.ALREADY_EXISTS, StoreObjects.kind(o) + " " + id + " already exists");
                    }
                    checkName(kind, name, id, stagedNames, o);
                    Meta m = StoreObjects.meta(o).toBuilder().setVersion(index).build();
                    StoreObject created = StoreObjects.withMeta(o, m);
                    checkClaims(key, null, created, stagedClaims);
                    checkReferences(created, staged);
                    staged.put(key, created);
                    out.add(a.toBuilder().setObject(created).build());
                }
                case UPDATE -> {
                    if (current == null) {
                        throw new StoreException(StoreResult.Code.NOT_FOUND, StoreObjects.kind(o) + " " + id + " not found");
                    }
                    long expected = StoreObjects.meta(o).getVersion();
                    long actual = StoreObjects.meta(current).getVersion();
                    if (expected != actual) {
                        throw new StoreException(StoreResult.Code.CONFLICT, "update out of sequence: " + StoreObjects.kind(o) + " "
                                + id + " changed since it was read (read version " + expected + ", now " + actual + ")");
                    }
                    String oldName = StoreObjects.uniqueName(current);
                    if (name != null && !name.equals(oldName)) {
                        checkName(kind, name, id, stagedNames, o);
                        stagedNames.put(kind + "/" + oldName, "");
                    }
                    Meta m = StoreObjects.meta(o).toBuilder().setVersion(index)
                            .setCreatedAtMs(StoreObjects.meta(current).getCreatedAtMs()).build();
                    StoreObject updated = StoreObjects.withMeta(o, m);
                    checkClaims(key, current, updated, stagedClaims);
                    checkReferences(updated, staged);
                    staged.put(key, updated);
                    out.add(a.toBuilder().setObject(updated).build());
                }
                case REMOVE -> {
                    if (current == null) {
                        throw new StoreException(StoreResult.Code.NOT_FOUND, StoreObjects.kind(o) + " " + id + " not found");
                    }
                    long expected = StoreObjects.meta(o).getVersion();
                    if (expected != 0 && expected != StoreObjects.meta(current).getVersion()) {
                        throw new StoreException(StoreResult.Code.CONFLICT, "remove out of sequence: " + StoreObjects.kind(o) + " "
                                + id + " changed since it was read");
                    }
                    String oldName = StoreObjects.uniqueName(current);
                    if (oldName != null) {
                        stagedNames.put(kind + "/" + oldName, "");
                    }
                    checkClaims(key, current, null, stagedClaims);
                    if (kind == ObjectCase.NETWORK) {
                        checkUnused(current.getNetwork(), staged);
                    } else if (kind == ObjectCase.SECRET || kind == ObjectCase.CONFIG) {
                        checkFileUnused(current, staged);
                    }
                    staged.put(key, null);
                    out.add(a.toBuilder().setObject(current).build());
                }
                case STATUS -> {
                    StoreObject merged = kind == ObjectCase.TASK && current != null ? withStatus(current.getTask(), o.getTask(), index) : null;
                    if (merged != null) {
                        staged.put(key, merged);
                        // Listeners see the merged task, still marked STATUS: a node's own report
                        // need not be sent back to it, nor concern the controllers as a change of plan.
                        out.add(StoreAction.newBuilder().setKind(StoreAction.Kind.STATUS).setObject(merged).build());
                    }
                }
                default -> throw new StoreException(StoreResult.Code.INVALID, "unknown store action " + a.getKind());
            }
        }
        return out;
    }

    /**
     * A node's report merged into the stored task, or null when it changes nothing or must
     * not apply: the task is on another node, or the report would move it backwards.
     */
    static StoreObject withStatus(io.jswarm.api.Task current, io.jswarm.api.Task report, long index) {
        io.jswarm.api.TaskStatus s = report.getStatus();
        if (!current.getNodeId().equals(report.getNodeId()) || s.getState().getNumber() < current.getStatus().getState().getNumber()
                || s.equals(current.getStatus())) {
            return null;
        }
        io.jswarm.api.Task.Builder b = current.toBuilder().setStatus(s);
        b.getMetaBuilder().setVersion(index);
        if (s.getState() == io.jswarm.api.TaskState.RUNNING && current.getStartedAtMs() == 0) {
            b.setStartedAtMs(s.getTimestampMs());  // the update monitor counts from here
        }
        return StoreObjects.of(b.build());
    }

    private void checkName(ObjectCase kind, String name, String id, Map<String, String> stagedNames, StoreObject o) {
        if (name == null) {
            return;
        }
        String nk = kind + "/" + name;
        String holder = stagedNames.containsKey(nk) ? stagedNames.get(nk) : idByName.get(kind).get(name);
        if (holder != null && !holder.isEmpty() && !holder.equals(id)) {
            throw new StoreException(StoreResult.Code.ALREADY_EXISTS, StoreObjects.kind(o) + " name \"" + name + "\" is already in use");
        }
        stagedNames.put(nk, id);
    }

    /** Frees what the old version held and takes what the new one holds, refusing a claim someone else has. */
    private void checkClaims(String owner, StoreObject old, StoreObject next, Map<String, String> stagedClaims) {
        if (old != null) {
            for (String c : Claims.of(old)) {
                stagedClaims.put(c, "");
            }
        }
        if (next == null) {
            return;
        }
        for (String c : Claims.of(next)) {
            String holder = stagedClaims.containsKey(c) ? stagedClaims.get(c) : claims.get(c);
            if (holder != null && !holder.isEmpty() && !holder.equals(owner)) {
                throw new StoreException(StoreResult.Code.ALREADY_EXISTS, describeClaim(c) + " is already taken by " + describeHolder(holder));
            }
            stagedClaims.put(c, owner);
        }
    }

    private static String describeClaim(String c) {
        String[] f = c.split("/");
        return switch (f[0]) {
            case "ip" -> "address " + f[2] + " on network " + f[1];
            case "port" -> "published port " + f[2] + "/" + f[1];
            default -> "VXLAN id " + f[1];
        };
    }

    /** "service web" for a service that holds a claim; "TASK/id" and the like otherwise. */
    private String describeHolder(String holder) {
        if (holder.startsWith("SERVICE/")) {
            StoreObject o = byKind.get(ObjectCase.SERVICE).get(holder.substring("SERVICE/".length()));
            if (o != null) {
                return "service " + o.getService().getSpec().getAnnotations().getName();
            }
        }
        return holder;
    }

    private StoreObject current(ObjectCase kind, String id, Map<String, StoreObject> staged) {
        String key = kind + "/" + id;
        return staged.containsKey(key) ? staged.get(key) : byKind.get(kind).get(id);
    }

    /** Every object of a kind as the batch so far leaves it. */
    private List<StoreObject> all(ObjectCase kind, Map<String, StoreObject> staged) {
        Map<String, StoreObject> out = new LinkedHashMap<>(byKind.get(kind));
        String prefix = kind + "/";
        for (Map.Entry<String, StoreObject> e : staged.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                String id = e.getKey().substring(prefix.length());
                if (e.getValue() == null) {
                    out.remove(id);
                } else {
                    out.put(id, e.getValue());
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    /** A service names only networks, secrets and configs that exist; networks' subnets never overlap. */
    private void checkReferences(StoreObject o, Map<String, StoreObject> staged) {
        if (o.hasService()) {
            for (var n : o.getService().getSpec().getTask().getNetworksList()) {
                if (current(ObjectCase.NETWORK, n.getTarget(), staged) == null) {
                    throw new StoreException(StoreResult.Code.NOT_FOUND, "network " + n.getTarget() + " not found");
                }
            }
            var c = o.getService().getSpec().getTask().getContainer();
            for (var r : c.getSecretsList()) {
                if (current(ObjectCase.SECRET, r.getSecretId(), staged) == null) {
                    throw new StoreException(StoreResult.Code.NOT_FOUND, "secret " + r.getSecretName() + " not found");
                }
            }
            for (var r : c.getConfigsList()) {
                if (current(ObjectCase.CONFIG, r.getConfigId(), staged) == null) {
                    throw new StoreException(StoreResult.Code.NOT_FOUND, "config " + r.getConfigName() + " not found");
                }
            }
        } else if (o.hasNetwork()) {
            try {
                checkSubnets(o.getNetwork(), staged);
            } catch (IllegalArgumentException e) {
                throw new StoreException(StoreResult.Code.INVALID, "network " + o.getNetwork().getMeta().getId() + ": " + e.getMessage());
            }
        }
    }

    private void checkSubnets(io.jswarm.api.Network net, Map<String, StoreObject> staged) {
        for (var ipam : net.getIpamList()) {
            var subnet = io.jswarm.manager.network.Subnet.parse(ipam.getSubnet());
            for (StoreObject other : all(ObjectCase.NETWORK, staged)) {
                if (other.getNetwork().getMeta().getId().equals(net.getMeta().getId())) {
                    continue;
                }
                for (var oi : other.getNetwork().getIpamList()) {
                    if (subnet.overlaps(io.jswarm.manager.network.Subnet.parse(oi.getSubnet()))) {
                        throw new StoreException(StoreResult.Code.ALREADY_EXISTS, "subnet " + subnet + " overlaps subnet "
                                + oi.getSubnet() + " of network " + other.getNetwork().getSpec().getAnnotations().getName());
                    }
                }
            }
        }
    }

    private void checkUnused(io.jswarm.api.Network net, Map<String, StoreObject> staged) {
        List<String> users = new ArrayList<>();
        for (StoreObject o : all(ObjectCase.SERVICE, staged)) {
            for (var n : o.getService().getSpec().getTask().getNetworksList()) {
                if (n.getTarget().equals(net.getMeta().getId())) {
                    users.add(o.getService().getSpec().getAnnotations().getName());
                }
            }
        }
        if (!users.isEmpty()) {
            throw new StoreException(StoreResult.Code.CONFLICT, "network " + net.getSpec().getAnnotations().getName()
                    + " is in use by service" + (users.size() > 1 ? "s " : " ") + String.join(", ", users));
        }
    }

    /** A secret or config is removed only when no service uses it. */
    private void checkFileUnused(StoreObject file, Map<String, StoreObject> staged) {
        String id = StoreObjects.id(file);
        List<String> users = new ArrayList<>();
        for (StoreObject o : all(ObjectCase.SERVICE, staged)) {
            if (StoreObjects.usesFile(o.getService(), id)) {
                users.add(o.getService().getSpec().getAnnotations().getName());
            }
        }
        if (!users.isEmpty()) {
            throw new StoreException(StoreResult.Code.CONFLICT, StoreObjects.kind(file) + " " + StoreObjects.uniqueName(file)
                    + " is in use by service" + (users.size() > 1 ? "s " : " ") + String.join(", ", users));
        }
    }

    private void commit(StoreAction a) {
        StoreObject o = a.getObject();
        ObjectCase kind = o.getObjectCase();
        String id = StoreObjects.id(o);
        StoreObject old = byKind.get(kind).get(id);
        boolean remove = a.getKind() == StoreAction.Kind.REMOVE;
        // A task that changes in place (its status, its desired state: nearly every write)
        // keeps its places in the by-service and by-node indexes.
        boolean samePlaces = !remove && old != null && kind == ObjectCase.TASK
                && old.getTask().getServiceId().equals(o.getTask().getServiceId()) && old.getTask().getNodeId().equals(o.getTask().getNodeId());
        if (old != null) {
            unindex(old, !samePlaces);
        }
        if (remove) {
            byKind.get(kind).remove(id);
            if (kind == ObjectCase.NODE) {
                memberIds.remove(id);
            }
        } else {
            if (a.getKind() != StoreAction.Kind.STATUS) {
                o = sharing(o);  // a node's report was merged into the stored task: it shares already
            }
            byKind.get(kind).put(id, o);
            index(o, !samePlaces);
        }
    }

    /**
     * A task holding, instead of its own copies, its service's task spec and endpoint when it
     * has the same ones, and the very strings of its service's and node's ids. A task is
     * parsed from its own log entry, so each held a private copy of all of these: about 400
     * bytes of a task's 1.8 KB at 100,000 tasks (a follower's heap histogram).
     */
    private StoreObject sharing(StoreObject o) {
        if (!o.hasTask()) {
            return o;
        }
        Task t = o.getTask();
        StoreObject so = byKind.get(ObjectCase.SERVICE).get(t.getServiceId());
        StoreObject no = t.getNodeId().isEmpty() ? null : byKind.get(ObjectCase.NODE).get(t.getNodeId());
        Task.Builder b = null;
        if (so != null) {
            Service s = so.getService();
            if (t.getServiceId() != s.getMeta().getId()) {  // identity: the same String object
                b = t.toBuilder().setServiceId(s.getMeta().getId());
            }
            if (t.getSpec() != s.getSpec().getTask() && t.getSpec().equals(s.getSpec().getTask())) {
                b = (b != null ? b : t.toBuilder()).setSpec(s.getSpec().getTask());
            }
            if (t.getEndpoint() != s.getEndpoint() && t.getEndpoint().equals(s.getEndpoint())) {
                b = (b != null ? b : t.toBuilder()).setEndpoint(s.getEndpoint());
            }
        }
        if (no != null && t.getNodeId() != no.getNode().getMeta().getId()) {
            b = (b != null ? b : t.toBuilder()).setNodeId(no.getNode().getMeta().getId());
        }
        return b == null ? o : StoreObject.newBuilder().setTask(b).build();
    }

    /** @param places also its places in the by-service and by-node indexes (a task) */
    private void index(StoreObject o, boolean places) {
        String owner = o.getObjectCase() + "/" + StoreObjects.id(o);
        for (String c : Claims.of(o)) {
            claims.put(c, owner);
        }
        String name = StoreObjects.uniqueName(o);
        if (name != null) {
            idByName.get(o.getObjectCase()).put(name, StoreObjects.id(o));
        }
        if (o.hasNode()) {
            memberIds.add(o.getNode().getMeta().getId());
        } else if (o.hasCluster()) {
            hasCluster = true;
        }
        if (o.hasTask()) {
            Task t = o.getTask();
            count(t, 1);
            if (!places) {
                return;
            }
            tasksByService.computeIfAbsent(t.getServiceId(), k -> new LinkedHashSet<>()).add(t.getMeta().getId());
            if (!t.getNodeId().isEmpty()) {
                tasksByNode.computeIfAbsent(t.getNodeId(), k -> new LinkedHashSet<>()).add(t.getMeta().getId());
            }
        }
    }

    private void unindex(StoreObject o, boolean places) {
        String owner = o.getObjectCase() + "/" + StoreObjects.id(o);
        for (String c : Claims.of(o)) {
            claims.remove(c, owner);
        }
        String name = StoreObjects.uniqueName(o);
        if (name != null) {
            idByName.get(o.getObjectCase()).remove(name, StoreObjects.id(o));
        }
        if (o.hasTask()) {
            Task t = o.getTask();
            count(t, -1);
            if (!places) {
                return;
            }
            removeFromIndex(tasksByService, t.getServiceId(), t.getMeta().getId());
            removeFromIndex(tasksByNode, t.getNodeId(), t.getMeta().getId());
        }
    }

    private void count(Task t, int delta) {
        byState[stateSlot(t.getStatus().getStateValue())] += delta;
        byDesired[stateSlot(t.getDesiredStateValue())] += delta;
        if (t.getStatus().getState() == io.jswarm.api.TaskState.PENDING && t.getDesiredState() == io.jswarm.api.TaskState.RUNNING
                && !t.getStatus().getErr().isEmpty()) {
            pendingErrors.merge(t.getStatus().getErr(), (long) delta, (a, b) -> a + b == 0 ? null : a + b);
        }
        if (t.getDesiredState() != io.jswarm.api.TaskState.RUNNING) {
            return;
        }
        long[] c = replicaCounts.computeIfAbsent(t.getServiceId(), k -> new long[2]);
        c[0] += delta;
        if (up(t)) {
            c[1] += delta;
        }
        if (c[0] == 0) {
            replicaCounts.remove(t.getServiceId());
        }
    }

    /** A state's place in the counts; the last one for a number this build does not know. */
    private static int stateSlot(int number) {
        return number >= 0 && number < 15 ? number : 15;
    }

    /** Running, and healthy where it has a health check: it serves. */
    public static boolean up(Task t) {
        String h = t.getStatus().getHealth();
        return t.getStatus().getState() == io.jswarm.api.TaskState.RUNNING && !h.equals("starting") && !h.equals("unhealthy");
    }

    /** A service's tasks meant to run and how many of them are {@link #up}, from the index (no scan). */
    public long[] replicaCounts(String serviceId) {
        lock.readLock().lock();
        try {
            long[] c = replicaCounts.get(serviceId);
            return c == null ? new long[2] : c.clone();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Counts of tasks kept as the store changes, so that metrics need not scan every task. */
    public record TaskCounts(long total, long[] byState, long[] byDesired, Map<String, Long> pendingErrors) {
        public long state(io.jswarm.api.TaskState s) {
            return byState[s.getNumber()];
        }

        public long desired(io.jswarm.api.TaskState s) {
            return byDesired[s.getNumber()];
        }
    }

    public TaskCounts taskCounts() {
        lock.readLock().lock();
        try {
            return new TaskCounts(byKind.get(ObjectCase.TASK).size(), byState.clone(), byDesired.clone(), Map.copyOf(pendingErrors));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether a node is in the cluster; without the lock (see {@link #memberIds}). False before the cluster exists. */
    public boolean isMember(String nodeId) {
        return memberIds.contains(nodeId);
    }

    /** Whether the cluster holds any secret or config. */
    public boolean hasFiles() {
        lock.readLock().lock();
        try {
            return !byKind.get(ObjectCase.SECRET).isEmpty() || !byKind.get(ObjectCase.CONFIG).isEmpty();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the cluster object exists yet; without the lock. */
    public boolean hasCluster() {
        return hasCluster;
    }

    private static void removeFromIndex(Map<String, Set<String>> index, String key, String id) {
        Set<String> ids = index.get(key);
        if (ids != null) {
            ids.remove(id);
            if (ids.isEmpty()) {
                index.remove(key);
            }
        }
    }

    private void setApplied(long index) {
        synchronized (appliedMonitor) {
            appliedIndex = index;
            appliedMonitor.notifyAll();
        }
    }

    /** Marks an index applied that carried no store change (Raft configuration entries). */
    public void markApplied(long index) {
        if (index > appliedIndex) {
            setApplied(index);
        }
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    /** Waits until this replica has applied the given log index: read-your-writes on followers. */
    public boolean awaitApplied(long index, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (appliedMonitor) {
            while (appliedIndex < index) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                appliedMonitor.wait(left);
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ snapshots

    public StoreSnapshot snapshot() {
        lock.readLock().lock();
        try {
            StoreSnapshot.Builder b = StoreSnapshot.newBuilder().setIndex(appliedIndex);
            for (Map<String, StoreObject> m : byKind.values()) {
                b.addAllObjects(m.values());
            }
            for (Map.Entry<com.google.protobuf.ByteString, StoreResult> e : recentRequests.entrySet()) {
                b.addRecentRequests(io.jswarm.api.store.AppliedRequest.newBuilder().setId(e.getKey()).setResult(e.getValue()));
            }
            return b.build();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * How many times the store was replaced by a snapshot (a follower far behind): listeners
     * are not told of what changed then, so readers that follow changes read it all again.
     */
    public long restores() {
        return restores.get();
    }

    public void restore(StoreSnapshot s) {
        lock.writeLock().lock();
        try {
            for (ObjectCase k : ObjectCase.values()) {
                byKind.get(k).clear();
                idByName.get(k).clear();
            }
            tasksByService.clear();
            tasksByNode.clear();
            claims.clear();
            replicaCounts.clear();
            java.util.Arrays.fill(byState, 0);
            java.util.Arrays.fill(byDesired, 0);
            pendingErrors.clear();
            memberIds.clear();
            hasCluster = false;
            recentRequests.clear();
            List<StoreObject> tasks = new ArrayList<>();
            for (StoreObject o : s.getObjectsList()) {
                if (o.hasTask()) {
                    tasks.add(o);  // after their services and nodes, to share what they repeat
                } else {
                    byKind.get(o.getObjectCase()).put(StoreObjects.id(o), o);
                    index(o, true);
                }
            }
            for (StoreObject o : tasks) {
                o = sharing(o);
                byKind.get(ObjectCase.TASK).put(StoreObjects.id(o), o);
                index(o, true);
            }
            for (io.jswarm.api.store.AppliedRequest r : s.getRecentRequestsList()) {
                recentRequests.put(r.getId(), r.getResult());
            }
        } finally {
            lock.writeLock().unlock();
        }
        setApplied(s.getIndex());
        restores.incrementAndGet();
    }

    // ------------------------------------------------------------------ reads

    private <T> List<T> values(ObjectCase kind, java.util.function.Function<StoreObject, T> f) {
        lock.readLock().lock();
        try {
            Collection<StoreObject> all = byKind.get(kind).values();
            List<T> out = new ArrayList<>(all.size());
            for (StoreObject o : all) {
                out.add(f.apply(o));
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    private StoreObject get(ObjectCase kind, String id) {
        lock.readLock().lock();
        try {
            return byKind.get(kind).get(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    public List<Node> nodes() {
        return values(ObjectCase.NODE, StoreObject::getNode);
    }

    public Node node(String id) {
        StoreObject o = get(ObjectCase.NODE, id);
        return o == null ? null : o.getNode();
    }

    public List<Service> services() {
        return values(ObjectCase.SERVICE, StoreObject::getService);
    }

    public Service service(String id) {
        StoreObject o = get(ObjectCase.SERVICE, id);
        return o == null ? null : o.getService();
    }

    public Service serviceByName(String name) {
        lock.readLock().lock();
        try {
            String id = idByName.get(ObjectCase.SERVICE).get(name);
            return id == null ? null : byKind.get(ObjectCase.SERVICE).get(id).getService();
        } finally {
            lock.readLock().unlock();
        }
    }

    public List<Task> tasks() {
        return values(ObjectCase.TASK, StoreObject::getTask);
    }

    public Task task(String id) {
        StoreObject o = get(ObjectCase.TASK, id);
        return o == null ? null : o.getTask();
    }

    public List<Task> tasksOfService(String serviceId) {
        return tasksIn(tasksByService, serviceId);
    }

    public List<Task> tasksOnNode(String nodeId) {
        return tasksIn(tasksByNode, nodeId);
    }

    private List<Task> tasksIn(Map<String, Set<String>> index, String key) {
        lock.readLock().lock();
        try {
            Set<String> ids = index.get(key);
            if (ids == null) {
                return List.of();
            }
            Map<String, StoreObject> tasks = byKind.get(ObjectCase.TASK);
            List<Task> out = new ArrayList<>(ids.size());
            for (String id : ids) {
                out.add(tasks.get(id).getTask());
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    public List<io.jswarm.api.Network> networks() {
        return values(ObjectCase.NETWORK, StoreObject::getNetwork);
    }

    public io.jswarm.api.Network network(String id) {
        StoreObject o = get(ObjectCase.NETWORK, id);
        return o == null ? null : o.getNetwork();
    }

    /** The routing mesh's network, or null before the leader has created it. */
    public io.jswarm.api.Network ingressNetwork() {
        for (io.jswarm.api.Network n : networks()) {
            if (n.getSpec().getIngress()) {
                return n;
            }
        }
        return null;
    }

    public io.jswarm.api.Network networkByName(String name) {
        lock.readLock().lock();
        try {
            String id = idByName.get(ObjectCase.NETWORK).get(name);
            return id == null ? null : byKind.get(ObjectCase.NETWORK).get(id).getNetwork();
        } finally {
            lock.readLock().unlock();
        }
    }

    public List<io.jswarm.api.Secret> secrets() {
        return values(ObjectCase.SECRET, StoreObject::getSecret);
    }

    public io.jswarm.api.Secret secret(String id) {
        StoreObject o = get(ObjectCase.SECRET, id);
        return o == null ? null : o.getSecret();
    }

    public List<io.jswarm.api.Config> configs() {
        return values(ObjectCase.CONFIG, StoreObject::getConfig);
    }

    public io.jswarm.api.Config config(String id) {
        StoreObject o = get(ObjectCase.CONFIG, id);
        return o == null ? null : o.getConfig();
    }

    /** The object of a kind whose names are unique, by name, or null. */
    public StoreObject byName(ObjectCase kind, String name) {
        lock.readLock().lock();
        try {
            String id = idByName.get(kind).get(name);
            return id == null ? null : byKind.get(kind).get(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Who holds a claim ("KIND/id"), or null: see {@link Claims}. */
    public String claimHolder(String claim) {
        lock.readLock().lock();
        try {
            return claims.get(claim);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The cluster object, or null before the first manager has bootstrapped it. */
    public Cluster cluster() {
        lock.readLock().lock();
        try {
            Collection<StoreObject> all = byKind.get(ObjectCase.CLUSTER).values();
            return all.isEmpty() ? null : all.iterator().next().getCluster();
        } finally {
            lock.readLock().unlock();
        }
    }
}
