package io.jswarm.manager;

import io.jswarm.api.Node;
import io.jswarm.api.NodeState;
import io.jswarm.scheduler.NodeInfo;

/** Converts stored nodes into what the scheduler reads. */
public final class NodeInfos {
    private NodeInfos() {}

    public static NodeInfo of(Node n) {
        var d = n.getDescription();
        return new NodeInfo(n.getMeta().getId(), d.getHostname(), n.getRole().name().toLowerCase(),
                d.getPlatform().getOs(), d.getPlatform().getArchitecture(), n.getSpec().getAnnotations().getLabelsMap(),
                n.getStatus().getState() == NodeState.NODE_READY, n.getSpec().getAvailability().name().toLowerCase(),
                d.getResources().getNanoCpus(), d.getResources().getMemoryBytes());
    }
}
