package io.jswarm.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.overlay.Commands;
import io.jswarm.agent.exec.Executor;
import io.jswarm.agent.exec.LogWriter;
import io.jswarm.agent.exec.OciRuntime;
import io.jswarm.agent.image.ImageStore;
import io.jswarm.agent.image.RegistryClient;
import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.Meta;
import io.jswarm.api.ResourceRequirements;
import io.jswarm.api.Resources;
import io.jswarm.api.Task;
import io.jswarm.api.TaskSpec;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The executor on this machine: real runc, real overlayfs, images from a real registry on 127.0.0.1. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ExecutorTest {
    static TestRegistry registry;
    static Path state;
    static Executor executor;
    static final Map<String, TaskStatus> reported = new ConcurrentHashMap<>();
    static String image;
    static final String CGROUP_PARENT = "/jswarm-test-" + Long.toHexString(System.nanoTime());

    @BeforeAll
    static void start() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        image = TestImages.busybox(registry.addr);
        state = Files.createTempDirectory("jswarm-exec-");
        OciRuntime rt = OciRuntime.probe(null, state.resolve("runc").toString());
        ImageStore images = new ImageStore(state.resolve("images"), new RegistryClient(Set.of(registry.addr)), true);
        executor = new Executor(state, rt, images, reported::put, CGROUP_PARENT, LogWriter.Limits.DEFAULT);
    }

    @AfterAll
    static void stop() throws Exception {
        if (executor != null && !Boolean.getBoolean("jswarm.keep")) {
            for (String id : executor.taskIds()) {
                executor.remove(id);
            }
            LocalCluster.await(Duration.ofSeconds(60), () -> executor.taskIds().isEmpty(), "all tasks are removed");
            executor.close();
        }
        if (registry != null) {
            registry.close();
        }
        LocalCluster.removeCgroups(CGROUP_PARENT);
        if (!Boolean.getBoolean("jswarm.keep")) {
            LocalCluster.deleteTree(state);
        }
    }

    static Task task(String id, ContainerSpec.Builder c, ResourceRequirements res) {
        return Task.newBuilder().setMeta(Meta.newBuilder().setId(id)).setAnnotations(Annotations.newBuilder().setName("web.1"))
                .setSpec(TaskSpec.newBuilder().setContainer(c).setResources(res))
                .setStatus(TaskStatus.newBuilder().setState(TaskState.ASSIGNED)).setDesiredState(TaskState.RUNNING).build();
    }

    static TaskState state(String id) {
        TaskStatus s = reported.get(id);
        return s == null ? null : s.getState();
    }

    static void awaitState(String id, TaskState s) throws InterruptedException {
        LocalCluster.await(Duration.ofSeconds(60), () -> state(id) == s, id + " is " + s + " (now " + reported.get(id) + ")");
    }

    @Test
    void runsAnIsolatedContainerAndRemovesEverythingAfter() throws Exception {
        String id = "1xectest0000000000000001";
        executor.assign(task(id, ContainerSpec.newBuilder().setImage(image), ResourceRequirements.newBuilder()
                .setLimits(Resources.newBuilder().setMemoryBytes(64L << 20).setPids(100)).build()));
        awaitState(id, TaskState.RUNNING);
        int pid = reported.get(id).getContainer().getPid();
        assertTrue(pid > 0);
        assertEquals("running", executor.runtime().status(id));
        // Its own pid namespace, where it is pid 1, and its own network namespace.
        assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")), Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/pid")));
        assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")), Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")));
        String nspid = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("NSpid:"))
                .findFirst().orElseThrow();
        assertTrue(nspid.trim().endsWith("\t1") || nspid.trim().endsWith(" 1"), nspid);
        String hostname = Commands.check(executor.runtime().cmd("exec", id, "hostname"), 30);
        assertEquals(id.substring(0, 12), hostname);
        assertEquals("sleep 1000", new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"))).replace('\0', ' ').trim());
        // cgroup limits are in place.
        String cg = Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.contains(":memory:"))
                .findFirst().orElseThrow().split(":")[2];
        assertEquals(String.valueOf(64L << 20), Files.readString(Path.of("/sys/fs/cgroup/memory" + cg, "memory.limit_in_bytes")).trim());

        executor.assign(task(id, ContainerSpec.newBuilder().setImage(image), ResourceRequirements.getDefaultInstance()).toBuilder()
                .setDesiredState(TaskState.SHUTDOWN).build());
        awaitState(id, TaskState.SHUTDOWN);
        executor.remove(id);
        LocalCluster.await(Duration.ofSeconds(30), () -> !executor.taskIds().contains(id), "the task is removed");
        assertFalse(Files.exists(executor.taskDir(id)), "task directory removed");
        assertFalse(Files.exists(Path.of("/var/run/netns/jswarm-" + id.substring(0, 12))), "network namespace removed");
        assertFalse(Files.exists(Path.of("/sys/fs/cgroup/memory" + cg)), "cgroup removed");
        assertFalse(Files.readString(Path.of("/proc/self/mounts")).contains(id), "no mount left");
        assertEquals(null, executor.runtime().status(id));
    }

    @Test
    void nonZeroExitFailsWithTheCode() throws Exception {
        String id = "2xectest0000000000000002";
        executor.assign(task(id, ContainerSpec.newBuilder().setImage(image).addCommand("sh").addArgs("-c").addArgs("exit 3"),
                ResourceRequirements.getDefaultInstance()));
        awaitState(id, TaskState.FAILED);
        assertEquals("task: non-zero exit (3)", reported.get(id).getErr());
        assertEquals(3, reported.get(id).getContainer().getExitCode());
    }

    @Test
    void memoryLimitOomKillIsReported() throws Exception {
        String id = "3xectest0000000000000003";
        executor.assign(task(id, ContainerSpec.newBuilder().setImage(image).addCommand("sh").addArgs("-c")
                        .addArgs("x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo done"),
                ResourceRequirements.newBuilder().setLimits(Resources.newBuilder().setMemoryBytes(16L << 20)).build()));
        awaitState(id, TaskState.FAILED);
        assertTrue(reported.get(id).getErr().contains("OOM"), reported.get(id).toString());
        assertEquals(137, reported.get(id).getContainer().getExitCode());
    }

    @Test
    void missingImageIsRejected() throws Exception {
        String id = "4xectest0000000000000004";
        executor.assign(task(id, ContainerSpec.newBuilder().setImage(registry.addr + "/nosuch:1"), ResourceRequirements.getDefaultInstance()));
        awaitState(id, TaskState.REJECTED);
        assertTrue(reported.get(id).getErr().contains("not found"), reported.get(id).getErr());
        assertEquals(null, executor.runtime().status(id));
    }

    /**
     * A runtime that takes 7 s to start a container (as runc does when hundreds start at
     * once on two cores): the task is still reported RUNNING once its pid file appears,
     * after the starting thread has stopped watching (5 s). Before, such a task stayed
     * STARTING for good.
     */
    @Test
    void aContainerSlowToStartIsReportedRunningWhenItRuns() throws Exception {
        Path dir = Files.createTempDirectory("jswarm-exec-slow-");
        Path slow = dir.resolve("slow-runc");
        Files.writeString(slow, "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = run ] && sleep 7 && break; done\nexec runc \"$@\"\n");
        slow.toFile().setExecutable(true);
        String cgroup = CGROUP_PARENT + "-slow";
        Map<String, TaskStatus> seen = new ConcurrentHashMap<>();
        OciRuntime rt = OciRuntime.probe(slow.toString(), dir.resolve("runc").toString());
        Executor ex = new Executor(dir, rt, new ImageStore(dir.resolve("images"), new RegistryClient(Set.of(registry.addr)), true),
                seen::put, cgroup, LogWriter.Limits.DEFAULT);
        String id = "5xectest0000000000000005";
        try {
            long t0 = System.currentTimeMillis();
            ex.assign(task(id, ContainerSpec.newBuilder().setImage(image), ResourceRequirements.getDefaultInstance()));
            LocalCluster.await(Duration.ofSeconds(60), () -> seen.containsKey(id) && seen.get(id).getState() == TaskState.RUNNING,
                    "the slow container is reported RUNNING", () -> String.valueOf(seen.get(id)));
            assertTrue(System.currentTimeMillis() - t0 >= 7_000, "it took the runtime's 7 s");
            assertTrue(seen.get(id).getContainer().getPid() > 0);
        } finally {
            ex.assign(task(id, ContainerSpec.newBuilder().setImage(image), ResourceRequirements.getDefaultInstance()).toBuilder()
                    .setDesiredState(TaskState.SHUTDOWN).build());
            LocalCluster.await(Duration.ofSeconds(60), () -> seen.get(id) != null && seen.get(id).getState() == TaskState.SHUTDOWN,
                    "the slow container stops");
            ex.remove(id);
            LocalCluster.await(Duration.ofSeconds(30), () -> ex.taskIds().isEmpty(), "the task is removed");
            ex.close();
            LocalCluster.removeCgroups(cgroup);
            LocalCluster.deleteTree(dir);
        }
    }
}
