package io.jswarm.overlay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The routing mesh's rules, in nftables (kube-proxy's NodePort and Docker's ingress are
 * the models; there is no IPVS in these kernels). Two hops, both DNAT in the kernel:
 * <ul>
 * <li>in the node's namespace, a port published through the mesh goes to the node's
 * ingress sandbox ({@code fib daddr type local}: every address of the node, 127.0.0.1
 * too); a port served on the node itself (host mode, or kept client addresses) goes
 * straight to one of the node's own tasks on the gateway bridge;</li>
 * <li>in the sandbox, which sits on the gateway bridge and on the ingress network, the
 * port goes to one of the service's serving tasks on any node ({@code numgen random}),
 * its source replaced by the sandbox's ingress address so the reply comes back the
 * same way.</li>
 * </ul>
 * Each table is replaced whole in one transaction, so a restarted agent rebuilds it
 * without duplicates and a reader never sees half of it.
 */
public final class IngressRules {
    static final String TABLE = "jswarm_ingress";

    /** A published port and where its connections go: addresses, each with the port. */
    public record Port(String protocol, int published, List<String> backends, int targetPort) {
        String match() {
            return protocol + " dport " + published;
        }
    }

    private IngressRules() {}

    /** "dnat to A:P", or to one of several picked at random per connection. */
    static String dnat(List<String> backends, int port) {
        if (backends.size() == 1) {
            return "dnat to " + backends.get(0) + ":" + port;
        }
        StringBuilder b = new StringBuilder("dnat to numgen random mod ").append(backends.size()).append(" map { ");
        for (int i = 0; i < backends.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(i).append(" : ").append(backends.get(i));
        }
        return b.append(" }:").append(port).toString();
    }

    static String replace(String body) {
        return "table ip " + TABLE + "\ndelete table ip " + TABLE + "\ntable ip " + TABLE + " {\n" + body + "}\n";
    }

    /**
     * The node's table. A port with no backend gets no rule: nothing listens, the client
     * is refused at once. Connections from 127.0.0.1 and from the gateway bridge's own
     * containers leave with the bridge's address (a reply to 127.0.0.1 could not come
     * back, and isolated bridge ports could not answer each other directly).
     */
    static String renderNode(List<Port> ports, String bridge, String bridgeSubnet) {
        StringBuilder rules = new StringBuilder();
        for (Port p : ports) {
            if (!p.backends().isEmpty()) {
                rules.append("    fib daddr type local ").append(p.match()).append(' ').append(dnat(p.backends(), p.targetPort())).append('\n');
            }
        }
        return replace("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + rules + "  }\n"
                + "  chain output {\n    type nat hook output priority -100; policy accept;\n" + rules + "  }\n"
                + "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
                + "    oifname \"" + bridge + "\" ct status dnat ip saddr { 127.0.0.0/8, " + bridgeSubnet + " } masquerade\n  }\n");
    }

    /**
     * The sandbox's table: requests arrive from the node on {@code fromNode} and leave
     * for the tasks on {@code toIngress}, with the sandbox's address. A port whose
     * service has no serving task is refused (TCP reset, ICMP for UDP) rather than left
     * to time out.
     */
    static String renderSandbox(List<Port> ports, String fromNode, String toIngress) {
        StringBuilder nat = new StringBuilder();
        StringBuilder refuse = new StringBuilder();
        for (Port p : ports) {
            String match = "iifname \"" + fromNode + "\" " + p.match();
            if (p.backends().isEmpty()) {
                refuse.append("    ").append(match).append(p.protocol().equals("tcp") ? " reject with tcp reset\n" : " reject\n");
            } else {
                nat.append("    ").append(match).append(' ').append(dnat(p.backends(), p.targetPort())).append('\n');
            }
        }
        return replace("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + nat + "  }\n"
                + "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
                + "    oifname \"" + toIngress + "\" ct status dnat masquerade\n  }\n"
                + "  chain input {\n    type filter hook input priority 0; policy accept;\n" + refuse + "  }\n");
    }

    /** Replaces the node namespace's table (that of the calling process). */
    public static void applyNode(List<Port> ports, String bridge, String bridgeSubnet) throws IOException {
        // A connection from 127.0.0.1 may be routed out of the bridge only with this (Docker sets it on docker0 too).
        Files.writeString(Path.of("/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet"), "1\n");
        Commands.checkWithInput(List.of("nft", "-f", "-"), renderNode(ports, bridge, bridgeSubnet), 20);
    }

    /** Replaces the sandbox's table, and has it forward. */
    public static void applySandbox(String sandboxNs, List<Port> ports, String fromNode, String toIngress) throws IOException {
        String ns = "--net=" + NetworkNamespace.path(sandboxNs);
        Commands.check(List.of("nsenter", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"), 10);
        Commands.checkWithInput(List.of("nsenter", ns, "nft", "-f", "-"), renderSandbox(ports, fromNode, toIngress), 20);
    }

    /** Removes the node namespace's table (nothing published any more); absent is fine. */
    public static void removeNode() throws IOException {
        Commands.run(List.of("nft", "delete", "table", "ip", TABLE), 10);
    }

    /** Whether this namespace can have the rules: nft is there and the kernel takes a nat table. */
    public static String probe() {
        try {
            Commands.Result r = Commands.run(List.of("nft", "-c", "-f", "-"), replace("  chain p {\n    type nat hook prerouting priority dstnat;\n  }\n"), 10);
            return r.exit() == 0 ? null : "nft refuses a nat table: " + r.output().strip();
        } catch (IOException e) {
            return "nft cannot be run: " + e.getMessage();
        }
    }
}
