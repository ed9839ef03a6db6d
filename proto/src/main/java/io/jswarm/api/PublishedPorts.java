package io.jswarm.api;

import java.util.ArrayList;
import java.util.List;

/**
 * How each published port reaches a task, read the same way by the managers (which
 * allocate) and the agents (which build the rules): through the routing mesh (any node
 * forwards to any task over the ingress network, the client's address replaced), or on
 * the node itself (host mode, and ingress ports that keep the client's address: only to
 * the node's own tasks, over the gateway bridge, no SNAT).
 */
public final class PublishedPorts {
    private PublishedPorts() {}

    /** Ports any node forwards to any task over the ingress network. */
    public static List<PortConfig> mesh(Endpoint e) {
        List<PortConfig> out = new ArrayList<>();
        for (PortConfig p : e.getPortsList()) {
            if (p.getPublishMode() == PortConfig.PublishMode.INGRESS && !p.getPreserveClientIp()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Ports a node forwards only to its own tasks of the service. */
    public static List<PortConfig> local(Endpoint e) {
        List<PortConfig> out = new ArrayList<>();
        for (PortConfig p : e.getPortsList()) {
            if (p.getPublishMode() == PortConfig.PublishMode.HOST || p.getPreserveClientIp()) {
                out.add(p);
            }
        }
        return out;
    }

    /** "8080->80/tcp", as Docker shows a port. */
    public static String show(PortConfig p) {
        return p.getPublishedPort() + "->" + p.getTargetPort() + "/" + p.getProtocol().name().toLowerCase(java.util.Locale.ROOT);
    }
}
