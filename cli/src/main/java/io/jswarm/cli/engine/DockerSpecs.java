package io.jswarm.cli.engine;

import com.google.protobuf.Duration;
import io.jswarm.api.Annotations;
import io.jswarm.api.ConfigReference;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.EndpointSpec;
import io.jswarm.api.GlobalService;
import io.jswarm.api.HealthConfig;
import io.jswarm.api.Mount;
import io.jswarm.api.NetworkAttachmentConfig;
import io.jswarm.api.Placement;
import io.jswarm.api.PlacementPreference;
import io.jswarm.api.Platform;
import io.jswarm.api.PortConfig;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ResourceRequirements;
import io.jswarm.api.Resources;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.SecretReference;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.TaskSpec;
import io.jswarm.api.UpdateConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Docker's service spec (API 1.41, {@code ServiceSpec} in moby's swagger.yaml) to jswarm's
 * and back. Both directions name the same fields, so that what {@code GET
 * /services/{id}} shows, a client can send back in an update unchanged (the docker CLI
 * does: it edits the spec it read). Reading is strict (see {@link SpecReader}).
 */
final class DockerSpecs {
    private DockerSpecs() {}

    // ------------------------------------------------------------------ Docker -> jswarm

    static ServiceSpec serviceSpec(SpecReader r) {
        ServiceSpec.Builder b = ServiceSpec.newBuilder();
        b.setAnnotations(Annotations.newBuilder().setName(r.str("Name")).putAllLabels(r.labels("Labels")));
        TaskSpec.Builder task = taskSpec(r.obj("TaskTemplate"));
        // Deprecated since 1.44 but still sent by older clients: the networks beside the template.
        List<NetworkAttachmentConfig> topNetworks = networks(r, "Networks");
        if (task.getNetworksCount() == 0) {
            task.addAllNetworks(topNetworks);
        } else if (!topNetworks.isEmpty()) {
            throw EngineError.badRequest("Networks and TaskTemplate.Networks are both given: give the networks once,"
                    + " in TaskTemplate.Networks");
        }
        b.setTask(task);
        SpecReader mode = r.obj("Mode");
        if (mode.has("ReplicatedJob") || mode.has("GlobalJob")) {
            throw EngineError.badRequest("Mode: jobs (ReplicatedJob, GlobalJob) are not supported by jswarm");
        }
        if (mode.has("Global")) {
            if (mode.has("Replicated")) {
                throw EngineError.badRequest("Mode: give Replicated or Global, not both");
            }
            mode.obj("Global");
            b.setGlobal(GlobalService.getDefaultInstance());
        } else {
            SpecReader rep = mode.obj("Replicated");
            // Docker: a replicated service without a count runs one task
            b.setReplicated(ReplicatedService.newBuilder().setReplicas(rep.has("Replicas") ? rep.unsigned("Replicas") : 1));
        }
        if (r.has("UpdateConfig")) {
            b.setUpdate(updateConfig(r.obj("UpdateConfig")));
        }
        if (r.has("RollbackConfig")) {
            b.setRollback(updateConfig(r.obj("RollbackConfig")));
        }
        if (r.has("EndpointSpec")) {
            b.setEndpoint(endpointSpec(r.obj("EndpointSpec")));
        }
        return b.build();
    }

    static TaskSpec.Builder taskSpec(SpecReader t) {
        TaskSpec.Builder b = TaskSpec.newBuilder();
        if (t.has("PluginSpec") || t.has("NetworkAttachmentSpec")) {
            throw EngineError.badRequest("TaskTemplate: only ContainerSpec tasks are supported by jswarm");
        }
        b.setContainer(containerSpec(t.obj("ContainerSpec")));
        SpecReader res = t.obj("Resources");
        if (res.has("Limits") || res.has("Reservations")) {
            ResourceRequirements.Builder rr = ResourceRequirements.newBuilder();
            if (res.has("Limits")) {
                SpecReader l = res.obj("Limits");
                rr.setLimits(Resources.newBuilder().setNanoCpus(l.unsigned("NanoCPUs")).setMemoryBytes(l.unsigned("MemoryBytes"))
                        .setPids(l.unsigned("Pids")));
            }
            if (res.has("Reservations")) {
                SpecReader v = res.obj("Reservations");
                rr.setReservations(Resources.newBuilder().setNanoCpus(v.unsigned("NanoCPUs"))
                        .setMemoryBytes(v.unsigned("MemoryBytes")));
            }
            b.setResources(rr);
        }
        if (t.has("RestartPolicy")) {
            SpecReader p = t.obj("RestartPolicy");
            RestartPolicy.Builder rp = RestartPolicy.newBuilder();
            String c = p.str("Condition");
            rp.setCondition(switch (c) {
                case "", "any" -> RestartPolicy.Condition.ANY;
                case "on-failure" -> RestartPolicy.Condition.ON_FAILURE;
                case "none" -> RestartPolicy.Condition.NONE;
                default -> throw EngineError.badRequest("invalid value for TaskTemplate.RestartPolicy.Condition: \"" + c
                        + "\" (expected none, on-failure or any)");
            });
            if (p.has("Delay")) {
                rp.setDelay(duration(p, "Delay"));
            }
            rp.setMaxAttempts(p.unsigned("MaxAttempts"));
            if (p.has("Window")) {
                rp.setWindow(duration(p, "Window"));
            }
            b.setRestart(rp);
        }
        SpecReader pl = t.obj("Placement");
        Placement.Builder place = Placement.newBuilder().addAllConstraints(pl.strings("Constraints"))
                .setMaxReplicas(pl.unsigned("MaxReplicas"));
        for (SpecReader pref : pl.objs("Preferences")) {
            place.addPreferences(PlacementPreference.newBuilder().setSpread(pref.obj("Spread").str("SpreadDescriptor")));
        }
        for (SpecReader p : pl.objs("Platforms")) {
            place.addPlatforms(Platform.newBuilder().setArchitecture(p.str("Architecture")).setOs(p.str("OS")));
        }
        if (!place.build().equals(Placement.getDefaultInstance())) {
            b.setPlacement(place);
        }
        b.addAllNetworks(networks(t, "Networks"));
        b.setForceUpdate(t.unsigned("ForceUpdate"));
        return b;
    }

    private static List<NetworkAttachmentConfig> networks(SpecReader r, String key) {
        return r.objs(key).stream().map(n -> NetworkAttachmentConfig.newBuilder().setTarget(n.str("Target"))
                .addAllAliases(n.strings("Aliases")).build()).toList();
    }

    static ContainerSpec containerSpec(SpecReader c) {
        ContainerSpec.Builder b = ContainerSpec.newBuilder().setImage(c.str("Image")).addAllCommand(c.strings("Command"))
                .addAllArgs(c.strings("Args")).addAllEnv(c.strings("Env")).setDir(c.str("Dir")).setUser(c.str("User"))
                .setHostname(c.str("Hostname")).setStopSignal(c.str("StopSignal")).setReadOnly(c.bool("ReadOnly"))
                .putAllLabels(c.labels("Labels"));
        if (c.has("StopGracePeriod")) {
            b.setStopGracePeriod(duration(c, "StopGracePeriod"));
        }
        for (SpecReader m : c.objs("Mounts")) {
            String type = m.str("Type");
            Mount.Builder mb = Mount.newBuilder().setType(switch (type) {
                case "", "volume" -> Mount.Type.VOLUME;
                case "bind" -> Mount.Type.BIND;
                case "tmpfs" -> Mount.Type.TMPFS;
                default -> throw EngineError.badRequest("invalid value for " + "TaskTemplate.ContainerSpec.Mounts.Type: \""
                        + type + "\" (jswarm supports bind, volume and tmpfs)");
            }).setSource(m.str("Source")).setTarget(m.str("Target")).setReadOnly(m.bool("ReadOnly"));
            if (m.has("TmpfsOptions")) {
                mb.setTmpfsSizeBytes(m.obj("TmpfsOptions").unsigned("SizeBytes"));
            }
            b.addMounts(mb);
        }
        if (c.has("Healthcheck")) {
            SpecReader h = c.obj("Healthcheck");
            HealthConfig.Builder hb = HealthConfig.newBuilder().addAllTest(h.strings("Test")).setRetries((int) h.unsigned("Retries"));
            if (h.has("Interval")) {
                hb.setInterval(duration(h, "Interval"));
            }
            if (h.has("Timeout")) {
                hb.setTimeout(duration(h, "Timeout"));
            }
            if (h.has("StartPeriod")) {
                hb.setStartPeriod(duration(h, "StartPeriod"));
            }
            b.setHealthcheck(hb);
        }
        for (SpecReader s : c.objs("Secrets")) {
            SpecReader f = s.obj("File");
            SecretReference.Builder sb = SecretReference.newBuilder().setSecretId(s.str("SecretID"))
                    .setSecretName(s.str("SecretName")).setTarget(f.str("Name")).setUid(id(f, "UID")).setGid(id(f, "GID"));
            if (f.has("Mode")) {
                sb.setMode((int) f.unsigned("Mode"));
            }
            b.addSecrets(sb);
        }
        for (SpecReader s : c.objs("Configs")) {
            if (s.has("Runtime")) {
                throw EngineError.badRequest("TaskTemplate.ContainerSpec.Configs.Runtime (credential specs) is not supported"
                        + " by jswarm");
            }
            SpecReader f = s.obj("File");
            // Docker puts a config whose target is a bare name at the root (the CLI sends the config's name)
            String target = f.str("Name");
            ConfigReference.Builder cb = ConfigReference.newBuilder().setConfigId(s.str("ConfigID"))
                    .setConfigName(s.str("ConfigName")).setTarget(target.isEmpty() || target.startsWith("/") ? target : "/" + target).setUid(id(f, "UID")).setGid(id(f, "GID"));
            if (f.has("Mode")) {
                cb.setMode((int) f.unsigned("Mode"));
            }
            b.addConfigs(cb);
        }
        // Isolation "default" is Linux's only isolation; the CLI sends it when set from a compose file
        String isolation = c.str("Isolation");
        if (!isolation.isEmpty() && !isolation.equals("default")) {
            throw EngineError.badRequest("TaskTemplate.ContainerSpec.Isolation \"" + isolation + "\" is not supported by"
                    + " jswarm (Linux containers have only the default isolation)");
        }
        return b.build();
    }

    /** A file's owner in Docker's API is a string (a number). */
    private static int id(SpecReader f, String key) {
        String v = f.str(key);
        if (v.isEmpty()) {
            return 0;
        }
        try {
            return Integer.parseUnsignedInt(v);
        } catch (NumberFormatException e) {
            throw EngineError.badRequest("invalid value for File." + key + ": \"" + v + "\" is not a numeric id");
        }
    }

    static UpdateConfig updateConfig(SpecReader u) {
        UpdateConfig.Builder b = UpdateConfig.newBuilder().setParallelism(u.unsigned("Parallelism"))
                .setMaxFailureRatio((float) u.decimal("MaxFailureRatio"));
        if (u.has("Delay")) {
            b.setDelay(duration(u, "Delay"));
        }
        if (u.has("Monitor")) {
            b.setMonitor(duration(u, "Monitor"));
        }
        String action = u.str("FailureAction");
        b.setFailureAction(switch (action) {
            case "", "pause" -> UpdateConfig.FailureAction.PAUSE;
            case "continue" -> UpdateConfig.FailureAction.CONTINUE;
            case "rollback" -> UpdateConfig.FailureAction.ROLLBACK;
            default -> throw EngineError.badRequest("invalid value for FailureAction: \"" + action
                    + "\" (expected pause, continue or rollback)");
        });
        String order = u.str("Order");
        b.setOrder(switch (order) {
            case "", "stop-first" -> UpdateConfig.Order.STOP_FIRST;
            case "start-first" -> UpdateConfig.Order.START_FIRST;
            default -> throw EngineError.badRequest("invalid value for Order: \"" + order + "\" (expected stop-first or start-first)");
        });
        return b.build();
    }

    static EndpointSpec endpointSpec(SpecReader e) {
        String mode = e.str("Mode");
        EndpointSpec.Builder b = EndpointSpec.newBuilder().setMode(switch (mode) {
            case "", "vip" -> EndpointSpec.ResolutionMode.VIP;
            case "dnsrr" -> EndpointSpec.ResolutionMode.DNSRR;
            default -> throw EngineError.badRequest("invalid value for EndpointSpec.Mode: \"" + mode + "\" (expected vip or dnsrr)");
        });
        for (SpecReader p : e.objs("Ports")) {
            b.addPorts(port(p));
        }
        return b.build();
    }

    static PortConfig port(SpecReader p) {
        String proto = p.str("Protocol");
        String publish = p.str("PublishMode");
        return PortConfig.newBuilder().setName(p.str("Name")).setProtocol(switch (proto) {
            case "", "tcp" -> PortConfig.Protocol.TCP;
            case "udp" -> PortConfig.Protocol.UDP;
            case "sctp" -> PortConfig.Protocol.SCTP;
            default -> throw EngineError.badRequest("invalid value for Protocol: \"" + proto + "\" (expected tcp, udp or sctp)");
        }).setTargetPort((int) p.unsigned("TargetPort")).setPublishedPort((int) p.unsigned("PublishedPort"))
                .setPublishMode(switch (publish) {
                    case "", "ingress" -> PortConfig.PublishMode.INGRESS;
                    case "host" -> PortConfig.PublishMode.HOST;
                    default -> throw EngineError.badRequest("invalid value for PublishMode: \"" + publish
                            + "\" (expected ingress or host)");
                }).build();
    }

    /** Docker's durations are nanoseconds. */
    private static Duration duration(SpecReader r, String key) {
        long ns = r.num(key);
        if (ns < 0) {
            throw EngineError.badRequest("invalid value for " + key + ": a negative duration");
        }
        return ofNanos(ns);
    }

    static Duration ofNanos(long ns) {
        return Duration.newBuilder().setSeconds(ns / 1_000_000_000L).setNanos((int) (ns % 1_000_000_000L)).build();
    }

    // ------------------------------------------------------------------ jswarm -> Docker

    static long nanos(Duration d) {
        return d.getSeconds() * 1_000_000_000L + d.getNanos();
    }

    static JsonObject serviceSpec(ServiceSpec s) {
        JsonObject o = new JsonObject().put("Name", s.getAnnotations().getName())
                .put("Labels", new JsonObject((Map) s.getAnnotations().getLabelsMap()))
                .put("TaskTemplate", taskSpec(s.getTask()));
        o.put("Mode", s.hasGlobal() ? new JsonObject().put("Global", new JsonObject())
                : new JsonObject().put("Replicated", new JsonObject().put("Replicas", s.getReplicated().getReplicas())));
        if (s.hasUpdate()) {
            o.put("UpdateConfig", updateConfig(s.getUpdate()));
        }
        if (s.hasRollback()) {
            o.put("RollbackConfig", updateConfig(s.getRollback()));
        }
        o.put("EndpointSpec", endpointSpec(s.getEndpoint()));
        return o;
    }

    static JsonObject taskSpec(TaskSpec t) {
        JsonObject o = new JsonObject().put("ContainerSpec", containerSpec(t.getContainer()));
        JsonObject res = new JsonObject();
        if (t.hasResources()) {
            ResourceRequirements r = t.getResources();
            if (r.hasLimits()) {
                res.put("Limits", nonZero(new JsonObject().put("NanoCPUs", r.getLimits().getNanoCpus())
                        .put("MemoryBytes", r.getLimits().getMemoryBytes()).put("Pids", r.getLimits().getPids())));
            }
            if (r.hasReservations()) {
                res.put("Reservations", nonZero(new JsonObject().put("NanoCPUs", r.getReservations().getNanoCpus())
                        .put("MemoryBytes", r.getReservations().getMemoryBytes())));
            }
        }
        o.put("Resources", res);
        if (t.hasRestart()) {
            RestartPolicy r = t.getRestart();
            JsonObject rp = new JsonObject().put("Condition", switch (r.getCondition()) {
                case ON_FAILURE -> "on-failure";
                case NONE -> "none";
                default -> "any";
            }).put("MaxAttempts", r.getMaxAttempts());
            if (r.hasDelay()) {
                rp.put("Delay", nanos(r.getDelay()));
            }
            if (r.hasWindow()) {
                rp.put("Window", nanos(r.getWindow()));
            }
            o.put("RestartPolicy", rp);
        }
        JsonObject place = new JsonObject();
        Placement p = t.getPlacement();
        if (p.getConstraintsCount() > 0) {
            place.put("Constraints", new JsonArray(List.copyOf(p.getConstraintsList())));
        }
        if (p.getPreferencesCount() > 0) {
            JsonArray prefs = new JsonArray();
            p.getPreferencesList().forEach(pref -> prefs.add(new JsonObject().put("Spread",
                    new JsonObject().put("SpreadDescriptor", pref.getSpread()))));
            place.put("Preferences", prefs);
        }
        if (p.getMaxReplicas() > 0) {
            place.put("MaxReplicas", p.getMaxReplicas());
        }
        if (p.getPlatformsCount() > 0) {
            JsonArray plats = new JsonArray();
            p.getPlatformsList().forEach(pl -> plats.add(new JsonObject().put("Architecture", pl.getArchitecture())
                    .put("OS", pl.getOs())));
            place.put("Platforms", plats);
        }
        o.put("Placement", place);
        if (t.getNetworksCount() > 0) {
            JsonArray nets = new JsonArray();
            for (NetworkAttachmentConfig n : t.getNetworksList()) {
                JsonObject j = new JsonObject().put("Target", n.getTarget());
                if (n.getAliasesCount() > 0) {
                    j.put("Aliases", new JsonArray(List.copyOf(n.getAliasesList())));
                }
                nets.add(j);
            }
            o.put("Networks", nets);
        }
        o.put("ForceUpdate", t.getForceUpdate());
        return o;
    }

    static JsonObject containerSpec(ContainerSpec c) {
        JsonObject o = new JsonObject().put("Image", c.getImage());
        if (c.getLabelsCount() > 0) {
            o.put("Labels", new JsonObject((Map) c.getLabelsMap()));
        }
        putList(o, "Command", c.getCommandList());
        putList(o, "Args", c.getArgsList());
        putStr(o, "Hostname", c.getHostname());
        putList(o, "Env", c.getEnvList());
        putStr(o, "Dir", c.getDir());
        putStr(o, "User", c.getUser());
        if (c.getReadOnly()) {
            o.put("ReadOnly", true);
        }
        if (c.getMountsCount() > 0) {
            JsonArray mounts = new JsonArray();
            for (Mount m : c.getMountsList()) {
                JsonObject j = new JsonObject().put("Type", m.getType().name().toLowerCase(Locale.ROOT));
                putStr(j, "Source", m.getSource());
                j.put("Target", m.getTarget());
                if (m.getReadOnly()) {
                    j.put("ReadOnly", true);
                }
                if (m.getTmpfsSizeBytes() > 0) {
                    j.put("TmpfsOptions", new JsonObject().put("SizeBytes", m.getTmpfsSizeBytes()));
                }
                mounts.add(j);
            }
            o.put("Mounts", mounts);
        }
        putStr(o, "StopSignal", c.getStopSignal());
        if (c.hasStopGracePeriod()) {
            o.put("StopGracePeriod", nanos(c.getStopGracePeriod()));
        }
        if (c.hasHealthcheck()) {
            HealthConfig h = c.getHealthcheck();
            JsonObject j = new JsonObject().put("Test", new JsonArray(List.copyOf(h.getTestList())));
            if (h.hasInterval()) {
                j.put("Interval", nanos(h.getInterval()));
            }
            if (h.hasTimeout()) {
                j.put("Timeout", nanos(h.getTimeout()));
            }
            if (h.getRetries() > 0) {
                j.put("Retries", h.getRetries());
            }
            if (h.hasStartPeriod()) {
                j.put("StartPeriod", nanos(h.getStartPeriod()));
            }
            o.put("Healthcheck", j);
        }
        if (c.getSecretsCount() > 0) {
            JsonArray a = new JsonArray();
            for (SecretReference s : c.getSecretsList()) {
                a.add(new JsonObject().put("File", file(s.getTarget(), s.getUid(), s.getGid(), s.hasMode(), s.getMode()))
                        .put("SecretID", s.getSecretId()).put("SecretName", s.getSecretName()));
            }
            o.put("Secrets", a);
        }
        if (c.getConfigsCount() > 0) {
            JsonArray a = new JsonArray();
            for (ConfigReference s : c.getConfigsList()) {
                a.add(new JsonObject().put("File", file(s.getTarget(), s.getUid(), s.getGid(), s.hasMode(), s.getMode()))
                        .put("ConfigID", s.getConfigId()).put("ConfigName", s.getConfigName()));
            }
            o.put("Configs", a);
        }
        return o;
    }

    private static JsonObject file(String name, int uid, int gid, boolean hasMode, int mode) {
        JsonObject f = new JsonObject().put("Name", name).put("UID", Integer.toUnsignedString(uid))
                .put("GID", Integer.toUnsignedString(gid));
        return f.put("Mode", hasMode ? mode : 0444);
    }

    static JsonObject updateConfig(UpdateConfig u) {
        JsonObject o = new JsonObject().put("Parallelism", u.getParallelism());
        if (u.hasDelay()) {
            o.put("Delay", nanos(u.getDelay()));
        }
        o.put("FailureAction", u.getFailureAction().name().toLowerCase(Locale.ROOT));
        if (u.hasMonitor()) {
            o.put("Monitor", nanos(u.getMonitor()));
        }
        o.put("MaxFailureRatio", (double) u.getMaxFailureRatio());
        o.put("Order", u.getOrder() == UpdateConfig.Order.START_FIRST ? "start-first" : "stop-first");
        return o;
    }

    static JsonObject endpointSpec(EndpointSpec e) {
        JsonObject o = new JsonObject().put("Mode", e.getMode() == EndpointSpec.ResolutionMode.DNSRR ? "dnsrr" : "vip");
        if (e.getPortsCount() > 0) {
            o.put("Ports", ports(e.getPortsList()));
        }
        return o;
    }

    static JsonArray ports(List<PortConfig> ports) {
        JsonArray a = new JsonArray();
        for (PortConfig p : ports) {
            JsonObject j = new JsonObject();
            putStr(j, "Name", p.getName());
            a.add(j.put("Protocol", p.getProtocol().name().toLowerCase(Locale.ROOT)).put("TargetPort", p.getTargetPort())
                    .put("PublishedPort", p.getPublishedPort())
                    .put("PublishMode", p.getPublishMode() == PortConfig.PublishMode.HOST ? "host" : "ingress"));
        }
        return a;
    }

    private static void putList(JsonObject o, String key, List<String> l) {
        if (!l.isEmpty()) {
            o.put(key, new JsonArray(List.copyOf(l)));
        }
    }

    private static void putStr(JsonObject o, String key, String s) {
        if (!s.isEmpty()) {
            o.put(key, s);
        }
    }

    private static JsonObject nonZero(JsonObject o) {
        o.fieldNames().removeIf(k -> SpecReader.zero(o.getValue(k)));
        return o;
    }
}
