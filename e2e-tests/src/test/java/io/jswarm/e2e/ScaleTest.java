package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.CreateServiceRequest;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.control.UpdateServiceRequest;
import io.jswarm.bench.SimulatedFleet;
import io.jswarm.cli.ControlClient;
import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A status storm and a user at the same time: 200 simulated nodes (the real protocol, see
 * {@link SimulatedFleet}) report 5,000 tasks starting while a user creates and scales
 * another service. The user's calls are answered within 2 s each (a bound on waiting, not
 * a measurement: the benchmark measures), and nothing is lost: every task the nodes
 * reported RUNNING is RUNNING in the store, and the user's service has its replicas.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class ScaleTest {
    static ServiceSpec spec(String name, long replicas) {
        return ServiceSpec.newBuilder().setAnnotations(io.jswarm.api.Annotations.newBuilder().setName(name))
                .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                        .setImage("127.0.0.1:5000/busybox:1")))
                .setReplicated(ReplicatedService.newBuilder().setReplicas(replicas)).build();
    }

    static long timed(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void usersAreAnsweredDuringAStatusStormAndNothingIsLost() throws Exception {
        try (LocalCluster cluster = new LocalCluster()) {
            Member m1 = cluster.init("m1", "--heartbeat-period", "2s");
            cluster.swarmctl(m1, "node", "update", "--availability", "drain", "m1").ok();
            String token = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
            try (SimulatedFleet fleet = SimulatedFleet.join(m1.addr(), token, 200, "sim-"); ControlClient c = m1.control()) {
                await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(m1) == 201, "200 simulated nodes ready");
                String storm = c.stub().createService(CreateServiceRequest.newBuilder().setSpec(spec("storm", 5_000)).build())
                        .getService().getMeta().getId();
                // While the nodes report 5,000 tasks starting: a user's create and scale.
                await(Duration.ofSeconds(60), () -> fleet.reportsSent() > 200, "the storm has begun");
                List<Long> answers = new ArrayList<>();
                answers.add(timed(() -> c.stub().createService(CreateServiceRequest.newBuilder().setSpec(spec("user", 1)).build())));
                for (int replicas = 2; replicas <= 4; replicas++) {
                    var svc = c.stub().getService(GetServiceRequest.newBuilder().setServiceId("user").build()).getService();
                    ServiceSpec next = spec("user", replicas);
                    answers.add(timed(() -> c.stub().updateService(UpdateServiceRequest.newBuilder().setServiceId(svc.getMeta().getId())
                            .setServiceVersion(svc.getMeta().getVersion()).setSpec(next).setScale(true).build())));
                    answers.add(timed(() -> c.stub().listServices(ListServicesRequest.getDefaultInstance())));
                }
                assertTrue(answers.stream().allMatch(ms -> ms < 2_000), "every call answered within 2 s: " + answers + " ms");

                await(Duration.ofSeconds(240), () -> running(c, storm) == 5_000, "5,000 storm tasks RUNNING in the store",
                        () -> running(c, storm) + " running; fleet: " + fleet.reportsSent() + " reports, " + fleet.reportsShed() + " shed, "
                                + fleet.reportsFailed() + " failed");
                await(Duration.ofSeconds(60), () -> tasks(c, "user").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING)
                        .count() == 4, "the user's 4 replicas RUNNING");
                // Nothing lost: what the nodes hold as running is what the store says is running.
                Set<String> stored = tasks(c, "storm").stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING)
                        .map(t -> t.getMeta().getId()).collect(Collectors.toSet());
                await(Duration.ofSeconds(30), () -> fleet.reported(TaskState.RUNNING).containsAll(stored)
                        && stored.size() == 5_000, "the nodes reported every stored RUNNING task");
                assertEquals(0, LocalCluster.nodes(m1).stream().filter(n -> n.getStatus().getState() != io.jswarm.api.NodeState.NODE_READY)
                        .count(), "no node was marked down");

                // Listings come in pages, each task once, cut to what a listing shows.
                List<Task> whole = tasks(c, "storm");
                Set<String> all = whole.stream().map(t -> t.getMeta().getId()).collect(Collectors.toSet());
                List<io.jswarm.api.control.ListTasksResponse> pages = new ArrayList<>();
                c.stub().streamTasks(ListTasksRequest.newBuilder().addServiceIds(storm).setSummary(true).build()).forEachRemaining(pages::add);
                assertEquals((all.size() + 999) / 1_000, pages.size(), "pages of at most 1,000 tasks");
                List<String> streamed = pages.stream().flatMap(p -> p.getTasksList().stream()).map(t -> t.getMeta().getId()).toList();
                assertEquals(all, Set.copyOf(streamed));
                assertEquals(all.size(), streamed.size(), "no task twice");
                Task listed = pages.get(0).getTasks(0);
                Task full = whole.stream().filter(t -> t.getMeta().getId().equals(listed.getMeta().getId())).findFirst().orElseThrow();
                assertEquals(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                        .setImage(full.getSpec().getContainer().getImage())).build(), listed.getSpec(), "the summary's spec: the image");
                assertEquals(full.getStatus(), listed.getStatus());
                Set<String> printed = Set.copyOf(cluster.swarmctl(m1, "service", "ps", "-q", "--no-trunc", "storm").ok().out().lines().toList());
                assertEquals(all, printed, "swarmctl service ps -q lists every task");
            }
        }
    }

    static long running(ControlClient c, String serviceId) {
        return c.stub().listServices(ListServicesRequest.getDefaultInstance()).getStatusesList().stream()
                .filter(s -> s.getServiceId().equals(serviceId)).mapToLong(s -> s.getRunningTasks()).sum();
    }

    static List<Task> tasks(ControlClient c, String service) {
        String id = c.stub().getService(GetServiceRequest.newBuilder().setServiceId(service).build()).getService().getMeta().getId();
        return c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(id).build()).getTasksList();
    }
}
