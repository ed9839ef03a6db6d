package io.jswarm.manager.control;

import io.jswarm.api.ContainerSpec;
import io.jswarm.api.Mount;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.PlacementPreference;
import io.jswarm.api.PortConfig;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.UpdateConfig;
import io.jswarm.manager.Durations;
import io.jswarm.scheduler.Constraint;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks specs before anything is written. Every message names the field and the value
 * at fault so that a person can correct the command.
 */
public final class SpecValidator {
    public static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$");
    // Docker's reference grammar, simplified: [domain/]path[:tag][@digest], lowercase path.
    private static final Pattern DOMAIN = Pattern.compile("^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)$");
    private static final Pattern PATH_AND_TAG = Pattern.compile(
            "^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                    + "(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$");
    private static final long MAX_REPLICAS = 1_000_000;

    private SpecValidator() {}

    public static void validateName(String kind, String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException(kind + " name is required");
        }
        if (name.length() > 63) {
            throw new IllegalArgumentException(kind + " name \"" + name + "\" is longer than 63 characters");
        }
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(kind + " name \"" + name
                    + "\" is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit");
        }
    }

    public static void validateImage(String image) {
        if (image.isEmpty()) {
            throw new IllegalArgumentException("image is required");
        }
        String rest = image;
        int slash = image.indexOf('/');
        if (slash > 0) {
            // As in Docker: the first part names a registry only if it looks like a host.
            String first = image.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                if (!DOMAIN.matcher(first).matches()) {
                    throw new IllegalArgumentException("invalid image reference \"" + image + "\": bad registry \"" + first + "\"");
                }
                rest = image.substring(slash + 1);
            }
        }
        if (!PATH_AND_TAG.matcher(rest).matches()) {
            throw new IllegalArgumentException("invalid image reference \"" + image + "\"");
        }
    }

    public static void validate(ServiceSpec spec) {
        validateName("service", spec.getAnnotations().getName());
        if (!spec.hasTask() || !spec.getTask().hasContainer()) {
            throw new IllegalArgumentException("service spec has no container spec (image is required)");
        }
        ContainerSpec c = spec.getTask().getContainer();
        validateImage(c.getImage());
        for (String e : c.getEnvList()) {
            int eq = e.indexOf('=');
            String key = eq < 0 ? e : e.substring(0, eq);
            if (key.isEmpty() || key.contains(" ")) {
                throw new IllegalArgumentException("invalid environment variable \"" + e + "\": expected KEY=VALUE");
            }
        }
        if (!c.getHostname().isEmpty() && c.getHostname().length() > 63) {
            throw new IllegalArgumentException("hostname \"" + c.getHostname() + "\" is longer than 63 characters");
        }
        for (Mount m : c.getMountsList()) {
            if (!m.getTarget().startsWith("/")) {
                throw new IllegalArgumentException("mount target \"" + m.getTarget() + "\" must be an absolute path");
            }
            if (m.getType() == Mount.Type.BIND && !m.getSource().startsWith("/")) {
                throw new IllegalArgumentException("bind mount source \"" + m.getSource() + "\" must be an absolute path");
            }
            if (m.getType() == Mount.Type.VOLUME && !m.getSource().isEmpty() && !NAME.matcher(m.getSource()).matches()) {
                throw new IllegalArgumentException("volume name \"" + m.getSource() + "\" is invalid");
            }
        }
        if (c.hasStopGracePeriod() && Durations.millis(c.getStopGracePeriod()) < 0) {
            throw new IllegalArgumentException("stop grace period must not be negative");
        }
        var res = spec.getTask().getResources();
        for (var r : new io.jswarm.api.Resources[] {res.getLimits(), res.getReservations()}) {
            if (r.getNanoCpus() < 0 || r.getMemoryBytes() < 0 || r.getPids() < 0) {
                throw new IllegalArgumentException("resources must not be negative");
            }
        }
        if (res.getLimits().getMemoryBytes() > 0 && res.getLimits().getMemoryBytes() < 4L * 1024 * 1024) {
            throw new IllegalArgumentException("memory limit " + res.getLimits().getMemoryBytes()
                    + " bytes is below the minimum of 4 MiB");
        }
        var restart = spec.getTask().getRestart();
        if (restart.hasDelay() && Durations.millis(restart.getDelay()) < 0) {
            throw new IllegalArgumentException("restart delay must not be negative");
        }
        if (restart.hasWindow() && Durations.millis(restart.getWindow()) < 0) {
            throw new IllegalArgumentException("restart window must not be negative");
        }
        var placement = spec.getTask().getPlacement();
        for (String constraint : placement.getConstraintsList()) {
            Constraint.parse(constraint);
        }
        for (PlacementPreference p : placement.getPreferencesList()) {
            if (!p.getSpread().startsWith("node.labels.") || p.getSpread().length() == "node.labels.".length()) {
                throw new IllegalArgumentException("invalid placement preference \"spread=" + p.getSpread()
                        + "\": only spread over node.labels.KEY is supported");
            }
        }
        if (spec.hasGlobal() && placement.getMaxReplicas() > 0) {
            throw new IllegalArgumentException("max replicas per node cannot be set for a global service");
        }
        if (spec.hasReplicated() && spec.getReplicated().getReplicas() > MAX_REPLICAS) {
            throw new IllegalArgumentException("replicas " + spec.getReplicated().getReplicas() + " exceeds the limit of " + MAX_REPLICAS);
        }
        validateUpdate("update", spec.getUpdate());
        validateUpdate("rollback", spec.getRollback());
        Set<String> published = new HashSet<>();
        for (PortConfig p : spec.getEndpoint().getPortsList()) {
            if (p.getTargetPort() < 1 || p.getTargetPort() > 65535) {
                throw new IllegalArgumentException("invalid target port " + p.getTargetPort() + ": must be 1-65535");
            }
            if (p.getPublishedPort() > 65535) {
                throw new IllegalArgumentException("invalid published port " + p.getPublishedPort() + ": must be 1-65535");
            }
            String key = p.getProtocol() + "/" + p.getPublishedPort();
            if (p.getPublishedPort() != 0 && !published.add(key)) {
                throw new IllegalArgumentException("published port " + p.getPublishedPort() + "/"
                        + p.getProtocol().name().toLowerCase() + " is given twice");
            }
        }
        for (var n : spec.getTask().getNetworksList()) {
            if (n.getTarget().isEmpty()) {
                throw new IllegalArgumentException("network attachment without a network name");
            }
        }
    }

    private static void validateUpdate(String what, UpdateConfig u) {
        if (u.hasDelay() && Durations.millis(u.getDelay()) < 0) {
            throw new IllegalArgumentException(what + " delay must not be negative");
        }
        if (u.hasMonitor() && Durations.millis(u.getMonitor()) < 0) {
            throw new IllegalArgumentException(what + " monitor must not be negative");
        }
        if (u.getMaxFailureRatio() < 0 || u.getMaxFailureRatio() > 1) {
            throw new IllegalArgumentException(what + " max failure ratio " + u.getMaxFailureRatio() + " must be between 0 and 1");
        }
    }

    public static void validate(NodeSpec spec) {
        for (String key : spec.getAnnotations().getLabelsMap().keySet()) {
            if (key.isEmpty() || key.contains("=") || key.contains(" ")) {
                throw new IllegalArgumentException("invalid node label key \"" + key + "\"");
            }
        }
    }
}
