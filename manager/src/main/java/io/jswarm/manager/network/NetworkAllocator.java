package io.jswarm.manager.network;

import io.jswarm.api.AddressPool;
import io.jswarm.api.IPAMConfig;
import io.jswarm.api.Network;
import io.jswarm.api.NetworkSpec;
import io.jswarm.api.Node;
import io.jswarm.manager.store.Claims;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Chooses what a network, a service and a task get: a subnet from the cluster's address
 * pool, a VXLAN id, addresses. Pure: it looks only at what it is given, and whatever it
 * picks is claimed in the store when written (see {@link Claims}), so a race between two
 * allocations ends in a refused write, never in one address held twice.
 */
public final class NetworkAllocator {
    public static final long FIRST_VXLAN_ID = 4097;
    public static final long MAX_VXLAN_ID = (1L << 24) - 1;
    public static final String DEFAULT_POOL = "10.0.0.0/8";
    public static final int DEFAULT_SUBNET_SIZE = 24;
    public static final String DRIVER = "overlay";
    /** The routing mesh's network, as Docker names it. */
    public static final String INGRESS = "ingress";

    private NetworkAllocator() {}

    /** The pools of a cluster, with Docker's defaults when none were given at init. */
    public static List<Subnet> pools(AddressPool p) {
        List<Subnet> out = new ArrayList<>();
        for (String c : p.getPoolsList()) {
            out.add(Subnet.parse(c));
        }
        if (out.isEmpty()) {
            out.add(Subnet.parse(DEFAULT_POOL));
        }
        return out;
    }

    public static int subnetSize(AddressPool p) {
        return p.getSubnetSize() == 0 ? DEFAULT_SUBNET_SIZE : (int) p.getSubnetSize();
    }

    /** Checks a pool given at init: each a CIDR, the subnet size fits in every pool. */
    public static void validatePool(List<String> cidrs, int size) {
        if (size < 8 || size > 29) {
            throw new IllegalArgumentException("address pool subnet size /" + size + " is not between /8 and /29");
        }
        for (String c : cidrs) {
            Subnet s = Subnet.parse(c);
            if (s.prefix() > size) {
                throw new IllegalArgumentException("address pool " + s + " is smaller than the subnet size /" + size);
            }
        }
    }

    /** The spec of the network the cluster creates for the routing mesh: a subnet from the pool like any other. */
    public static NetworkSpec ingressSpec() {
        return NetworkSpec.newBuilder().setAnnotations(io.jswarm.api.Annotations.newBuilder().setName(INGRESS))
                .setDriver(DRIVER).setIngress(true).build();
    }

    /** Nodes given their ingress address now, and how many are left without one (its subnet is full). */
    public record IngressAddresses(List<Node> given, int leftWithout) {
    }

    /**
     * Nodes that need their routing-mesh sandbox's address on the ingress network (every
     * node has one, as in Docker: a request arriving anywhere leaves from it), each with
     * the address; a node whose subnet is full is left out until one is freed, and counted.
     */
    public static IngressAddresses withIngressAddresses(Collection<Node> nodes, Network ingress, Addresses addresses) {
        List<Node> out = new ArrayList<>();
        int without = 0;
        String id = ingress.getMeta().getId();
        for (Node n : nodes) {
            if (hasIngressAddress(n, ingress)) {
                continue;
            }
            String addr = addresses.next(ingress);
            if (addr == null) {
                without++;
                continue;
            }
            out.add(n.toBuilder().clearAttachments().addAttachments(io.jswarm.api.NetworkAttachment.newBuilder()
                    .setNetworkId(id).setNetworkName(ingress.getSpec().getAnnotations().getName()).addAddresses(addr)).build());
        }
        return new IngressAddresses(out, without);
    }

    /** Whether the node has its address on the ingress network: whether the routing mesh reaches it. */
    public static boolean hasIngressAddress(Node n, Network ingress) {
        String id = ingress.getMeta().getId();
        return n.getAttachmentsList().stream().anyMatch(a -> a.getNetworkId().equals(id) && a.getAddressesCount() > 0);
    }

    /** The addresses nodes are reached at ("10.1.2.3:4242" or "10.1.2.3"); others (names, IPv6) are left out. */
    public static List<Long> nodeAddresses(Collection<Node> nodes) {
        List<Long> out = new ArrayList<>();
        for (Node n : nodes) {
            String a = n.getStatus().getAddr();
            int colon = a.lastIndexOf(':');
            String host = colon > 0 && a.indexOf(':') == colon ? a.substring(0, colon) : a;
            try {
                out.add(Ipv4.parse(host));
            } catch (IllegalArgumentException e) {
                // not an IPv4 address: nothing to keep clear of
            }
        }
        return out;
    }

    /**
     * Completes a new network: its subnet (the one asked for, checked, or the first free
     * one of the pool), gateway and VXLAN id. Throws IllegalArgumentException naming
     * what is wrong.
     */
    public static Network allocate(Network.Builder n, AddressPool pool, Collection<Network> existing, Collection<Node> nodes) {
        NetworkSpec spec = n.getSpec();
        List<Subnet> taken = new ArrayList<>();
        Set<Long> vnis = new HashSet<>();
        for (Network e : existing) {
            vnis.add((long) e.getVxlanId());
            for (IPAMConfig i : e.getIpamList()) {
                taken.add(Subnet.parse(i.getSubnet()));
            }
        }
        List<Long> nodeAddrs = nodeAddresses(nodes);
        Subnet subnet;
        String gateway;
        if (spec.getIpamCount() > 1) {
            throw new IllegalArgumentException("only one subnet per network is supported");
        }
        if (spec.getIpamCount() == 1 && !spec.getIpam(0).getSubnet().isEmpty()) {
            subnet = Subnet.parse(spec.getIpam(0).getSubnet());
            if (subnet.prefix() > 29) {
                throw new IllegalArgumentException("subnet " + subnet + " is too small: at most /29");
            }
            for (Network e : existing) {
                for (IPAMConfig i : e.getIpamList()) {
                    if (subnet.overlaps(Subnet.parse(i.getSubnet()))) {
                        throw new IllegalArgumentException("subnet " + subnet + " overlaps subnet " + i.getSubnet()
                                + " of network " + e.getSpec().getAnnotations().getName());
                    }
                }
            }
            for (long a : nodeAddrs) {
                if (subnet.contains(a)) {
                    throw new IllegalArgumentException("subnet " + subnet + " contains the address of a node (" + Ipv4.format(a)
                            + "): overlay addresses must not clash with the nodes' own");
                }
            }
        } else {
            if (spec.getIpamCount() == 1 && !spec.getIpam(0).getGateway().isEmpty()) {
                throw new IllegalArgumentException("a gateway needs a subnet (--subnet)");
            }
            subnet = freeSubnet(pools(pool), subnetSize(pool), taken, nodeAddrs);
        }
        if (spec.getIpamCount() == 1 && !spec.getIpam(0).getGateway().isEmpty()) {
            long gw = Ipv4.parse(spec.getIpam(0).getGateway());
            if (!subnet.usable(gw)) {
                throw new IllegalArgumentException("gateway " + spec.getIpam(0).getGateway() + " is not a usable address of subnet " + subnet);
            }
            gateway = Ipv4.format(gw);
        } else {
            gateway = Ipv4.format(subnet.firstHost());
        }
        long vni = FIRST_VXLAN_ID;
        while (vnis.contains(vni)) {
            vni++;
        }
        if (vni > MAX_VXLAN_ID) {
            throw new IllegalArgumentException("no VXLAN id left");
        }
        return n.clearIpam().addIpam(IPAMConfig.newBuilder().setSubnet(subnet.toString()).setGateway(gateway))
                .setVxlanId((int) vni).build();
    }

    static Subnet freeSubnet(List<Subnet> pools, int size, List<Subnet> taken, List<Long> nodeAddrs) {
        for (Subnet pool : pools) {
            long step = 1L << (32 - size);
            for (long base = pool.base(); base + step - 1 <= pool.last(); base += step) {
                Subnet c = new Subnet(base, size);
                boolean free = taken.stream().noneMatch(c::overlaps) && nodeAddrs.stream().noneMatch(c::contains);
                if (free) {
                    return c;
                }
            }
        }
        throw new IllegalArgumentException("the cluster's address pool " + pools + " has no free /" + size + " subnet left");
    }

    /**
     * Hands out addresses, each one not claimed in the store and not given out earlier by
     * this allocator. Moves forward through a subnet, as Docker does, so that an address
     * just freed is not reused at once (a stale entry somewhere would reach a new task).
     */
    public static final class Addresses {
        private final Predicate<String> claimed;
        private final Map<String, Long> cursor;
        private final Set<String> given = new HashSet<>();
        /** Networks found full in this pass: nothing is freed during one, so they are not scanned again. */
        private final Set<String> full = new HashSet<>();

        /** {@code cursor} is kept by the caller across passes (it may be empty: it is only a hint). */
        public Addresses(Predicate<String> claimed, Map<String, Long> cursor) {
            this.claimed = claimed;
            this.cursor = cursor;
        }

        public Addresses(Predicate<String> claimed) {
            this(claimed, new HashMap<>());
        }

        /** An address on the network as CIDR ("10.0.0.7/24"), or null when the subnet is full. */
        public String next(Network n) {
            if (n.getIpamCount() == 0) {
                return null;
            }
            String id = n.getMeta().getId();
            if (full.contains(id)) {
                return null;  // 2,000 nodes on a /24 ingress network had every pass scan it 1,750 times
            }
            Subnet s = Subnet.parse(n.getIpam(0).getSubnet());
            long start = cursor.getOrDefault(id, s.firstHost());
            for (long i = 0; i < s.size(); i++) {
                long a = s.base() + Math.floorMod(start - s.base() + i, s.size());
                if (!s.usable(a)) {
                    continue;
                }
                String claim = Claims.address(id, Ipv4.format(a));
                if (claimed.test(claim) || !given.add(claim)) {
                    continue;
                }
                cursor.put(id, a + 1);
                return s.cidrOf(a);
            }
            full.add(id);
            return null;
        }
    }
}
