package io.jswarm.scheduler;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** What is already placed on one node: reservations, task counts and host ports in use. */
public final class NodeLoad {
    long reservedNanoCpus;
    long reservedMemoryBytes;
    int totalTasks;
    final Map<String, Integer> tasksByService = new HashMap<>();
    final Set<String> hostPorts = new HashSet<>();

    /** Records a task that already runs (or is assigned) on the node. */
    public void add(String serviceId, long nanoCpus, long memoryBytes, Set<String> ports) {
        reservedNanoCpus += nanoCpus;
        reservedMemoryBytes += memoryBytes;
        totalTasks++;
        tasksByService.merge(serviceId, 1, Integer::sum);
        hostPorts.addAll(ports);
    }

    public int tasksOf(String serviceId) {
        return tasksByService.getOrDefault(serviceId, 0);
    }

    public int totalTasks() {
        return totalTasks;
    }
}
