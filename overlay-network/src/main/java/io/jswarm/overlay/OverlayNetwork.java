package io.jswarm.overlay;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One overlay network's plumbing on one node: a network namespace holding a bridge (with
 * the gateway address) and a VXLAN device. The VXLAN device is created in the node's own
 * namespace and then moved in, so its UDP socket (port 4789) stays on the node's address.
 * Learning is off: where each remote address lives is programmed as static FDB and
 * neighbour entries from the peer table the managers send, and the device answers ARP
 * for those addresses itself (proxy), so nothing floods between hosts. Containers join
 * with a veth pair, MTU 1450 (the 50 bytes VXLAN adds, on a 1500-byte underlay).
 */
public final class OverlayNetwork {
    public static final int MTU = 1450;
    public static final int VXLAN_PORT = 4789;
    static final String BRIDGE = "br0";

    /** What a node needs to know of a network to build it. */
    public record Config(String id, long vni, String subnet, String gateway) {}

    /** A task address on another node. */
    public record Peer(String addr, String nodeAddr) {}

    private final String namespace;
    private final Config config;
    private final String vxlan;
    private final Map<String, String> programmed = new HashMap<>();  // peer address -> node address
    private boolean peersRead;

    private OverlayNetwork(String namespace, Config config) {
        this.namespace = namespace;
        this.config = config;
        this.vxlan = "jsvx" + config.vni();
    }

    /** The namespace's name: per node (several simulated hosts share one /var/run/netns) and per VXLAN id. */
    public static String namespaceName(String nodeTag, long vni) {
        return "jsov-" + nodeTag + "-" + vni;
    }

    public String namespace() {
        return namespace;
    }

    /** Builds the network on this node, or takes over what an earlier agent built (a restart). */
    public static OverlayNetwork open(String nodeTag, Config c) throws IOException {
        String ns = namespaceName(nodeTag, c.vni());
        OverlayNetwork n = new OverlayNetwork(ns, c);
        if (Files.exists(NetworkNamespace.path(ns))
                && Commands.run(List.of("ip", "-n", ns, "link", "show", n.vxlan), 10).exit() == 0) {
            return n;
        }
        NetworkNamespace.delete(ns);  // half-built by an agent that died: start over
        Commands.run(List.of("ip", "link", "del", n.vxlan), 10);
        try {
            NetworkNamespace.create(ns);
            String prefix = c.subnet().substring(c.subnet().indexOf('/'));
            Commands.batch(List.of("ip", "-n", ns), List.of(
                    "link add " + BRIDGE + " type bridge",
                    "addr add " + c.gateway() + prefix + " dev " + BRIDGE,
                    "link set " + BRIDGE + " up"));
            Commands.check(List.of("ip", "link", "add", n.vxlan, "type", "vxlan", "id", String.valueOf(c.vni()),
                    "dstport", String.valueOf(VXLAN_PORT), "nolearning", "proxy"), 10);
            Commands.check(List.of("ip", "link", "set", n.vxlan, "netns", ns), 10);
            Commands.check(List.of("ip", "-n", ns, "link", "set", n.vxlan, "master", BRIDGE, "mtu", String.valueOf(MTU), "up"), 10);
        } catch (IOException e) {
            Commands.run(List.of("ip", "link", "del", n.vxlan), 10);
            NetworkNamespace.delete(ns);
            throw new IOException("cannot build overlay network " + c.id() + " (VXLAN " + c.vni() + "): " + e.getMessage());
        }
        n.peersRead = true;
        return n;
    }

    /**
     * What joins a container, run in the container's namespace (one {@code ip -batch}
     * with its other interfaces): a veth pair whose end {@code ifname} stays there with
     * the task's address and a MAC derived from it (so that peers need only the address),
     * and whose other end {@code hostEnd} goes into this network's namespace, where
     * {@link #enslave} puts it on the bridge.
     */
    public List<String> containerCommands(String ifname, String hostEnd, String cidr) {
        String addr = cidr.substring(0, cidr.indexOf('/'));
        return List.of(
                "link add " + ifname + " address " + mac(addr) + " mtu " + MTU + " type veth peer name " + hostEnd + " netns " + namespace,
                "addr add " + cidr + " dev " + ifname,
                "link set " + ifname + " up");
    }

    public void enslave(String hostEnd) throws IOException {
        Commands.check(List.of("ip", "-n", namespace, "link", "set", hostEnd, "master", BRIDGE, "up"), 10);
    }

    /**
     * Makes the static entries match the remote addresses given: new ones added, moved
     * ones replaced, gone ones deleted. Local containers need no entry: the bridge learns them.
     */
    public synchronized void setPeers(Collection<Peer> peers) throws IOException {
        if (!peersRead) {
            readProgrammed();
        }
        Map<String, String> want = new HashMap<>();
        for (Peer p : peers) {
            want.put(p.addr(), p.nodeAddr());
        }
        List<String> neigh = new ArrayList<>();
        List<String> fdb = new ArrayList<>();
        for (Map.Entry<String, String> e : programmed.entrySet()) {
            if (!want.containsKey(e.getKey())) {
                neigh.add("neigh del " + e.getKey() + " dev " + vxlan);
                fdb.add("fdb del " + mac(e.getKey()) + " dev " + vxlan + " dst " + e.getValue() + " self");
            }
        }
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!e.getValue().equals(programmed.get(e.getKey()))) {
                String mac = mac(e.getKey());
                neigh.add("neigh replace " + e.getKey() + " lladdr " + mac + " dev " + vxlan + " nud permanent");
                fdb.add("fdb replace " + mac + " dev " + vxlan + " dst " + e.getValue() + " self permanent");
            }
        }
        if (neigh.isEmpty() && fdb.isEmpty()) {
            return;
        }
        // -force: one stale entry (deleted by hand, say) must not stop the rest.
        Commands.batch(List.of("bridge", "-force", "-n", namespace), fdb);
        Commands.batch(List.of("ip", "-force", "-n", namespace), neigh);
        programmed.clear();
        programmed.putAll(want);
    }

    /** After an agent restart: what the earlier agent programmed, so that only differences are applied. */
    private void readProgrammed() throws IOException {
        String out = Commands.check(List.of("bridge", "-n", namespace, "fdb", "show", "dev", vxlan), 10);
        Map<String, String> byMac = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("dst")) {
                byMac.put(f[0], f[2]);
            }
        }
        String neigh = Commands.check(List.of("ip", "-n", namespace, "neigh", "show", "dev", vxlan, "nud", "permanent"), 10);
        for (String line : neigh.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("lladdr") && byMac.containsKey(f[2])) {
                programmed.put(f[0], byMac.get(f[2]));
            }
        }
        peersRead = true;
    }

    /** Removes everything of the network on this node; containers still attached lose the interface. */
    public void remove() throws IOException {
        NetworkNamespace.delete(namespace);  // takes the bridge, the VXLAN device and the veth ends with it
    }

    /** The namespaces of this node's networks, found by name (after a restart, to remove those no longer needed). */
    public static List<String> existing(String nodeTag) throws IOException {
        List<String> out = new ArrayList<>();
        String prefix = "jsov-" + nodeTag + "-";
        if (!Files.isDirectory(NetworkNamespace.path("x").getParent())) {
            return out;
        }
        try (var s = Files.list(NetworkNamespace.path("x").getParent())) {
            for (var p : s.toList()) {
                if (p.getFileName().toString().startsWith(prefix)) {
                    out.add(p.getFileName().toString());
                }
            }
        }
        return out;
    }

    /** 02:42 and the IPv4 address, as Docker does: a peer's MAC follows from its address. */
    public static String mac(String addr) {
        String[] p = addr.split("\\.");
        return String.format("02:42:%02x:%02x:%02x:%02x", Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                Integer.parseInt(p[2]), Integer.parseInt(p[3]));
    }
}
