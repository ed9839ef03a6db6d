package io.jswarm.bench;

import io.jswarm.overlay.Commands;
import io.jswarm.agent.image.ImageStore;
import io.jswarm.agent.image.RegistryClient;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.TestImages;
import io.jswarm.e2e.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Containers on one node, each figure against a baseline timed in the same run:
 * <ul>
 * <li>start: {@code service create --replicas 20} (image already on the node) until all 20
 * are RUNNING, against 20 sequential {@code runc run -d} of equivalent bundles (same
 * image layers as an overlay, same config) prepared beforehand;</li>
 * <li>start with mutual TLS against the same in plaintext (swarmd's hidden {@code --tls=false}):
 * two one-node clusters side by side, taking turns;</li>
 * <li>pull: a 100 MB image from the local registry into an empty image store, against
 * {@code skopeo copy} of the same image to a local directory.</li>
 * </ul>
 */
public final class ContainerBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int replicas = 20;
        try (TestRegistry registry = new TestRegistry("127.0.0.1", LocalCluster.freePort())) {
            byte[] busybox = TestImages.busyboxLayer();
            TestImages.push(registry.addr, "busybox", "1", List.of(busybox), List.of("sleep", "1000"), List.of());
            String image = registry.addr + "/busybox:1";
            // The node's agent and manager talk over mutual TLS as in every cluster; the
            // same node in plaintext (swarmd's hidden --tls=false) is TLS's baseline. Both
            // nodes live side by side and take turns, so that a slower spell of the machine
            // falls on both.
            try (LocalCluster plainCluster = new LocalCluster().insecureRegistry(registry.addr);
                    LocalCluster tlsCluster = new LocalCluster().insecureRegistry(registry.addr)) {
                Member plain = node(plainCluster, image, false);
                Member tls = node(tlsCluster, image, true);
                double[][] plainStart = new double[2][runs];
                double[][] tlsStart = new double[2][runs];
                double[] runc = new double[runs];
                for (int r = 0; r < runs; r++) {
                    runc[r] = timeRunc(plainCluster, replicas);
                    if (r % 2 == 0) {
                        start(plainCluster, plain, image, replicas, plainStart, r);
                        start(tlsCluster, tls, image, replicas, tlsStart, r);
                    } else {
                        start(tlsCluster, tls, image, replicas, tlsStart, r);
                        start(plainCluster, plain, image, replicas, plainStart, r);
                    }
                }
                double mr = SchedulerBenchmark.median(runc);
                String[] modes = {"plaintext (--tls=false)", "mutual TLS"};
                double[][][] starts = {plainStart, tlsStart};
                for (int i = 0; i < modes.length; i++) {
                    double ms = SchedulerBenchmark.median(starts[i][0]);
                    System.out.printf("start (%s): service create --replicas %d until all RUNNING on one node: median %.2f s %s (all ASSIGNED after %.2f s);"
                            + " ratio to runc %.2f (target <= 1.5)%n", modes[i], replicas, ms, Arrays.toString(ControlPlaneBenchmark.round(starts[i][0])),
                            SchedulerBenchmark.median(starts[i][1]), ms / mr);
                }
                System.out.printf("baseline: %d sequential runc run -d of prepared bundles: median %.2f s %s%n",
                        replicas, mr, Arrays.toString(ControlPlaneBenchmark.round(runc)));
                double p = SchedulerBenchmark.median(plainStart[0]), t = SchedulerBenchmark.median(tlsStart[0]);
                System.out.printf("TLS: start median %.2f s vs plaintext %.2f s: ratio %.2f (target <= 1.15)%n", t, p, t / p);
            }
            pull(registry, runs);
        }
    }

    /** A one-node cluster with the image on its node (pulled by a warm-up service, then removed). */
    static Member node(LocalCluster cluster, String image, boolean tls) throws Exception {
        Member m1 = tls ? cluster.init("m1") : cluster.init("m1", "--tls=false");
        cluster.swarmctl(m1, "service", "create", "--name", "warm", "--stop-grace-period", "0s", image).ok();
        LocalCluster.await(Duration.ofSeconds(60), () -> running(m1, "warm") == 1, "the image is on the node");
        try (var dirs = Files.list(cluster.dir.resolve("m1/tasks"))) {
            Path config = dirs.findFirst().orElseThrow().resolve("bundle/config.json");
            Files.copy(config, cluster.dir.resolve("template-config.json"));
        }
        cluster.swarmctl(m1, "service", "rm", "warm").ok();
        LocalCluster.await(Duration.ofSeconds(60), () -> total(m1) == 0, "warm-up service gone");
        return m1;
    }

    /**
     * One start run: service create until all replicas are RUNNING into {@code out[0][r]}, until
     * all are ASSIGNED into {@code out[1][r]}; then the service is removed.
     */
    static void start(LocalCluster cluster, Member m1, String image, int replicas, double[][] out, int r) throws Exception {
        String name = "s" + r;
        long t0 = System.nanoTime();
        // The request swarmctl makes, sent from here: the CLI's own JVM start (about 0.7 s
        // on this machine) is not the orchestrator's. Stop at once when removed: sleep as
        // pid 1 ignores SIGTERM.
        try (ControlClient c = m1.control()) {
            c.stub().createService(io.jswarm.api.control.CreateServiceRequest.newBuilder().setSpec(
                    io.jswarm.api.ServiceSpec.newBuilder()
                            .setAnnotations(io.jswarm.api.Annotations.newBuilder().setName(name))
                            .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                                    .setImage(image).setStopGracePeriod(com.google.protobuf.Duration.getDefaultInstance())))
                            .setReplicated(io.jswarm.api.ReplicatedService.newBuilder().setReplicas(replicas))).build());
            while (true) {
                List<Task> ts = c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(name).build()).getTasksList();
                long n = ts.stream().filter(t -> t.getStatus().getState().getNumber() >= TaskState.ASSIGNED_VALUE).count();
                long run = ts.stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).count();
                if (n == replicas && out[1][r] == 0) {
                    out[1][r] = (System.nanoTime() - t0) / 1e9;
                }
                if (run == replicas) {
                    break;
                }
                if (System.nanoTime() - t0 > 120e9) {
                    throw new IllegalStateException("only " + run + " running after 120 s");
                }
                Thread.sleep(10);
            }
        }
        out[0][r] = (System.nanoTime() - t0) / 1e9;
        cluster.swarmctl(m1, "service", "rm", name).ok();
        LocalCluster.await(Duration.ofSeconds(120), () -> total(m1) == 0 && containers(cluster) == 0, "removed");
    }

    static long running(Member m, String service) {
        try (ControlClient c = m.control()) {
            return c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(service).build()).getTasksList().stream()
                    .filter(t -> t.getStatus().getState() == TaskState.RUNNING).count();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    static long total(Member m) {
        try (ControlClient c = m.control()) {
            return c.stub().listTasks(ListTasksRequest.getDefaultInstance()).getTasksCount();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    static int containers(LocalCluster cluster) {
        try {
            return cluster.containers().size();
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * Prepares 20 bundles like the executor's (overlay over the node's unpacked layers, a
     * config.json copied from a container the executor made, network namespace made), then
     * times only the 20 runc run -d.
     */
    static double timeRunc(LocalCluster cluster, int n) throws Exception {
        Path layers = cluster.dir.resolve("m1/images/layers");
        Path layer;
        try (var s = Files.list(layers)) {
            layer = s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        Path work = Files.createTempDirectory("jswarm-bench-runc-");
        String root = work.resolve("runc").toString();
        List<String> ids = new ArrayList<>();
        try {
            String config = Files.readString(Path.of(template(cluster)));
            for (int i = 0; i < n; i++) {
                String id = "benchrunc" + i + "x" + Long.toHexString(System.nanoTime());
                Path b = Files.createDirectories(work.resolve(id));
                Files.createDirectories(b.resolve("rootfs"));
                Files.createDirectories(b.resolve("upper"));
                Files.createDirectories(b.resolve("work"));
                Commands.check(List.of("mount", "-t", "overlay", "overlay", "-o", "lowerdir=" + layer + ",upperdir=" + b.resolve("upper")
                        + ",workdir=" + b.resolve("work"), b.resolve("rootfs").toString()), 30);
                for (String f : new String[] {"hosts", "hostname", "resolv.conf"}) {
                    Files.writeString(b.resolve(f), "\n");
                }
                String ns = "jsb-" + i + "-" + Long.toHexString(System.nanoTime() & 0xffff);
                Commands.check(List.of("ip", "netns", "add", ns), 30);
                String c = config.replaceAll("\"path\"\\s*:\\s*\"/var/run/netns/[^\"]*\"", "\"path\" : \"/var/run/netns/" + ns + "\"")
                        .replaceAll("\"cgroupsPath\"\\s*:\\s*\"[^\"]*\"", "\"cgroupsPath\" : \"" + cluster.cgroupParent + "/" + id + "\"")
                        .replaceAll("\"source\"\\s*:\\s*\"[^\"]*/bundle/(hosts|hostname|resolv.conf)\"", "\"source\" : \"" + b + "/$1\"");
                Files.writeString(b.resolve("config.json"), c);
                ids.add(id + " " + ns);
            }
            long t0 = System.nanoTime();
            for (String x : ids) {
                String id = x.split(" ")[0];
                // Detached: the container keeps runc's stdio, so it must not be a pipe we wait on.
                Process p = new ProcessBuilder("runc", "--root", root, "run", "-d", "--bundle", work.resolve(id).toString(), id)
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("runc run -d " + id + " failed");
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            for (String id : Commands.check(List.of("runc", "--root", root, "list", "-q"), 30).lines().toList()) {
                Commands.run(List.of("runc", "--root", root, "delete", "--force", id), 30);
            }
            return secs;
        } finally {
            for (String x : ids) {
                String[] p = x.split(" ");
                Commands.run(List.of("umount", work.resolve(p[0]).resolve("rootfs").toString()), 30);
                Commands.run(List.of("ip", "netns", "delete", p[1]), 30);
            }
            LocalCluster.deleteTree(work);
        }
    }

    /** The config.json of a container the executor made: the baseline runs the same configuration. */
    static String template(LocalCluster cluster) throws Exception {
        Path out = cluster.dir.resolve("template-config.json");
        if (Files.exists(out)) {
            return out.toString();
        }
        throw new IllegalStateException("no template: run the warm-up first");
    }

    static void pull(TestRegistry registry, int runs) throws Exception {
        byte[] big = new byte[100 << 20];
        new SecureRandom().nextBytes(big);  // incompressible: 100 MB on the wire
        Path src = Files.createTempDirectory("jswarm-bench-img-");
        byte[] layer;
        try {
            Files.write(src.resolve("data"), big);
            layer = tarGz(src);
        } finally {
            LocalCluster.deleteTree(src);
        }
        TestImages.push(registry.addr, "big", "1", List.of(layer), List.of("true"), List.of());
        double[] ours = new double[runs];
        double[] skopeo = new double[runs];
        for (int r = 0; r < runs; r++) {
            Path a = Files.createTempDirectory("jswarm-bench-pull-");
            Path b = Files.createTempDirectory("jswarm-bench-skopeo-");
            try {
                long t0 = System.nanoTime();
                new ImageStore(a, new RegistryClient(Set.of(registry.addr)), true).pull(registry.addr + "/big:1");
                ours[r] = (System.nanoTime() - t0) / 1e9;
                long t1 = System.nanoTime();
                Commands.check(List.of("skopeo", "copy", "--src-tls-verify=false", "docker://" + registry.addr + "/big:1",
                        "dir:" + b.resolve("img")), 300);
                skopeo[r] = (System.nanoTime() - t1) / 1e9;
            } finally {
                LocalCluster.deleteTree(a);
                LocalCluster.deleteTree(b);
            }
        }
        System.out.printf("pull: %d MB image into an empty image store (download, verify, unpack): median %.2f s %s%n",
                layer.length >> 20, SchedulerBenchmark.median(ours), Arrays.toString(ControlPlaneBenchmark.round(ours)));
        System.out.printf("baseline: skopeo copy to a local directory (download, verify, no unpack): median %.2f s %s; ratio %.2f (target <= 1)%n",
                SchedulerBenchmark.median(skopeo), Arrays.toString(ControlPlaneBenchmark.round(skopeo)),
                SchedulerBenchmark.median(ours) / SchedulerBenchmark.median(skopeo));
    }

    static byte[] tarGz(Path root) throws Exception {
        Path out = Files.createTempFile("jswarm-bench-", ".tar.gz");
        try {
            Commands.check(List.of("tar", "-C", root.toString(), "-czf", out.toString(), "."), 300);
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
