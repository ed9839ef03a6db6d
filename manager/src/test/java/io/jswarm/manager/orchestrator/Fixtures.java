package io.jswarm.manager.orchestrator;

import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.GlobalService;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.NodeState;
import io.jswarm.api.NodeStatus;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.Resources;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/** Small builders for orchestrator tests. */
final class Fixtures {
    private Fixtures() {}

    static Service replicated(String name, long replicas) {
        return Service.newBuilder().setMeta(Meta.newBuilder().setId("svc-" + name).setVersion(1))
                .setSpec(ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName(name))
                        .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(ContainerSpec.newBuilder().setImage("r:5000/x:1")))
                        .setReplicated(ReplicatedService.newBuilder().setReplicas(replicas)))
                .setSpecVersion(1).build();
    }

    static Service global(String name) {
        return replicated(name, 0).toBuilder().setSpec(replicated(name, 0).getSpec().toBuilder()
                .setGlobal(GlobalService.getDefaultInstance())).build();
    }

    static Service withRestart(Service s, RestartPolicy p) {
        ServiceSpec.Builder b = s.getSpec().toBuilder();
        b.getTaskBuilder().setRestart(p);
        return s.toBuilder().setSpec(b).build();
    }

    static Node node(String id, NodeState state, NodeAvailability availability) {
        return Node.newBuilder().setMeta(Meta.newBuilder().setId(id).setVersion(1))
                .setSpec(NodeSpec.newBuilder().setAvailability(availability))
                .setDescription(NodeDescription.newBuilder().setHostname("h-" + id)
                        .setResources(Resources.newBuilder().setNanoCpus(2_000_000_000L).setMemoryBytes(1L << 32)))
                .setStatus(NodeStatus.newBuilder().setState(state)).build();
    }

    static Map<String, Node> nodes(Node... ns) {
        Map<String, Node> m = new LinkedHashMap<>();
        for (Node n : ns) {
            m.put(n.getMeta().getId(), n);
        }
        return m;
    }

    static Task task(Service s, long slot, String node, TaskState state, long createdAt) {
        Task t = Tasks.newTask(s, slot, node, createdAt);
        return t.toBuilder().setMeta(t.getMeta().toBuilder().setVersion(1))
                .setStatus(TaskStatus.newBuilder().setState(state).setTimestampMs(createdAt)).build();
    }
}
