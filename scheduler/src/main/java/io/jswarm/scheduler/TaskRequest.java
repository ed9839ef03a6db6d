package io.jswarm.scheduler;

import java.util.List;
import java.util.Set;

/**
 * One pending task to place. Tasks with equal {@link #groupKey()} have identical
 * requirements (same service and spec), so filters are evaluated once per group.
 */
public record TaskRequest(
        String taskId,
        String serviceId,
        String groupKey,
        long reserveNanoCpus,
        long reserveMemoryBytes,
        List<Constraint> constraints,
        List<String> spreadPreferences,  // e.g. node.labels.zone, outermost first
        long maxReplicasPerNode,         // 0 = unlimited
        Set<String> hostPorts) {         // "tcp/8080" published in host mode
}
