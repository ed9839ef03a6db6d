package io.jswarm.scheduler;

import java.util.Map;

/**
 * What the scheduler knows of one node: its description and whether it takes work.
 * Built by the manager from the store; the scheduler never reads the store itself.
 */
public record NodeInfo(
        String id,
        String hostname,
        String role,           // "worker" or "manager"
        String os,
        String arch,
        Map<String, String> labels,
        boolean ready,         // the node is up (heartbeating)
        String availability,   // "active", "pause" or "drain"
        long nanoCpus,         // capacity
        long memoryBytes) {

    public boolean takesNewTasks() {
        return ready && "active".equals(availability);
    }
}
