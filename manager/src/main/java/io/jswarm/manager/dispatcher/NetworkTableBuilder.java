package io.jswarm.manager.dispatcher;

import io.jswarm.api.Network;
import io.jswarm.api.NetworkAttachment;
import io.jswarm.api.NetworkAttachmentConfig;
import io.jswarm.api.Node;
import io.jswarm.api.NodeState;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.VirtualIP;
import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import io.jswarm.manager.orchestrator.Tasks;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the nodes need to know of each overlay network, built from the store: where every
 * task address lives (for the VXLAN forwarding entries), which tasks serve (for DNS
 * answers and VIP backends), and the services' names and VIPs; on the ingress network
 * also every node's routing-mesh sandbox and the ports published through the mesh. Pure: the dispatcher
 * decides when to build and whom to send to.
 */
public final class NetworkTableBuilder {
    private NetworkTableBuilder() {}

    /** A task that has a node and may run there: its address must be reachable. */
    static boolean placed(Task t) {
        int s = t.getStatus().getState().getNumber();
        return !t.getNodeId().isEmpty() && s >= TaskState.ASSIGNED_VALUE && s <= TaskState.RUNNING_VALUE;
    }

    /** The networks a node has tasks on. */
    public static Set<String> networksOfNode(Collection<Task> tasksOnNode) {
        Set<String> out = new LinkedHashSet<>();
        for (Task t : tasksOnNode) {
            if (placed(t)) {
                for (NetworkAttachment a : t.getNetworksList()) {
                    out.add(a.getNetworkId());
                }
            }
        }
        return out;
    }

    /** The host part of a node's address ("10.1.2.3:4242" -> "10.1.2.3"). */
    static String host(String addr) {
        int colon = addr.lastIndexOf(':');
        return colon > 0 && addr.indexOf(':') == colon ? addr.substring(0, colon) : addr;
    }

    public static Map<String, NetworkTable> build(Collection<String> networkIds, Map<String, Network> networks,
            Collection<Service> services, Collection<Task> tasks, Map<String, Node> nodes) {
        Map<String, NetworkTable.Builder> out = new HashMap<>();
        for (String id : networkIds) {
            Network n = networks.get(id);
            if (n != null) {
                out.put(id, NetworkTable.newBuilder().setNetwork(n));
            }
        }
        if (out.isEmpty()) {
            return Map.of();
        }
        for (Task t : tasks) {
            if (!placed(t) || t.getNetworksCount() == 0) {
                continue;
            }
            Node node = nodes.get(t.getNodeId());
            if (node == null || node.getStatus().getAddr().isEmpty()) {
                continue;
            }
            // A task serves while it runs (healthy, where it has a check), is still wanted,
            // and its node is up: the VIP and DNS stop sending to it before it is stopped.
            boolean serving = Tasks.up(t) && t.getDesiredState() == TaskState.RUNNING
                    && node.getStatus().getState() == NodeState.NODE_READY;
            for (NetworkAttachment a : t.getNetworksList()) {
                NetworkTable.Builder b = out.get(a.getNetworkId());
                if (b == null || a.getAddressesCount() == 0) {
                    continue;
                }
                b.addEndpoints(NetworkEndpoint.newBuilder().setTaskId(t.getMeta().getId())
                        .setTaskName(t.getAnnotations().getName() + "." + t.getMeta().getId()).setServiceId(t.getServiceId())
                        .setAddr(io.jswarm.manager.network.Ipv4.withoutPrefix(a.getAddresses(0)))
                        .setNodeAddr(host(node.getStatus().getAddr())).setServing(serving).addAllAliases(a.getAliasesList()));
            }
        }
        for (Node node : nodes.values()) {
            // Each node's routing-mesh sandbox: requests it forwards leave from this address.
            for (NetworkAttachment a : node.getAttachmentsList()) {
                NetworkTable.Builder b = out.get(a.getNetworkId());
                if (b == null || a.getAddressesCount() == 0 || node.getStatus().getAddr().isEmpty()) {
                    continue;
                }
                b.addEndpoints(NetworkEndpoint.newBuilder().setNodeId(node.getMeta().getId())
                        .setAddr(io.jswarm.manager.network.Ipv4.withoutPrefix(a.getAddresses(0)))
                        .setNodeAddr(host(node.getStatus().getAddr())).setServing(node.getStatus().getState() == NodeState.NODE_READY));
            }
        }
        for (Service s : services) {
            var mesh = io.jswarm.api.PublishedPorts.mesh(s.getEndpoint());
            if (!mesh.isEmpty()) {
                for (NetworkTable.Builder b : out.values()) {
                    if (b.getNetwork().getSpec().getIngress()) {
                        b.addServices(NetworkService.newBuilder().setServiceId(s.getMeta().getId())
                                .setName(s.getSpec().getAnnotations().getName()).addAllPorts(mesh));
                    }
                }
            }
            for (NetworkAttachmentConfig a : s.getSpec().getTask().getNetworksList()) {
                NetworkTable.Builder b = out.get(a.getTarget());
                if (b == null) {
                    continue;
                }
                String vip = "";
                for (VirtualIP v : s.getEndpoint().getVirtualIpsList()) {
                    if (v.getNetworkId().equals(a.getTarget())) {
                        vip = io.jswarm.manager.network.Ipv4.withoutPrefix(v.getAddr());
                    }
                }
                b.addServices(NetworkService.newBuilder().setServiceId(s.getMeta().getId()).setName(s.getSpec().getAnnotations().getName())
                        .setVip(vip).addAllAliases(a.getAliasesList()));
            }
        }
        Map<String, NetworkTable> built = new HashMap<>();
        out.forEach((k, v) -> built.put(k, v.build()));
        return built;
    }
}
