package io.jswarm.manager;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ManagerMetricsTest {
    /** The reason label of pending tasks: a fixed set of values from the scheduler's own words. */
    @Test
    void pendingReasonsAreLabelsFromAFixedSet() {
        assertEquals(List.of("no_nodes"), ManagerMetrics.pendingReasons("no suitable node (no nodes in the cluster)"));
        assertEquals(List.of("constraint", "memory"), ManagerMetrics.pendingReasons(
                "no suitable node (constraint node.labels.disk==ssd not met on 2 nodes; insufficient memory on 1 node)"));
        assertEquals(List.of("node_availability", "max_replicas_per_node", "host_port"), ManagerMetrics.pendingReasons(
                "no suitable node (node availability drain on 1 node; max replicas per node (1) reached on 2 nodes;"
                        + " host-mode port 8080/tcp in use on 1 node)"));
        assertEquals(List.of("other"), ManagerMetrics.pendingReasons("something new"));
    }

    /** The routing mesh's reach, where users look: a node without an ingress address counts. */
    @Test
    void nodesWithoutAnIngressAddressAreCounted() {
        io.jswarm.manager.store.MemoryStore store = new io.jswarm.manager.store.MemoryStore();
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (ManagerMetrics metrics = new ManagerMetrics(registry, null, store, () -> 0)) {
            io.jswarm.api.Network ingress = io.jswarm.api.Network.newBuilder().setMeta(io.jswarm.api.Meta.newBuilder().setId("ing"))
                    .setSpec(io.jswarm.api.NetworkSpec.newBuilder().setIngress(true)
                            .setAnnotations(io.jswarm.api.Annotations.newBuilder().setName("ingress"))).build();
            var b = io.jswarm.api.store.StoreBatch.newBuilder();
            b.addActions(create(io.jswarm.manager.store.StoreObjects.of(ingress)));
            b.addActions(create(io.jswarm.manager.store.StoreObjects.of(node("n1", "ing", "10.0.0.2/24"))));
            b.addActions(create(io.jswarm.manager.store.StoreObjects.of(node("n2", null, null))));
            b.addActions(create(io.jswarm.manager.store.StoreObjects.of(node("n3", "other", "10.1.0.2/24"))));
            assertEquals(io.jswarm.api.store.StoreResult.Code.OK, store.apply(b.build(), 1).getCode());
            assertEquals(2.0, registry.get("jswarm_nodes_without_ingress_address").gauge().value(), "n2 and n3 have no ingress address");
        }
    }

    private static io.jswarm.api.store.StoreAction create(io.jswarm.api.store.StoreObject o) {
        return io.jswarm.api.store.StoreAction.newBuilder().setKind(io.jswarm.api.store.StoreAction.Kind.CREATE).setObject(o).build();
    }

    private static io.jswarm.api.Node node(String id, String network, String address) {
        var n = io.jswarm.api.Node.newBuilder().setMeta(io.jswarm.api.Meta.newBuilder().setId(id))
                .setDescription(io.jswarm.api.NodeDescription.newBuilder().setHostname(id));
        if (network != null) {
            n.addAttachments(io.jswarm.api.NetworkAttachment.newBuilder().setNetworkId(network).addAddresses(address));
        }
        return n.build();
    }
}
