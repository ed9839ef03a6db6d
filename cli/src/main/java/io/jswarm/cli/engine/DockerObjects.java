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
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** jswarm's stored objects in the shapes of Docker's API 1.41 (moby's swagger.yaml). */
final class DockerObjects {
    private DockerObjects() {}

    /** RFC 3339 as Docker writes it; Go's zero time for "never". */
    static String time(long ms) {
        if (ms <= 0) {
            return "0001-01-01T00:00:00Z";
        }
        // by hand: Instant.toString was a fifth of a 10,000-task listing (three stamps a task)
        java.time.LocalDateTime d = java.time.LocalDateTime.ofEpochSecond(Math.floorDiv(ms, 1000), 0, java.time.ZoneOffset.UTC);
        char[] c = "0000-00-00T00:00:00.000Z".toCharArray();
        digits(c, 0, d.getYear(), 4);
        digits(c, 5, d.getMonthValue(), 2);
        digits(c, 8, d.getDayOfMonth(), 2);
        digits(c, 11, d.getHour(), 2);
        digits(c, 14, d.getMinute(), 2);
        digits(c, 17, d.getSecond(), 2);
        digits(c, 20, (int) Math.floorMod(ms, 1000), 3);
        return new String(c);
    }

    private static void digits(char[] c, int at, int v, int n) {
        for (int i = at + n - 1; i >= at; i--) {
            c[i] = (char) ('0' + v % 10);
            v /= 10;
        }
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
        return new JsonObject(tasks(List.of(t), false));
    }

    private static final com.fasterxml.jackson.core.JsonFactory JSON = new com.fasterxml.jackson.core.JsonFactory();

    /**
     * Tasks written straight to JSON ({@code GET /tasks} at 10,000 tasks: building a tree
     * of Vert.x objects and encoding it took about 50 ms, most of the reply's time), as one
     * array or, with {@code asArray} false, the one task alone. A listing writes one spec
     * per service and spec version, encoded once (the tasks of one version carry the same
     * spec; it is compared, to be sure).
     */
    static io.vertx.core.buffer.Buffer tasks(List<Task> tasks, boolean asArray) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(Math.max(1024, tasks.size() * 512));
        Map<String, Map.Entry<io.jswarm.api.TaskSpec, String>> specs = new java.util.HashMap<>();
        try (com.fasterxml.jackson.core.JsonGenerator g = JSON.createGenerator(bytes)) {
            if (asArray) {
                g.writeStartArray();
            }
            for (Task t : tasks) {
                String key = t.getServiceId() + ":" + t.getSpecVersion();
                var spec = specs.get(key);
                if (spec == null || !spec.getKey().equals(t.getSpec())) {
                    spec = Map.entry(t.getSpec(), DockerSpecs.taskSpec(t.getSpec()).encode());
                    specs.put(key, spec);
                }
                writeTask(g, t, spec.getValue());
            }
            if (asArray) {
                g.writeEndArray();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return io.vertx.core.buffer.Buffer.buffer(bytes.toByteArray());
    }

    private static void writeTask(com.fasterxml.jackson.core.JsonGenerator g, Task t, String spec) throws java.io.IOException {
        g.writeStartObject();
        g.writeStringField("ID", t.getMeta().getId());
        g.writeObjectFieldStart("Version");
        g.writeNumberField("Index", t.getMeta().getVersion());
        g.writeEndObject();
        g.writeStringField("CreatedAt", time(t.getMeta().getCreatedAtMs()));
        g.writeStringField("UpdatedAt", time(t.getMeta().getUpdatedAtMs()));
        g.writeStringField("Name", t.getAnnotations().getName());
        g.writeObjectFieldStart("Labels");
        for (var l : t.getAnnotations().getLabelsMap().entrySet()) {
            g.writeStringField(l.getKey(), l.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("Spec");
        g.writeRawValue(spec);
        g.writeStringField("ServiceID", t.getServiceId());
        if (t.getSlot() > 0) {
            g.writeNumberField("Slot", t.getSlot());
        }
        if (!t.getNodeId().isEmpty()) {
            g.writeStringField("NodeID", t.getNodeId());
        }
        var st = t.getStatus();
        g.writeObjectFieldStart("Status");
        g.writeStringField("Timestamp", time(st.getTimestampMs()));
        g.writeStringField("State", state(st.getState()));
        g.writeStringField("Message", st.getMessage());
        if (!st.getErr().isEmpty()) {
            g.writeStringField("Err", st.getErr());
        }
        if (st.hasContainer() && !st.getContainer().getContainerId().isEmpty()) {
            g.writeObjectFieldStart("ContainerStatus");
            g.writeStringField("ContainerID", st.getContainer().getContainerId());
            g.writeNumberField("PID", st.getContainer().getPid());
            g.writeNumberField("ExitCode", st.getContainer().getExitCode());
            g.writeEndObject();
        }
        g.writeObjectFieldStart("PortStatus");
        if (st.getPortStatus().getPortsCount() > 0) {
            g.writeFieldName("Ports");
            g.writeRawValue(DockerSpecs.ports(st.getPortStatus().getPortsList()).encode());
        }
        g.writeEndObject();
        g.writeEndObject();
        g.writeStringField("DesiredState", state(t.getDesiredState()));
        if (t.getNetworksCount() > 0) {
            g.writeArrayFieldStart("NetworksAttachments");
            for (NetworkAttachment n : t.getNetworksList()) {
                g.writeStartObject();
                g.writeObjectFieldStart("Network");
                g.writeStringField("ID", n.getNetworkId());
                g.writeObjectFieldStart("Spec");
                g.writeStringField("Name", n.getNetworkName());
                g.writeEndObject();
                g.writeEndObject();
                g.writeArrayFieldStart("Addresses");
                for (String a : n.getAddressesList()) {
                    g.writeString(a);
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
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
