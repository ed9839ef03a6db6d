package io.jswarm.bench;

import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskSpec;
import io.jswarm.api.TaskState;
import io.jswarm.api.UpdateConfig;
import io.jswarm.api.UpdateStatus;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.control.RemoveServiceRequest;
import io.jswarm.api.control.UpdateServiceRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.TestImages;
import io.jswarm.e2e.TestRegistry;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A rolling update against creating the same number of fresh replicas, in the same run, on
 * one node with real containers: {@code service create --replicas 100} until all run,
 * then the update of those 100 to another image with parallelism 10 and no delay until
 * all 100 run the new image and the update status is completed.
 */
public final class UpdateBenchmark {
    static final int REPLICAS = 100;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        try (TestRegistry registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
                LocalCluster cluster = new LocalCluster().insecureRegistry(registry.addr)) {
            byte[] busybox = TestImages.busyboxLayer();
            TestImages.push(registry.addr, "busybox", "1", List.of(busybox), List.of("sleep", "1000"), List.of());
            TestImages.push(registry.addr, "busybox", "2", List.of(busybox), List.of("sleep", "1001"), List.of());
            String v1 = registry.addr + "/busybox:1";
            String v2 = registry.addr + "/busybox:2";
            Member m1 = cluster.init("m1");
            try (ControlClient c = m1.control()) {
                // Both images on the node first: the figures are about orchestration and containers, not pulls.
                create(c, "warm", v1, 1);
                await(c, "warm", 1, 60);
                update(c, "warm", v2);
                awaitUpdated(c, "warm", 1, 60);
                remove(c, cluster, "warm");

                double[] created = new double[runs];
                double[] updated = new double[runs];
                for (int r = 0; r < runs; r++) {
                    String name = "u" + r;
                    long t0 = System.nanoTime();
                    create(c, name, v1, REPLICAS);
                    await(c, name, REPLICAS, 300);
                    created[r] = (System.nanoTime() - t0) / 1e9;
                    long t1 = System.nanoTime();
                    update(c, name, v2);
                    awaitUpdated(c, name, REPLICAS, 300);
                    updated[r] = (System.nanoTime() - t1) / 1e9;
                    remove(c, cluster, name);
                }
                double mu = SchedulerBenchmark.median(updated);
                double mc = SchedulerBenchmark.median(created);
                System.out.printf("update: %d replicas to a new image, parallelism 10, no delay, until all run it and the update "
                        + "is completed: median %.2f s %s%n", REPLICAS, mu, Arrays.toString(ControlPlaneBenchmark.round(updated)));
                System.out.printf("baseline: service create --replicas %d until all RUNNING: median %.2f s %s; ratio %.2f%n",
                        REPLICAS, mc, Arrays.toString(ControlPlaneBenchmark.round(created)), mu / mc);
            }
        }
    }

    /** The request swarmctl makes; stop at once (sleep as pid 1 ignores SIGTERM). */
    static void create(ControlClient c, String name, String image, int replicas) {
        c.stub().createService(CreateServiceRequest.newBuilder().setSpec(ServiceSpec.newBuilder()
                .setAnnotations(Annotations.newBuilder().setName(name))
                .setTask(TaskSpec.newBuilder().setContainer(ContainerSpec.newBuilder().setImage(image)
                        .setStopGracePeriod(com.google.protobuf.Duration.getDefaultInstance())))
                .setReplicated(ReplicatedService.newBuilder().setReplicas(replicas))
                // Monitor 0: the default 5 s would add 5 s of watching after the last batch.
                .setUpdate(UpdateConfig.newBuilder().setParallelism(10).setMonitor(com.google.protobuf.Duration.getDefaultInstance())))
                .build());
    }

    static void update(ControlClient c, String name, String image) {
        Service s = c.stub().getService(GetServiceRequest.newBuilder().setServiceId(name).build()).getService();
        ServiceSpec.Builder spec = s.getSpec().toBuilder();
        spec.getTaskBuilder().getContainerBuilder().setImage(image);
        c.stub().updateService(UpdateServiceRequest.newBuilder().setServiceId(s.getMeta().getId())
                .setServiceVersion(s.getMeta().getVersion()).setSpec(spec).build());
    }

    static void await(ControlClient c, String name, int n, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (tasks(c, name).stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": not all running after " + seconds + " s");
            }
            Thread.sleep(10);
        }
    }

    static void awaitUpdated(ControlClient c, String name, int n, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            Service s = c.stub().getService(GetServiceRequest.newBuilder().setServiceId(name).build()).getService();
            long current = tasks(c, name).stream().filter(t -> t.getSpecVersion() == s.getSpecVersion()
                    && t.getStatus().getState() == TaskState.RUNNING).count();
            if (current == n && s.getUpdateStatus().getState() == UpdateStatus.State.COMPLETED) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": update not done after " + seconds + " s (" + current + " updated)");
            }
            Thread.sleep(10);
        }
    }

    static List<Task> tasks(ControlClient c, String name) {
        return c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(name).build()).getTasksList();
    }

    static void remove(ControlClient c, LocalCluster cluster, String name) throws InterruptedException {
        String id = c.stub().getService(GetServiceRequest.newBuilder().setServiceId(name).build()).getService().getMeta().getId();
        c.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(id).build());
        LocalCluster.await(Duration.ofSeconds(300), () -> ContainerBenchmark.total(cluster.member("m1")) == 0
                && ContainerBenchmark.containers(cluster) == 0, "service " + name + " removed");
    }
}
