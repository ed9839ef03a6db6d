package io.jswarm.overlay;

import java.io.IOException;
import java.util.List;

/**
 * Load balancing of a service's virtual IP inside a client container's namespace, in
 * nftables (there is no IPVS in these kernels; kube-proxy's nftables mode works the same
 * way): a connection to the VIP, on any port, is DNATed in the output hook to one backend
 * picked by {@code numgen random}, keeping the port. One rule per VIP whatever the number
 * of backends; conntrack keeps each connection on its backend; the kernel does all the
 * work, there is no proxy in the data path. A VIP with no backend rejects at once instead
 * of hanging.
 */
public final class VipRules {
    public record Vip(String vip, List<String> backends) {}

    static final String TABLE = "jswarm";

    private VipRules() {}

    /** The whole table, replaced in one transaction: created first so that the delete never fails. */
    static String render(List<Vip> vips) {
        StringBuilder nat = new StringBuilder();
        StringBuilder reject = new StringBuilder();
        for (Vip v : vips) {
            List<String> b = v.backends();
            if (b.isEmpty()) {
                reject.append("    ip daddr ").append(v.vip()).append(" reject\n");
            } else if (b.size() == 1) {
                nat.append("    ip daddr ").append(v.vip()).append(" dnat to ").append(b.get(0)).append('\n');
            } else {
                nat.append("    ip daddr ").append(v.vip()).append(" dnat to numgen random mod ").append(b.size()).append(" map { ");
                for (int i = 0; i < b.size(); i++) {
                    nat.append(i == 0 ? "" : ", ").append(i).append(" : ").append(b.get(i));
                }
                nat.append(" }\n");
            }
        }
        return "table ip " + TABLE + "\ndelete table ip " + TABLE + "\ntable ip " + TABLE + " {\n"
                + "  chain vip {\n    type nat hook output priority -100; policy accept;\n" + nat + "  }\n"
                + "  chain novip {\n    type filter hook output priority 0; policy accept;\n" + reject + "  }\n}\n";
    }

    /** Replaces the container's VIP rules with these, atomically (one nft transaction). */
    public static void apply(String containerNs, List<Vip> vips) throws IOException {
        Commands.checkWithInput(List.of("nsenter", "--net=" + NetworkNamespace.path(containerNs), "nft", "-f", "-"), render(vips), 20);
    }
}
