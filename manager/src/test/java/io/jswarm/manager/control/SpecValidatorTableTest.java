package io.jswarm.manager.control;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Duration;
import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.GlobalService;
import io.jswarm.api.Mount;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.PortConfig;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.TaskSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The validator against a table of cases, valid edge values among them: each case either
 * passes, or is refused with one line that holds the given words, no raw control
 * character, and no more than a few hundred characters whatever the value's size.
 */
class SpecValidatorTableTest {
    record Case(String what, Consumer<ServiceSpec.Builder> change, String refusal) {}

    static final List<Case> CASES = new ArrayList<>();

    static void ok(String what, Consumer<ServiceSpec.Builder> change) {
        CASES.add(new Case(what, change, null));
    }

    static void bad(String what, Consumer<ServiceSpec.Builder> change, String refusal) {
        CASES.add(new Case(what, change, refusal));
    }

    static Duration dur(long seconds, int nanos) {
        return Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
    }

    static String x(int n) {
        return "x".repeat(n);
    }

    static ContainerSpec.Builder c(ServiceSpec.Builder b) {
        return b.getTaskBuilder().getContainerBuilder();
    }

    static {
        // Names.
        for (String n : new String[] {"a", "web", "a_b-c9", x(63), "A1", "web--1"}) {
            ok("name " + n, b -> b.getAnnotationsBuilder().setName(n));
        }
        String[][] badNames = {{"", "name is required"}, {"-web", "invalid"}, {"web_", "invalid"}, {x(64), "longer than 63"},
                {"we b", "invalid"}, {"web\n", "invalid"}, {"\u001b[31mweb", "invalid"}, {"w\u00e9b", "invalid"}, {"a/b", "invalid"},
                {"a.b", "invalid"}, {x(1 << 20), "longer than 63"}};
        for (String[] n : badNames) {
            bad("name " + Quote.of(n[0]), b -> b.getAnnotationsBuilder().setName(n[0]), n[1]);
        }
        // Images.
        for (String i : new String[] {"busybox", "127.0.0.1:5000/busybox:1", "localhost:5000/a", "registry.example:5000/a/b-c_d.e:v1.2",
                "r:5000/x@sha256:" + "a".repeat(64), "library/busybox:latest", "[::1]:5000/x", "a/b/c/d", "r:65535/x", "x:" + x(128),
                "r:5000/" + x(240)}) {
            ok("image " + i, b -> c(b).setImage(i));
        }
        String[][] badImages = {{"", "image is required"}, {"Bad Image", "invalid image reference"}, {"UPPER/case", "invalid image reference"},
                {"r:99999/x", "port 99999"}, {"r:0/x", "port 0"}, {"r:123456/x", "port 123456"}, {"x:" + x(129), "invalid image reference"},
                {x(256), "repository name is longer than 255"}, {"r:5000/" + x(250), "repository name is longer than 255"},
                {"x\ny", "invalid image reference"}, {":tag", "invalid image reference"}, {"r:5000/" + x(600), "longer than 512"}};
        for (String[] i : badImages) {
            bad("image " + Quote.of(i[0]), b -> c(b).setImage(i[0]), i[1]);
        }
        // Durations: every field, its edges and beyond.
        List<Object[]> durations = List.of(
                new Object[] {"stop grace period", (Function<ServiceSpec.Builder, Duration.Builder>) b -> c(b).getStopGracePeriodBuilder(), false},
                new Object[] {"restart delay", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getTaskBuilder().getRestartBuilder().getDelayBuilder(), false},
                new Object[] {"restart window", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getTaskBuilder().getRestartBuilder().getWindowBuilder(), false},
                new Object[] {"update delay", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getUpdateBuilder().getDelayBuilder(), false},
                new Object[] {"update monitor", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getUpdateBuilder().getMonitorBuilder(), false},
                new Object[] {"rollback delay", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getRollbackBuilder().getDelayBuilder(), false},
                new Object[] {"rollback monitor", (Function<ServiceSpec.Builder, Duration.Builder>) b -> b.getRollbackBuilder().getMonitorBuilder(), false},
                new Object[] {"health check interval", (Function<ServiceSpec.Builder, Duration.Builder>) b -> c(b).getHealthcheckBuilder().getIntervalBuilder(), true},
                new Object[] {"health check timeout", (Function<ServiceSpec.Builder, Duration.Builder>) b -> c(b).getHealthcheckBuilder().getTimeoutBuilder(), true},
                new Object[] {"health check start period", (Function<ServiceSpec.Builder, Duration.Builder>) b -> c(b).getHealthcheckBuilder().getStartPeriodBuilder(), true});
        for (Object[] d : durations) {
            String field = (String) d[0];
            @SuppressWarnings("unchecked")
            Function<ServiceSpec.Builder, Duration.Builder> f = (Function<ServiceSpec.Builder, Duration.Builder>) d[1];
            boolean health = (Boolean) d[2];
            ok(field + " 0", b -> f.apply(b).setSeconds(0));
            ok(field + " 1ms", b -> f.apply(b).setNanos(1_000_000));
            ok(field + " 1h", b -> f.apply(b).setSeconds(3600));
            ok(field + " at the int64 limit", b -> f.apply(b).setSeconds(SpecValidator.MAX_DURATION_SECONDS));
            bad(field + " negative", b -> f.apply(b).setSeconds(-1), field + " must not be negative");
            bad(field + " beyond int64", b -> f.apply(b).setSeconds(SpecValidator.MAX_DURATION_SECONDS + 1), "exceeds the largest duration");
            bad(field + " 99999999999999999999999h as a client could wrap it", b -> f.apply(b).setSeconds(Long.MAX_VALUE), "exceeds the largest duration");
            bad(field + " nanos out of range", b -> f.apply(b).setNanos(1_000_000_000), "exceeds the largest duration");
            if (health) {
                bad(field + " 1ns", b -> f.apply(b).setNanos(1), "below the minimum of 1ms");
                bad(field + " 999999ns", b -> f.apply(b).setNanos(999_999), "below the minimum of 1ms");
            } else {
                ok(field + " 1ns", b -> f.apply(b).setNanos(1));
            }
        }
        // Environment.
        for (String e : new String[] {"A=1", "A=", "A", "A_B=x y", "K=" + x(32 * 1024 - 2), "PATH=/bin:/usr/bin", "A=line1\nline2"}) {
            ok("env " + Quote.of(e), b -> c(b).addEnv(e));
        }
        String[][] badEnv = {{"=x", "invalid environment variable"}, {" A=1", "invalid environment variable"},
                {"A B=1", "invalid environment variable"}, {"A\n=1", "invalid environment variable"}, {"\u001bK=1", "invalid environment variable"},
                {"K=" + x(32 * 1024), "longer than 32768"}, {"", "invalid environment variable"}};
        for (String[] e : badEnv) {
            bad("env " + Quote.of(e[0]), b -> c(b).addEnv(e[0]), e[1]);
        }
        ok("1000 env entries", b -> { for (int i = 0; i < 1000; i++) c(b).addEnv("K" + i + "=v"); });
        bad("1001 env entries", b -> { for (int i = 0; i < 1001; i++) c(b).addEnv("K" + i + "=v"); }, "too many environment variables: 1001");
        bad("10,000 env entries", b -> { for (int i = 0; i < 10_000; i++) c(b).addEnv("K" + i + "=v"); }, "too many environment variables");
        // Labels of services and containers.
        List<Object[]> labelKinds = List.of(
                new Object[] {"service label", (Function<ServiceSpec.Builder, java.util.Map<String, String>>) b -> b.getAnnotationsBuilder().getMutableLabels()},
                new Object[] {"container label", (Function<ServiceSpec.Builder, java.util.Map<String, String>>) b -> c(b).getMutableLabels()});
        for (Object[] k : labelKinds) {
            String kind = (String) k[0];
            @SuppressWarnings("unchecked")
            Function<ServiceSpec.Builder, java.util.Map<String, String>> m = (Function<ServiceSpec.Builder, java.util.Map<String, String>>) k[1];
            ok(kind + " plain", b -> m.apply(b).put("com.example.tier", "web"));
            ok(kind + " empty value", b -> m.apply(b).put("flag", ""));
            ok(kind + " value of 4096", b -> m.apply(b).put("k", x(4096)));
            ok(kind + " key of 128", b -> m.apply(b).put(x(128), "v"));
            ok(kind + " unicode value", b -> m.apply(b).put("k", "caf\u00e9 \u2603"));
            ok(kind + " 100 labels", b -> { for (int i = 0; i < 100; i++) m.apply(b).put("k" + i, "v"); });
            bad(kind + " empty key", b -> m.apply(b).put("", "v"), "key is empty");
            bad(kind + " key with =", b -> m.apply(b).put("a=b", "v"), "no '=' or whitespace");
            bad(kind + " key with space", b -> m.apply(b).put("a b", "v"), "no '=' or whitespace");
            bad(kind + " key with newline", b -> m.apply(b).put("a\nb", "v"), "control character");
            bad(kind + " key with ESC", b -> m.apply(b).put("\u001b[31m", "v"), "control character");
            bad(kind + " key of 129", b -> m.apply(b).put(x(129), "v"), "longer than 128");
            bad(kind + " value of 4097", b -> m.apply(b).put("k", x(4097)), "longer than 4096");
            bad(kind + " value of 1 MB", b -> m.apply(b).put("k", x(1 << 20)), "longer than 4096");
            bad(kind + " value with ESC", b -> m.apply(b).put("k", "\u001b[2J"), "control character");
            bad(kind + " 101 labels", b -> { for (int i = 0; i < 101; i++) m.apply(b).put("k" + i, "v"); }, "too many " + kind);
        }
        // Hostname.
        for (String h : new String[] {"web", "web-1", "a.b.c", x(63), String.join(".", x(63), x(63), x(63), x(61)), "1web"}) {
            ok("hostname " + Quote.of(h), b -> c(b).setHostname(h));
        }
        for (String h : new String[] {"-web", "web-", "a/b", "a b", "a\nb", "a..b", x(64), "_x", "web.", "\u001b]0;x\u0007"}) {
            bad("hostname " + Quote.of(h), b -> c(b).setHostname(h), "hostname");
        }
        bad("hostname of 254", b -> c(b).setHostname(String.join(".", x(63), x(63), x(63), x(62))), "longer than 253");
        // Working directory, user, stop signal.
        for (String w : new String[] {"/", "/app", "/a b/c"}) {
            ok("workdir " + w, b -> c(b).setDir(w));
        }
        bad("workdir relative", b -> c(b).setDir("relative/dir"), "must be an absolute path");
        bad("workdir app", b -> c(b).setDir("app"), "must be an absolute path");
        bad("workdir with newline", b -> c(b).setDir("/a\nb"), "control character");
        bad("workdir of 4097", b -> c(b).setDir("/" + x(4096)), "longer than 4096");
        for (String u : new String[] {"root", "1000", "1000:1000", "app:staff", "nobody"}) {
            ok("user " + u, b -> c(b).setUser(u));
        }
        for (String u : new String[] {"a:b:c", ":x", "x:", "a b", "a\nb"}) {
            bad("user " + Quote.of(u), b -> c(b).setUser(u), "user");
        }
        for (String s : new String[] {"SIGTERM", "TERM", "sigkill", "9", "64", "SIGRTMIN+3", "SIGUSR1", "HUP", "SIGRTMAX-2", "SIGWINCH"}) {
            ok("stop signal " + s, b -> c(b).setStopSignal(s));
        }
        for (String s : new String[] {"NOTASIG", "999", "-1", "0", "65", "SIG", "TERM\n", "SIGTERM junk", "9.5"}) {
            bad("stop signal " + Quote.of(s), b -> c(b).setStopSignal(s), "stop signal");
        }
        // Mounts.
        ok("tmpfs mount", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/tmp")));
        ok("bind mount", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.BIND).setSource("/src").setTarget("/dst")));
        ok("volume mount", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.VOLUME).setSource("data").setTarget("/data")));
        ok("100 mounts", b -> { for (int i = 0; i < 100; i++) c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/t" + i)); });
        for (String t : new String[] {"/", "//", "/./", "/."}) {
            bad("mount over the root " + t, b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.BIND).setSource("/tmp").setTarget(t)),
                    "container's root");
        }
        bad("mount target relative", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("relative")), "absolute path");
        bad("bind source relative", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.BIND).setSource("src").setTarget("/d")), "absolute path");
        bad("volume name bad", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.VOLUME).setSource("a b").setTarget("/d")), "volume name");
        bad("mount target with newline", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/a\nb")), "control character");
        bad("tmpfs size negative", b -> c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/t").setTmpfsSizeBytes(-1)), "negative");
        bad("101 mounts", b -> { for (int i = 0; i < 101; i++) c(b).addMounts(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/t" + i)); },
                "too many mounts");
        // Resources.
        ok("half a CPU", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setNanoCpus(500_000_000));
        ok("memory 4 MiB", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setMemoryBytes(4L << 20));
        ok("memory at int64", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setMemoryBytes(Long.MAX_VALUE));
        ok("pids at pid_max", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setPids(4_194_304));
        ok("10000 CPUs", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setNanoCpus(SpecValidator.MAX_NANO_CPUS));
        bad("negative CPUs", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setNanoCpus(-1), "must not be negative");
        bad("negative memory", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setMemoryBytes(-1), "must not be negative");
        bad("memory 1024", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setMemoryBytes(1024), "below the minimum of 4 MiB");
        bad("10001 CPUs", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setNanoCpus(SpecValidator.MAX_NANO_CPUS + 1), "exceeds the limit of 10000 CPUs");
        bad("pids beyond pid_max", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setPids(4_194_305), "pid");
        bad("negative pids", b -> b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setPids(-5), "must not be negative");
        bad("negative memory reservation", b -> b.getTaskBuilder().getResourcesBuilder().getReservationsBuilder().setMemoryBytes(-1),
                "reservations must not be negative");
        // Placement.
        ok("constraint ==", b -> b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a==b"));
        ok("constraint !=", b -> b.getTaskBuilder().getPlacementBuilder().addConstraints("node.role!=manager"));
        ok("spread preference", b -> b.getTaskBuilder().getPlacementBuilder().addPreferencesBuilder().setSpread("node.labels.zone"));
        bad("constraint =", b -> b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a=b"), "node.labels.a=b");
        bad("constraint with newline", b -> b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a==b\nx"), "control character");
        bad("constraint of 1025", b -> b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a==" + x(1011)), "longer than 1024");
        bad("101 constraints", b -> { for (int i = 0; i < 101; i++) b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a==" + i); },
                "too many placement constraints");
        for (String p : new String[] {"node.hostname", "node.labels.", "node.labels.zone junk", "node.labels.a\nb", "node.labels.a=b"}) {
            bad("preference " + Quote.of(p), b -> b.getTaskBuilder().getPlacementBuilder().addPreferencesBuilder().setSpread(p), "placement preference");
        }
        // Counts.
        ok("0 replicas", b -> b.setReplicated(ReplicatedService.newBuilder().setReplicas(0)));
        ok("1,000,000 replicas", b -> b.setReplicated(ReplicatedService.newBuilder().setReplicas(1_000_000)));
        bad("1,000,001 replicas", b -> b.setReplicated(ReplicatedService.newBuilder().setReplicas(1_000_001)), "exceeds the limit of 1000000");
        bad("replicas wrapped to 2^64-1", b -> b.setReplicated(ReplicatedService.newBuilder().setReplicas(-1)), "18446744073709551615");
        bad("max per node on a global service", b -> {
            b.setGlobal(GlobalService.getDefaultInstance());
            b.getTaskBuilder().getPlacementBuilder().setMaxReplicas(1);
        }, "global service");
        bad("max per node wrapped", b -> b.getTaskBuilder().getPlacementBuilder().setMaxReplicas(-1), "max replicas per node");
        ok("parallelism 0", b -> b.getUpdateBuilder().setParallelism(0));
        bad("parallelism wrapped", b -> b.getUpdateBuilder().setParallelism(-1), "update parallelism");
        bad("rollback parallelism wrapped", b -> b.getRollbackBuilder().setParallelism(-1), "rollback parallelism");
        for (double r : new double[] {0, 0.5, 1}) {
            ok("failure ratio " + r, b -> b.getUpdateBuilder().setMaxFailureRatio((float) r));
        }
        for (double r : new double[] {-0.1, 1.1, Double.NaN}) {
            bad("failure ratio " + r, b -> b.getUpdateBuilder().setMaxFailureRatio((float) r), "max failure ratio");
        }
        bad("health retries negative", b -> c(b).getHealthcheckBuilder().setRetries(-1), "retries");
        // Ports.
        for (int[] p : new int[][] {{80, 0}, {80, 8080}, {65535, 65535}, {1, 1}}) {
            ok("port " + p[0] + ":" + p[1], b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(p[0]).setPublishedPort(p[1])));
        }
        bad("target port 0", b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(0)), "target port 0");
        bad("target port 65536", b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(65536)), "target port 65536");
        bad("published port 65536", b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(80).setPublishedPort(65536)), "65536");
        bad("published port negative", b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(80).setPublishedPort(-1)), "published port");
        bad("published port twice", b -> b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(80).setPublishedPort(8080))
                .addPorts(PortConfig.newBuilder().setTargetPort(81).setPublishedPort(8080)), "given twice");
        // Arguments and the spec as a whole.
        ok("an argument with a newline", b -> c(b).addArgs("echo a\necho b"));
        ok("1000 arguments", b -> { for (int i = 0; i < 1000; i++) c(b).addArgs("a" + i); });
        bad("1001 arguments", b -> { for (int i = 0; i < 1001; i++) c(b).addArgs("a" + i); }, "too many command arguments");
        bad("an argument of 32769", b -> c(b).addArgs(x(32 * 1024 + 1)), "longer than 32768");
        bad("a command of 32769", b -> c(b).addCommand(x(32 * 1024 + 1)), "longer than 32768");
        ok("a spec of about 400 KB", b -> { for (int i = 0; i < 13; i++) c(b).addArgs(x(30_000)); });
        bad("a spec over 512 KiB", b -> { for (int i = 0; i < 20; i++) c(b).addArgs(x(30_000)); }, "more than the limit of 524288 bytes");
        bad("a network without a name", b -> b.getTaskBuilder().addNetworksBuilder().setTarget(""), "network attachment");
        bad("a network name with ESC", b -> b.getTaskBuilder().addNetworksBuilder().setTarget("\u001bnet"), "control character");
        ok("a network", b -> b.getTaskBuilder().addNetworksBuilder().setTarget("backend"));
    }

    static ServiceSpec.Builder base() {
        return ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("web"))
                .setTask(TaskSpec.newBuilder().setContainer(ContainerSpec.newBuilder().setImage("127.0.0.1:5000/busybox:1")))
                .setReplicated(ReplicatedService.newBuilder().setReplicas(3));
    }

    @Test
    void everyCaseOfTheTable() {
        assertTrue(CASES.size() >= 200, "the table holds " + CASES.size() + " cases");
        List<String> wrong = new ArrayList<>();
        for (Case k : CASES) {
            ServiceSpec.Builder b = base();
            k.change().accept(b);
            String message = null;
            try {
                SpecValidator.validate(b.build());
            } catch (IllegalArgumentException e) {
                message = e.getMessage();
            }
            if (k.refusal() == null) {
                if (message != null) {
                    wrong.add(k.what() + ": refused: " + message);
                }
                continue;
            }
            if (message == null) {
                wrong.add(k.what() + ": accepted");
            } else if (!message.contains(k.refusal())) {
                wrong.add(k.what() + ": " + message + " (expected: " + k.refusal() + ")");
            } else if (Quote.hasControl(message) || message.length() > 400) {
                wrong.add(k.what() + ": not one short escaped line: " + Quote.of(message));
            }
        }
        if (!wrong.isEmpty()) {
            fail(wrong.size() + " of " + CASES.size() + " cases wrong:\n" + String.join("\n", wrong));
        }
    }

    @Test
    void nodeLabelsFollowTheSameRules() {
        NodeSpec.Builder n = NodeSpec.newBuilder();
        n.getAnnotationsBuilder().putLabels("zone", "a");
        SpecValidator.validate(n.build());
        for (String key : new String[] {"", "a=b", "a b", "a\nb", x(129)}) {
            NodeSpec.Builder bad = NodeSpec.newBuilder();
            bad.getAnnotationsBuilder().putLabels(key, "v");
            try {
                SpecValidator.validate(bad.build());
                fail("node label key " + Quote.of(key) + " accepted");
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().startsWith("node label"), e.getMessage());
                assertFalse(Quote.hasControl(e.getMessage()), e.getMessage());
            }
        }
    }

    @Test
    void quotingEscapesControlCharactersAndCutsLongValues() {
        assertTrue(Quote.of("a\u001b[31mb\nc").equals("\"a\\e[31mb\\nc\""), Quote.of("a\u001b[31mb\nc"));
        String q = Quote.of(x(1 << 20));
        assertTrue(q.length() < 100 && q.endsWith("(1048576 characters)"), q);
        assertTrue(Quote.of("say \"hi\"").equals("\"say \\\"hi\\\"\""), Quote.of("say \"hi\""));
    }
}
