package io.jswarm.cli.engine;

import io.jswarm.api.Annotations;
import io.jswarm.api.CaConfig;
import io.jswarm.api.Cluster;
import io.jswarm.api.ClusterSpec;
import io.jswarm.api.DispatcherConfig;
import io.jswarm.api.OrchestrationConfig;
import io.jswarm.api.control.GetClusterRequest;
import io.jswarm.api.control.GetUnlockKeyRequest;
import io.jswarm.api.control.UnlockRequest;
import io.jswarm.api.control.UpdateClusterRequest;
import io.jswarm.api.local.LeaveNodeRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;

/**
 * {@code /swarm} and what changes it: the swarm's spec ({@code docker swarm update}), its
 * unlock key, leaving. A node of jswarm is in a cluster from the moment swarmd starts (it
 * initialises one, or joins with a token), so init and join find it in one already, as
 * dockerd answers a node that is; unless it was started with swarmd --inactive and waits
 * for them ({@link WaitingNode}).
 */
final class SwarmSpecEndpoints {
    private static final String IN_A_SWARM = "This node is already part of a swarm. Use \"docker swarm leave\" to leave"
            + " this swarm and join another one. (A jswarm node joins or initialises a swarm when swarmd starts:"
            + " swarmd --join-addr ... --join-token ...)";

    private final ControlClient control;
    /** Over TCP the unlock key is not shown: as on the Control API, only on a manager's own socket. */
    private final boolean unixSocket;

    private final SwarmEndpoints.LocalNode node;
    /** swarmd --inactive: what takes init and join while the node is in no swarm; else null. */
    private final WaitingNode waiting;

    SwarmSpecEndpoints(ControlClient control, boolean unixSocket, SwarmEndpoints.LocalNode node, WaitingNode waiting) {
        this.control = control;
        this.unixSocket = unixSocket;
        this.node = node;
        this.waiting = waiting;
    }

    void register(EngineApi api) {
        api.route(HttpMethod.GET, "/swarm", c -> Reply.json(DockerObjects.swarm(cluster(), true)));
        api.route(HttpMethod.POST, "/swarm/init", c -> {
            if (waiting != null && node.nodeId() == null) {
                return waiting.init(c);
            }
            throw new EngineError(503, IN_A_SWARM);
        });
        api.route(HttpMethod.POST, "/swarm/join", c -> {
            if (waiting != null && node.nodeId() == null) {
                return waiting.join(c);
            }
            throw new EngineError(503, IN_A_SWARM);
        });
        api.route(HttpMethod.POST, "/swarm/leave", c -> {
            control.local().leave(LeaveNodeRequest.newBuilder().setForce(c.flag("force")).build());
            return Reply.empty(200);
        });
        api.route(HttpMethod.POST, "/swarm/update", this::update);
        api.route(HttpMethod.GET, "/swarm/unlockkey", c -> {
            if (!unixSocket) {
                throw new EngineError(403, "the unlock key is shown on a manager's own socket only (STATE_DIR/docker.sock"
                        + " or swarmctl cluster unlock-key there)");
            }
            return Reply.json(new JsonObject().put("UnlockKey",
                    control.stub().getUnlockKey(GetUnlockKeyRequest.getDefaultInstance()).getUnlockKey()));
        });
        api.route(HttpMethod.POST, "/swarm/unlock", c -> {
            SpecReader r = SpecReader.of(c.body(), "unlock request");
            String key = r.str("UnlockKey");
            r.done();
            control.stub().unlock(UnlockRequest.newBuilder().setUnlockKey(key).build());
            return Reply.empty(200);
        });
    }

    private Cluster cluster() {
        return control.stub().getCluster(GetClusterRequest.getDefaultInstance()).getCluster();
    }

    /** {@code POST /swarm/update?version=N}: the spec as GET /swarm showed it, edited. */
    private Reply update(Call c) {
        long version = c.version();
        if (c.flag("rotateManagerUnlockKey")) {
            throw EngineError.badRequest("rotateManagerUnlockKey: jswarm cannot rotate the unlock key yet (turn autolock"
                    + " off and on again for a new key)");
        }
        SpecReader r = SpecReader.of(c.body(), "swarm spec");
        Cluster cur = cluster();
        ClusterSpec.Builder spec = cur.getSpec().toBuilder();
        String name = r.str("Name");
        spec.setAnnotations(Annotations.newBuilder().setName(name.equals("default") ? "" : name).putAllLabels(r.labels("Labels")));
        // A value as GET /swarm showed it (defaults included) changes nothing: only what differs is set.
        JsonObject shown = DockerObjects.swarm(cur, false).getJsonObject("Spec");
        SpecReader o = r.obj("Orchestration");
        long history = o.num("TaskHistoryRetentionLimit");
        if (o.has("TaskHistoryRetentionLimit")
                && history != shown.getJsonObject("Orchestration").getLong("TaskHistoryRetentionLimit")) {
            spec.setOrchestration(OrchestrationConfig.newBuilder().setTaskHistoryRetentionLimit(history));
        }
        SpecReader d = r.obj("Dispatcher");
        long heartbeat = d.unsigned("HeartbeatPeriod");
        if (d.has("HeartbeatPeriod") && heartbeat != shown.getJsonObject("Dispatcher").getLong("HeartbeatPeriod")) {
            spec.setDispatcher(DispatcherConfig.newBuilder().setHeartbeatPeriod(DockerSpecs.ofNanos(heartbeat)));
        }
        SpecReader ca = r.obj("CAConfig");
        long expiry = ca.unsigned("NodeCertExpiry");
        if (ca.has("NodeCertExpiry") && expiry != shown.getJsonObject("CAConfig").getLong("NodeCertExpiry")) {
            spec.setCaConfig(CaConfig.newBuilder().setNodeCertExpiry(DockerSpecs.ofNanos(expiry)));
        }
        // docker swarm ca --rotate raises ForceRotate; GET /swarm shows 0
        boolean rotateCa = ca.unsigned("ForceRotate") > 0;
        spec.setAutolock(r.obj("EncryptionConfig").bool("AutoLockManagers"));
        r.done();
        control.stub().updateCluster(UpdateClusterRequest.newBuilder().setClusterVersion(version).setSpec(spec)
                .setRotateWorkerToken(c.flag("rotateWorkerToken")).setRotateManagerToken(c.flag("rotateManagerToken"))
                .setRotateCa(rotateCa).build());
        return Reply.empty(200);
    }
}
