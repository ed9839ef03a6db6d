package io.jswarm.cli;

import io.jswarm.api.ContainerSpec;
import io.jswarm.api.EndpointSpec;
import io.jswarm.api.HealthConfig;
import io.jswarm.api.Mount;
import io.jswarm.api.PlacementPreference;
import io.jswarm.api.PortConfig;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.UpdateConfig;
import io.jswarm.manager.Durations;
import io.jswarm.scheduler.Constraint;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The service flags that create and update share. Every field is null unless given, so
 * that update changes only what the user named.
 */
public final class ServiceOptions {
    @Option(names = "--replicas", description = "Number of tasks") String replicas;
    @Option(names = "--replicas-max-per-node", description = "Maximum number of tasks per node (0 = unlimited)") String maxPerNode;
    @Option(names = "--placement-pref", description = "Placement preference, e.g. spread=node.labels.zone") List<String> prefs;
    @Option(names = "--reserve-cpu", description = "Reserve CPUs") String reserveCpu;
    @Option(names = "--reserve-memory", description = "Reserve memory") String reserveMemory;
    @Option(names = "--limit-cpu", description = "Limit CPUs") String limitCpu;
    @Option(names = "--limit-memory", description = "Limit memory") String limitMemory;
    @Option(names = "--limit-pids", description = "Limit the number of processes") String limitPids;
    @Option(names = "--restart-condition", description = "none, on-failure or any") String restartCondition;
    @Option(names = "--restart-delay", description = "Delay between restart attempts (ns|us|ms|s|m|h)") String restartDelay;
    @Option(names = "--restart-max-attempts", description = "Maximum number of restarts before giving up") String restartMaxAttempts;
    @Option(names = "--restart-window", description = "Window used to evaluate the restart policy") String restartWindow;
    @Option(names = "--update-parallelism", description = "Maximum number of tasks updated simultaneously (0 to update all at once)") String updateParallelism;
    @Option(names = "--update-delay", description = "Delay between updates (ns|us|ms|s|m|h)") String updateDelay;
    @Option(names = "--update-failure-action", description = "Action on update failure: pause, continue or rollback") String updateFailureAction;
    @Option(names = "--update-monitor", description = "Duration after each task update to monitor for failure") String updateMonitor;
    @Option(names = "--update-max-failure-ratio", description = "Failure rate to tolerate during an update") String updateMaxFailureRatio;
    @Option(names = "--update-order", description = "Update order: start-first or stop-first") String updateOrder;
    @Option(names = "--rollback-parallelism", description = "Maximum number of tasks rolled back simultaneously") String rollbackParallelism;
    @Option(names = "--rollback-delay", description = "Delay between task rollbacks") String rollbackDelay;
    @Option(names = "--rollback-failure-action", description = "Action on rollback failure: pause or continue") String rollbackFailureAction;
    @Option(names = "--rollback-monitor", description = "Duration after each task rollback to monitor for failure") String rollbackMonitor;
    @Option(names = "--rollback-max-failure-ratio", description = "Failure rate to tolerate during a rollback") String rollbackMaxFailureRatio;
    @Option(names = "--rollback-order", description = "Rollback order: start-first or stop-first") String rollbackOrder;
    @Option(names = "--hostname", description = "Container hostname") String hostname;
    @Option(names = {"-w", "--workdir"}, description = "Working directory inside the container") String workdir;
    @Option(names = {"-u", "--user"}, description = "Username or UID") String user;
    @Option(names = "--stop-signal", description = "Signal to stop the container") String stopSignal;
    @Option(names = "--stop-grace-period", description = "Time to wait before force killing a container") String stopGracePeriod;
    @Option(names = "--read-only", description = "Mount the container's root filesystem as read only") Boolean readOnly;
    @Option(names = "--endpoint-mode", description = "Endpoint mode: vip or dnsrr") String endpointMode;
    @Option(names = "--health-cmd", description = "Command to run to check health") String healthCmd;
    @Option(names = "--health-interval", description = "Time between running the check") String healthInterval;
    @Option(names = "--health-timeout", description = "Maximum time to allow one check to run") String healthTimeout;
    @Option(names = "--health-retries", description = "Consecutive failures needed to report unhealthy") String healthRetries;
    @Option(names = "--health-start-period", description = "Start period for the container to initialize") String healthStartPeriod;
    @Option(names = "--no-healthcheck", description = "Disable any container-specified HEALTHCHECK") Boolean noHealthcheck;

    void applyTo(ServiceSpec.Builder b) {
        ContainerSpec.Builder c = b.getTaskBuilder().getContainerBuilder();
        if (replicas != null) {
            if (b.hasGlobal()) {
                throw new IllegalArgumentException("--replicas can only be used with replicated mode");
            }
            b.getReplicatedBuilder().setReplicas(Units.parseNonNegative("--replicas", replicas));
        }
        var placement = b.getTaskBuilder().getPlacementBuilder();
        if (maxPerNode != null) {
            placement.setMaxReplicas(Units.parseNonNegative("--replicas-max-per-node", maxPerNode));
        }
        if (prefs != null) {
            placement.clearPreferences();
            for (String p : prefs) {
                if (!p.startsWith("spread=")) {
                    throw new IllegalArgumentException("invalid --placement-pref " + Units.quote(p) + ": expected spread=node.labels.KEY");
                }
                placement.addPreferences(PlacementPreference.newBuilder().setSpread(p.substring("spread=".length())));
            }
        }
        var res = b.getTaskBuilder().getResourcesBuilder();
        if (reserveCpu != null) {
            res.getReservationsBuilder().setNanoCpus(Units.parseNanoCpus("--reserve-cpu", reserveCpu));
        }
        if (reserveMemory != null) {
            res.getReservationsBuilder().setMemoryBytes(Units.parseBytes("--reserve-memory", reserveMemory));
        }
        if (limitCpu != null) {
            res.getLimitsBuilder().setNanoCpus(Units.parseNanoCpus("--limit-cpu", limitCpu));
        }
        if (limitMemory != null) {
            res.getLimitsBuilder().setMemoryBytes(Units.parseBytes("--limit-memory", limitMemory));
        }
        if (limitPids != null) {
            res.getLimitsBuilder().setPids(Units.parseNonNegative("--limit-pids", limitPids));
        }
        RestartPolicy.Builder r = b.getTaskBuilder().getRestartBuilder();
        if (restartCondition != null) {
            r.setCondition(switch (restartCondition) {
                case "none" -> RestartPolicy.Condition.NONE;
                case "on-failure" -> RestartPolicy.Condition.ON_FAILURE;
                case "any" -> RestartPolicy.Condition.ANY;
                default -> throw new IllegalArgumentException("invalid --restart-condition \"" + restartCondition
                        + "\": expected none, on-failure or any");
            });
        }
        if (restartDelay != null) {
            r.setDelay(Durations.ofMillis(Units.parseDurationMs("--restart-delay", restartDelay)));
        }
        if (restartMaxAttempts != null) {
            r.setMaxAttempts(Units.parseNonNegative("--restart-max-attempts", restartMaxAttempts));
        }
        if (restartWindow != null) {
            r.setWindow(Durations.ofMillis(Units.parseDurationMs("--restart-window", restartWindow)));
        }
        applyUpdate("--update", b.getUpdateBuilder(), updateParallelism, updateDelay, updateFailureAction, updateMonitor,
                updateMaxFailureRatio, updateOrder);
        applyUpdate("--rollback", b.getRollbackBuilder(), rollbackParallelism, rollbackDelay, rollbackFailureAction,
                rollbackMonitor, rollbackMaxFailureRatio, rollbackOrder);
        if (hostname != null) {
            c.setHostname(hostname);
        }
        if (workdir != null) {
            if (workdir.isEmpty()) {
                throw new IllegalArgumentException("invalid --workdir \"\": expected an absolute path");
            }
            c.setDir(workdir);
        }
        if (user != null) {
            if (user.isEmpty()) {
                throw new IllegalArgumentException("invalid --user \"\": expected USER, UID, USER:GROUP or UID:GID");
            }
            c.setUser(user);
        }
        if (stopSignal != null) {
            if (stopSignal.isEmpty()) {
                throw new IllegalArgumentException("invalid --stop-signal \"\": expected a signal name such as SIGTERM or a number 1-64");
            }
            c.setStopSignal(stopSignal);
        }
        if (stopGracePeriod != null) {
            c.setStopGracePeriod(Durations.ofMillis(Units.parseDurationMs("--stop-grace-period", stopGracePeriod)));
        }
        if (readOnly != null) {
            c.setReadOnly(readOnly);
        }
        if (endpointMode != null) {
            EndpointSpec.Builder e = b.getEndpointBuilder();
            e.setMode(switch (endpointMode) {
                case "vip" -> EndpointSpec.ResolutionMode.VIP;
                case "dnsrr" -> EndpointSpec.ResolutionMode.DNSRR;
                default -> throw new IllegalArgumentException("invalid --endpoint-mode \"" + endpointMode + "\": expected vip or dnsrr");
            });
        }
        HealthConfig.Builder h = c.getHealthcheckBuilder();
        if (Boolean.TRUE.equals(noHealthcheck)) {
            if (healthCmd != null) {
                throw new IllegalArgumentException("--no-healthcheck conflicts with --health-cmd");
            }
            h.clear().addTest("NONE");
        }
        if (healthCmd != null) {
            h.clearTest().addTest("CMD-SHELL").addTest(healthCmd);
        }
        if (healthInterval != null) {
            h.setInterval(Durations.ofMillis(Units.parseDurationMs("--health-interval", healthInterval)));
        }
        if (healthTimeout != null) {
            h.setTimeout(Durations.ofMillis(Units.parseDurationMs("--health-timeout", healthTimeout)));
        }
        if (healthRetries != null) {
            h.setRetries((int) Units.parseNonNegative("--health-retries", healthRetries));
        }
        if (healthStartPeriod != null) {
            h.setStartPeriod(Durations.ofMillis(Units.parseDurationMs("--health-start-period", healthStartPeriod)));
        }
        if (h.build().equals(HealthConfig.getDefaultInstance())) {
            c.clearHealthcheck();
        }
    }

    private static void applyUpdate(String prefix, UpdateConfig.Builder u, String parallelism, String delay, String failureAction,
            String monitor, String ratio, String order) {
        if (parallelism != null) {
            u.setParallelism(Units.parseNonNegative(prefix + "-parallelism", parallelism));
        }
        if (delay != null) {
            u.setDelay(Durations.ofMillis(Units.parseDurationMs(prefix + "-delay", delay)));
        }
        if (failureAction != null) {
            u.setFailureAction(switch (failureAction) {
                case "pause" -> UpdateConfig.FailureAction.PAUSE;
                case "continue" -> UpdateConfig.FailureAction.CONTINUE;
                case "rollback" -> {
                    if (prefix.equals("--rollback")) {
                        throw new IllegalArgumentException("invalid --rollback-failure-action \"rollback\": expected pause or continue");
                    }
                    yield UpdateConfig.FailureAction.ROLLBACK;
                }
                default -> throw new IllegalArgumentException("invalid " + prefix + "-failure-action \"" + failureAction
                        + "\": expected pause, continue or rollback");
            });
        }
        if (monitor != null) {
            u.setMonitor(Durations.ofMillis(Units.parseDurationMs(prefix + "-monitor", monitor)));
        }
        if (ratio != null) {
            try {
                float f = Float.parseFloat(ratio);
                if (f < 0 || f > 1 || Float.isNaN(f)) {
                    throw new NumberFormatException();
                }
                u.setMaxFailureRatio(f);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid " + prefix + "-max-failure-ratio \"" + ratio + "\": expected a number from 0 to 1");
            }
        }
        if (order != null) {
            u.setOrder(switch (order) {
                case "stop-first" -> UpdateConfig.Order.STOP_FIRST;
                case "start-first" -> UpdateConfig.Order.START_FIRST;
                default -> throw new IllegalArgumentException("invalid " + prefix + "-order \"" + order
                        + "\": expected start-first or stop-first");
            });
        }
    }

    static void checkConstraint(String c) {
        Constraint.parse(c);
    }

    /** "NAME" or "name=NAME,alias=A[,alias=B]". */
    static io.jswarm.api.NetworkAttachmentConfig parseNetwork(String flag, String text) {
        var b = io.jswarm.api.NetworkAttachmentConfig.newBuilder();
        if (!text.contains("=")) {
            return b.setTarget(text).build();
        }
        for (String part : text.split(",", -1)) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2 || kv[1].isEmpty()) {
                throw new IllegalArgumentException("invalid " + flag + " " + Units.quote(text) + ": expected NAME or name=NAME[,alias=ALIAS]");
            }
            switch (kv[0]) {
                case "name", "target" -> b.setTarget(kv[1]);
                case "alias" -> b.addAliases(kv[1]);
                default -> throw new IllegalArgumentException("invalid " + flag + " " + Units.quote(text) + ": unknown field "
                        + Units.quote(kv[0]) + " (expected name or alias)");
            }
        }
        if (b.getTarget().isEmpty()) {
            throw new IllegalArgumentException("invalid " + flag + " " + Units.quote(text) + ": name=NAME is required");
        }
        return b.build();
    }

    /** A --secret or --config value: "NAME" or "source=NAME[,target=PATH][,uid=U][,gid=G][,mode=OCTAL]". */
    record FileRef(String source, String target, int uid, int gid, Integer mode) {}

    static FileRef parseFileRef(String flag, String text) {
        String usage = "invalid " + flag + " " + Units.quote(text) + ": ";
        if (!text.contains("=")) {
            if (text.isEmpty()) {
                throw new IllegalArgumentException(usage + "a name is required");
            }
            return new FileRef(text, "", 0, 0, null);
        }
        String source = "";
        String target = "";
        int uid = 0;
        int gid = 0;
        Integer mode = null;
        for (String part : text.split(",", -1)) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2 || kv[1].isEmpty()) {
                throw new IllegalArgumentException(usage + "expected NAME or source=NAME[,target=PATH,uid=U,gid=G,mode=0400]");
            }
            try {
                switch (kv[0]) {
                    case "source", "src" -> source = kv[1];
                    case "target", "dst", "destination" -> target = kv[1];
                    case "uid" -> uid = Integer.parseUnsignedInt(kv[1]);
                    case "gid" -> gid = Integer.parseUnsignedInt(kv[1]);
                    case "mode" -> {
                        mode = Integer.parseInt(kv[1], 8);
                        if (mode < 0 || mode > 0777) {
                            throw new NumberFormatException();
                        }
                    }
                    default -> throw new IllegalArgumentException(usage + "unknown field " + Units.quote(kv[0])
                            + " (expected source, target, uid, gid or mode)");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(usage + kv[0] + " must be " + (kv[0].equals("mode") ? "an octal file mode such as 0400"
                        : "a non-negative number"));
            }
        }
        if (source.isEmpty()) {
            throw new IllegalArgumentException(usage + "source=NAME is required");
        }
        return new FileRef(source, target, uid, gid, mode);
    }

    static io.jswarm.api.SecretReference parseSecret(String flag, String text) {
        FileRef f = parseFileRef(flag, text);
        var b = io.jswarm.api.SecretReference.newBuilder().setSecretName(f.source()).setTarget(f.target()).setUid(f.uid()).setGid(f.gid());
        if (f.mode() != null) {
            b.setMode(f.mode());
        }
        return b.build();
    }

    static io.jswarm.api.ConfigReference parseConfig(String flag, String text) {
        FileRef f = parseFileRef(flag, text);
        var b = io.jswarm.api.ConfigReference.newBuilder().setConfigName(f.source()).setTarget(f.target()).setUid(f.uid()).setGid(f.gid());
        if (f.mode() != null) {
            b.setMode(f.mode());
        }
        return b.build();
    }

    /** "8080:80", "8080:80/udp", "80", or "published=8080,target=80,protocol=udp,mode=host[,preserve-client-ip=true]". */
    static PortConfig parsePort(String text) {
        PortConfig.Builder p = PortConfig.newBuilder();
        try {
            if (text.contains("=")) {
                for (String kv : text.split(",")) {
                    String[] parts = kv.split("=", 2);
                    if (parts.length != 2) {
                        throw new IllegalArgumentException();
                    }
                    switch (parts[0].trim()) {
                        case "published" -> p.setPublishedPort(Integer.parseInt(parts[1]));
                        case "target" -> p.setTargetPort(Integer.parseInt(parts[1]));
                        case "protocol" -> p.setProtocol(protocol(parts[1]));
                        case "mode" -> p.setPublishMode(switch (parts[1]) {
                            case "ingress" -> PortConfig.PublishMode.INGRESS;
                            case "host" -> PortConfig.PublishMode.HOST;
                            default -> throw new IllegalArgumentException();
                        });
                        case "preserve-client-ip" -> p.setPreserveClientIp(switch (parts[1]) {
                            case "true" -> true;
                            case "false" -> false;
                            default -> throw new IllegalArgumentException();
                        });
                        default -> throw new IllegalArgumentException();
                    }
                }
            } else {
                String spec = text;
                int slash = spec.indexOf('/');
                if (slash >= 0) {
                    p.setProtocol(protocol(spec.substring(slash + 1)));
                    spec = spec.substring(0, slash);
                }
                String[] parts = spec.split(":", -1);
                if (parts.length == 1) {
                    p.setTargetPort(Integer.parseInt(parts[0]));
                } else if (parts.length == 2) {
                    p.setPublishedPort(Integer.parseInt(parts[0])).setTargetPort(Integer.parseInt(parts[1]));
                } else {
                    throw new IllegalArgumentException();
                }
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid --publish " + Units.quote(text)
                    + ": expected PUBLISHED:TARGET[/PROTOCOL] or published=N,target=N[,protocol=tcp|udp][,mode=ingress|host][,preserve-client-ip=true]");
        }
        if (p.getTargetPort() < 1 || p.getTargetPort() > 65535 || p.getPublishedPort() < 0 || p.getPublishedPort() > 65535) {
            throw new IllegalArgumentException("invalid --publish " + Units.quote(text) + ": ports must be 1-65535");
        }
        return p.build();
    }

    private static PortConfig.Protocol protocol(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "tcp" -> PortConfig.Protocol.TCP;
            case "udp" -> PortConfig.Protocol.UDP;
            case "sctp" -> PortConfig.Protocol.SCTP;
            default -> throw new IllegalArgumentException();
        };
    }

    /** "type=bind,source=/a,target=/b,readonly", volume and tmpfs likewise. */
    static Mount parseMount(String text) {
        Mount.Builder m = Mount.newBuilder().setType(Mount.Type.VOLUME);
        for (String kv : text.split(",")) {
            String[] parts = kv.split("=", 2);
            String key = parts[0].trim();
            String value = parts.length > 1 ? parts[1].trim() : "";
            switch (key) {
                case "type" -> m.setType(switch (value) {
                    case "bind" -> Mount.Type.BIND;
                    case "volume" -> Mount.Type.VOLUME;
                    case "tmpfs" -> Mount.Type.TMPFS;
                    default -> throw new IllegalArgumentException("invalid --mount " + Units.quote(text) + ": type must be bind, volume or tmpfs");
                });
                case "source", "src" -> m.setSource(value);
                case "target", "destination", "dst" -> m.setTarget(value);
                case "readonly", "ro" -> m.setReadOnly(switch (parts.length == 1 ? "true" : value) {
                    case "true", "1" -> true;
                    case "false", "0" -> false;
                    default -> throw new IllegalArgumentException("invalid --mount " + Units.quote(text) + ": " + key
                            + " must be true, false, 1 or 0");
                });
                case "tmpfs-size" -> m.setTmpfsSizeBytes(Units.parseBytes("--mount tmpfs-size", value));
                default -> throw new IllegalArgumentException("invalid --mount " + Units.quote(text) + ": unknown key \"" + key + "\"");
            }
        }
        if (m.getTarget().isEmpty()) {
            throw new IllegalArgumentException("invalid --mount " + Units.quote(text) + ": target is required");
        }
        if (m.getType() == Mount.Type.BIND && m.getSource().isEmpty()) {
            throw new IllegalArgumentException("invalid --mount " + Units.quote(text) + ": a bind mount needs a source");
        }
        return m.build();
    }

    static void checkEnv(String e) {
        if (e.isEmpty() || e.startsWith("=")) {
            throw new IllegalArgumentException("invalid environment variable " + Units.quote(e) + ": expected KEY=VALUE");
        }
    }
}
