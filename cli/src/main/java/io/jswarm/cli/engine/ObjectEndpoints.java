package io.jswarm.cli.engine;

import com.google.protobuf.ByteString;
import io.jswarm.api.Annotations;
import io.jswarm.api.Config;
import io.jswarm.api.ConfigSpec;
import io.jswarm.api.IPAMConfig;
import io.jswarm.api.Network;
import io.jswarm.api.NetworkSpec;
import io.jswarm.api.Secret;
import io.jswarm.api.SecretSpec;
import io.jswarm.api.control.CreateConfigRequest;
import io.jswarm.api.control.CreateNetworkRequest;
import io.jswarm.api.control.CreateNetworkResponse;
import io.jswarm.api.control.CreateSecretRequest;
import io.jswarm.api.control.GetConfigRequest;
import io.jswarm.api.control.GetNetworkRequest;
import io.jswarm.api.control.GetSecretRequest;
import io.jswarm.api.control.ListConfigsRequest;
import io.jswarm.api.control.ListNetworksRequest;
import io.jswarm.api.control.ListSecretsRequest;
import io.jswarm.api.control.RemoveConfigRequest;
import io.jswarm.api.control.RemoveNetworkRequest;
import io.jswarm.api.control.RemoveSecretRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

/** Networks, secrets and configs of the Engine API, translated onto the Control API. */
final class ObjectEndpoints {
    private static final Set<String> NETWORK_FILTERS = Set.of("dangling", "driver", "id", "label", "name", "scope", "type");
    private static final Set<String> SECRET_FILTERS = Set.of("id", "label", "name", "names");

    private final ControlClient control;

    ObjectEndpoints(ControlClient control) {
        this.control = control;
    }

    void register(EngineApi api) {
        api.route(HttpMethod.GET, "/networks", this::listNetworks);
        api.route(HttpMethod.POST, "/networks/create", this::createNetwork);
        api.route(HttpMethod.GET, "/networks/([^/]+)", c -> Reply.json(network(
                control.stub().getNetwork(GetNetworkRequest.newBuilder().setNetworkId(c.param(1)).build()).getNetwork())));
        api.route(HttpMethod.DELETE, "/networks/([^/]+)", this::removeNetwork);
        api.route(HttpMethod.GET, "/secrets", c -> {
            Filters f = Filters.parse(c.query("filters"), SECRET_FILTERS);
            JsonArray out = new JsonArray();
            for (Secret s : control.stub().listSecrets(ListSecretsRequest.getDefaultInstance()).getSecretsList()) {
                if (matches(f, s.getMeta().getId(), s.getSpec().getAnnotations())) {
                    out.add(secret(s));
                }
            }
            return Reply.json(out);
        });
        api.route(HttpMethod.POST, "/secrets/create", c -> {
            SpecReader r = SpecReader.of(c.body(), "secret spec");
            SecretSpec spec = SecretSpec.newBuilder().setAnnotations(annotations(r)).setData(data(r, "secret")).build();
            refuseDriverAndTemplating(r, "secret");
            r.done();
            Secret s = control.stub().createSecret(CreateSecretRequest.newBuilder().setSpec(spec).build()).getSecret();
            return new Reply(201, new JsonObject().put("ID", s.getMeta().getId()));
        });
        api.route(HttpMethod.GET, "/secrets/([^/]+)", c -> Reply.json(secret(
                control.stub().getSecret(GetSecretRequest.newBuilder().setSecretId(c.param(1)).build()).getSecret())));
        api.route(HttpMethod.POST, "/secrets/([^/]+)/update", c -> updateLabels(c, true));
        api.route(HttpMethod.POST, "/configs/([^/]+)/update", c -> updateLabels(c, false));
        api.route(HttpMethod.DELETE, "/secrets/([^/]+)", c -> {
            control.stub().removeSecret(RemoveSecretRequest.newBuilder().setSecretId(c.param(1)).build());
            return Reply.empty(204);
        });
        api.route(HttpMethod.GET, "/configs", c -> {
            Filters f = Filters.parse(c.query("filters"), SECRET_FILTERS);
            JsonArray out = new JsonArray();
            for (Config s : control.stub().listConfigs(ListConfigsRequest.getDefaultInstance()).getConfigsList()) {
                if (matches(f, s.getMeta().getId(), s.getSpec().getAnnotations())) {
                    out.add(config(s));
                }
            }
            return Reply.json(out);
        });
        api.route(HttpMethod.POST, "/configs/create", c -> {
            SpecReader r = SpecReader.of(c.body(), "config spec");
            ConfigSpec spec = ConfigSpec.newBuilder().setAnnotations(annotations(r)).setData(data(r, "config")).build();
            refuseDriverAndTemplating(r, "config");
            r.done();
            Config s = control.stub().createConfig(CreateConfigRequest.newBuilder().setSpec(spec).build()).getConfig();
            return new Reply(201, new JsonObject().put("ID", s.getMeta().getId()));
        });
        api.route(HttpMethod.GET, "/configs/([^/]+)", c -> Reply.json(config(
                control.stub().getConfig(GetConfigRequest.newBuilder().setConfigId(c.param(1)).build()).getConfig())));
        api.route(HttpMethod.DELETE, "/configs/([^/]+)", c -> {
            control.stub().removeConfig(RemoveConfigRequest.newBuilder().setConfigId(c.param(1)).build());
            return Reply.empty(204);
        });
    }

    // ------------------------------------------------------------------ networks

    private Reply listNetworks(Call c) {
        Filters f = Filters.parse(c.query("filters"), NETWORK_FILTERS);
        for (String d : f.get("dangling")) {
            throw EngineError.badRequest("invalid filter 'dangling=" + d + "': jswarm does not track which networks are unused"
                    + " in listings");
        }
        JsonArray out = new JsonArray();
        for (Network n : control.stub().listNetworks(ListNetworksRequest.getDefaultInstance()).getNetworksList()) {
            Annotations a = n.getSpec().getAnnotations();
            String driver = n.getSpec().getDriver().isEmpty() ? "overlay" : n.getSpec().getDriver();
            if (matches(f, n.getMeta().getId(), a) && (!f.has("driver") || f.get("driver").contains(driver))
                    && (!f.has("scope") || f.get("scope").contains("swarm"))
                    && (!f.has("type") || f.get("type").contains("custom"))) {
                out.add(network(n));
            }
        }
        return Reply.json(out);
    }

    private Reply createNetwork(Call c) {
        SpecReader r = SpecReader.of(c.body(), "network");
        NetworkSpec.Builder spec = NetworkSpec.newBuilder().setAnnotations(annotations(r));
        String driver = r.str("Driver");
        if (!driver.isEmpty() && !driver.equals("overlay")) {
            throw EngineError.badRequest("Driver \"" + driver + "\": jswarm makes overlay networks only (the cluster's; it"
                    + " has no local networks)");
        }
        spec.setDriver("overlay").setAttachable(r.bool("Attachable")).setInternal(r.bool("Internal"));
        if (r.bool("Ingress")) {
            throw EngineError.badRequest("Ingress: jswarm makes its ingress network itself; another cannot be created");
        }
        String scope = r.str("Scope");
        if (!scope.isEmpty() && !scope.equals("swarm")) {
            throw EngineError.badRequest("Scope \"" + scope + "\": jswarm's networks are swarm-scoped");
        }
        // Docker checks duplicates anyway for swarm networks; jswarm refuses a name in use always
        r.ignore("CheckDuplicate");
        SpecReader ipam = r.obj("IPAM");
        String ipamDriver = ipam.str("Driver");
        if (!ipamDriver.isEmpty() && !ipamDriver.equals("default")) {
            throw EngineError.badRequest("IPAM.Driver \"" + ipamDriver + "\": jswarm has only its default address allocation");
        }
        for (SpecReader cfg : ipam.objs("Config")) {
            spec.addIpam(IPAMConfig.newBuilder().setSubnet(cfg.str("Subnet")).setGateway(cfg.str("Gateway")));
        }
        r.done();
        CreateNetworkResponse resp = control.stub().createNetwork(CreateNetworkRequest.newBuilder().setSpec(spec).build());
        return new Reply(201, new JsonObject().put("Id", resp.getNetwork().getMeta().getId())
                .put("Warning", String.join("; ", resp.getWarningsList())));
    }

    /**
     * A network whose services are gone but whose tasks are still stopping (their grace
     * period) is removed once they have stopped, waiting up to a minute: {@code docker stack
     * rm} removes the services and then at once the networks, and would otherwise leave the
     * networks behind with an error (dockerd refuses then too; swarmctl waits likewise).
     */
    private Reply removeNetwork(Call c) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            try {
                control.stub().removeNetwork(RemoveNetworkRequest.newBuilder().setNetworkId(c.param(1)).build());
                return Reply.empty(204);
            } catch (io.grpc.StatusRuntimeException e) {
                String d = e.getStatus().getDescription();
                if (e.getStatus().getCode() != io.grpc.Status.Code.FAILED_PRECONDITION || d == null
                        || !d.contains("shutting down") || System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    static JsonObject network(Network n) {
        NetworkSpec s = n.getSpec();
        JsonArray ipam = new JsonArray();
        for (IPAMConfig c : n.getIpamCount() > 0 ? n.getIpamList() : s.getIpamList()) {
            JsonObject j = new JsonObject().put("Subnet", c.getSubnet());
            if (!c.getGateway().isEmpty()) {
                j.put("Gateway", c.getGateway());
            }
            ipam.add(j);
        }
        return new JsonObject().put("Name", s.getAnnotations().getName()).put("Id", n.getMeta().getId())
                .put("Created", DockerObjects.time(n.getMeta().getCreatedAtMs())).put("Scope", "swarm")
                .put("Driver", s.getDriver().isEmpty() ? "overlay" : s.getDriver()).put("EnableIPv6", false)
                .put("IPAM", new JsonObject().put("Driver", "default").put("Options", null).put("Config", ipam))
                .put("Internal", s.getInternal()).put("Attachable", s.getAttachable()).put("Ingress", s.getIngress())
                .put("ConfigFrom", new JsonObject().put("Network", "")).put("ConfigOnly", false)
                .put("Containers", new JsonObject())
                .put("Options", new JsonObject().put("com.docker.network.driver.overlay.vxlanid_list",
                        Integer.toString(n.getVxlanId())))
                .put("Labels", new JsonObject((Map) s.getAnnotations().getLabelsMap()));
    }

    // ------------------------------------------------------------------ secrets and configs

    private static Annotations annotations(SpecReader r) {
        return Annotations.newBuilder().setName(r.str("Name")).putAllLabels(r.labels("Labels")).build();
    }

    private static ByteString data(SpecReader r, String what) {
        try {
            return ByteString.copyFrom(Base64.getDecoder().decode(r.str("Data")));
        } catch (IllegalArgumentException e) {
            throw EngineError.badRequest("Data: the " + what + "'s data must be base64 (" + e.getMessage() + ")");
        }
    }

    private static void refuseDriverAndTemplating(SpecReader r, String what) {
        if (!SpecReader.zero(r.obj("Driver").str("Name"))) {
            throw EngineError.badRequest("Driver: jswarm keeps " + what + "s itself (sealed in its Raft store); external "
                    + what + " drivers are not supported");
        }
        if (!SpecReader.zero(r.obj("Templating").str("Name"))) {
            throw EngineError.badRequest("Templating: jswarm does not template " + what + "s");
        }
    }

    /**
     * {@code POST /secrets|configs/{id}/update?version=N}: only the labels may change, as
     * Docker's; the name and data sent must be the object's own (or left out).
     */
    private Reply updateLabels(Call c, boolean secret) {
        String what = secret ? "secret" : "config";
        long version = c.version();
        SpecReader r = SpecReader.of(c.body(), what + " spec");
        Annotations a = annotations(r);
        String data = r.str("Data");
        refuseDriverAndTemplating(r, what);
        r.done();
        Annotations cur;
        com.google.protobuf.ByteString curData;
        if (secret) {
            Secret s = control.stub().getSecret(GetSecretRequest.newBuilder().setSecretId(c.param(1)).build()).getSecret();
            cur = s.getSpec().getAnnotations();
            curData = null;  // never shown, so never sent back: any data sent is a change
        } else {
            Config s = control.stub().getConfig(GetConfigRequest.newBuilder().setConfigId(c.param(1)).build()).getConfig();
            cur = s.getSpec().getAnnotations();
            curData = s.getSpec().getData();
        }
        if (!a.getName().isEmpty() && !a.getName().equals(cur.getName())) {
            throw EngineError.badRequest("only updates to Labels are allowed: a " + what + "'s name cannot change");
        }
        if (!data.isEmpty() && (curData == null || !Base64.getEncoder().encodeToString(curData.toByteArray()).equals(data))) {
            throw EngineError.badRequest("only updates to Labels are allowed: a " + what + "'s data cannot change");
        }
        var req = io.jswarm.api.control.UpdateLabelsRequest.newBuilder().setId(c.param(1)).setVersion(version)
                .putAllLabels(a.getLabelsMap()).build();
        if (secret) {
            control.stub().updateSecretLabels(req);
        } else {
            control.stub().updateConfigLabels(req);
        }
        return Reply.empty(200);
    }

    private static boolean matches(Filters f, String id, Annotations a) {
        return f.prefixMatch("id", id) && f.prefixMatch("name", a.getName())
                && (!f.has("names") || f.get("names").contains(a.getName())) && f.labelsMatch("label", a.getLabelsMap());
    }

    private static JsonObject spec(Annotations a) {
        return new JsonObject().put("Name", a.getName()).put("Labels", new JsonObject((Map) a.getLabelsMap()));
    }

    /** A secret: metadata only (its data is never returned, as Docker's). */
    static JsonObject secret(Secret s) {
        return new JsonObject().put("ID", s.getMeta().getId())
                .put("Version", new JsonObject().put("Index", s.getMeta().getVersion()))
                .put("CreatedAt", DockerObjects.time(s.getMeta().getCreatedAtMs()))
                .put("UpdatedAt", DockerObjects.time(s.getMeta().getUpdatedAtMs()))
                .put("Spec", spec(s.getSpec().getAnnotations()));
    }

    static JsonObject config(Config s) {
        JsonObject spec = spec(s.getSpec().getAnnotations());
        if (!s.getSpec().getData().isEmpty()) {
            spec.put("Data", Base64.getEncoder().encodeToString(s.getSpec().getData().toByteArray()));
        }
        return new JsonObject().put("ID", s.getMeta().getId())
                .put("Version", new JsonObject().put("Index", s.getMeta().getVersion()))
                .put("CreatedAt", DockerObjects.time(s.getMeta().getCreatedAtMs()))
                .put("UpdatedAt", DockerObjects.time(s.getMeta().getUpdatedAtMs())).put("Spec", spec);
    }
}
