package io.jswarm.agent.net;

import io.jswarm.api.NetworkAttachment;
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

    public TaskNetworks(String nodeId, String nodeAddr, List<java.net.InetSocketAddress> upstreams, String gatewaySubnet) {
        this.gateway = new io.jswarm.overlay.GatewayBridge(gatewaySubnet);
        this.nodeTag = nodeId.substring(0, Math.min(8, nodeId.length()));
        this.nodeAddr = nodeAddr;
        this.dns = new DnsServer(names, upstreams);
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
        String shortId = id.substring(0, Math.min(12, id.length()));
        List<String> ids = networkIds(t);
        List<OverlayNetwork> nets = new ArrayList<>();
        String gwAddr = null;
        synchronized (this) {
            // Shared state only under the lock (networks built once, addresses handed out once);
            // the container's own plumbing below runs in parallel with other containers'.
            awaitTables(ids);
            for (String n : ids) {
                nets.add(network(n));
            }
            if (ids.stream().anyMatch(n -> !tables.get(n).getNetwork().getSpec().getInternal())) {
                // Egress, unless every network of the task is internal: one more interface, the default route.
                if (egress.isEmpty()) {
                    gateway.ensure();
                }
                gwAddr = freeGatewayAddress();
                egress.put(id, gwAddr);
            }
            attached.put(id, new Attached(id, containerNs, ids));
        }
        List<String> inContainer = new ArrayList<>();
        for (int i = 0; i < nets.size(); i++) {
            inContainer.addAll(nets.get(i).containerCommands("eth" + i, "v" + shortId, t.getNetworks(i).getAddresses(0)));
        }
        if (gwAddr != null) {
            inContainer.addAll(gateway.containerCommands("eth" + nets.size(), "g" + shortId, gwAddr, ProcessHandle.current().pid()));
        }
        io.jswarm.overlay.Commands.batch(List.of("ip", "-n", containerNs), inContainer);
        for (OverlayNetwork n : nets) {
            n.enslave("v" + shortId);
        }
        if (gwAddr != null) {
            gateway.enslave("g" + shortId);
        }
        serve(id);
    }

    /** A container that outlived an agent restart: its interfaces are in place; DNS and rules come back with the tables. */
    public synchronized void readopt(Task t, String containerNs) {
        String id = t.getMeta().getId();
        try {
            String addr = io.jswarm.overlay.GatewayBridge.addressIn(containerNs, "eth" + t.getNetworksCount());
            if (addr != null) {
                egress.put(id, addr);  // keeps its address: a new container must not get it
            }
        } catch (IOException e) {
            LOG.warn("reading the gateway address of task {}: {}", id, e.getMessage());
        }
        attached.put(id, new Attached(id, containerNs, networkIds(t)));
        if (tables.keySet().containsAll(networkIds(t))) {
            worker.execute(() -> serve(id));
        }
    }

    /** The container is gone (its namespace with it): stop serving it; a network left with no container goes too. */
    public void detach(String taskId) {
        dns.unlisten(taskId);
        synchronized (this) {
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
            for (NetworkTable t : m.getTablesList()) {
                String id = t.getNetwork().getMeta().getId();
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
        // Re-adopted containers waiting for their tables.
        List<String> waiting = new ArrayList<>();
        synchronized (this) {
            for (Attached a : attached.values()) {
                if (!a.dnsUp && !a.dnsStarting && tables.keySet().containsAll(a.networks)) {
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
}
