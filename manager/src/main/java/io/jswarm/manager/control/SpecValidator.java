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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import com.google.protobuf.Duration;

/**
 * Checks specs before anything is written. Every refusal is one line naming the field,
 * the value at fault (quoted and escaped by {@link Quote}) and the rule, so that a person
 * can correct the command; the limits are listed in the README. Every front door (the
 * CLI, the coming Engine API, any gRPC client) gets the same answers: this is the one
 * place they are decided.
 */
public final class SpecValidator {
    public static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$");
    // Docker's reference grammar, simplified: [domain/]path[:tag][@digest], lowercase path.
    private static final Pattern DOMAIN = Pattern.compile("^(?:[a-zA-Z0-9.-]+(?::([0-9]+))?|\\[[0-9a-fA-F:]+\\](?::([0-9]+))?)$");
    private static final Pattern PATH_AND_TAG = Pattern.compile(
            "^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                    + "(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$");
    /** RFC 1123 host names: labels of letters, digits and '-', joined by dots. */
    private static final Pattern HOSTNAME = Pattern.compile("^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$");
    private static final Pattern SIGNAL = Pattern.compile("^(?:SIG)?(HUP|INT|QUIT|ILL|TRAP|ABRT|IOT|BUS|FPE|KILL|USR1|SEGV|USR2|PIPE|ALRM"
            + "|TERM|STKFLT|CHLD|CONT|STOP|TSTP|TTIN|TTOU|URG|XCPU|XFSZ|VTALRM|PROF|WINCH|IO|POLL|PWR|SYS|RTMIN(?:\\+\\d+)?|RTMAX(?:-\\d+)?)$");

    public static final long MAX_REPLICAS = 1_000_000;
    /** A whole service spec, serialized. */
    public static final int MAX_SPEC_BYTES = 512 << 10;
    public static final int MAX_NAME = 63;
    public static final int MAX_HOSTNAME = 253;
    /** The distribution spec's limit on a repository name; the whole reference gets a little more. */
    public static final int MAX_REPOSITORY = 255;
    public static final int MAX_IMAGE = 512;
    public static final int MAX_ENV = 1_000;
    public static final int MAX_ENV_ENTRY = 32 << 10;
    public static final int MAX_LABELS = 100;
    public static final int MAX_LABEL_KEY = 128;
    public static final int MAX_LABEL_VALUE = 4 << 10;
    public static final int MAX_ARGS = 1_000;
    public static final int MAX_ARG = 32 << 10;
    public static final int MAX_MOUNTS = 100;
    public static final int MAX_PATH = 4_096;
    public static final int MAX_CONSTRAINTS = 100;
    public static final int MAX_CONSTRAINT = 1_024;
    public static final int MAX_PORTS = 1_000;
    /** Durations are int64 nanoseconds (Docker's and Go's time.Duration): about 292 years. */
    public static final long MAX_DURATION_SECONDS = Long.MAX_VALUE / 1_000_000_000L;
    /** Docker's minimum for health check interval, timeout and start period. */
    public static final long MIN_HEALTH_NANOS = 1_000_000;
    public static final long MAX_NANO_CPUS = 10_000L * 1_000_000_000L;
    public static final long MAX_PIDS = 4_194_304;  // the kernel's pid_max limit
    public static final long MIN_MEMORY = 4L << 20;

    private SpecValidator() {}

    private static IllegalArgumentException refuse(String what) {
        return new IllegalArgumentException(what);
    }

    public static void validateName(String kind, String name) {
        if (name.isEmpty()) {
            throw refuse(kind + " name is required");
        }
        if (name.length() > MAX_NAME) {
            throw refuse(kind + " name " + Quote.of(name) + " is longer than " + MAX_NAME + " characters");
        }
        if (!NAME.matcher(name).matches()) {
            throw refuse(kind + " name " + Quote.of(name)
                    + " is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit");
        }
    }

    public static void validateImage(String image) {
        if (image.isEmpty()) {
            throw refuse("image is required");
        }
        if (image.length() > MAX_IMAGE) {
            throw refuse("invalid image reference " + Quote.of(image) + ": longer than " + MAX_IMAGE + " characters");
        }
        String rest = image;
        int slash = image.indexOf('/');
        if (slash > 0) {
            // As in Docker: the first part names a registry only if it looks like a host.
            String first = image.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                Matcher m = DOMAIN.matcher(first);
                if (!m.matches()) {
                    throw refuse("invalid image reference " + Quote.of(image) + ": bad registry " + Quote.of(first));
                }
                String port = m.group(1) != null ? m.group(1) : m.group(2);
                if (port != null && (port.length() > 5 || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535)) {
                    throw refuse("invalid image reference " + Quote.of(image) + ": registry port " + port + " is not 1-65535");
                }
                rest = image.substring(slash + 1);
            }
        }
        if (!PATH_AND_TAG.matcher(rest).matches()) {
            throw refuse("invalid image reference " + Quote.of(image));
        }
        String repository = rest.replaceFirst("@.*$", "").replaceFirst(":[^/]*$", "");
        int repoLength = (rest == image ? 0 : image.indexOf('/') + 1) + repository.length();
        if (repoLength > MAX_REPOSITORY) {
            throw refuse("invalid image reference " + Quote.of(image) + ": the repository name is longer than "
                    + MAX_REPOSITORY + " characters");
        }
    }

    /** A free text field: no control characters, at most {@code max} characters. */
    private static void text(String field, String value, int max) {
        if (value.length() > max) {
            throw refuse(field + " " + Quote.of(value) + " is longer than " + max + " characters");
        }
        if (Quote.hasControl(value)) {
            throw refuse(field + " " + Quote.of(value) + " contains a control character");
        }
    }

    private static void count(String field, int n, int max) {
        if (n > max) {
            throw refuse("too many " + field + ": " + n + " (at most " + max + ")");
        }
    }

    /** Label keys and values, as Docker: keys without '=', whitespace or control characters. */
    public static void validateLabels(String field, java.util.Map<String, String> labels) {
        count(field, labels.size(), MAX_LABELS);
        for (var e : labels.entrySet()) {
            String key = e.getKey();
            if (key.isEmpty()) {
                throw refuse(field + " key is empty");
            }
            text(field + " key", key, MAX_LABEL_KEY);
            if (key.contains("=") || key.chars().anyMatch(Character::isWhitespace)) {
                throw refuse(field + " key " + Quote.of(key) + " is invalid: no '=' or whitespace");
            }
            text(field + " " + Quote.of(key) + " value", e.getValue(), MAX_LABEL_VALUE);
        }
    }

    /**
     * A duration field: within int64 nanoseconds and never negative; when {@code minNanos}
     * is above 0, a set value below it is refused too.
     */
    static void duration(String field, boolean set, Duration d, long minNanos) {
        if (!set) {
            return;
        }
        if (d.getSeconds() < 0 || d.getNanos() < 0) {
            throw refuse(field + " must not be negative");
        }
        if (d.getSeconds() > MAX_DURATION_SECONDS || d.getNanos() >= 1_000_000_000) {
            throw refuse(field + " " + d.getSeconds() + "s exceeds the largest duration, " + MAX_DURATION_SECONDS
                    + "s (about 292 years, int64 nanoseconds)");
        }
        long nanos = d.getSeconds() * 1_000_000_000L + d.getNanos();
        if (nanos != 0 && nanos < minNanos) {
            throw refuse(field + " " + nanos + "ns is below the minimum of " + (minNanos / 1_000_000) + "ms");
        }
    }

    public static void validate(ServiceSpec spec) {
        validateName("service", spec.getAnnotations().getName());
        validateLabels("service label", spec.getAnnotations().getLabelsMap());
        if (!spec.hasTask() || !spec.getTask().hasContainer()) {
            throw refuse("service spec has no container spec (image is required)");
        }
        ContainerSpec c = spec.getTask().getContainer();
        validateImage(c.getImage());
        validateLabels("container label", c.getLabelsMap());
        count("environment variables", c.getEnvCount(), MAX_ENV);
        for (String e : c.getEnvList()) {
            int eq = e.indexOf('=');
            String key = eq < 0 ? e : e.substring(0, eq);
            if (e.length() > MAX_ENV_ENTRY) {
                throw refuse("environment variable " + Quote.of(e) + " is longer than " + MAX_ENV_ENTRY + " characters");
            }
            if (key.isEmpty() || key.chars().anyMatch(Character::isWhitespace) || Quote.hasControl(key)) {
                throw refuse("invalid environment variable " + Quote.of(e)
                        + ": expected KEY=VALUE with a key of no whitespace or control characters");
            }
        }
        count("command arguments", c.getCommandCount() + c.getArgsCount(), MAX_ARGS);
        for (String a : c.getCommandList()) {
            if (a.length() > MAX_ARG) {
                throw refuse("command argument " + Quote.of(a) + " is longer than " + MAX_ARG + " characters");
            }
        }
        for (String a : c.getArgsList()) {
            if (a.length() > MAX_ARG) {
                throw refuse("argument " + Quote.of(a) + " is longer than " + MAX_ARG + " characters");
            }
        }
        if (!c.getHostname().isEmpty()) {
            if (c.getHostname().length() > MAX_HOSTNAME) {
                throw refuse("hostname " + Quote.of(c.getHostname()) + " is longer than " + MAX_HOSTNAME + " characters");
            }
            if (!HOSTNAME.matcher(c.getHostname()).matches() || c.getHostname().split("\\.").length > 127
                    || java.util.Arrays.stream(c.getHostname().split("\\.")).anyMatch(l -> l.length() > 63)) {
                throw refuse("hostname " + Quote.of(c.getHostname())
                        + " is invalid: letters, digits and '-' in dot-separated labels of at most 63 characters (RFC 1123)");
            }
        }
        if (!c.getDir().isEmpty()) {
            text("working directory", c.getDir(), MAX_PATH);
            if (!c.getDir().startsWith("/")) {
                throw refuse("working directory " + Quote.of(c.getDir()) + " must be an absolute path");
            }
        }
        if (!c.getUser().isEmpty()) {
            text("user", c.getUser(), 256);
            if (c.getUser().chars().anyMatch(Character::isWhitespace) || c.getUser().split(":", -1).length > 2
                    || c.getUser().startsWith(":") || c.getUser().endsWith(":")) {
                throw refuse("user " + Quote.of(c.getUser()) + " is invalid: expected USER, UID, USER:GROUP or UID:GID");
            }
        }
        if (!c.getStopSignal().isEmpty()) {
            validateSignal(c.getStopSignal());
        }
        count("mounts", c.getMountsCount(), MAX_MOUNTS);
        for (Mount m : c.getMountsList()) {
            text("mount target", m.getTarget(), MAX_PATH);
            text("mount source", m.getSource(), MAX_PATH);
            if (!m.getTarget().startsWith("/")) {
                throw refuse("mount target " + Quote.of(m.getTarget()) + " must be an absolute path");
            }
            if (m.getTarget().replaceAll("/+", "/").equals("/") || m.getTarget().matches("/(\\./?|/)*")) {
                throw refuse("mount target " + Quote.of(m.getTarget()) + " is the container's root: mount below it");
            }
            if (m.getType() == Mount.Type.BIND && !m.getSource().startsWith("/")) {
                throw refuse("bind mount source " + Quote.of(m.getSource()) + " must be an absolute path");
            }
            if (m.getType() == Mount.Type.VOLUME && !m.getSource().isEmpty() && !NAME.matcher(m.getSource()).matches()) {
                throw refuse("volume name " + Quote.of(m.getSource()) + " is invalid");
            }
            if (m.getTmpfsSizeBytes() < 0) {
                throw refuse("tmpfs size of mount " + Quote.of(m.getTarget()) + " must not be negative");
            }
        }
        duration("stop grace period", c.hasStopGracePeriod(), c.getStopGracePeriod(), 0);
        var h = c.getHealthcheck();
        duration("health check interval", h.hasInterval(), h.getInterval(), MIN_HEALTH_NANOS);
        duration("health check timeout", h.hasTimeout(), h.getTimeout(), MIN_HEALTH_NANOS);
        duration("health check start period", h.hasStartPeriod(), h.getStartPeriod(), MIN_HEALTH_NANOS);
        if (h.getRetries() < 0) {
            throw refuse("health check retries must not be negative");
        }
        var res = spec.getTask().getResources();
        for (var r : new io.jswarm.api.Resources[] {res.getLimits(), res.getReservations()}) {
            String kind = r == res.getLimits() ? "limit" : "reservation";
            if (r.getNanoCpus() < 0 || r.getMemoryBytes() < 0 || r.getPids() < 0) {
                throw refuse("resource " + kind + "s must not be negative");
            }
            if (r.getNanoCpus() > MAX_NANO_CPUS) {
                throw refuse("CPU " + kind + " " + r.getNanoCpus() / 1e9 + " exceeds the limit of " + MAX_NANO_CPUS / 1_000_000_000L + " CPUs");
            }
            if (r.getPids() > MAX_PIDS) {
                throw refuse("pids " + kind + " " + r.getPids() + " exceeds the kernel's limit of " + MAX_PIDS);
            }
        }
        if (res.getLimits().getMemoryBytes() > 0 && res.getLimits().getMemoryBytes() < MIN_MEMORY) {
            throw refuse("memory limit " + res.getLimits().getMemoryBytes() + " bytes is below the minimum of 4 MiB");
        }
        var restart = spec.getTask().getRestart();
        duration("restart delay", restart.hasDelay(), restart.getDelay(), 0);
        duration("restart window", restart.hasWindow(), restart.getWindow(), 0);
        var placement = spec.getTask().getPlacement();
        count("placement constraints", placement.getConstraintsCount(), MAX_CONSTRAINTS);
        for (String constraint : placement.getConstraintsList()) {
            text("constraint", constraint, MAX_CONSTRAINT);
            Constraint.parse(constraint);
        }
        for (PlacementPreference p : placement.getPreferencesList()) {
            text("placement preference", p.getSpread(), MAX_CONSTRAINT);
            String key = p.getSpread().startsWith("node.labels.") ? p.getSpread().substring("node.labels.".length()) : "";
            if (key.isEmpty() || key.contains("=") || key.chars().anyMatch(Character::isWhitespace)) {
                throw refuse("invalid placement preference " + Quote.of("spread=" + p.getSpread())
                        + ": only spread=node.labels.KEY is supported");
            }
        }
        if (spec.hasGlobal() && placement.getMaxReplicas() > 0) {
            throw refuse("max replicas per node cannot be set for a global service");
        }
        if (spec.hasReplicated() && (spec.getReplicated().getReplicas() < 0 || spec.getReplicated().getReplicas() > MAX_REPLICAS)) {
            throw refuse("replicas " + Long.toUnsignedString(spec.getReplicated().getReplicas()) + " exceeds the limit of " + MAX_REPLICAS);
        }
        if (placement.getMaxReplicas() < 0 || placement.getMaxReplicas() > MAX_REPLICAS) {
            throw refuse("max replicas per node " + Long.toUnsignedString(placement.getMaxReplicas()) + " exceeds the limit of " + MAX_REPLICAS);
        }
        validateUpdate("update", spec.getUpdate());
        validateUpdate("rollback", spec.getRollback());
        count("published ports", spec.getEndpoint().getPortsCount(), MAX_PORTS);
        Set<String> published = new HashSet<>();
        for (PortConfig p : spec.getEndpoint().getPortsList()) {
            if (p.getTargetPort() < 1 || p.getTargetPort() > 65535) {
                throw refuse("invalid target port " + p.getTargetPort() + ": must be 1-65535");
            }
            if (p.getPublishedPort() < 0 || p.getPublishedPort() > 65535) {
                throw refuse("invalid published port " + p.getPublishedPort() + ": must be 1-65535");
            }
            if (p.getProtocol() == PortConfig.Protocol.SCTP) {
                throw refuse("port " + p.getTargetPort() + "/sctp: the routing mesh forwards tcp and udp only");
            }
            if (p.getPublishMode() == PortConfig.PublishMode.HOST && p.getPublishedPort() == 0) {
                throw refuse("target port " + p.getTargetPort() + " is published in host mode without a published port: give one (published=N)");
            }
            if (p.getPublishMode() == PortConfig.PublishMode.HOST && p.getPreserveClientIp()) {
                throw refuse("preserve-client-ip is for ingress mode: a port published in host mode always keeps the client's address");
            }
            String key = p.getProtocol() + "/" + p.getPublishedPort();
            if (p.getPublishedPort() != 0 && !published.add(key)) {
                throw refuse("published port " + p.getPublishedPort() + "/"
                        + p.getProtocol().name().toLowerCase() + " is given twice");
            }
        }
        if (spec.getEndpoint().getMode() == io.jswarm.api.EndpointSpec.ResolutionMode.DNSRR
                && spec.getEndpoint().getPortsList().stream().anyMatch(p -> p.getPublishMode() == PortConfig.PublishMode.INGRESS)) {
            throw refuse("a port published in ingress mode cannot be used with endpoint mode dnsrr (publish it with mode=host)");
        }
        for (var n : spec.getTask().getNetworksList()) {
            if (n.getTarget().isEmpty()) {
                throw refuse("network attachment without a network name");
            }
            text("network", n.getTarget(), MAX_NAME);
        }
        // Last: a field at fault says more than the size it adds up to.
        if (spec.getSerializedSize() > MAX_SPEC_BYTES) {
            throw refuse("service spec is " + spec.getSerializedSize() + " bytes, more than the limit of " + MAX_SPEC_BYTES + " bytes");
        }
    }

    /** A signal name (TERM, SIGTERM, SIGRTMIN+3) or number (1 to 64). */
    public static void validateSignal(String signal) {
        String s = signal.toUpperCase(java.util.Locale.ROOT);
        if (s.matches("\\d{1,3}")) {
            int n = Integer.parseInt(s);
            if (n >= 1 && n <= 64) {
                return;
            }
        } else if (SIGNAL.matcher(s).matches()) {
            return;
        }
        throw refuse("stop signal " + Quote.of(signal) + " is invalid: expected a signal name such as SIGTERM or a number 1-64");
    }

    private static void validateUpdate(String what, UpdateConfig u) {
        duration(what + " delay", u.hasDelay(), u.getDelay(), 0);
        duration(what + " monitor", u.hasMonitor(), u.getMonitor(), 0);
        if (!(u.getMaxFailureRatio() >= 0 && u.getMaxFailureRatio() <= 1)) {
            throw refuse(what + " max failure ratio " + u.getMaxFailureRatio() + " must be between 0 and 1");
        }
        if (u.getParallelism() < 0 || u.getParallelism() > MAX_REPLICAS) {
            throw refuse(what + " parallelism " + Long.toUnsignedString(u.getParallelism()) + " exceeds the limit of " + MAX_REPLICAS);
        }
    }

    public static void validate(io.jswarm.api.NetworkSpec spec) {
        validateName("network", spec.getAnnotations().getName());
        validateLabels("network label", spec.getAnnotations().getLabelsMap());
        if (spec.getIngress()) {
            throw refuse("the ingress network is created by the cluster itself; another one cannot be made");
        }
        String driver = spec.getDriver();
        if (!driver.isEmpty() && !driver.equals("overlay")) {
            throw refuse("network driver " + Quote.of(driver) + " is not supported: only overlay");
        }
        if (spec.getIpamCount() > 1) {
            throw refuse("only one subnet per network is supported");
        }
        for (var ipam : spec.getIpamList()) {
            text("subnet", ipam.getSubnet(), 64);
            text("gateway", ipam.getGateway(), 64);
        }
    }

    public static void validate(NodeSpec spec) {
        validateLabels("node label", spec.getAnnotations().getLabelsMap());
    }
}
