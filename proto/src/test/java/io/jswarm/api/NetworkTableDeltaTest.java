package io.jswarm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NetworkTableDeltaTest {
    static NetworkEndpoint sandbox(int node, boolean up) {
        return NetworkEndpoint.newBuilder().setNodeId("n" + node).setAddr("10.255.0." + node)
                .setNodeAddr("192.168.0." + node).setServing(up).build();
    }

    static NetworkEndpoint task(int id, int node, boolean serving) {
        return NetworkEndpoint.newBuilder().setTaskId("t" + id).setTaskName("web.1.t" + id).setServiceId("s" + id % 3)
                .setAddr("10.0.1." + id).setNodeAddr("192.168.0." + node).setServing(serving).build();
    }

    static NetworkTable table(String vxlanName, List<NetworkEndpoint> endpoints, List<NetworkService> services) {
        return NetworkTable.newBuilder().setNetwork(Network.newBuilder().setMeta(Meta.newBuilder().setId(vxlanName)))
                .addAllEndpoints(endpoints).addAllServices(services).build();
    }

    static Map<String, NetworkEndpoint> byKey(NetworkTable t) {
        Map<String, NetworkEndpoint> m = new HashMap<>();
        t.getEndpointsList().forEach(e -> m.put(NetworkTableDelta.key(e), e));
        return m;
    }

    static Map<String, NetworkService> services(NetworkTable t) {
        Map<String, NetworkService> m = new HashMap<>();
        t.getServicesList().forEach(s -> m.put(s.getServiceId(), s));
        return m;
    }

    @Test
    void oneNodeGoingDownIsOneEndpointNotTheWholeTable() {
        List<NetworkEndpoint> before = new java.util.ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            before.add(sandbox(i, true));
        }
        List<NetworkEndpoint> after = new java.util.ArrayList<>(before);
        after.set(41, sandbox(42, false));
        NetworkTable d = NetworkTableDelta.diff(table("ingress", before, List.of()), table("ingress", after, List.of()));
        assertTrue(d.getPartial());
        assertEquals(List.of(sandbox(42, false)), d.getEndpointsList());
        assertEquals(0, d.getRemovedEndpointsCount());
        assertFalse(NetworkTableDelta.changesNoEntry(d));
        NetworkTable same = NetworkTableDelta.diff(table("ingress", after, List.of()), table("ingress", after, List.of()));
        assertTrue(NetworkTableDelta.changesNoEntry(same));
    }

    @Test
    void aWholeTableReplacesWhatTheNodeHeld() {
        NetworkTable whole = table("n", List.of(task(1, 1, true)), List.of());
        assertEquals(whole, NetworkTableDelta.apply(table("n", List.of(task(2, 2, true)), List.of()), whole));
    }

    /** Random sequences of tables: applying each diff to what the node holds gives the table itself. */
    @Test
    void applyingTheDiffGivesTheNewTable() {
        Random r = new Random(18);
        NetworkTable held = null;
        NetworkTable sent = table("net", List.of(), List.of());
        held = NetworkTableDelta.apply(held, sent);
        for (int round = 0; round < 500; round++) {
            List<NetworkEndpoint> endpoints = new java.util.ArrayList<>();
            for (int i = 0; i < 40; i++) {
                if (r.nextInt(3) > 0) {
                    endpoints.add(r.nextBoolean() ? task(i, r.nextInt(4), r.nextBoolean()) : sandbox(i, r.nextBoolean()));
                }
            }
            List<NetworkService> services = new java.util.ArrayList<>();
            for (int i = 0; i < 6; i++) {
                if (r.nextBoolean()) {
                    services.add(NetworkService.newBuilder().setServiceId("s" + i).setName("svc" + i)
                            .setVip(r.nextBoolean() ? "10.0.0." + i : "").build());
                }
            }
            NetworkTable next = table("net", endpoints, services);
            NetworkTable d = NetworkTableDelta.diff(sent, next);
            held = NetworkTableDelta.apply(held, d);
            assertEquals(byKey(next), byKey(held), "round " + round);
            assertEquals(services(next), services(held), "round " + round);
            assertEquals(next.getEndpointsCount(), held.getEndpointsCount());
            assertFalse(held.getPartial());
            sent = next;
        }
    }
}
