package io.jswarm.agent.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.jswarm.api.PortConfig;
import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import io.jswarm.overlay.IngressRules.Port;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeshPortsTest {
    static final PortConfig WEB = PortConfig.newBuilder().setPublishedPort(8080).setTargetPort(80).build();

    static NetworkTable ingress() {
        return NetworkTable.newBuilder()
                .addEndpoints(NetworkEndpoint.newBuilder().setTaskId("t1").setServiceId("s").setAddr("10.0.0.6").setServing(true))
                .addEndpoints(NetworkEndpoint.newBuilder().setTaskId("t2").setServiceId("s").setAddr("10.0.0.5").setServing(true))
                .addEndpoints(NetworkEndpoint.newBuilder().setTaskId("t3").setServiceId("s").setAddr("10.0.0.7").setServing(false))
                .addEndpoints(NetworkEndpoint.newBuilder().setNodeId("n1").setAddr("10.0.0.2").setServing(true))
                .addServices(NetworkService.newBuilder().setServiceId("s").addPorts(WEB))
                .addServices(NetworkService.newBuilder().setServiceId("idle").addPorts(WEB.toBuilder().setPublishedPort(8081)))
                .build();
    }

    @Test
    void theSandboxSendsToServingTasksOnly() {
        assertEquals(List.of(new Port("tcp", 8080, List.of("10.0.0.5", "10.0.0.6"), 80), new Port("tcp", 8081, List.of(), 80)),
                MeshPorts.sandbox(ingress()));
        assertEquals("10.0.0.2", MeshPorts.ownAddress(ingress(), "n1"));
        assertNull(MeshPorts.ownAddress(ingress(), "n2"));
    }

    @Test
    void theNodeSendsMeshPortsToItsSandboxAndLocalPortsToItsServingTasks() {
        PortConfig host = PortConfig.newBuilder().setPublishedPort(8090).setTargetPort(80).setPublishMode(PortConfig.PublishMode.HOST).build();
        List<Port> ports = MeshPorts.node(ingress(), "172.18.0.2", List.of(new MeshPorts.Local("a", List.of(host), "172.18.0.9", true),
                new MeshPorts.Local("b", List.of(host), "172.18.0.3", true), new MeshPorts.Local("c", List.of(host), "172.18.0.4", false)));
        assertEquals(List.of(new Port("tcp", 8080, List.of("172.18.0.2"), 8080), new Port("tcp", 8081, List.of("172.18.0.2"), 8081),
                new Port("tcp", 8090, List.of("172.18.0.3", "172.18.0.9"), 80)), ports);
        assertEquals(List.of(new Port("tcp", 8090, List.of(), 80)),
                MeshPorts.node(null, null, List.of(new MeshPorts.Local("c", List.of(host), "172.18.0.4", false))));
    }
}
