package io.jswarm.cli.engine;

import io.jswarm.api.Cluster;
import io.jswarm.api.Meta;
import io.jswarm.api.NetworkAttachment;
import io.jswarm.api.Node;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ServiceReplicaStatus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** jswarm's stored objects in the shapes of Docker's API 1.41 (moby's swagger.yaml). */
final class DockerObjects {
    private DockerObjects() {}

    /** RFC 3339 as Docker writes it; Go's zero time for "never". */
    static String time(long ms) {
        return ms <= 0 ? "0001-01-01T00:00:00Z" : Instant.ofEpochMilli(ms).toString();
    }

    private static JsonObject meta(Meta m) {
        return new JsonObject().put("ID", m.getId()).put("Version", new JsonObject().put("Index", m.getVersion()))
                .put("CreatedAt", time(m.getCreatedAtMs())).put("UpdatedAt", time(m.getUpdatedAtMs()));
    }

    static JsonObject service(Service s, ServiceReplicaStatus status) {
        JsonObject o = meta(s.getMeta()).put("Spec", DockerSpecs.serviceSpec(s.getSpec()));
        if (s.hasPreviousSpec()) {
            o.put("PreviousSpec", DockerSpecs.serviceSpec(s.getPreviousSpec()));
        }
        JsonObject endpoint = new JsonObject().put("Spec", DockerSpecs.endpointSpec(s.getEndpoint().getSpec()));
        if (s.getEndpoint().getPortsCount() > 0) {
            endpoint.put("Ports", DockerSpecs.ports(s.getEndpoint().getPortsList()));
        }
        if (s.getEndpoint().getVirtualIpsCount() > 0) {
            JsonArray vips = new JsonArray();
            s.getEndpoint().getVirtualIpsList().forEach(v -> vips.add(new JsonObject().put("NetworkID", v.getNetworkId())
                    .put("Addr", v.getAddr())));
            endpoint.put("VirtualIPs", vips);
        }
        o.put("Endpoint", endpoint);
        if (s.hasUpdateStatus() && s.getUpdateStatus().getState() != io.jswarm.api.UpdateStatus.State.UNKNOWN) {
            var u = s.getUpdateStatus();
            JsonObject j = new JsonObject().put("State", u.getState().name().toLowerCase(Locale.ROOT))
                    .put("StartedAt", time(u.getStartedAtMs())).put("Message", u.getMessage());
            if (u.getCompletedAtMs() > 0) {
                j.put("CompletedAt", time(u.getCompletedAtMs()));
            }
            o.put("UpdateStatus", j);
        }
        if (status != null) {
            o.put("ServiceStatus", new JsonObject().put("RunningTasks", status.getRunningTasks())
                    .put("DesiredTasks", status.getDesiredTasks()).put("CompletedTasks", 0));
        }
        return o;
    }

    static String state(TaskState s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    static JsonObject task(Task t) {
        JsonObject o = meta(t.getMeta()).put("Name", t.getAnnotations().getName())
                .put("Labels", new JsonObject((Map) t.getAnnotations().getLabelsMap()))
                .put("Spec", DockerSpecs.taskSpec(t.getSpec())).put("ServiceID", t.getServiceId());
        if (t.getSlot() > 0) {
            o.put("Slot", t.getSlot());
        }
        if (!t.getNodeId().isEmpty()) {
            o.put("NodeID", t.getNodeId());
        }
        var st = t.getStatus();
        JsonObject status = new JsonObject().put("Timestamp", time(st.getTimestampMs())).put("State", state(st.getState()))
                .put("Message", st.getMessage());
        if (!st.getErr().isEmpty()) {
            status.put("Err", st.getErr());
        }
        if (st.hasContainer() && !st.getContainer().getContainerId().isEmpty()) {
            status.put("ContainerStatus", new JsonObject().put("ContainerID", st.getContainer().getContainerId())
                    .put("PID", st.getContainer().getPid()).put("ExitCode", st.getContainer().getExitCode()));
        }
        status.put("PortStatus", st.getPortStatus().getPortsCount() == 0 ? new JsonObject()
                : new JsonObject().put("Ports", DockerSpecs.ports(st.getPortStatus().getPortsList())));
        o.put("Status", status).put("DesiredState", state(t.getDesiredState()));
        if (t.getNetworksCount() > 0) {
            JsonArray a = new JsonArray();
            for (NetworkAttachment n : t.getNetworksList()) {
                a.add(new JsonObject().put("Network", new JsonObject().put("ID", n.getNetworkId())
                        .put("Spec", new JsonObject().put("Name", n.getNetworkName())))
                        .put("Addresses", new JsonArray(List.copyOf(n.getAddressesList()))));
            }
            o.put("NetworksAttachments", a);
        }
        return o;
    }

    static JsonObject node(Node n) {
        var spec = n.getSpec();
        JsonObject o = meta(n.getMeta()).put("Spec", new JsonObject().put("Name", spec.getAnnotations().getName())
                .put("Labels", new JsonObject((Map) spec.getAnnotations().getLabelsMap()))
                .put("Role", spec.getDesiredRole().name().toLowerCase(Locale.ROOT))
                .put("Availability", spec.getAvailability().name().toLowerCase(Locale.ROOT)));
        var d = n.getDescription();
        o.put("Description", new JsonObject().put("Hostname", d.getHostname())
                .put("Platform", new JsonObject().put("Architecture", d.getPlatform().getArchitecture())
                        .put("OS", d.getPlatform().getOs()))
                .put("Resources", new JsonObject().put("NanoCPUs", d.getResources().getNanoCpus())
                        .put("MemoryBytes", d.getResources().getMemoryBytes()))
                .put("Engine", new JsonObject().put("EngineVersion", "jswarm " + d.getVersion())
                        .put("Labels", new JsonObject((Map) d.getEngineLabelsMap()))));
        String addr = n.getStatus().getAddr();
        int colon = addr.lastIndexOf(':');
        o.put("Status", new JsonObject().put("State", switch (n.getStatus().getState()) {
            case NODE_READY -> "ready";
            case NODE_DOWN -> "down";
            case NODE_DISCONNECTED -> "disconnected";
            default -> "unknown";
        }).put("Message", n.getStatus().getMessage()).put("Addr", colon > 0 ? addr.substring(0, colon) : addr));
        if (n.hasManagerStatus()) {
            var m = n.getManagerStatus();
            JsonObject ms = new JsonObject().put("Reachability", switch (m.getReachability()) {
                case REACHABLE -> "reachable";
                case UNREACHABLE -> "unreachable";
                default -> "unknown";
            }).put("Addr", m.getAddr());
            if (m.getLeader()) {
                ms.put("Leader", true);
            }
            o.put("ManagerStatus", ms);
        }
        return o;
    }

    /** The swarm as {@code GET /swarm} and {@code /info} show it (no join tokens in /info). */
    static JsonObject swarm(Cluster c, boolean withTokens) {
        var spec = c.getSpec();
        JsonObject s = new JsonObject().put("Name", spec.getAnnotations().getName().isEmpty() ? "default"
                : spec.getAnnotations().getName()).put("Labels", new JsonObject((Map) spec.getAnnotations().getLabelsMap()))
                .put("Orchestration", new JsonObject().put("TaskHistoryRetentionLimit",
                        spec.hasOrchestration() ? spec.getOrchestration().getTaskHistoryRetentionLimit() : 5))
                .put("Raft", new JsonObject())
                .put("Dispatcher", new JsonObject().put("HeartbeatPeriod", spec.getDispatcher().hasHeartbeatPeriod()
                        ? DockerSpecs.nanos(spec.getDispatcher().getHeartbeatPeriod()) : 5_000_000_000L))
                .put("CAConfig", new JsonObject().put("NodeCertExpiry", spec.getCaConfig().hasNodeCertExpiry()
                        ? DockerSpecs.nanos(spec.getCaConfig().getNodeCertExpiry()) : 90L * 24 * 3600 * 1_000_000_000L))
                .put("EncryptionConfig", new JsonObject().put("AutoLockManagers", spec.getAutolock()))
                .put("TaskDefaults", new JsonObject());
        JsonObject o = meta(c.getMeta()).put("Spec", s)
                .put("TLSInfo", new JsonObject().put("TrustRoot", c.getRootCaPem()))
                .put("RootRotationInProgress", c.hasCaRotation())
                .put("DefaultAddrPool", new JsonArray(List.copyOf(c.getAddressPool().getPoolsList().isEmpty()
                        ? List.of("10.0.0.0/8") : c.getAddressPool().getPoolsList())))
                .put("SubnetSize", c.getAddressPool().getSubnetSize() == 0 ? 24 : c.getAddressPool().getSubnetSize());
        if (withTokens) {
            o.put("JoinTokens", new JsonObject().put("Worker", c.getJoinTokens().getWorker())
                    .put("Manager", c.getJoinTokens().getManager()));
        }
        return o;
    }
}
