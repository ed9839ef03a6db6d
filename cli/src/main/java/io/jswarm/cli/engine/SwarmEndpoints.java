package io.jswarm.cli.engine;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.Cluster;
import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.CreateServiceResponse;
import io.jswarm.api.control.GetClusterRequest;
import io.jswarm.api.control.GetNodeRequest;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.GetTaskRequest;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListServicesResponse;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.control.RemoveNodeRequest;
import io.jswarm.api.control.RemoveServiceRequest;
import io.jswarm.api.control.ServiceReplicaStatus;
import io.jswarm.api.control.UpdateNodeRequest;
import io.jswarm.api.control.UpdateServiceRequest;
import io.jswarm.api.control.UpdateServiceResponse;
import io.jswarm.cli.ControlClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The swarm endpoints of the Engine API, each translated onto one or a few Control API
 * calls: the swarm and the node's view of it, nodes, services, tasks.
 */
public final class SwarmEndpoints {
    /** What the Engine API tells of the node it runs on. */
    public interface LocalNode {
        /** Null while the node is in no swarm (swarmd --inactive, before docker swarm init or join). */
        String nodeId();

        /** A manager restarted with autolock on, waiting for its unlock key: it serves nothing else. */
        boolean locked();

        String hostname();

        /** The address other nodes reach this one at (host only). */
        String addr();

        /** The managers as the node's session last named them (a worker's RemoteManagers). */
        List<io.jswarm.api.dispatcher.ManagerPeer> managers();
    }

    private static final Set<String> SERVICE_FILTERS = Set.of("id", "label", "mode", "name");
    private static final Set<String> TASK_FILTERS = Set.of("desired-state", "id", "label", "name", "node", "service",
            "_up-to-date");
    private static final Set<String> NODE_FILTERS = Set.of("id", "label", "membership", "name", "node.label", "role");

    private final ControlClient control;
    private final LocalNode node;

    SwarmEndpoints(ControlClient control, LocalNode node) {
        this.control = control;
        this.node = node;
    }

    void register(EngineApi api) {
        api.route(HttpMethod.GET, "/version", c -> Reply.json(version()));
        api.route(HttpMethod.GET, "/info", c -> Reply.json(info()));
        api.route(HttpMethod.GET, "/nodes", this::listNodes);
        api.route(HttpMethod.GET, "/nodes/([^/]+)", c -> Reply.json(DockerObjects.node(
                control.stub().getNode(GetNodeRequest.newBuilder().setNodeId(c.param(1)).build()).getNode())));
        api.route(HttpMethod.POST, "/nodes/([^/]+)/update", this::updateNode);
        api.route(HttpMethod.DELETE, "/nodes/([^/]+)", c -> {
            control.stub().removeNode(RemoveNodeRequest.newBuilder().setNodeId(c.param(1)).setForce(c.flag("force")).build());
            return Reply.empty(200);
        });
        api.route(HttpMethod.GET, "/services", this::listServices);
        api.route(HttpMethod.POST, "/services/create", this::createService);
        api.route(HttpMethod.GET, "/services/([^/]+)", c -> Reply.json(DockerObjects.service(service(c.param(1)), null)));
        api.route(HttpMethod.POST, "/services/([^/]+)/update", this::updateService);
        api.route(HttpMethod.DELETE, "/services/([^/]+)", c -> {
            control.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(c.param(1)).build());
            return Reply.empty(200);
        });
        api.route(HttpMethod.GET, "/tasks", this::listTasks);
        api.route(HttpMethod.GET, "/tasks/([^/]+)", c -> Reply.json(DockerObjects.task(
                control.stub().getTask(GetTaskRequest.newBuilder().setTaskId(c.param(1)).build()).getTask())));
    }

    // ------------------------------------------------------------------ the engine and the swarm

    private static JsonObject version() {
        String kernel = System.getProperty("os.version");
        String arch = System.getProperty("os.arch");
        JsonObject details = new JsonObject().put("ApiVersion", EngineApi.API_VERSION).put("MinAPIVersion", "1." + EngineApi.MIN_MINOR)
                .put("Os", "linux").put("Arch", arch).put("KernelVersion", kernel).put("GitCommit", "")
                .put("GoVersion", "java " + System.getProperty("java.version"));
        return new JsonObject().put("Platform", new JsonObject().put("Name", "jswarm"))
                .put("Components", new JsonArray().add(new JsonObject().put("Name", "Engine")
                        .put("Version", io.jswarm.cli.LocalNode.VERSION).put("Details", details)))
                .put("Version", io.jswarm.cli.LocalNode.VERSION).put("ApiVersion", EngineApi.API_VERSION)
                .put("MinAPIVersion", "1." + EngineApi.MIN_MINOR).put("GitCommit", "")
                .put("GoVersion", "java " + System.getProperty("java.version")).put("Os", "linux").put("Arch", arch)
                .put("KernelVersion", kernel);
    }

    private Cluster cluster() {
        return control.stub().getCluster(GetClusterRequest.getDefaultInstance()).getCluster();
    }

    /** The Swarm block of a node in a swarm: the cluster on a manager, the managers it knows on a worker. */
    private JsonObject activeSwarm() {
        JsonObject swarm = new JsonObject().put("NodeID", node.nodeId()).put("NodeAddr", node.addr())
                .put("LocalNodeState", "active").put("Error", "");
        try {
            Cluster c = cluster();
            List<Node> nodes = control.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList();
            JsonArray remotes = new JsonArray();
            int managers = 0;
            for (Node n : nodes) {
                if (n.hasManagerStatus()) {
                    managers++;
                    remotes.add(new JsonObject().put("NodeID", n.getMeta().getId()).put("Addr", n.getManagerStatus().getAddr()));
                }
            }
            swarm.put("ControlAvailable", true).put("RemoteManagers", remotes).put("Nodes", nodes.size())
                    .put("Managers", managers).put("Cluster", DockerObjects.swarm(c, false));
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.UNIMPLEMENTED) {
                swarm.put("Error", EngineError.from(e).getMessage());
            }
            // A worker (or a manager without a leader) names the managers it knows, as a Docker worker does.
            JsonArray remotes = new JsonArray();
            for (io.jswarm.api.dispatcher.ManagerPeer p : node.managers()) {
                remotes.add(new JsonObject().put("NodeID", p.getNodeId()).put("Addr", p.getAddr()));
            }
            swarm.put("ControlAvailable", false).put("RemoteManagers", remotes);
        }
        return swarm;
    }

    /** {@code GET /info}: the host and the swarm as this node sees it (a worker sees no cluster state). */
    private JsonObject info() {
        JsonObject swarm = node.nodeId() == null
                // swarmd --inactive, before docker swarm init or join
                ? new JsonObject().put("NodeID", "").put("NodeAddr", "").put("LocalNodeState", "inactive").put("Error", "")
                        .put("ControlAvailable", false).putNull("RemoteManagers")
                : node.locked()
                // what docker swarm unlock looks for before it asks for the key
                ? new JsonObject().put("NodeID", node.nodeId()).put("NodeAddr", node.addr()).put("LocalNodeState", "locked")
                        .put("Error", "").put("ControlAvailable", false).putNull("RemoteManagers")
                : activeSwarm();
        Runtime rt = Runtime.getRuntime();
        return new JsonObject().put("ID", node.nodeId() == null ? "" : node.nodeId()).put("Name", node.hostname())
                .put("Containers", 0).put("ContainersRunning", 0).put("ContainersPaused", 0).put("ContainersStopped", 0)
                .put("Images", 0).put("Driver", "overlay").put("ServerVersion", io.jswarm.cli.LocalNode.VERSION)
                .put("OSType", "linux").put("OperatingSystem", "jswarm " + io.jswarm.cli.LocalNode.VERSION)
                .put("Architecture", System.getProperty("os.arch")).put("KernelVersion", System.getProperty("os.version"))
                .put("NCPU", rt.availableProcessors()).put("Labels", new JsonArray()).put("ExperimentalBuild", false)
                .put("SecurityOptions", new JsonArray()).put("Swarm", swarm);
    }

    // ------------------------------------------------------------------ nodes

    private Reply listNodes(Call c) {
        Filters f = Filters.parse(c.query("filters"), NODE_FILTERS);
        JsonArray out = new JsonArray();
        for (Node n : control.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList()) {
            String role = n.getSpec().getDesiredRole().name().toLowerCase(Locale.ROOT);
            boolean named = !f.has("name") || f.get("name").stream().anyMatch(p ->
                    n.getSpec().getAnnotations().getName().startsWith(p) || n.getDescription().getHostname().startsWith(p));
            if (f.prefixMatch("id", n.getMeta().getId()) && named && (!f.has("role") || f.get("role").contains(role))
                    && (!f.has("membership") || f.get("membership").contains("accepted"))
                    && f.labelsMatch("label", n.getDescription().getEngineLabelsMap())
                    && f.labelsMatch("node.label", n.getSpec().getAnnotations().getLabelsMap())) {
                out.add(DockerObjects.node(n));
            }
        }
        return Reply.json(out);
    }

    private Reply updateNode(Call c) {
        long version = c.version();
        SpecReader r = SpecReader.of(c.body(), "node spec");
        NodeSpec.Builder spec = NodeSpec.newBuilder().setAnnotations(io.jswarm.api.Annotations.newBuilder()
                .setName(r.str("Name")).putAllLabels(r.labels("Labels")));
        String role = r.str("Role");
        spec.setDesiredRole(switch (role) {
            case "worker" -> NodeRole.WORKER;
            case "manager" -> NodeRole.MANAGER;
            default -> throw EngineError.badRequest("invalid value for Role: \"" + role + "\" (expected worker or manager)");
        });
        String availability = r.str("Availability");
        spec.setAvailability(switch (availability) {
            case "active" -> NodeAvailability.ACTIVE;
            case "pause" -> NodeAvailability.PAUSE;
            case "drain" -> NodeAvailability.DRAIN;
            default -> throw EngineError.badRequest("invalid value for Availability: \"" + availability
                    + "\" (expected active, pause or drain)");
        });
        r.done();
        control.stub().updateNode(UpdateNodeRequest.newBuilder().setNodeId(c.param(1)).setNodeVersion(version)
                .setSpec(spec).build());
        return Reply.empty(200);
    }

    // ------------------------------------------------------------------ services

    private Service service(String ref) {
        return control.stub().getService(GetServiceRequest.newBuilder().setServiceId(ref).build()).getService();
    }

    private Reply listServices(Call c) {
        Filters f = Filters.parse(c.query("filters"), SERVICE_FILTERS);
        for (String mode : f.get("mode")) {
            if (!mode.equals("replicated") && !mode.equals("global")) {
                throw EngineError.badRequest("Invalid filter: 'mode'='" + mode + "'");
            }
        }
        ListServicesResponse resp = control.stub().listServices(ListServicesRequest.getDefaultInstance());
        Map<String, ServiceReplicaStatus> statuses = new HashMap<>();
        resp.getStatusesList().forEach(s -> statuses.put(s.getServiceId(), s));
        boolean status = c.flag("status");
        JsonArray out = new JsonArray();
        for (Service s : resp.getServicesList()) {
            String mode = s.getSpec().hasGlobal() ? "global" : "replicated";
            if (f.prefixMatch("id", s.getMeta().getId()) && f.prefixMatch("name", s.getSpec().getAnnotations().getName())
                    && (!f.has("mode") || f.get("mode").contains(mode))
                    && f.labelsMatch("label", s.getSpec().getAnnotations().getLabelsMap())) {
                out.add(DockerObjects.service(s, status ? statuses.getOrDefault(s.getMeta().getId(),
                        ServiceReplicaStatus.getDefaultInstance()) : null));
            }
        }
        return Reply.json(out);
    }

    private Reply createService(Call c) {
        Distribution.refuseCredentials(c);
        SpecReader r = SpecReader.of(c.body(), "service spec");
        ServiceSpec spec = DockerSpecs.serviceSpec(r);
        r.done();
        CreateServiceResponse resp = control.stub().createService(CreateServiceRequest.newBuilder().setSpec(spec).build());
        return new Reply(201, new JsonObject().put("ID", resp.getService().getMeta().getId())
                .put("Warnings", warnings(resp.getWarningsList())));
    }

    private Reply updateService(Call c) {
        long version = c.version();
        String rollback = c.query("rollback");
        if (rollback != null && !rollback.isEmpty() && !rollback.equals("previous")) {
            throw EngineError.badRequest("invalid value for rollback: \"" + rollback + "\" (expected previous)");
        }
        String authFrom = c.query("registryAuthFrom");
        if (authFrom != null && !authFrom.isEmpty() && !authFrom.equals("spec") && !authFrom.equals("previous-spec")) {
            throw EngineError.badRequest("invalid value for registryAuthFrom: \"" + authFrom
                    + "\" (expected spec or previous-spec)");
        }
        Distribution.refuseCredentials(c);
        SpecReader r = SpecReader.of(c.body(), "service spec");
        ServiceSpec spec = DockerSpecs.serviceSpec(r);
        r.done();
        UpdateServiceRequest.Builder req = UpdateServiceRequest.newBuilder().setServiceId(c.param(1))
                .setServiceVersion(version);
        if ("previous".equals(rollback)) {
            req.setRollback(true);
        } else {
            req.setSpec(spec);
        }
        UpdateServiceResponse resp = control.stub().updateService(req.build());
        return Reply.json(new JsonObject().put("Warnings", warnings(resp.getWarningsList())));
    }

    private static Object warnings(List<String> w) {
        return w.isEmpty() ? null : new JsonArray(List.copyOf(w));
    }

    // ------------------------------------------------------------------ tasks

    private Reply listTasks(Call c) {
        Filters f = Filters.parse(c.query("filters"), TASK_FILTERS);
        ListTasksRequest.Builder req = ListTasksRequest.newBuilder().addAllServiceIds(f.get("service"))
                .addAllNodeIds(f.get("node"));
        for (String s : f.get("desired-state")) {
            req.addDesiredStates(switch (s) {
                case "running" -> TaskState.RUNNING;
                case "shutdown" -> TaskState.SHUTDOWN;
                case "accepted" -> TaskState.ACCEPTED;
                default -> throw EngineError.badRequest("Invalid task desired state: " + s);
            });
        }
        List<Task> tasks = new ArrayList<>();
        control.stub().streamTasks(req.build()).forEachRemaining(p -> tasks.addAll(p.getTasksList()));
        // the label and _up-to-date filters need the services: labels are the service's (docker stack ps)
        Map<String, Service> services = new HashMap<>();
        if (f.has("label") || f.has("_up-to-date")) {
            control.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesList()
                    .forEach(s -> services.put(s.getMeta().getId(), s));
        }
        List<Task> out = new ArrayList<>();
        for (Task t : tasks) {
            Service s = services.get(t.getServiceId());
            if (!f.prefixMatch("id", t.getMeta().getId()) || !f.prefixMatch("name", t.getAnnotations().getName())) {
                continue;
            }
            if (f.has("label") && (s == null || !f.labelsMatch("label", s.getSpec().getAnnotations().getLabelsMap()))) {
                continue;
            }
            if (f.has("_up-to-date") && (s == null || t.getSpecVersion() != s.getSpecVersion())) {
                continue;
            }
            out.add(t);
        }
        return Reply.json(DockerObjects.tasks(out, true));
    }

    // ------------------------------------------------------------------ parameters
}
