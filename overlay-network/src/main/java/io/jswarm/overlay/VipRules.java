package io.jswarm.overlay;

import java.io.IOException;
import java.util.List;

/**
 * Load balancing of a service's virtual IP inside a client container's namespace, as
 * kube-proxy's iptables mode does it (there is no IPVS in these kernels): a connection to
 * the VIP, on any port, is DNATed in the nat table's OUTPUT chain to one backend chosen
 * at random with equal odds (rule i matches with probability 1/(n-i)), keeping the port.
 * Conntrack keeps each connection on its backend; the kernel does all the work, there is
 * no proxy in the data path. A VIP with no backend rejects at once instead of hanging.
 */
public final class VipRules {
    public record Vip(String vip, List<String> backends) {}

    private VipRules() {}

    static String render(List<Vip> vips) {
        StringBuilder nat = new StringBuilder("*nat\n:OUTPUT ACCEPT [0:0]\n:JSWARM-VIP - [0:0]\n-A OUTPUT -j JSWARM-VIP\n");
        StringBuilder filter = new StringBuilder("*filter\n:OUTPUT ACCEPT [0:0]\n:JSWARM-VIP - [0:0]\n-A OUTPUT -j JSWARM-VIP\n");
        for (Vip v : vips) {
            List<String> b = v.backends();
            if (b.isEmpty()) {
                filter.append("-A JSWARM-VIP -d ").append(v.vip()).append("/32 -j REJECT\n");
                continue;
            }
            for (int i = 0; i < b.size(); i++) {
                nat.append("-A JSWARM-VIP -d ").append(v.vip()).append("/32");
                int left = b.size() - i;
                if (left > 1) {
                    nat.append(String.format(java.util.Locale.ROOT, " -m statistic --mode random --probability %.8f", 1.0 / left));
                }
                nat.append(" -j DNAT --to-destination ").append(b.get(i)).append('\n');
            }
        }
        return nat.append("COMMIT\n").append(filter).append("COMMIT\n").toString();
    }

    /** Replaces the container's VIP rules with these, atomically (one iptables-restore). */
    public static void apply(String containerNs, List<Vip> vips) throws IOException {
        Commands.checkWithInput(List.of("nsenter", "--net=" + NetworkNamespace.path(containerNs), "iptables-restore", "-w", "5"),
                render(vips), 20);
    }
}
