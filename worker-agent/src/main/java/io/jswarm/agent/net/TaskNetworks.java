package io.jswarm.agent.net;

import io.jswarm.api.NetworkAttachment;
import io.jswarm.api.NetworkTableDelta;
import io.jswarm.api.Task;
import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import io.jswarm.api.dispatcher.NetworkTables;
import io.jswarm.dns.DnsServer;
import io.jswarm.dns.NameTable;
import io.jswarm.overlay.NetworkNamespace;
import io.jswarm.overlay.Netns;
import io.jswarm.overlay.OverlayNetwork;
import io.jswarm.overlay.VipRules;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The overlay networks of this node's tasks: it builds a network's plumbing when the
 * first task on it arrives and removes it when the last one leaves, joins each container
 * to its networks, keeps the VXLAN entries, every container's VIP rules and the DNS
 * names in step with the tables the managers send, and answers DNS in each container.
 */
public final class TaskNetworks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TaskNetworks.class);
    /** How long a task waits for its network's table, which follows its assignment within milliseconds. */
    static final long TABLE_WAIT_MS = 15_000;

    private final String nodeTag;
    private final String nodeAddr;
    private final NameTable names = new NameTable();
    private final DnsServer dns;
    private final Map<String, NetworkTable> tables = new HashMap<>();
    private final Map<String, OverlayNetwork> open = new HashMap<>();
    private final Map<String, Attached> attached = new LinkedHashMap<>();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "agent-networks");
        t.setDaemon(true);
        return t;
    });
    private boolean completeSeen;
    /** Counts the table updates applied: VIP rules made from older tables never replace newer ones. */
    private long tablesVersion;
    private final io.jswarm.overlay.GatewayBridge gateway;
    /** Containers with egress and their address on the gateway bridge. */
    private final Map<String, String> egress = new HashMap<>();

    /** A container on overlay networks. */
    private static final class Attached {
        final String taskId;
        final String netns;
        final List<String> networks;
        boolean dnsUp;
        boolean dnsStarting;  // one caller opens its sockets (attach and a table update may both try)
        String rules;  // the VIP rules last applied, to skip identical ones
        long rulesVersion;  // the tables' version they were made from

        Attached(String taskId, String netns, List<String> networks) {
            this.taskId = taskId;
            this.netns = netns;
            this.networks = networks;
        }
    }

    /** Whether this node serves published ports (swarmd --routing-mesh). */
    private final boolean meshOn;
    private final String nodeId;
    /** This node's tasks with ports served on the node itself (host mode, kept client addresses). */
    private final Map<String, MeshPorts.Local> locals = new HashMap<>();
    /** The routing-mesh sandbox while ports are published through the mesh: its address on the gateway bridge. */
    private String sandboxGw;
    private final java.util.concurrent.atomic.AtomicBoolean meshQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private String meshApplied;  // the rules last applied, to skip identical ones

    public TaskNetworks(String nodeId, String nodeAddr, List<java.net.InetSocketAddress> upstreams, String gatewaySubnet, boolean meshOn) {
        this.gateway = new io.jswarm.overlay.GatewayBridge(gatewaySubnet);
        this.nodeId = nodeId;
        this.nodeTag = nodeId.substring(0, Math.min(8, nodeId.length()));
        this.nodeAddr = nodeAddr;
        this.meshOn = meshOn;
        this.dns = new DnsServer(names, upstreams);
        if (meshOn) {
            // An earlier agent's sandbox is rebuilt from the tables, not adopted: its address may differ.
            try {
                NetworkNamespace.delete(sandboxNs());
            } catch (IOException e) {
                LOG.warn("removing the earlier routing-mesh sandbox: {}", e.getMessage());
            }
        }
    }

    private String sandboxNs() {
        return "jsing-" + nodeTag;
    }

    /** Whether a task has any part here: overlay networks, or ports served on this node (which need the gateway bridge). */
    public static boolean takesPart(Task t) {
        return t.getNetworksCount() > 0 || !io.jswarm.api.PublishedPorts.local(t.getEndpoint()).isEmpty();
    }

    static List<String> networkIds(Task t) {
        List<String> out = new ArrayList<>();
        for (NetworkAttachment a : t.getNetworksList()) {
            out.add(a.getNetworkId());
        }
        return out;
    }

    /**
     * Joins a new container to each of its task's networks (interfaces eth0, eth1, ... in
     * the order of the task's attachments), then serves it DNS and programs its VIP rules.
     */
    public void attach(Task t, String containerNs) throws IOException {
        String id = t.getMeta().getId();
        List<String> ids = new ArrayList<>();
        List<String> addrs = new ArrayList<>();
        List<io.jswarm.api.PortConfig> localPorts = meshOn ? io.jswarm.api.PublishedPorts.local(t.getEndpoint()) : List.of();
        synchronized (this) {
            awaitTables(networkIds(t));
            for (NetworkAttachment a : t.getNetworksList()) {
                if (meshOn || !tables.get(a.getNetworkId()).getNetwork().getSpec().getIngress()) {
                    ids.add(a.getNetworkId());
                    addrs.add(a.getAddresses(0));
                }
            }
        }
        String gwAddr = plumb(id, containerNs, ids, addrs, !localPorts.isEmpty());
        if (!localPorts.isEmpty()) {
            synchronized (this) {
                locals.put(id, new MeshPorts.Local(id, localPorts, gwAddr, false));
            }
        }
        if (!ids.isEmpty()) {
            serve(id);
        }
    }

    /**
     * Joins a namespace (a container's, or the routing-mesh sandbox) to overlay networks
     * (eth0, eth1, ... with the addresses given) and, unless all of them are internal or
     * {@code egress} asks for it anyway, to the gateway bridge (the next ethN, the default
     * route). Returns its address on the gateway bridge, or null.
     */
    private String plumb(String id, String ns, List<String> ids, List<String> addrs, boolean egressAnyway) throws IOException {
        String shortId = id.substring(0, Math.min(12, id.length()));
        List<OverlayNetwork> nets = new ArrayList<>();
        String gwAddr = null;
        synchronized (this) {
            // Shared state only under the lock (networks built once, addresses handed out once);
            // the namespace's own plumbing below runs in parallel with other containers'.
            for (String n : ids) {
                nets.add(network(n));
            }
            if (egressAnyway || ids.stream().anyMatch(n -> !tables.get(n).getNetwork().getSpec().getInternal())) {
                // Egress, unless every network of the task is internal: one more interface, the default route.
                if (egress.isEmpty()) {
                    gateway.ensure();
                }
                gwAddr = freeGatewayAddress();
                egress.put(id, gwAddr);
            }
            attached.put(id, new Attached(id, ns, ids));
        }
        List<String> inContainer = new ArrayList<>();
        for (int i = 0; i < nets.size(); i++) {
            inContainer.addAll(nets.get(i).containerCommands("eth" + i, "v" + shortId, addrs.get(i)));
        }
        if (gwAddr != null) {
            inContainer.addAll(gateway.containerCommands("eth" + nets.size(), "g" + shortId, gwAddr, ProcessHandle.current().pid()));
        }
        io.jswarm.overlay.Commands.batch(List.of("ip", "-n", ns), inContainer);
        for (OverlayNetwork n : nets) {
            n.enslave("v" + shortId);
        }
        if (gwAddr != null) {
            gateway.enslave("g" + shortId);
        }
        return gwAddr;
    }

    /** A container that outlived an agent restart: its interfaces are in place; DNS and rules come back with the tables. */
    public synchronized void readopt(Task t, String containerNs, boolean serving) {
        String id = t.getMeta().getId();
        List<String> ids = networkIds(t);
        try {
            // The gateway interface follows the overlay ones; on a node without the mesh the ingress one was left out.
            String addr = null;
            for (int i = ids.size(); i >= Math.max(0, ids.size() - 1) && addr == null; i--) {
                String a = io.jswarm.overlay.GatewayBridge.addressIn(containerNs, "eth" + i);
                addr = a != null && gateway.holds(a) ? a : null;
            }
            if (addr != null) {
                egress.put(id, addr);  // keeps its address: a new container must not get it
                List<io.jswarm.api.PortConfig> localPorts = io.jswarm.api.PublishedPorts.local(t.getEndpoint());
                if (meshOn && !localPorts.isEmpty()) {
                    locals.put(id, new MeshPorts.Local(id, localPorts, addr, serving));
                }
            }
        } catch (IOException e) {
            LOG.warn("reading the gateway address of task {}: {}", id, e.getMessage());
        }
        if (!meshOn) {
            ids.removeIf(n -> tables.containsKey(n) && tables.get(n).getNetwork().getSpec().getIngress());
        }
        attached.put(id, new Attached(id, containerNs, ids));
        if (tables.keySet().containsAll(networkIds(t))) {
            worker.execute(() -> serve(id));
        }
    }

    /** The container is gone (its namespace with it): stop serving it; a network left with no container goes too. */
    public void detach(String taskId) {
        dns.unlisten(taskId);
        synchronized (this) {
            if (locals.remove(taskId) != null) {
                queueMesh();
            }
            Attached a = attached.remove(taskId);
            if (a != null) {
                for (String n : a.networks) {
                    removeIfUnused(n);
                }
            }
            if (egress.remove(taskId) != null && egress.isEmpty()) {
                removeGateway();
            }
        }
    }

    private void serve(String taskId) {
        Attached a;
        synchronized (this) {
            a = attached.get(taskId);
            if (a == null || a.dnsStarting) {
                return;
            }
            a.dnsStarting = true;
            if (!meshOn) {
                // Re-adopted before the tables came: only now is it known which network is the ingress one.
                a.networks.removeIf(n -> tables.containsKey(n) && tables.get(n).getNetwork().getSpec().getIngress());
            }
            for (String n : a.networks) {
                try {
                    network(n);  // re-adopted containers: the network was built by the earlier agent
                } catch (IOException e) {
                    LOG.warn("network {} for task {}: {}", n, taskId, e.getMessage());
                }
            }
        }
        try {
            dns.listen(taskId, a.networks, new DnsServer.InNamespace() {
                @Override
                public <T> T call(java.util.concurrent.Callable<T> body) throws IOException {
                    return Netns.call(NetworkNamespace.path(a.netns), body);
                }
            });
            Rules r;
            synchronized (this) {
                a.dnsUp = true;
                r = rulesFor(a);
            }
            applyRules(r);
        } catch (IOException e) {
            LOG.warn("DNS for task {}: {}", taskId, e.getMessage());
            synchronized (this) {
                a.dnsStarting = false;  // the next table update tries again
            }
        }
    }

    // ------------------------------------------------------------------ the routing mesh

    /** A local task with ports served on this node started, turned healthy or unhealthy: its rules follow. */
    public void serving(String taskId, boolean serving) {
        synchronized (this) {
            MeshPorts.Local l = locals.get(taskId);
            if (l == null || l.serving() == serving) {
                return;
            }
            locals.put(taskId, l.withServing(serving));
        }
        queueMesh();
    }

    /**
     * Before a task is stopped: no new connection goes to it. Its rules on this node are
     * changed at once; for the others, this waits (at most 2 s) until the managers' tables,
     * sent to every node together, say it no longer serves, and a little more for the other
     * nodes to apply them. Requests in flight finish; new ones go to the other tasks.
     */
    public void withdraw(String taskId) {
        serving(taskId, false);
        if (!sync(2_000)) {
            return;
        }
        long deadline = System.currentTimeMillis() + 2_000;
        synchronized (this) {
            while (servesInTables(taskId)) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    return;
                }
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        try {
            Thread.sleep(WITHDRAW_MARGIN_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long other nodes get to apply a table that withdrew a task (they apply it within tens of ms). */
    static final long WITHDRAW_MARGIN_MS = 150;

    private boolean servesInTables(String taskId) {
        for (NetworkTable t : tables.values()) {
            for (NetworkEndpoint e : t.getEndpointsList()) {
                if (e.getServing() && e.getTaskId().equals(taskId)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Waits until the work queued before (table updates, rules) is done. */
    private boolean sync(long timeoutMs) {
        try {
            worker.submit(() -> { }).get(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private void queueMesh() {
        if (meshOn && meshQueued.compareAndSet(false, true)) {
            worker.execute(() -> {
                meshQueued.set(false);
                refreshMesh();
            });
        }
    }

    /**
     * On the networks thread: the sandbox built or removed as ports come and go through the
     * mesh, and both tables of rules replaced when what they would hold changed.
     */
    private void refreshMesh() {
        if (!meshOn) {
            return;
        }
        NetworkTable ingress;
        List<MeshPorts.Local> local;
        synchronized (this) {
            ingress = tables.values().stream().filter(t -> t.getNetwork().getSpec().getIngress()).findFirst().orElse(null);
            local = List.copyOf(locals.values());
        }
        try {
            List<io.jswarm.overlay.IngressRules.Port> sandboxPorts = MeshPorts.sandbox(ingress);
            String own = MeshPorts.ownAddress(ingress, nodeId);
            if (sandboxPorts.isEmpty() || own == null) {
                removeSandbox();
                sandboxPorts = List.of();
            } else if (sandboxGw == null) {
                buildSandbox(ingress, own);
            }
            List<io.jswarm.overlay.IngressRules.Port> nodePorts = MeshPorts.node(ingress, sandboxGw, local);
            String key = sandboxPorts + "|" + nodePorts;
            if (key.equals(meshApplied)) {
                return;
            }
            if (!sandboxPorts.isEmpty()) {
                io.jswarm.overlay.IngressRules.applySandbox(sandboxNs(), sandboxPorts, "eth1", "eth0");
            }
            if (nodePorts.isEmpty()) {
                io.jswarm.overlay.IngressRules.removeNode();
            } else {
                io.jswarm.overlay.IngressRules.applyNode(nodePorts, io.jswarm.overlay.GatewayBridge.NAME, gateway.subnet());
            }
            meshApplied = key;
        } catch (IOException e) {
            meshApplied = null;
            LOG.warn("routing mesh rules: {}", e.getMessage());
        }
    }

    /** The sandbox: a namespace on the ingress network (eth0, the node's ingress address) and the gateway bridge (eth1). */
    private void buildSandbox(NetworkTable ingress, String own) throws IOException {
        String ns = sandboxNs();
        NetworkNamespace.delete(ns);
        NetworkNamespace.create(ns);
        String id = ingress.getNetwork().getMeta().getId();
        String prefix = ingress.getNetwork().getIpam(0).getSubnet().substring(ingress.getNetwork().getIpam(0).getSubnet().indexOf('/'));
        try {
            sandboxGw = plumb(SANDBOX, ns, List.of(id), List.of(own + prefix), true);
            io.jswarm.overlay.Commands.check(List.of("ip", "-n", ns, "link", "set", "lo", "up"), 10);
            LOG.info("routing mesh sandbox {} up: {} on ingress, {} on the gateway bridge", ns, own, sandboxGw);
        } catch (IOException e) {
            detach(SANDBOX);
            NetworkNamespace.delete(ns);
            sandboxGw = null;
            throw e;
        }
    }

    private void removeSandbox() throws IOException {
        synchronized (this) {
            if (!attached.containsKey(SANDBOX)) {
                return;
            }
        }
        io.jswarm.overlay.IngressRules.removeNode();
        detach(SANDBOX);
        NetworkNamespace.delete(sandboxNs());
        sandboxGw = null;
        meshApplied = null;
        LOG.info("routing mesh sandbox {} removed: no port is published through the mesh", sandboxNs());
    }

    /** The sandbox's key among the attached namespaces (never a task id: those are hex). */
    static final String SANDBOX = "ingress-sandbox";

    private String freeGatewayAddress() throws IOException {
        java.util.Collection<String> used = egress.values();
        for (int n = 1; n <= gateway.capacity(); n++) {
            String a = gateway.address(n);
            if (!used.contains(a)) {
                return a;
            }
        }
        throw new IOException("the gateway bridge's subnet " + gateway.subnet() + " has no free address");
    }

    private void removeGateway() {
        try {
            gateway.remove();
        } catch (IOException e) {
            LOG.warn("removing the gateway bridge: {}", e.getMessage());
        }
    }

    private void awaitTables(List<String> ids) throws IOException {
        long deadline = System.currentTimeMillis() + TABLE_WAIT_MS;
        while (!tables.keySet().containsAll(ids)) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                List<String> missing = new ArrayList<>(ids);
                missing.removeAll(tables.keySet());
                throw new IOException("the managers did not send network " + String.join(", ", missing) + " to this node");
            }
            try {
                wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the network tables");
            }
        }
    }

    private OverlayNetwork network(String id) throws IOException {
        OverlayNetwork n = open.get(id);
        if (n != null) {
            return n;
        }
        NetworkTable t = tables.get(id);
        if (t == null) {
            throw new IOException("network " + id + " is not known to this node");
        }
        var net = t.getNetwork();
        n = OverlayNetwork.open(nodeTag, new OverlayNetwork.Config(id, net.getVxlanId(), net.getIpam(0).getSubnet(),
                net.getIpam(0).getGateway()));
        open.put(id, n);
        n.setPeers(peers(t));
        return n;
    }

    private void removeIfUnused(String networkId) {
        for (Attached a : attached.values()) {
            if (a.networks.contains(networkId)) {
                return;
            }
        }
        OverlayNetwork n = open.remove(networkId);
        if (n != null) {
            try {
                n.remove();
            } catch (IOException e) {
                LOG.warn("removing network {}: {}", networkId, e.getMessage());
            }
        }
    }

    /** Where the other nodes' task addresses live; this node's own need no entry. */
    private List<OverlayNetwork.Peer> peers(NetworkTable t) {
        List<OverlayNetwork.Peer> out = new ArrayList<>();
        for (NetworkEndpoint e : t.getEndpointsList()) {
            if (!e.getNodeAddr().equals(nodeAddr) && !attached.containsKey(e.getTaskId())) {
                out.add(new OverlayNetwork.Peer(e.getAddr(), e.getNodeAddr()));
            }
        }
        return out;
    }

    /** The VIPs a container sees, each with the addresses of the service's serving tasks on that network. */
    private List<VipRules.Vip> vips(Attached a) {
        List<VipRules.Vip> out = new ArrayList<>();
        for (String n : a.networks) {
            NetworkTable t = tables.get(n);
            if (t == null) {
                continue;
            }
            Map<String, List<String>> serving = new HashMap<>();
            for (NetworkEndpoint e : t.getEndpointsList()) {
                if (e.getServing()) {
                    serving.computeIfAbsent(e.getServiceId(), k -> new ArrayList<>()).add(e.getAddr());
                }
            }
            for (NetworkService s : t.getServicesList()) {
                if (!s.getVip().isEmpty()) {
                    out.add(new VipRules.Vip(s.getVip(), serving.getOrDefault(s.getServiceId(), List.of())));
                }
            }
        }
        return out;
    }

    private final Map<Attached, Rules> pendingRules = new LinkedHashMap<>();
    private final ExecutorService rulesWorker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "agent-vip-rules");
        t.setDaemon(true);
        return t;
    });

    /**
     * Rules to apply after a table change. Coalesced: while tasks start, the tables change
     * with every task that comes up, and only each container's latest rules are worth an
     * iptables-restore.
     */
    private void queueRules(List<Rules> rules) {
        if (rules.isEmpty()) {
            return;
        }
        boolean idle;
        synchronized (pendingRules) {
            idle = pendingRules.isEmpty();
            for (Rules r : rules) {
                pendingRules.put(r.container(), r);
            }
        }
        if (idle) {
            rulesWorker.execute(this::drainRules);
        }
    }

    private void drainRules() {
        while (true) {
            Rules next;
            synchronized (pendingRules) {
                var it = pendingRules.values().iterator();
                if (!it.hasNext()) {
                    return;
                }
                next = it.next();
                it.remove();
            }
            applyRules(next);
        }
    }

    /** A container's VIP rules as of one version of the tables, to be applied outside the lock. */
    private record Rules(Attached container, List<VipRules.Vip> vips, long version) {}

    /** Under the lock: what the container's rules should be now. */
    private Rules rulesFor(Attached a) {
        return new Rules(a, vips(a), tablesVersion);
    }

    /**
     * Outside the lock (iptables-restore takes tens of milliseconds: containers must not
     * wait on each other's); per container, an older version never replaces a newer one.
     */
    private static void applyRules(Rules r) {
        Attached a = r.container();
        synchronized (a) {
            String key = r.vips().toString();
            if (r.version() < a.rulesVersion || key.equals(a.rules)) {
                return;
            }
            try {
                VipRules.apply(a.netns, r.vips());
                a.rules = key;
                a.rulesVersion = r.version();
            } catch (IOException e) {
                LOG.warn("VIP rules for task {}: {}", a.taskId, e.getMessage());
            }
        }
    }

    /** New tables from the managers: the work is done off the session's thread. */
    public void update(NetworkTables m) {
        worker.execute(() -> apply(m));
    }

    private void apply(NetworkTables m) {
        Set<String> changed = new HashSet<>();
        List<Rules> rules = new ArrayList<>();
        synchronized (this) {
            tablesVersion++;
            if (m.getComplete()) {
                Set<String> keep = new HashSet<>();
                m.getTablesList().forEach(t -> keep.add(t.getNetwork().getMeta().getId()));
                for (String id : List.copyOf(tables.keySet())) {
                    if (!keep.contains(id)) {
                        tables.remove(id);
                        names.remove(id);
                    }
                }
            }
            for (NetworkTable change : m.getTablesList()) {
                String id = change.getNetwork().getMeta().getId();
                NetworkTable held = tables.get(id);
                if (change.getPartial() && held == null) {
                    // The managers send changes only to a table they sent whole on this session.
                    LOG.warn("changes to network {} arrived before its table; taken as the whole table", id);
                }
                NetworkTable t = NetworkTableDelta.apply(held, change);
                tables.put(id, t);
                names.put(t);
                changed.add(id);
            }
            for (String id : m.getRemovedList()) {
                tables.remove(id);
                names.remove(id);
                removeIfUnused(id);
            }
            notifyAll();
            for (String id : changed) {
                OverlayNetwork n = open.get(id);
                if (n != null) {
                    try {
                        n.setPeers(peers(tables.get(id)));
                    } catch (IOException e) {
                        LOG.warn("VXLAN entries of network {}: {}", id, e.getMessage());
                    }
                }
            }
            for (Attached a : attached.values()) {
                if (a.dnsUp && a.networks.stream().anyMatch(changed::contains)) {
                    rules.add(rulesFor(a));
                }
            }
            if (m.getComplete() && !completeSeen) {
                completeSeen = true;
                removeLeftovers();
            }
        }
        queueRules(rules);
        if (changed.stream().anyMatch(id -> tables.get(id).getNetwork().getSpec().getIngress())
                || m.getComplete() || !m.getRemovedList().isEmpty()) {
            refreshMesh();
        }
        // Re-adopted containers waiting for their tables.
        List<String> waiting = new ArrayList<>();
        synchronized (this) {
            for (Attached a : attached.values()) {
                if (!a.dnsUp && !a.dnsStarting && !a.taskId.equals(SANDBOX) && tables.keySet().containsAll(a.networks)) {
                    waiting.add(a.taskId);
                }
            }
        }
        waiting.forEach(this::serve);
    }

    /** Networks an earlier agent built on this node that nothing here uses any more. */
    private void removeLeftovers() {
        try {
            Set<String> inUse = new HashSet<>();
            for (OverlayNetwork n : open.values()) {
                inUse.add(n.namespace());
            }
            for (Attached a : attached.values()) {
                for (String id : a.networks) {
                    NetworkTable t = tables.get(id);
                    if (t != null) {
                        inUse.add(OverlayNetwork.namespaceName(nodeTag, t.getNetwork().getVxlanId()));
                    }
                }
            }
            if (egress.isEmpty()) {
                removeGateway();  // left by an earlier agent, nothing here needs it
            }
            for (String ns : OverlayNetwork.existing(nodeTag)) {
                if (!inUse.contains(ns)) {
                    NetworkNamespace.delete(ns);
                    LOG.info("removed network namespace {}: no task here uses it", ns);
                }
            }
        } catch (IOException e) {
            LOG.warn("looking for unused network namespaces: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
        rulesWorker.shutdownNow();
        dns.close();
    }

    /**
     * The node leaves the cluster (its tasks were removed first): the routing mesh's rules
     * and sandbox, every overlay namespace of this node and the gateway bridge go too.
     */
    public void removeAll() {
        close();
        try {
            if (meshOn) {
                io.jswarm.overlay.IngressRules.removeNode();
                NetworkNamespace.delete(sandboxNs());
            }
            for (String ns : OverlayNetwork.existing(nodeTag)) {
                NetworkNamespace.delete(ns);
            }
        } catch (IOException e) {
            LOG.warn("removing this node's networks: {}", e.getMessage());
        }
        removeGateway();
    }
}
