package io.jswarm.manager.store;

import io.jswarm.api.NetworkAttachment;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.VirtualIP;
import io.jswarm.api.store.StoreObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What an object holds that no other object may hold at the same time: an address on a
 * network (a task's attachment while the task can still run, a service's virtual IP, a
 * network's gateway, a node's routing-mesh sandbox), a VXLAN id, or a published port. The store refuses a batch that would give one claim
 * to two objects, so allocations made on different managers, or by an old and a new
 * leader, can never hand out the same address twice.
 */
public final class Claims {
    private Claims() {}

    public static String address(String networkId, String cidrOrAddr) {
        int slash = cidrOrAddr.indexOf('/');
        return "ip/" + networkId + "/" + (slash < 0 ? cidrOrAddr : cidrOrAddr.substring(0, slash));
    }

    public static String vxlan(long vni) {
        return "vxlan/" + vni;
    }

    /** A port published in ingress mode: one service per port and protocol in the whole cluster. */
    public static String port(io.jswarm.api.PortConfig.Protocol protocol, long published) {
        return "port/" + protocol.name().toLowerCase(java.util.Locale.ROOT) + "/" + published;
    }

    public static List<String> of(StoreObject o) {
        List<String> out = new ArrayList<>();
        switch (o.getObjectCase()) {
            case TASK -> {
                Task t = o.getTask();
                // A stopped task never runs again: its address can go to another task.
                if (t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE) {
                    for (NetworkAttachment a : t.getNetworksList()) {
                        for (String addr : a.getAddressesList()) {
                            out.add(address(a.getNetworkId(), addr));
                        }
                    }
                }
            }
            case NODE -> {
                for (NetworkAttachment a : o.getNode().getAttachmentsList()) {
                    for (String addr : a.getAddressesList()) {
                        out.add(address(a.getNetworkId(), addr));
                    }
                }
            }
            case SERVICE -> {
                for (VirtualIP v : o.getService().getEndpoint().getVirtualIpsList()) {
                    out.add(address(v.getNetworkId(), v.getAddr()));
                }
                for (io.jswarm.api.PortConfig p : o.getService().getEndpoint().getPortsList()) {
                    if (p.getPublishMode() == io.jswarm.api.PortConfig.PublishMode.INGRESS && p.getPublishedPort() != 0) {
                        out.add(port(p.getProtocol(), p.getPublishedPort()));
                    }
                }
            }
            case NETWORK -> {
                var n = o.getNetwork();
                if (n.getVxlanId() != 0) {
                    out.add(vxlan(n.getVxlanId()));
                }
                for (var ipam : n.getIpamList()) {
                    if (!ipam.getGateway().isEmpty()) {
                        out.add(address(n.getMeta().getId(), ipam.getGateway()));
                    }
                }
            }
            default -> { }
        }
        return out;
    }
}
