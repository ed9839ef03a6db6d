package io.jswarm.overlay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Egress for containers on overlay networks that are not internal, as Docker's
 * docker_gwbridge: a bridge in the node's own namespace with a node-local subnet, one
 * more veth per container (its default route), and NAT to the node's address. The
 * container ports are isolated from each other on the bridge, so two containers on
 * different overlay networks cannot meet through it; they reach only the node and what
 * the node routes to.
 */
public final class GatewayBridge {
    public static final String NAME = "jsgwbr0";
    public static final String DEFAULT_SUBNET = "172.18.0.0/16";

    private final String subnet;   // e.g. 172.18.0.0/16
    private final String gateway;  // its first address
    private final int prefix;

    public GatewayBridge(String subnet) {
        this.subnet = subnet;
        this.prefix = Integer.parseInt(subnet.substring(subnet.indexOf('/') + 1));
        String[] p = subnet.substring(0, subnet.indexOf('/')).split("\\.");
        this.gateway = p[0] + "." + p[1] + "." + p[2] + "." + (Integer.parseInt(p[3]) + 1);
    }

    public String subnet() {
        return subnet;
    }

    /** The n-th container address (n from 1): the gateway is the subnet's first address. */
    public String address(int n) {
        long a = toLong(subnet.substring(0, subnet.indexOf('/'))) + 1 + n;
        return ((a >> 24) & 255) + "." + ((a >> 16) & 255) + "." + ((a >> 8) & 255) + "." + (a & 255);
    }

    /** Whether an address is in the bridge's subnet. */
    public boolean holds(String addr) {
        return (toLong(addr) >>> (32 - prefix)) == (toLong(subnet.substring(0, subnet.indexOf('/'))) >>> (32 - prefix));
    }

    private static long toLong(String a) {
        String[] p = a.split("\\.");
        return (Long.parseLong(p[0]) << 24) | (Long.parseLong(p[1]) << 16) | (Long.parseLong(p[2]) << 8) | Long.parseLong(p[3]);
    }

    /** How many container addresses the subnet holds. */
    public int capacity() {
        return (int) Math.min(Integer.MAX_VALUE, (1L << (32 - prefix)) - 3);
    }

    /** Builds the bridge, turns on forwarding in this namespace and adds the NAT rule; what exists already is kept. */
    public void ensure() throws IOException {
        if (Commands.run(List.of("ip", "link", "show", NAME), 10).exit() != 0) {
            Commands.batch(List.of("ip"), List.of(
                    "link add " + NAME + " type bridge",
                    "addr add " + gateway + "/" + prefix + " dev " + NAME,
                    "link set " + NAME + " up"));
        }
        Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1\n");
        List<String> nat = List.of("-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", NAME, "-j", "MASQUERADE");
        if (Commands.run(iptables("-C", nat), 10).exit() != 0) {
            Commands.check(iptables("-A", nat), 10);
        }
        for (List<String> rule : forwardRules()) {
            if (Commands.run(iptables("-C", rule), 10).exit() != 0) {
                Commands.check(iptables("-I", rule), 10);
            }
        }
    }

    /** A FORWARD policy of DROP (common where Docker ran) must not stop the containers' traffic. */
    private static List<List<String>> forwardRules() {
        return List.of(List.of("FORWARD", "-i", NAME, "!", "-o", NAME, "-j", "ACCEPT"),
                List.of("FORWARD", "-o", NAME, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
                // Published ports: connections DNATed to the routing mesh's sandbox or to a task.
                List.of("FORWARD", "-o", NAME, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"));
    }

    private static List<String> iptables(String op, List<String> rule) {
        List<String> cmd = new java.util.ArrayList<>(List.of("iptables", "-w", "5"));
        if (rule.get(0).equals("-t")) {
            cmd.addAll(rule.subList(0, 2));
            cmd.add(op);
            cmd.addAll(rule.subList(2, rule.size()));
        } else {
            cmd.add(op);
            cmd.addAll(rule);
        }
        return cmd;
    }

    /**
     * What gives a container egress, run in its namespace after its overlay interfaces:
     * {@code ifname} with the address and the default route, its peer {@code hostEnd}
     * sent to the node's namespace ({@code nodeNs}: a pid), where {@link #enslave} puts
     * it on the bridge.
     */
    public List<String> containerCommands(String ifname, String hostEnd, String addr, long nodeNs) {
        return List.of(
                "link add " + ifname + " type veth peer name " + hostEnd + " netns " + nodeNs,
                "addr add " + addr + "/" + prefix + " dev " + ifname,
                "link set " + ifname + " up",
                "route add default via " + gateway + " dev " + ifname + " onlink");
    }

    /** Puts a container's end on the bridge, isolated from the other containers' ports. */
    public void enslave(String hostEnd) throws IOException {
        Commands.batch(List.of("ip"), List.of(
                "link set " + hostEnd + " master " + NAME + " up",
                "link set dev " + hostEnd + " type bridge_slave isolated on"));
    }

    /** The address a container has on the bridge (after an agent restart), or null. */
    public static String addressIn(String containerNs, String ifname) throws IOException {
        Commands.Result r = Commands.run(List.of("ip", "-n", containerNs, "-4", "-o", "addr", "show", "dev", ifname), 10);
        if (r.exit() != 0) {
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/").matcher(r.output());
        return m.find() ? m.group(1) : null;
    }

    /** Removes the bridge and its rules once no container uses it. */
    public void remove() throws IOException {
        Commands.run(List.of("ip", "link", "del", NAME), 10);
        List<String> nat = List.of("-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", NAME, "-j", "MASQUERADE");
        while (Commands.run(iptables("-D", nat), 10).exit() == 0) {
            // every copy
        }
        for (List<String> rule : forwardRules()) {
            while (Commands.run(iptables("-D", rule), 10).exit() == 0) {
                // every copy
            }
        }
    }
}
