package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.services;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Node;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.UpdateStatus;
import io.jswarm.e2e.LocalCluster.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Rolling updates and rollbacks with real containers on simulated hosts: the issue's six
 * scenarios (one at a time with a delay, two at a time, start-first, failure actions
 * rollback and pause, a leader killed mid-update, service rollback), plus resuming a
 * paused update.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class UpdateTest {
    static SimulatedCluster sim;
    static LocalCluster cluster;
    static Member via;
    static String v1;
    static String v2;
    static String crashing;
    static String registry;

    @BeforeAll
    static void start() throws Exception {
        sim = new SimulatedCluster(2, "2s");
        cluster = sim.cluster;
        via = sim.m1;
        registry = sim.registry.addr;
        v1 = sim.image;
        crashing = sim.failing;
        TestImages.push(registry, "busybox", "2", List.of(TestImages.busyboxLayer()), List.of("sleep", "1001"), List.of());
        v2 = registry + "/busybox:2";
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
    }

    /** Counts, every 100 ms, the slots with a task running, and keeps the smallest count seen. */
    static final class Sampler implements AutoCloseable {
        final AtomicInteger min = new AtomicInteger(Integer.MAX_VALUE);
        final AtomicInteger samples = new AtomicInteger();
        volatile String atMin = "";  // the tasks when the count was smallest, for the failure message
        final Thread thread;
        volatile boolean running = true;

        Sampler(String service, boolean countTasks) {
            thread = new Thread(() -> {
                while (running) {
                    try {
                        List<Task> ts = tasks(via, service).stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).toList();
                        int n = countTasks ? ts.size() : (int) ts.stream().map(Task::getSlot).distinct().count();
                        if (n < min.get()) {
                            min.set(n);
                            atMin = describe(tasks(via, service));
                        }
                        samples.incrementAndGet();
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        // a sample lost to a busy manager: the next one counts
                    }
                }
            });
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5_000);
        }
    }

    static String describe(List<Task> ts) {
        StringBuilder sb = new StringBuilder();
        for (Task t : ts) {
            String img = t.getSpec().getContainer().getImage();
            sb.append("\n  slot ").append(t.getSlot()).append(' ').append(img.substring(img.lastIndexOf('/') + 1, Math.min(img.length(),
                    img.lastIndexOf('/') + 10))).append(" desired=").append(t.getDesiredState()).append(" state=")
                    .append(t.getStatus().getState()).append(" created=").append(t.getMeta().getCreatedAtMs() % 100_000)
                    .append(" started=").append(t.getStartedAtMs() % 100_000);
        }
        return sb.toString();
    }

    static Service service(String name) {
        return services(via).stream().filter(s -> s.getSpec().getAnnotations().getName().equals(name)).findFirst().orElseThrow();
    }

    static boolean runsImage(Task t, String image) {
        return t.getSpec().getContainer().getImage().startsWith(image + "@") || t.getSpec().getContainer().getImage().equals(image);
    }

    /** The tasks meant to run now, all running the image. */
    static boolean allOn(String service, String image, int n) {
        List<Task> current = tasks(via, service).stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).toList();
        return current.size() == n && current.stream().allMatch(t -> runsImage(t, image) && t.getStatus().getState() == TaskState.RUNNING);
    }

    /** Creation times of the tasks of an image, oldest first. */
    static List<Long> createdOn(String service, String image) {
        return tasks(via, service).stream().filter(t -> runsImage(t, image)).map(t -> t.getMeta().getCreatedAtMs()).sorted().toList();
    }

    @Test
    @Order(1)
    void oneAtATimeWithTheDelayAndTheOthersServing() throws Exception {
        cluster.swarmctl(via, "service", "create", "--name", "web", "--replicas", "4", "--update-delay", "3s",
                "--stop-grace-period", "1s", v1).ok();
        long before = System.currentTimeMillis();
        LocalCluster.Result r;
        try (Sampler s = new Sampler("web", false)) {
            r = cluster.swarmctl(via, "service", "update", "--image", v2, "web").ok();
            assertTrue(s.samples.get() > 50, "sampled throughout");
            assertTrue(s.min.get() >= 3, "at least 3 of the 4 slots ran at every moment: " + s.min.get() + s.atMin);
        }
        assertTrue(r.out().contains("overall progress: 4 out of 4 tasks") && r.out().trim().endsWith("verify: Service converged"),
                r.out());
        assertTrue(allOn("web", v2, 4));
        List<Long> created = createdOn("web", v2);
        assertEquals(4, created.size(), "each slot replaced once");
        for (int i = 1; i < created.size(); i++) {
            assertTrue(created.get(i) - created.get(i - 1) >= 3_000, "replacements 3 s apart: " + created);
        }
        assertTrue(created.get(0) >= before);
        List<Task> old = tasks(via, "web").stream().filter(t -> runsImage(t, v1)).toList();
        assertEquals(4, old.size(), "the v1 tasks stay in the history");
        assertTrue(old.stream().allMatch(t -> t.getDesiredState() == TaskState.SHUTDOWN && t.getStatus().getState() == TaskState.SHUTDOWN));
        Service web = service("web");
        assertEquals(UpdateStatus.State.COMPLETED, web.getUpdateStatus().getState());
        assertTrue(web.getUpdateStatus().getCompletedAtMs() > web.getUpdateStatus().getStartedAtMs());
        String ps = cluster.swarmctl(via, "service", "ps", "web").ok().out();
        assertTrue(ps.contains("\\_ web.1"), ps);
        assertTrue(cluster.swarmctl(via, "service", "inspect", "--pretty", "web").ok().out().contains("State:") , "update status shown");
        String ls = cluster.swarmctl(via, "service", "ls").ok().out();
        assertTrue(ls.contains("UPDATE") && ls.lines().anyMatch(l -> l.contains(" web ") && l.trim().endsWith("completed")), ls);
    }

    @Test
    @Order(2)
    void rollbackReturnsEveryTaskToTheOldImage() throws Exception {
        String out = cluster.swarmctl(via, "service", "rollback", "web").ok().out();
        assertTrue(out.trim().endsWith("verify: Service converged"), out);
        assertTrue(allOn("web", v1, 4));
        assertEquals(UpdateStatus.State.ROLLBACK_COMPLETED, service("web").getUpdateStatus().getState());
        assertEquals("rollback completed", service("web").getUpdateStatus().getMessage());
    }

    @Test
    @Order(3)
    void twoAtATime() throws Exception {
        long before = System.currentTimeMillis();
        cluster.swarmctl(via, "service", "update", "--update-parallelism", "2", "--update-delay", "2s", "--image", v2, "web").ok();
        assertTrue(allOn("web", v2, 4));
        List<Long> created = tasks(via, "web").stream().filter(t -> runsImage(t, v2) && t.getMeta().getCreatedAtMs() >= before)
                .map(t -> t.getMeta().getCreatedAtMs()).sorted().toList();
        assertEquals(4, created.size());
        assertTrue(created.get(1) - created.get(0) < 1_000, "a batch of two: " + created);
        assertTrue(created.get(2) - created.get(1) >= 2_000, "then the delay: " + created);
        assertTrue(created.get(3) - created.get(2) < 1_000, "then the next two: " + created);
    }

    @Test
    @Order(4)
    void startFirstNeverRunsFewerThanTheReplicas() throws Exception {
        try (Sampler s = new Sampler("web", true)) {
            cluster.swarmctl(via, "service", "update", "--update-order", "start-first", "--update-parallelism", "1",
                    "--update-delay", "0s", "--image", v1, "web").ok();
            assertTrue(s.min.get() >= 4, "never fewer than 4 running: " + s.min.get() + s.atMin);
        }
        assertTrue(allOn("web", v1, 4));
    }

    @Test
    @Order(5)
    void aFailingUpdateIsRolledBack() throws Exception {
        LocalCluster.Result r = cluster.swarmctl(via, "service", "update", "--update-failure-action", "rollback", "--update-order",
                "stop-first", "--image", crashing, "web");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.out().contains("rollback: update rolled back due to failure or early termination of task web."), r.out());
        assertTrue(r.err().contains("update rolled back due to failure or early termination of task web.")
                && r.err().contains("task: non-zero exit (7)"), r.err());
        Service web = service("web");
        assertEquals(UpdateStatus.State.ROLLBACK_COMPLETED, web.getUpdateStatus().getState());
        assertTrue(runsImage(Task.newBuilder().setSpec(web.getSpec().getTask()).build(), v1), "the service is on v1 again");
        assertTrue(allOn("web", v1, 4));
    }

    @Test
    @Order(6)
    void aFailingUpdatePausesAndResumesOnTheNextUpdate() throws Exception {
        // An image that is not in the registry yet: every new task is rejected.
        String later = registry + "/busybox:later";
        LocalCluster.Result r = cluster.swarmctl(via, "service", "update", "--update-failure-action", "pause", "--image", later, "web");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().contains("update paused due to failure or early termination of task web."), r.err());
        Service web = service("web");
        assertEquals(UpdateStatus.State.PAUSED, web.getUpdateStatus().getState());
        // start-first (set in scenario 4): the old task of the failed slot keeps serving, the others were left alone.
        assertEquals(4, tasks(via, "web").stream().filter(t -> t.getDesiredState() == TaskState.RUNNING && runsImage(t, v1)
                && t.getStatus().getState() == TaskState.RUNNING).count(), describe(tasks(via, "web")));
        // Scaling neither resumes the update nor waits for it: the old tasks count as they run.
        assertTrue(cluster.swarmctl(via, "service", "scale", "web=4").ok().out().contains("verify: Service converged"));
        String ls = cluster.swarmctl(via, "service", "ls").ok().out();
        assertTrue(ls.lines().anyMatch(l -> l.contains(" web ") && l.trim().endsWith("paused")), ls);

        TestImages.push(registry, "busybox", "later", List.of(TestImages.busyboxLayer()), List.of("sleep", "1002"), List.of());
        String out = cluster.swarmctl(via, "service", "update", "web").ok().out();
        assertTrue(out.trim().endsWith("verify: Service converged"), out);
        assertTrue(allOn("web", later, 4));
        assertEquals(UpdateStatus.State.COMPLETED, service("web").getUpdateStatus().getState());
    }

    @Test
    @Order(7)
    void staleAndNonTemplateUpdates() throws Exception {
        Service web = service("web");
        long tasksBefore = tasks(via, "web").size();
        cluster.swarmctl(via, "service", "update", "--label-add", "tier=front", "web").ok();
        cluster.swarmctl(via, "service", "scale", "web=5").ok();
        List<Task> running = tasks(via, "web").stream().filter(t -> t.getDesiredState() == TaskState.RUNNING).toList();
        assertEquals(5, running.size());
        assertEquals(tasksBefore + 1, tasks(via, "web").size(), "labels and replicas replace no task");
        assertEquals(web.getSpecVersion(), service("web").getSpecVersion());
        cluster.swarmctl(via, "service", "scale", "web=4").ok();

        // An update carrying the version read before someone else's change is refused, and changes nothing.
        Service read = service("web");
        cluster.swarmctl(via, "service", "update", "--label-add", "by=other", "web").ok();
        try (var cc = via.control()) {
            var req = io.jswarm.api.control.UpdateServiceRequest.newBuilder().setServiceId(read.getMeta().getId())
                    .setServiceVersion(read.getMeta().getVersion()).setSpec(read.getSpec().toBuilder().setTask(
                            read.getSpec().getTask().toBuilder().setContainer(read.getSpec().getTask().getContainer().toBuilder()
                                    .setImage(v1)))).build();
            io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                    () -> cc.stub().updateService(req));
            assertTrue(e.getStatus().getDescription().contains("update out of sequence"), e.getStatus().toString());
        }
        assertEquals(web.getSpecVersion(), service("web").getSpecVersion(), "nothing changed");
    }

    @Test
    @Order(8)
    void aPreparedTaskSurvivesItsAgentsRestart() throws Exception {
        // The old task ignores SIGTERM (sleep as pid 1) for its 10 s grace: the new one waits prepared (READY) meanwhile.
        cluster.swarmctl(via, "service", "create", "--name", "slow", "--constraint", "node.hostname==w2", v1).ok();
        cluster.swarmctl(via, "service", "update", "-d", "--image", v2, "slow").ok();
        await(Duration.ofSeconds(30), () -> tasks(via, "slow").stream().anyMatch(t -> runsImage(t, v2)
                && t.getDesiredState() == TaskState.READY && t.getStatus().getState() == TaskState.READY), "the new task is prepared");
        Member w2 = cluster.member("w2");
        w2.kill();
        w2.start();
        await(Duration.ofSeconds(90), () -> {
            try {
                return allOn("slow", v2, 1) && service("slow").getUpdateStatus().getState() == UpdateStatus.State.COMPLETED;
            } catch (RuntimeException e) {
                return false;
            }
        }, "the update completes");
        List<Task> ts = tasks(via, "slow");
        assertEquals(2, ts.size(), "the prepared task was started, not replaced: " + describe(ts));
        assertTrue(ts.stream().noneMatch(t -> t.getStatus().getState() == TaskState.REJECTED), describe(ts));
        cluster.swarmctl(via, "service", "rm", "slow").ok();
    }

    @Test
    @Order(9)
    void aNewLeaderFinishesTheUpdate() throws Exception {
        Member w1 = sim.promoteWorkers();
        cluster.swarmctl(via, "service", "create", "--name", "six", "--replicas", "6", "--constraint", "node.hostname!=m1",
                "--update-delay", "2s", "--stop-grace-period", "1s", v1).ok();
        Node leaderNode = nodes(w1).stream().filter(n -> n.getManagerStatus().getLeader()).findFirst().orElseThrow();
        assertEquals("m1", leaderNode.getDescription().getHostname(), "m1 leads (it initialized the cluster)");
        cluster.swarmctl(via, "service", "update", "-d", "--image", v2, "six").ok();
        await(Duration.ofSeconds(60), () -> tasks(via, "six").stream().filter(t -> runsImage(t, v2)
                && t.getStatus().getState() == TaskState.RUNNING).count() >= 2, "the update is under way");
        cluster.member("m1").kill();
        via = w1;
        await(Duration.ofSeconds(120), () -> {
            try {
                return allOn("six", v2, 6) && service("six").getUpdateStatus().getState() == UpdateStatus.State.COMPLETED;
            } catch (RuntimeException e) {
                return false;  // while the new leader is elected
            }
        }, "the update completes under the new leader");
        Map<Long, List<Task>> bySlot = new HashMap<>();
        for (Task t : tasks(via, "six")) {
            bySlot.computeIfAbsent(t.getSlot(), k -> new ArrayList<>()).add(t);
        }
        assertEquals(6, bySlot.size(), "six slots");
        for (Map.Entry<Long, List<Task>> e : bySlot.entrySet()) {
            List<Task> ts = new ArrayList<>(e.getValue());
            ts.sort(Comparator.comparingLong(t -> t.getMeta().getCreatedAtMs()));
            assertEquals(2, ts.size(), "slot " + e.getKey() + ": one v1 task, one v2 task, nothing lost or doubled: " + ts);
            assertTrue(runsImage(ts.get(0), v1) && ts.get(0).getStatus().getState() == TaskState.SHUTDOWN);
            assertTrue(runsImage(ts.get(1), v2) && ts.get(1).getStatus().getState() == TaskState.RUNNING);
        }
    }
}
