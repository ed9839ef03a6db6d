package io.jswarm.manager.orchestrator;

import io.jswarm.api.Network;
import io.jswarm.api.NetworkAttachment;
import io.jswarm.api.NetworkAttachmentConfig;
import io.jswarm.api.Node;
import io.jswarm.api.NodeState;
import io.jswarm.api.PortConfig;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.manager.NodeInfos;
import io.jswarm.manager.network.NetworkAllocator;
import io.jswarm.scheduler.Constraint;
import io.jswarm.scheduler.Decision;
import io.jswarm.scheduler.NodeInfo;
import io.jswarm.scheduler.NodeLoad;
import io.jswarm.scheduler.Scheduler;
import io.jswarm.scheduler.TaskRequest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The allocator and the scheduler loop in one pass: new tasks get an address on each of
 * their networks (NEW becomes PENDING; a task whose network has no address left stays
 * NEW with the reason) and every pending task is offered to the scheduler. Placed tasks
 * become ASSIGNED; the others stay PENDING with the reason.
 */
public final class SchedulingPass {
    private SchedulingPass() {}

    public static List<Task> run(Collection<Task> tasks, Map<String, Node> nodes, Map<String, Service> services, long now) {
        return run(tasks, nodes, services, Map.of(), new NetworkAllocator.Addresses(c -> false), now);
    }

    public static List<Task> run(Collection<Task> tasks, Map<String, Node> nodes, Map<String, Service> services,
            Map<String, Network> networks, NetworkAllocator.Addresses addresses, long now) {
        List<NodeInfo> infos = new ArrayList<>(nodes.size());
        for (Node n : nodes.values()) {
            infos.add(NodeInfos.of(n));
        }
        Map<String, NodeLoad> loads = new HashMap<>();
        Map<String, Task> pending = new HashMap<>();
        List<TaskRequest> requests = new ArrayList<>();
        List<Task> out = new ArrayList<>();
        for (Task t : tasks) {
            TaskState s = t.getStatus().getState();
            if (s.getNumber() >= TaskState.ASSIGNED_VALUE) {
                if (!Tasks.terminal(s) && !t.getNodeId().isEmpty()) {
                    var r = t.getSpec().getResources().getReservations();
                    loads.computeIfAbsent(t.getNodeId(), k -> new NodeLoad())
                            .add(t.getServiceId(), r.getNanoCpus(), r.getMemoryBytes(), hostPorts(services.get(t.getServiceId())));
                }
                continue;
            }
            if (!Tasks.holdsSlot(t)) {
                continue;  // never started and no longer wanted: the reaper takes it
            }
            if (s == TaskState.NEW && t.getNetworksCount() < t.getSpec().getNetworksCount() + (usesMesh(t) ? 1 : 0)) {
                Task allocated = allocate(t, networks, addresses, now);
                if (allocated.getStatus().getState() == TaskState.NEW) {
                    if (!allocated.getStatus().getErr().equals(t.getStatus().getErr())) {
                        out.add(allocated);
                    }
                    continue;
                }
                t = allocated;
            }
            if (!t.getNodeId().isEmpty()) {
                // Global tasks come with their node: only check that it is up.
                Node n = nodes.get(t.getNodeId());
                if (n != null && n.getStatus().getState() == NodeState.NODE_READY) {
                    out.add(assigned(t, t.getNodeId(), now));
                } else {
                    out.addAll(pendingIfChanged(t, "node " + t.getNodeId() + " is not ready", now));
                }
                continue;
            }
            Service svc = services.get(t.getServiceId());
            if (svc == null) {
                continue;
            }
            pending.put(t.getMeta().getId(), t);
            var spec = t.getSpec();
            var r = spec.getResources().getReservations();
            List<String> prefs = new ArrayList<>();
            for (var p : spec.getPlacement().getPreferencesList()) {
                prefs.add(p.getSpread());
            }
            requests.add(new TaskRequest(t.getMeta().getId(), t.getServiceId(), t.getServiceId() + "@" + t.getSpecVersion(),
                    r.getNanoCpus(), r.getMemoryBytes(), Constraint.parseAll(spec.getPlacement().getConstraintsList()), prefs,
                    spec.getPlacement().getMaxReplicas(), hostPorts(svc)));
        }
        if (!requests.isEmpty()) {
            for (Decision d : new Scheduler(infos, loads).schedule(requests)) {
                Task t = pending.get(d.taskId());
                if (d.placed()) {
                    out.add(assigned(t, d.nodeId(), now));
                } else {
                    out.addAll(pendingIfChanged(t, d.reason(), now));
                }
            }
        }
        return out;
    }

    /** A task whose service publishes ports through the routing mesh is on the ingress network too (last). */
    static boolean usesMesh(Task t) {
        return !io.jswarm.api.PublishedPorts.mesh(t.getEndpoint()).isEmpty();
    }

    /**
     * The task with an address on each network of its spec (and on the ingress network
     * when it serves the routing mesh), PENDING; or still NEW with the reason it cannot have one.
     */
    static Task allocate(Task t, Map<String, Network> networks, NetworkAllocator.Addresses addresses, long now) {
        Task.Builder b = t.toBuilder().clearNetworks();
        List<NetworkAttachmentConfig> wanted = new ArrayList<>(t.getSpec().getNetworksList());
        if (usesMesh(t)) {
            Network ingress = networks.values().stream().filter(n -> n.getSpec().getIngress()).findFirst().orElse(null);
            wanted.add(NetworkAttachmentConfig.newBuilder()
                    .setTarget(ingress == null ? NetworkAllocator.INGRESS : ingress.getMeta().getId()).build());
        }
        for (NetworkAttachmentConfig a : wanted) {
            Network n = networks.get(a.getTarget());
            String addr = n == null ? null : addresses.next(n);
            if (addr == null) {
                String why = n == null ? "network " + a.getTarget() + " not found"
                        : "no free address on network " + n.getSpec().getAnnotations().getName() + " (" + n.getIpam(0).getSubnet() + ")";
                return t.toBuilder().setStatus(t.getStatus().toBuilder().setTimestampMs(now).setMessage("allocating").setErr(why)).build();
            }
            b.addNetworks(NetworkAttachment.newBuilder().setNetworkId(n.getMeta().getId()).setNetworkName(n.getSpec().getAnnotations().getName())
                    .addAddresses(addr).addAllAliases(a.getAliasesList()));
        }
        return b.setStatus(t.getStatus().toBuilder().setState(TaskState.PENDING).setTimestampMs(now).setMessage("allocated").setErr(""))
                .build();
    }

    static Set<String> hostPorts(Service s) {
        if (s == null) {
            return Set.of();
        }
        Set<String> out = new HashSet<>();
        for (PortConfig p : s.getSpec().getEndpoint().getPortsList()) {
            if (p.getPublishMode() == PortConfig.PublishMode.HOST && p.getPublishedPort() != 0) {
                out.add(p.getProtocol().name().toLowerCase() + "/" + p.getPublishedPort());
            }
        }
        return out;
    }

    private static Task assigned(Task t, String nodeId, long now) {
        return t.toBuilder().setNodeId(nodeId)
                .setStatus(t.getStatus().toBuilder().setState(TaskState.ASSIGNED).setTimestampMs(now)
                        .setMessage("scheduler assigned task to node").setErr(""))
                .setMeta(t.getMeta().toBuilder().setUpdatedAtMs(now)).build();
    }

    private static List<Task> pendingIfChanged(Task t, String reason, long now) {
        if (t.getStatus().getState() == TaskState.PENDING && t.getStatus().getErr().equals(reason)) {
            return List.of();
        }
        return List.of(t.toBuilder()
                .setStatus(t.getStatus().toBuilder().setState(TaskState.PENDING).setTimestampMs(now)
                        .setMessage("pending task scheduling").setErr(reason))
                .setMeta(t.getMeta().toBuilder().setUpdatedAtMs(now)).build());
    }
}
