package io.jswarm.cli;

import io.jswarm.api.ContainerSpec;
import io.jswarm.api.Node;
import io.jswarm.api.PortConfig;
import io.jswarm.api.Resources;
import io.jswarm.api.Service;
import io.jswarm.api.UpdateConfig;
import io.jswarm.manager.Durations;
import java.time.Instant;
import java.util.Locale;

/** {@code inspect --pretty}: the human-readable form Docker prints. */
final class Pretty {
    private final StringBuilder sb = new StringBuilder();

    private Pretty line(String indent, String key, Object value) {
        String k = indent + key + ":";
        sb.append(k).append(" ".repeat(Math.max(1, 24 - k.length()))).append(value).append('\n');
        return this;
    }

    private Pretty head(String indent, String key) {
        sb.append(indent).append(key).append(":\n");
        return this;
    }

    static String bytes(long b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int i = 0;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return (v == Math.floor(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v)) + units[i];
    }

    static String cpus(long nano) {
        return String.format(Locale.ROOT, "%.3f", nano / 1e9).replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    static String service(Service s) {
        Pretty p = new Pretty();
        var spec = s.getSpec();
        p.line("", "ID", s.getMeta().getId()).line("", "Name", spec.getAnnotations().getName());
        if (!spec.getAnnotations().getLabelsMap().isEmpty()) {
            p.head("", "Labels");
            spec.getAnnotations().getLabelsMap().forEach((k, v) -> p.sb.append(" ").append(k).append("=").append(v).append('\n'));
        }
        if (spec.hasGlobal()) {
            p.line("", "Service Mode", "Global");
        } else {
            p.line("", "Service Mode", "Replicated").line(" ", "Replicas", spec.getReplicated().getReplicas());
        }
        if (s.hasUpdateStatus()) {
            var u = s.getUpdateStatus();
            p.head("", "UpdateStatus").line(" ", "State", u.getState().name().toLowerCase());
            if (u.getStartedAtMs() > 0) {
                p.line(" ", "Started", java.time.Instant.ofEpochMilli(u.getStartedAtMs()));
            }
            if (u.getCompletedAtMs() > 0) {
                p.line(" ", "Completed", java.time.Instant.ofEpochMilli(u.getCompletedAtMs()));
            }
            p.line(" ", "Message", u.getMessage());
        }
        var placement = spec.getTask().getPlacement();
        if (placement.getConstraintsCount() > 0 || placement.getPreferencesCount() > 0 || placement.getMaxReplicas() > 0) {
            p.head("", "Placement");
        }
        if (placement.getConstraintsCount() > 0) {
            p.line(" ", "Constraints", placement.getConstraintsList());
        }
        for (var pref : placement.getPreferencesList()) {
            p.line(" ", "Preferences", "Spread=" + pref.getSpread());
        }
        if (placement.getMaxReplicas() > 0) {
            p.line(" ", "Max Replicas Per Node", placement.getMaxReplicas());
        }
        update(p, "UpdateConfig", spec.getUpdate());
        update(p, "RollbackConfig", spec.getRollback());
        ContainerSpec c = spec.getTask().getContainer();
        p.head("", "ContainerSpec").line(" ", "Image", c.getImage());
        if (c.getCommandCount() > 0) {
            p.line(" ", "Command", String.join(" ", c.getCommandList()));
        }
        if (c.getArgsCount() > 0) {
            p.line(" ", "Args", String.join(" ", c.getArgsList()));
        }
        if (c.getEnvCount() > 0) {
            p.line(" ", "Env", String.join(" ", c.getEnvList()));
        }
        if (!c.getUser().isEmpty()) {
            p.line(" ", "User", c.getUser());
        }
        if (c.getMountsCount() > 0) {
            p.head("", "Mounts");
            for (var m : c.getMountsList()) {
                p.line(" ", "Target", m.getTarget()).line("  ", "Source", m.getSource())
                        .line("  ", "ReadOnly", m.getReadOnly()).line("  ", "Type", m.getType().name().toLowerCase());
            }
        }
        if (c.getSecretsCount() > 0) {
            p.head("", "Secrets");
            for (var r : c.getSecretsList()) {
                p.line(" ", "Target", r.getTarget()).line("  ", "Source", r.getSecretName())
                        .line("  ", "Owner", r.getUid() + ":" + r.getGid() + " mode 0" + Integer.toOctalString(r.getMode()));
            }
        }
        if (c.getConfigsCount() > 0) {
            p.head("", "Configs");
            for (var r : c.getConfigsList()) {
                p.line(" ", "Target", r.getTarget()).line("  ", "Source", r.getConfigName())
                        .line("  ", "Owner", r.getUid() + ":" + r.getGid() + " mode 0" + Integer.toOctalString(r.getMode()));
            }
        }
        var res = spec.getTask().getResources();
        if (res.hasLimits() || res.hasReservations()) {
            p.head("", "Resources");
            resources(p, "Reservations", res.getReservations());
            resources(p, "Limits", res.getLimits());
        }
        p.line("", "Endpoint Mode", spec.getEndpoint().getMode().name().toLowerCase());
        if (spec.getEndpoint().getPortsCount() > 0) {
            p.head("", "Ports");
            for (PortConfig port : spec.getEndpoint().getPortsList()) {
                p.line(" ", "PublishedPort", port.getPublishedPort()).line("  ", "Protocol", port.getProtocol().name().toLowerCase())
                        .line("  ", "TargetPort", port.getTargetPort())
                        .line("  ", "PublishMode", port.getPublishMode().name().toLowerCase());
            }
        }
        return p.sb.toString();
    }

    private static void update(Pretty p, String title, UpdateConfig u) {
        p.head("", title).line(" ", "Parallelism", u.getParallelism());
        if (u.hasDelay()) {
            p.line(" ", "Delay", Units.formatDuration(Durations.millis(u.getDelay())));
        }
        p.line(" ", "On failure", u.getFailureAction().name().toLowerCase());
        if (u.hasMonitor()) {
            p.line(" ", "Monitoring Period", Units.formatDuration(Durations.millis(u.getMonitor())));
        }
        p.line(" ", "Max failure ratio", u.getMaxFailureRatio())
                .line(" ", "Update order", u.getOrder() == UpdateConfig.Order.START_FIRST ? "start-first" : "stop-first");
    }

    private static void resources(Pretty p, String title, Resources r) {
        if (r.getNanoCpus() == 0 && r.getMemoryBytes() == 0 && r.getPids() == 0) {
            return;
        }
        p.head(" ", title);
        if (r.getNanoCpus() > 0) {
            p.line("  ", "CPU", cpus(r.getNanoCpus()));
        }
        if (r.getMemoryBytes() > 0) {
            p.line("  ", "Memory", bytes(r.getMemoryBytes()));
        }
        if (r.getPids() > 0) {
            p.line("  ", "Pids", r.getPids());
        }
    }

    static String node(Node n) {
        Pretty p = new Pretty();
        var d = n.getDescription();
        p.line("", "ID", n.getMeta().getId()).line("", "Hostname", d.getHostname())
                .line("", "Joined at", Instant.ofEpochMilli(n.getMeta().getCreatedAtMs()));
        if (!n.getSpec().getAnnotations().getLabelsMap().isEmpty()) {
            p.head("", "Labels");
            n.getSpec().getAnnotations().getLabelsMap().forEach((k, v) -> p.sb.append(" - ").append(k).append("=").append(v).append('\n'));
        }
        p.head("", "Status").line(" ", "State", Show.nodeStatus(n))
                .line(" ", "Availability", Show.title(n.getSpec().getAvailability().name()))
                .line(" ", "Address", n.getStatus().getAddr());
        if (!n.getStatus().getMessage().isEmpty()) {
            p.line(" ", "Message", n.getStatus().getMessage());
        }
        if (n.hasManagerStatus()) {
            p.head("", "Manager Status").line(" ", "Address", n.getManagerStatus().getAddr())
                    .line(" ", "Raft Address", n.getManagerStatus().getRaftAddr())
                    .line(" ", "Raft Status", n.getManagerStatus().getLeader() ? "Reachable" : Show.managerStatus(n))
                    .line(" ", "Leader", n.getManagerStatus().getLeader() ? "Yes" : "No");
        }
        p.head("", "Platform").line(" ", "Operating System", d.getPlatform().getOs())
                .line(" ", "Architecture", d.getPlatform().getArchitecture());
        p.head("", "Resources").line(" ", "CPUs", cpus(d.getResources().getNanoCpus()))
                .line(" ", "Memory", bytes(d.getResources().getMemoryBytes()));
        p.line("", "Engine Version", d.getVersion()).line("", "Runtime", d.getRuntime())
                .line("", "Routing mesh", d.getRoutingMesh().isEmpty() ? "unknown (an older swarmd)" : d.getRoutingMesh());
        for (var a : n.getAttachmentsList()) {
            p.line("", "Ingress Address", String.join(", ", a.getAddressesList()));
        }
        return p.sb.toString();
    }
}
