package io.jswarm.manager.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.AddressPool;
import io.jswarm.api.Annotations;
import io.jswarm.api.IPAMConfig;
import io.jswarm.api.Meta;
import io.jswarm.api.Network;
import io.jswarm.api.NetworkSpec;
import io.jswarm.api.Node;
import io.jswarm.api.NodeStatus;
import io.jswarm.manager.store.Claims;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NetworkAllocatorTest {
    static Network.Builder net(String id, String subnet, String gateway) {
        NetworkSpec.Builder s = NetworkSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("n-" + id));
        if (subnet != null) {
            s.addIpam(IPAMConfig.newBuilder().setSubnet(subnet).setGateway(gateway == null ? "" : gateway));
        }
        return Network.newBuilder().setMeta(Meta.newBuilder().setId(id)).setSpec(s);
    }

    static Node node(String addr) {
        return Node.newBuilder().setStatus(NodeStatus.newBuilder().setAddr(addr)).build();
    }

    @Test
    void subnetsComeFromThePoolInOrderSkippingTakenOnesAndNodeAddresses() {
        AddressPool pool = AddressPool.newBuilder().addPools("10.0.0.0/22").setSubnetSize(24).build();
        List<Network> existing = new ArrayList<>();
        existing.add(NetworkAllocator.allocate(net("a", null, null), pool, existing, List.of()));
        assertEquals("10.0.0.0/24", existing.get(0).getIpam(0).getSubnet());
        assertEquals("10.0.0.1", existing.get(0).getIpam(0).getGateway());
        assertEquals(4097, existing.get(0).getVxlanId());
        // A node lives in 10.0.1.0/24: that one is skipped.
        Network b = NetworkAllocator.allocate(net("b", null, null), pool, existing, List.of(node("10.0.1.20:4242")));
        assertEquals("10.0.2.0/24", b.getIpam(0).getSubnet());
        assertEquals(4098, b.getVxlanId());
        existing.add(b);
        existing.add(NetworkAllocator.allocate(net("c", null, null), pool, existing, List.of()));
        assertEquals("10.0.1.0/24", existing.get(2).getIpam(0).getSubnet());
        existing.add(NetworkAllocator.allocate(net("d", null, null), pool, existing, List.of()));
        IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                () -> NetworkAllocator.allocate(net("e", null, null), pool, existing, List.of()));
        assertTrue(full.getMessage().contains("no free /24 subnet left"), full.getMessage());
    }

    @Test
    void givenSubnetsAndGatewaysAreChecked() {
        AddressPool pool = AddressPool.getDefaultInstance();
        List<Network> existing = List.of(NetworkAllocator.allocate(net("a", "10.5.0.0/16", null), pool, List.of(), List.of()));
        assertEquals("10.5.0.1", existing.get(0).getIpam(0).getGateway());
        assertMessage("overlaps subnet 10.5.0.0/16", () -> NetworkAllocator.allocate(net("b", "10.5.3.0/24", null), pool, existing, List.of()));
        assertMessage("host bits set", () -> NetworkAllocator.allocate(net("b", "10.6.3.1/24", null), pool, existing, List.of()));
        assertMessage("not a CIDR", () -> NetworkAllocator.allocate(net("b", "10.6.3.0", null), pool, existing, List.of()));
        assertMessage("invalid prefix length", () -> NetworkAllocator.allocate(net("b", "10.6.3.0/33", null), pool, existing, List.of()));
        assertMessage("not an IPv4 address", () -> NetworkAllocator.allocate(net("b", "10.6.300.0/24", null), pool, existing, List.of()));
        assertMessage("not a usable address", () -> NetworkAllocator.allocate(net("b", "10.6.3.0/24", "10.6.4.1"), pool, existing, List.of()));
        assertMessage("not a usable address", () -> NetworkAllocator.allocate(net("b", "10.6.3.0/24", "10.6.3.255"), pool, existing, List.of()));
        assertMessage("contains the address of a node", () -> NetworkAllocator.allocate(net("b", "10.231.7.0/24", null), pool, existing,
                List.of(node("10.231.7.11:4242"))));
        assertMessage("too small", () -> NetworkAllocator.allocate(net("b", "10.6.3.0/30", null), pool, existing, List.of()));
        Network g = NetworkAllocator.allocate(net("b", "10.6.3.0/24", "10.6.3.254"), pool, existing, List.of());
        assertEquals("10.6.3.254", g.getIpam(0).getGateway());
        assertEquals(4098, g.getVxlanId());
    }

    @Test
    void addressesMoveForwardSkipClaimedOnesAndEndWhenTheSubnetIsFull() {
        Network n = net("a", null, null).addIpam(IPAMConfig.newBuilder().setSubnet("10.1.0.0/29").setGateway("10.1.0.1")).build();
        Set<String> claimed = new HashSet<>(Set.of(Claims.address("a", "10.1.0.1"), Claims.address("a", "10.1.0.3")));
        NetworkAllocator.Addresses a = new NetworkAllocator.Addresses(claimed::contains);
        List<String> got = new ArrayList<>();
        for (String s; (s = a.next(n)) != null; ) {
            got.add(s);
        }
        // .0 is the network, .7 broadcast, .1 the gateway, .3 taken.
        assertEquals(List.of("10.1.0.2/29", "10.1.0.4/29", "10.1.0.5/29", "10.1.0.6/29"), got);
        // A new allocator starting where the last one stopped wraps around to what is free.
        java.util.Map<String, Long> cursor = new java.util.HashMap<>();
        claimed.add(Claims.address("a", "10.1.0.2"));
        NetworkAllocator.Addresses b = new NetworkAllocator.Addresses(claimed::contains, cursor);
        assertEquals("10.1.0.4/29", b.next(n));
        claimed.add(Claims.address("a", "10.1.0.4"));
        NetworkAllocator.Addresses c = new NetworkAllocator.Addresses(claimed::contains, cursor);
        assertEquals("10.1.0.5/29", c.next(n), "moves forward rather than reusing the lowest free address");
        assertEquals("10.1.0.6/29", c.next(n));
        assertNull(c.next(n));
    }

    /** More nodes than a small ingress subnet holds: those that fit get one, and the full subnet is scanned once, not per node. */
    @Test
    void aFullIngressSubnetIsScannedOncePerPass() {
        Network ingress = net("ing", null, null).addIpam(IPAMConfig.newBuilder().setSubnet("10.2.0.0/28").setGateway("10.2.0.1")).build();
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            nodes.add(node("192.168.0." + i + ":4242").toBuilder().setMeta(Meta.newBuilder().setId("n" + i)).build());
        }
        int[] lookups = {0};
        Set<String> claimed = new HashSet<>(Set.of(Claims.address("ing", "10.2.0.1")));
        NetworkAllocator.Addresses addresses = new NetworkAllocator.Addresses(c -> {
            lookups[0]++;
            return claimed.contains(c);
        });
        NetworkAllocator.IngressAddresses result = NetworkAllocator.withIngressAddresses(nodes, ingress, addresses);
        assertEquals(13, result.given().size(), "a /28 holds 14 hosts, one of them the gateway");
        assertEquals(87, result.leftWithout(), "the nodes that did not fit are counted");
        assertTrue(lookups[0] <= 2 * 16, "the full subnet was scanned " + lookups[0] + " times over");
    }

    @Test
    void poolsAreChecked() {
        assertMessage("not between /8 and /29", () -> NetworkAllocator.validatePool(List.of("10.0.0.0/8"), 30));
        assertMessage("smaller than the subnet size", () -> NetworkAllocator.validatePool(List.of("10.0.0.0/26"), 24));
        NetworkAllocator.validatePool(List.of("10.0.0.0/8", "192.168.0.0/16"), 24);
    }

    static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(part), x.getMessage());
    }

    @Test
    void everyNodeGetsOneIngressAddressThatItKeeps() {
        Network ingress = NetworkAllocator.allocate(Network.newBuilder().setMeta(Meta.newBuilder().setId("ing"))
                .setSpec(NetworkAllocator.ingressSpec()), AddressPool.getDefaultInstance(), List.of(), List.of());
        assertEquals("10.0.0.0/24", ingress.getIpam(0).getSubnet());
        // The gateway (.1) is the network's, .2 a task's.
        Set<String> claimed = new HashSet<>(Set.of(Claims.address("ing", "10.0.0.1"), Claims.address("ing", "10.0.0.2")));
        var addresses = new NetworkAllocator.Addresses(claimed::contains);
        Node a = node("192.168.1.1:4242").toBuilder().setMeta(Meta.newBuilder().setId("a")).build();
        Node b = node("192.168.1.2:4242").toBuilder().setMeta(Meta.newBuilder().setId("b")).build();
        List<Node> given = NetworkAllocator.withIngressAddresses(List.of(a, b), ingress, addresses).given();
        assertEquals(List.of("10.0.0.3/24", "10.0.0.4/24"), given.stream().map(n -> n.getAttachments(0).getAddresses(0)).toList());
        assertEquals("ing", given.get(0).getAttachments(0).getNetworkId());
        // Held as claims of the nodes, and not given again.
        assertEquals(List.of(Claims.address("ing", "10.0.0.3/24")), Claims.of(io.jswarm.manager.store.StoreObjects.of(given.get(0))));
        var again = NetworkAllocator.withIngressAddresses(given, ingress, new NetworkAllocator.Addresses(c -> false));
        assertEquals(List.of(), again.given());
        assertEquals(0, again.leftWithout());
    }
}
