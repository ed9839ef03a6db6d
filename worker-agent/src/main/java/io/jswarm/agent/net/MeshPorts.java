package io.jswarm.agent.net;

import io.jswarm.api.PortConfig;
import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import io.jswarm.overlay.IngressRules.Port;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the routing mesh's rules on one node hold, from the ingress network's table and
 * the node's own tasks. Pure; {@link TaskNetworks} builds and applies.
 */
final class MeshPorts {
    private MeshPorts() {}

    /** A task here with ports served on this node, its address on the gateway bridge, and whether it serves now. */
    record Local(String taskId, List<PortConfig> ports, String gatewayAddr, boolean serving) {
        Local withServing(boolean s) {
            return new Local(taskId, ports, gatewayAddr, s);
        }
    }

    static String protocol(PortConfig p) {
        return p.getProtocol().name().toLowerCase(Locale.ROOT);
    }

    /** The sandbox's ports: each published through the mesh, to the service's serving tasks on the ingress network. */
    static List<Port> sandbox(NetworkTable ingress) {
        List<Port> out = new ArrayList<>();
        if (ingress == null) {
            return out;
        }
        Map<String, List<String>> serving = new TreeMap<>();
        for (NetworkEndpoint e : ingress.getEndpointsList()) {
            if (e.getServing() && !e.getTaskId().isEmpty()) {
                serving.computeIfAbsent(e.getServiceId(), k -> new ArrayList<>()).add(e.getAddr());
            }
        }
        for (NetworkService s : ingress.getServicesList()) {
            List<String> backends = serving.getOrDefault(s.getServiceId(), List.of()).stream().sorted().toList();
            for (PortConfig p : s.getPortsList()) {
                out.add(new Port(protocol(p), p.getPublishedPort(), backends, p.getTargetPort()));
            }
        }
        return out;
    }

    /** This node's address on the ingress network (its sandbox's), or null until the leader has given it one. */
    static String ownAddress(NetworkTable ingress, String nodeId) {
        if (ingress != null) {
            for (NetworkEndpoint e : ingress.getEndpointsList()) {
                if (e.getTaskId().isEmpty() && e.getNodeId().equals(nodeId)) {
                    return e.getAddr();
                }
            }
        }
        return null;
    }

    /**
     * The node's ports: those published through the mesh go to the sandbox (same port),
     * those served here to this node's serving tasks of the service on the gateway bridge.
     */
    static List<Port> node(NetworkTable ingress, String sandboxGw, List<Local> locals) {
        List<Port> out = new ArrayList<>();
        if (sandboxGw != null) {
            for (Port p : sandbox(ingress)) {
                out.add(new Port(p.protocol(), p.published(), List.of(sandboxGw), p.published()));
            }
        }
        Map<String, List<String>> backends = new TreeMap<>();
        Map<String, Integer> targets = new TreeMap<>();
        for (Local l : locals) {
            for (PortConfig p : l.ports()) {
                String key = protocol(p) + "/" + p.getPublishedPort();
                List<String> b = backends.computeIfAbsent(key, k -> new ArrayList<>());
                targets.put(key, p.getTargetPort());
                if (l.serving()) {
                    b.add(l.gatewayAddr());
                }
            }
        }
        for (Map.Entry<String, List<String>> e : backends.entrySet()) {
            String[] k = e.getKey().split("/");
            out.add(new Port(k[0], Integer.parseInt(k[1]), e.getValue().stream().sorted().toList(), targets.get(e.getKey())));
        }
        return out;
    }
}
