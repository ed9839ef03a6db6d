package io.jswarm.agent.exec;

import io.jswarm.overlay.Commands;
import io.jswarm.overlay.NetworkNamespace;
import io.jswarm.agent.image.Image;
import io.jswarm.agent.image.ImageStore;
import io.jswarm.agent.net.TaskNetworks;
import io.jswarm.api.ContainerStatus;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs this node's tasks as containers: ACCEPTED, PREPARING (pull the image, create the
 * network namespace, mount the overlay root filesystem, write the bundle), READY,
 * STARTING, RUNNING, then COMPLETE, FAILED or SHUTDOWN; REJECTED when it fails before it
 * starts. Each container runs under a small shell shim ({@code setsid sh}) that runs the
 * OCI runtime in the foreground and records the exit code, so containers outlive swarmd
 * and a restarted agent finds them again ({@link #recover}).
 *
 * <p>One directory per task under {@code STATE/tasks/ID}: the task and its status as last
 * known, the bundle, the overlay upper and work directories, logs and the exit code.
 */
public final class Executor implements Closeable, io.jswarm.agent.TaskRunner {
    private static final Logger LOG = LoggerFactory.getLogger(Executor.class);
    public static final long DEFAULT_GRACE_MS = 10_000;

    /** Where status changes go (batched to the managers by the agent). */
    public interface StatusSink {
        void report(String taskId, TaskStatus status);
    }

    private final Path tasksDir;
    private final Path volumesDir;
    private final OciRuntime runtime;
    private final ImageStore images;
    private final StatusSink sink;
    private final String cgroupParent;
    private final LogWriter logWriter;
    private final io.jswarm.agent.net.TaskNetworks networks;
    private final TaskFiles files;
    private final Map<String, TaskContext> tasks = new ConcurrentHashMap<>();
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "executor");
        t.setDaemon(true);
        return t;
    });
    private final HealthChecker health;
    private final ScheduledExecutorService monitor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "executor-monitor");
        t.setDaemon(true);
        return t;
    });

    /** What the executor knows of one task. */
    static final class TaskContext {
        final String id;
        final Path dir;
        volatile Task task;
        volatile TaskStatus status;
        volatile boolean stopRequested;
        volatile boolean launched;
        volatile boolean finished;
        volatile io.jswarm.api.HealthConfig health;  // null: no health check
        volatile boolean unhealthy;
        /** When it was assigned here, for the start latency; 0 once measured, or for a re-adopted one. */
        volatile long assignedAtNanos;

        TaskContext(Task task, Path dir) {
            this.id = task.getMeta().getId();
            this.task = task;
            this.dir = dir;
            this.status = task.getStatus();
        }

        Path bundle() {
            return dir.resolve("bundle");
        }

        Path rootfs() {
            return bundle().resolve("rootfs");
        }
    }

    /** @param cgroupParent the cgroup under which each container gets its own (e.g. /jswarm) */
    public Executor(Path stateDir, OciRuntime runtime, ImageStore images, StatusSink sink, String cgroupParent,
            LogWriter.Limits logLimits) throws IOException {
        this(stateDir, runtime, images, sink, cgroupParent, logLimits, null);
    }

    /** {@code networks}: this node's overlay networks; null where there are none (tasks on networks are then refused). */
    public Executor(Path stateDir, OciRuntime runtime, ImageStore images, StatusSink sink, String cgroupParent,
            LogWriter.Limits logLimits, io.jswarm.agent.net.TaskNetworks networks) throws IOException {
        this.networks = networks;
        this.cgroupParent = cgroupParent;
        this.logWriter = LogWriter.install(stateDir, logLimits);
        this.tasksDir = Files.createDirectories(stateDir.resolve("tasks"));
        this.volumesDir = Files.createDirectories(stateDir.resolve("volumes"));
        this.runtime = runtime;
        // Beside the runtime's state (a tmpfs such as /run on most machines), never under stateDir.
        Path rtRoot = Path.of(runtime.root()).toAbsolutePath().normalize();
        this.files = new TaskFiles(rtRoot.resolveSibling(rtRoot.getFileName() + "-files"));
        this.images = images;
        this.sink = sink;
        this.health = new HealthChecker(runtime, this::healthChanged);
        monitor.scheduleWithFixedDelay(this::checkExits, 200, 200, TimeUnit.MILLISECONDS);
        for (String stage : List.of("preparing", "starting", "running", "stopped")) {
            io.micrometer.core.instrument.Gauge.builder("jswarm_containers", this, e -> e.containers(stage))
                    .description("this node's tasks by the stage of their container").tag("state", stage)
                    .register(io.micrometer.core.instrument.Metrics.globalRegistry);
        }
        io.micrometer.core.instrument.FunctionCounter.builder("jswarm_log_written", this, Executor::logBytesWritten)
                .description("bytes this node's containers' output took in their task log files (records with timestamps),"
                        + " counted from the log files of the tasks this swarmd holds")
                .baseUnit("bytes").register(io.micrometer.core.instrument.Metrics.globalRegistry);
    }

    /** Bytes of the log files of tasks whose files are gone, and the lock that keeps the sum from counting one twice. */
    private long removedLogBytes;
    private final Object logBytes = new Object();

    private double logBytesWritten() {
        synchronized (logBytes) {
            long sum = removedLogBytes;
            for (TaskContext c : tasks.values()) {
                sum += LogWriter.bytesWritten(c.dir);
            }
            return sum;
        }
    }

    public OciRuntime runtime() {
        return runtime;
    }

    // ------------------------------------------------------------------ assignments

    /** A task assigned to this node, new or changed. */
    public synchronized void assign(Task t) {
        String id = t.getMeta().getId();
        TaskContext ctx = tasks.get(id);
        boolean stopWanted = t.getDesiredState().getNumber() >= TaskState.SHUTDOWN_VALUE;
        if (ctx == null) {
            ctx = new TaskContext(t, tasksDir.resolve(id));
            tasks.put(id, ctx);
            if (stopWanted || t.getStatus().getState().getNumber() > TaskState.ASSIGNED_VALUE) {
                // Stop wanted before anything ran here, or a task this node no longer has.
                ctx.finished = true;
                if (t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE) {
                    report(ctx, TaskState.SHUTDOWN, "shutdown: the task was not running on this node", "");
                }
                return;
            }
            ctx.assignedAtNanos = System.nanoTime();
            persist(ctx);
            TaskContext c = ctx;
            workers.execute(() -> start(c));
            return;
        }
        ctx.task = t;
        if (stopWanted && !ctx.stopRequested) {
            TaskContext c = ctx;
            workers.execute(() -> stop(c));
        }
    }

    /** The task is no longer assigned here: stop it if needed and remove everything of it. */
    public void remove(String id) {
        TaskContext ctx = tasks.get(id);
        if (ctx == null) {
            return;
        }
        workers.execute(() -> {
            stop(ctx);
            awaitFinished(ctx, graceMs(ctx) + 15_000);
            cleanup(ctx, true);
            tasks.remove(id, ctx);
        });
    }

    @Override
    public void update(List<Task> updated, List<String> removed) {
        for (String id : removed) {
            remove(id);
        }
        for (Task t : updated) {
            assign(t);
        }
    }

    @Override
    public void files(io.jswarm.api.dispatcher.Assignments assignments) {
        files.apply(assignments);
    }

    @Override
    public void networks(io.jswarm.api.dispatcher.NetworkTables tables) {
        if (networks != null) {
            networks.update(tables);
        }
    }

    /** A complete assignment set arrived: anything else is removed. */
    @Override
    public void complete(List<Task> assigned) {
        Set<String> ids = new java.util.HashSet<>();
        for (Task t : assigned) {
            ids.add(t.getMeta().getId());
        }
        for (String id : new ArrayList<>(tasks.keySet())) {
            if (!ids.contains(id)) {
                remove(id);
            }
        }
        for (Task t : assigned) {
            assign(t);
        }
    }

    /** Histogram buckets of the start latency: an image on the node starts in tenths of a second, a pull takes seconds. */
    private static final java.time.Duration[] BUCKETS = java.util.stream.Stream.of(100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000)
            .map(java.time.Duration::ofMillis).toArray(java.time.Duration[]::new);

    /** Assignment to RUNNING, as this node measured it (swarmd --metrics-addr). */
    private static final io.micrometer.core.instrument.Timer START = io.micrometer.core.instrument.Timer.builder("jswarm_container_start")
            .description("from a task's assignment to this node until its container runs").serviceLevelObjectives(BUCKETS)
            .register(io.micrometer.core.instrument.Metrics.globalRegistry);

    /** Tasks here whose container is at this stage: before start, starting, running, or ended (not yet removed). */
    private double containers(String stage) {
        long n = 0;
        for (TaskContext c : tasks.values()) {
            TaskState s = c.status.getState();
            String at = s.getNumber() < TaskState.STARTING_VALUE ? "preparing" : s == TaskState.STARTING ? "starting"
                    : s == TaskState.RUNNING ? "running" : "stopped";
            if (at.equals(stage)) {
                n++;
            }
        }
        return n;
    }

    public List<String> taskIds() {
        return new ArrayList<>(tasks.keySet());
    }

    /**
     * The node leaves the cluster: every task stopped (grace periods kept) and removed with
     * its container, mounts, files and namespace, then any container the runtime still
     * holds and the parent cgroups. Waits at most {@code timeoutMs}; the number of tasks
     * that were here.
     */
    public int removeAll(long timeoutMs) throws InterruptedException {
        List<String> ids = taskIds();
        ids.forEach(this::remove);
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!tasks.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        try {
            for (String id : Commands.check(runtime.cmd("list", "-q"), 30).lines().filter(l -> !l.isBlank()).toList()) {
                Commands.run(runtime.cmd("delete", "--force", id), 30);
            }
        } catch (IOException e) {
            LOG.warn("listing the runtime's containers: {}", e.getMessage());
        }
        try (Stream<Path> controllers = Files.list(Path.of("/sys/fs/cgroup"))) {
            for (Path c : controllers.toList()) {
                // rmdir: an empty cgroup goes, one still in use stays
                c.resolve(cgroupParent.substring(1)).toFile().delete();
            }
        } catch (IOException e) {
            LOG.warn("removing the parent cgroups: {}", e.getMessage());
        }
        return ids.size();
    }

    // ------------------------------------------------------------------ life cycle

    private void start(TaskContext ctx) {
        Task t = ctx.task;
        report(ctx, TaskState.ACCEPTED, "accepted", "");
        report(ctx, TaskState.PREPARING, "preparing", "");
        String netns = NetworkNamespace.name(ctx.id);
        try {
            Image image = images.pull(t.getSpec().getContainer().getImage());
            if (ctx.stopRequested) {
                report(ctx, TaskState.SHUTDOWN, "shutdown before start", "");
                ctx.finished = true;
                return;
            }
            Files.createDirectories(ctx.rootfs());
            Files.createDirectories(ctx.dir.resolve("upper"));
            Files.createDirectories(ctx.dir.resolve("work"));
            mountOverlay(ctx, image);
            Path ns = NetworkNamespace.create(netns);
            if (TaskNetworks.takesPart(t)) {
                if (networks == null) {
                    throw new IOException("this node runs no overlay networks");
                }
                networks.attach(t, netns);
            }
            // As Docker: the short container (task) id, without dots. A dotted hostname would
            // make resolvers search its domain part ("web.1.ID" -> "db.1.ID") for short names.
            String hostname = !t.getSpec().getContainer().getHostname().isEmpty() ? t.getSpec().getContainer().getHostname()
                    : ctx.id.substring(0, Math.min(12, ctx.id.length()));
            ProcessSpec process = ProcessSpec.of(t.getSpec().getContainer(), image.config(), hostname);
            int[] user = Bundle.resolveUser(process.user(), ctx.rootfs());
            ctx.health = HealthChecker.effective(t.getSpec().getContainer().getHealthcheck(), image.config().healthcheck());
            if (ctx.health != null) {
                Files.write(ctx.dir.resolve("health.pb"), ctx.health.toByteArray());
            }
            for (var m : t.getSpec().getContainer().getMountsList()) {
                if (m.getType() == io.jswarm.api.Mount.Type.BIND && !Files.exists(Path.of(m.getSource()))) {
                    throw new IOException("invalid mount config: bind source path does not exist: " + m.getSource());
                }
            }
            List<io.jswarm.api.Mount> mounts = new ArrayList<>(t.getSpec().getContainer().getMountsList());
            mounts.addAll(files.prepare(ctx.id, t.getSpec().getContainer()));
            // Only a memory limit can OOM-kill the container: only then is its cgroup watched.
            String cgroup = cgroupParent + "/" + ctx.id;
            Bundle.write(ctx.bundle(), new Bundle.Spec(process, user[0], user[1], hostname,
                    t.getSpec().getContainer().getReadOnly(), ns, cgroup, t.getSpec().getResources(),
                    mounts, volumesDir, t.getSpec().getResources().getLimits().getMemoryBytes() > 0
                            ? logWriter.oomWatch(cgroup, ctx.dir.resolve("events.log")) : List.of()));
        } catch (IOException | RuntimeException e) {
            LOG.info("task {} rejected: {}", ctx.id, e.getMessage());
            cleanup(ctx, false);
            ctx.finished = true;
            report(ctx, TaskState.REJECTED, "preparing failed", e.getMessage());
            return;
        }
        report(ctx, TaskState.READY, "prepared", "");
        startWhenWanted(ctx);
    }

    /**
     * Starts a prepared task once it is wanted running: a stop-first update prepares the
     * new task (desired READY) while the old one stops, and says when to start it.
     */
    private void startWhenWanted(TaskContext ctx) {
        try {
            while (ctx.task.getDesiredState() == TaskState.READY && !ctx.stopRequested) {
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (ctx.stopRequested) {
            cleanup(ctx, false);
            ctx.finished = true;
            report(ctx, TaskState.SHUTDOWN, "shutdown before start", "");
            return;
        }
        report(ctx, TaskState.STARTING, "starting", "");
        try {
            launch(ctx);
            // runc writes the pid file once the container's process runs: no need to ask it.
            // Watched closely for a while here; after that the monitor's rounds pick it up
            // (hundreds of containers starting at once on a small machine can take minutes).
            long deadline = System.currentTimeMillis() + 5_000;
            while (System.currentTimeMillis() < deadline && !Files.exists(ctx.dir.resolve("exit")) && !startedRunning(ctx)) {
                Thread.sleep(10);
            }
            // Otherwise the process already exited (or never started): checkExits reports it.
        } catch (IOException e) {
            cleanup(ctx, false);
            ctx.finished = true;
            report(ctx, TaskState.REJECTED, "starting failed", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void mountOverlay(TaskContext ctx, Image image) throws IOException {
        if (isMounted(ctx.rootfs())) {
            return;
        }
        List<String> lower = new ArrayList<>();
        for (int i = image.layers().size() - 1; i >= 0; i--) {
            lower.add(image.layers().get(i).toString());  // overlayfs wants the top layer first
        }
        String opts = "lowerdir=" + String.join(":", lower) + ",upperdir=" + ctx.dir.resolve("upper") + ",workdir="
                + ctx.dir.resolve("work");
        io.jswarm.agent.image.Posix.mountOverlay(ctx.rootfs().toString(), opts);
    }

    static boolean isMounted(Path p) throws IOException {
        String target = p.toAbsolutePath().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 1 && f[1].equals(target)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Starts the shim: it runs the runtime in the foreground under the log writer (so it
     * reaps the container and learns its exit code; the writer passes it on) and writes the
     * exit code when the container ends. OOM kills are noticed by the bundle's hook
     * (jswarm-logger --oom-watch, in TASKDIR/events.log), set before the process runs.
     * setsid keeps it out of swarmd's process group, so it outlives swarmd.
     */
    private void launch(TaskContext ctx) throws IOException {
        String script = String.join("\n",
                "\"$LW\" \"$D\" \"$LMAX\" \"$LFILES\" -- \"$RT\" --root \"$RTROOT\" run --pid-file \"$D/pid\" --bundle \"$B\" --no-new-keyring \"$ID\" "
                        + "</dev/null &",
                "pid=$!",
                "wait $pid",
                "echo $? >\"$D/exit.tmp\" && mv \"$D/exit.tmp\" \"$D/exit\"",
                "");
        ProcessBuilder pb = new ProcessBuilder("setsid", "sh", "-c", script)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.appendTo(ctx.dir.resolve("shim.log").toFile()));
        pb.environment().put("LW", logWriter.binary().toString());
        pb.environment().put("LMAX", Long.toString(logWriter.limits().maxBytes()));
        pb.environment().put("LFILES", Integer.toString(logWriter.limits().maxFiles()));
        pb.environment().put("RT", runtime.binary());
        pb.environment().put("RTROOT", runtime.root());
        pb.environment().put("B", ctx.bundle().toString());
        pb.environment().put("ID", ctx.id);
        pb.environment().put("D", ctx.dir.toString());
        Files.deleteIfExists(ctx.dir.resolve("exit"));
        Files.deleteIfExists(ctx.dir.resolve("pid"));
        Files.deleteIfExists(ctx.dir.resolve("events.log"));
        pb.start();
        ctx.launched = true;
        persist(ctx);
    }

    private void stop(TaskContext ctx) {
        ctx.stopRequested = true;
        if (ctx.finished || !ctx.launched) {
            return;  // start() notices the request, or it is over already
        }
        String signal = ctx.task.getSpec().getContainer().getStopSignal();
        signal = signal.isEmpty() ? "TERM" : signal.replaceFirst("^SIG", "");
        if (networks != null && TaskNetworks.takesPart(ctx.task)) {
            networks.withdraw(ctx.id);  // no new connection reaches it from anywhere once it is told to stop
        }
        try {
            Commands.run(runtime.cmd("kill", ctx.id, signal), 20);
            long deadline = System.currentTimeMillis() + graceMs(ctx);
            while (System.currentTimeMillis() < deadline && !Files.exists(ctx.dir.resolve("exit"))) {
                Thread.sleep(50);
            }
            if (!Files.exists(ctx.dir.resolve("exit"))) {
                Commands.run(runtime.cmd("kill", "--all", ctx.id, "KILL"), 20);
            } else {
                checkExit(ctx);  // report now rather than at the monitor's next round
            }
        } catch (IOException e) {
            LOG.warn("stopping task {}: {}", ctx.id, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long graceMs(TaskContext ctx) {
        var c = ctx.task.getSpec().getContainer();
        return c.hasStopGracePeriod() ? c.getStopGracePeriod().getSeconds() * 1000 + c.getStopGracePeriod().getNanos() / 1_000_000
                : DEFAULT_GRACE_MS;
    }

    /** Notices containers that ended, from the exit codes their shims wrote. */
    private void checkExits() {
        for (TaskContext ctx : tasks.values()) {
            checkExit(ctx);
        }
    }

    private void checkExit(TaskContext ctx) {
        if (ctx.finished || !ctx.launched) {
            return;
        }
        Path exit = ctx.dir.resolve("exit");
        if (!Files.exists(exit)) {
            try {
                startedRunning(ctx);
            } catch (IOException e) {
                LOG.warn("reading the pid of task {}: {}", ctx.id, e.toString());
            }
            return;
        }
        try {
            int code = Integer.parseInt(Files.readString(exit).trim());
            boolean oom = Files.exists(ctx.dir.resolve("events.log"))
                    && Files.readString(ctx.dir.resolve("events.log")).contains("\"type\":\"oom\"");
            finish(ctx, code, oom);
        } catch (IOException | NumberFormatException e) {
            LOG.warn("reading the exit of task {}: {}", ctx.id, e.toString());
        }
    }

    private synchronized void finish(TaskContext ctx, int code, boolean oom) {
        if (ctx.finished) {
            return;
        }
        ctx.finished = true;
        health.unwatch(ctx.id);
        ContainerStatus cs = ContainerStatus.newBuilder().setContainerId(ctx.id).setExitCode(code).build();
        TaskStatus.Builder s = TaskStatus.newBuilder().setTimestampMs(System.currentTimeMillis()).setContainer(cs);
        if (ctx.stopRequested) {
            s.setState(TaskState.SHUTDOWN).setMessage("shutdown");
        } else if (ctx.unhealthy) {
            s.setState(TaskState.FAILED).setMessage("failed").setErr("task: unhealthy container").setHealth("unhealthy");
        } else if (oom) {
            s.setState(TaskState.FAILED).setMessage("failed").setErr("task: OOM killed: memory limit reached (exit " + code + ")");
        } else if (code == 0) {
            s.setState(TaskState.COMPLETE).setMessage("finished");
        } else {
            s.setState(TaskState.FAILED).setMessage("failed").setErr("task: non-zero exit (" + code + ")");
        }
        String reason = ctx.stopRequested ? "shutdown" : ctx.unhealthy ? "unhealthy" : oom ? "oom" : code == 0 ? "complete" : "failed";
        io.micrometer.core.instrument.Metrics.counter("jswarm_container_exits", "reason", reason).increment();
        setStatus(ctx, s.build());
        // The status goes out first: releasing the container (runc delete, unmount, namespace)
        // takes a few process runs that the managers need not wait for, nor other tasks' exits.
        workers.execute(() -> cleanup(ctx, false));
        LOG.info("task {} ended: exit {}{}", ctx.id, code, oom ? " (OOM)" : "");
    }

    private void awaitFinished(TaskContext ctx, long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!ctx.finished && ctx.launched && System.currentTimeMillis() < deadline) {
            checkExits();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Releases what a container holds; with all, also its files (logs included). One at a time per task. */
    private void cleanup(TaskContext ctx, boolean all) {
        synchronized (ctx) {
            release(ctx, all);
        }
    }

    private void release(TaskContext ctx, boolean all) {
        try {
            // Unconditional: asking the runtime first would cost a process run; deleting a
            // container it does not know is a harmless error.
            Commands.run(runtime.cmd("delete", "--force", ctx.id), 30);
            if (isMounted(ctx.rootfs())) {
                io.jswarm.agent.image.Posix.umount(ctx.rootfs().toString());
            }
            if (TaskFiles.uses(ctx.task.getSpec().getContainer())) {
                files.release(ctx.id);  // the container is gone: its secrets go with it
            }
            if (networks != null && TaskNetworks.takesPart(ctx.task)) {
                networks.detach(ctx.id);  // its DNS sockets first: they would keep the namespace alive
            }
            NetworkNamespace.delete(NetworkNamespace.name(ctx.id));
            if (all) {
                synchronized (logBytes) {
                    removedLogBytes += LogWriter.bytesWritten(ctx.dir);
                    io.jswarm.agent.FileTrees.delete(ctx.dir);
                }
            }
        } catch (IOException e) {
            LOG.warn("cleaning up task {}: {}", ctx.id, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ status and persistence

    /**
     * Reports a starting task RUNNING once the runtime has written its pid file; true when
     * it runs (now or before). Called by the starting thread and by the monitor: whichever
     * sees the pid file first reports, under the executor's lock, and the other finds the
     * task RUNNING.
     */
    private synchronized boolean startedRunning(TaskContext ctx) throws IOException {
        if (ctx.status.getState() != TaskState.STARTING) {
            return ctx.status.getState() == TaskState.RUNNING;
        }
        Path pidFile = ctx.dir.resolve("pid");
        if (!Files.exists(pidFile)) {
            return false;
        }
        String text = Files.readString(pidFile).trim();
        if (!text.matches("\\d+")) {
            return false;
        }
        reportRunning(ctx, Integer.parseInt(text));
        return true;
    }

    private void reportRunning(TaskContext ctx, int pid) {
        long assigned = ctx.assignedAtNanos;
        if (assigned > 0) {
            ctx.assignedAtNanos = 0;
            START.record(System.nanoTime() - assigned, TimeUnit.NANOSECONDS);
        }
        setStatus(ctx, TaskStatus.newBuilder().setState(TaskState.RUNNING).setTimestampMs(System.currentTimeMillis())
                .setMessage("started").setHealth(ctx.health != null ? "starting" : "")
                .setContainer(ContainerStatus.newBuilder().setContainerId(ctx.id).setPid(pid)).build());
        if (ctx.health != null) {
            health.watch(ctx.id, ctx.health);
        } else if (networks != null) {
            networks.serving(ctx.id, true);
        }
    }

    /** A health check changed its verdict: report it; an unhealthy container is killed and its task failed. */
    private void healthChanged(String id, String verdict) {
        TaskContext ctx = tasks.get(id);
        if (ctx == null || ctx.finished || ctx.status.getState() != TaskState.RUNNING) {
            return;
        }
        setStatus(ctx, ctx.status.toBuilder().setHealth(verdict).build());
        if (networks != null) {
            networks.serving(id, verdict.equals("healthy"));
        }
        if (verdict.equals("unhealthy")) {
            ctx.unhealthy = true;
            LOG.info("task {} is unhealthy: stopping it", id);
            workers.execute(() -> {
                try {
                    Commands.run(runtime.cmd("kill", "--all", id, "KILL"), 20);
                } catch (IOException e) {
                    LOG.warn("killing unhealthy task {}: {}", id, e.getMessage());
                }
            });
        }
    }

    private void report(TaskContext ctx, TaskState state, String message, String err) {
        setStatus(ctx, TaskStatus.newBuilder().setState(state).setTimestampMs(System.currentTimeMillis()).setMessage(message)
                .setErr(err == null ? "" : err).build());
    }

    private void setStatus(TaskContext ctx, TaskStatus s) {
        ctx.status = s;
        if (Files.isDirectory(ctx.dir)) {
            persist(ctx);
        }
        sink.report(ctx.id, s);
    }

    private void persist(TaskContext ctx) {
        try {
            Files.createDirectories(ctx.dir);
            write(ctx.dir.resolve("task.pb"), ctx.task.toByteArray());
            write(ctx.dir.resolve("status.pb"), ctx.status.toByteArray());
            if (ctx.launched) {
                Files.writeString(ctx.dir.resolve("launched"), "1");
            }
        } catch (IOException e) {
            LOG.warn("cannot record task {}: {}", ctx.id, e.getMessage());
        }
    }

    private static void write(Path p, byte[] b) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        Files.write(tmp, b);
        Files.move(tmp, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * After a restart: takes back the tasks recorded on disk. Containers still running are
     * watched again (never started twice); ended ones are reported; tasks caught in the
     * middle of preparation are cleaned up and reported REJECTED, to be replaced.
     */
    public void recover() throws IOException {
        try (Stream<Path> dirs = Files.list(tasksDir)) {
            for (Path dir : dirs.toList()) {
                try {
                    Task t = Task.parseFrom(Files.readAllBytes(dir.resolve("task.pb")));
                    TaskStatus s = TaskStatus.parseFrom(Files.readAllBytes(dir.resolve("status.pb")));
                    TaskContext ctx = new TaskContext(t, dir);
                    ctx.status = s;
                    ctx.launched = Files.exists(dir.resolve("launched"));
                    if (Files.exists(dir.resolve("health.pb"))) {
                        ctx.health = io.jswarm.api.HealthConfig.parseFrom(Files.readAllBytes(dir.resolve("health.pb")));
                    }
                    ctx.finished = Tasks.terminal(s.getState());
                    tasks.put(ctx.id, ctx);
                    if (ctx.finished) {
                        continue;
                    }
                    if (ctx.launched) {
                        OciRuntime.State rs = runtime.state(ctx.id);
                        String st = rs == null ? null : rs.status();
                        int pid = "running".equals(st) ? rs.pid() : 0;
                        if (pid > 0 && networks != null && TaskNetworks.takesPart(t)) {
                            // its interfaces are in place
                            networks.readopt(t, NetworkNamespace.name(ctx.id), ctx.health == null || "healthy".equals(s.getHealth()));
                        }
                        if (pid > 0 && s.getState() != TaskState.RUNNING) {
                            reportRunning(ctx, pid);
                        } else if (st == null && !Files.exists(dir.resolve("exit"))) {
                            ctx.finished = true;
                            cleanup(ctx, false);
                            report(ctx, TaskState.FAILED, "failed", "task: the container disappeared while the agent was away");
                        } else {
                            sink.report(ctx.id, s);  // re-send: the managers may have missed it
                            if (pid > 0 && ctx.health != null) {
                                health.watch(ctx.id, ctx.health);
                            }
                        }
                        LOG.info("re-adopted task {} ({})", ctx.id, st == null ? "ended" : st);
                    } else if (s.getState() == TaskState.READY && isMounted(ctx.rootfs())
                            && Files.exists(ctx.bundle().resolve("config.json"))) {
                        // Prepared and waiting to be started (stop-first update): it waits again.
                        workers.execute(() -> startWhenWanted(ctx));
                        LOG.info("re-adopted prepared task {}", ctx.id);
                    } else {
                        ctx.finished = true;
                        cleanup(ctx, false);
                        report(ctx, TaskState.REJECTED, "preparing failed", "the agent restarted while preparing the task");
                    }
                } catch (IOException e) {
                    LOG.warn("cannot recover task directory {}: {}", dir, e.getMessage());
                }
            }
        }
        Set<String> live = new java.util.HashSet<>();
        tasks.forEach((id, ctx) -> {
            if (!ctx.finished) {
                live.add(id);
            }
        });
        files.releaseAllBut(live);  // secrets of tasks an earlier agent left behind
    }

    /** For tests: what the executor last reported for a task. */
    public TaskStatus status(String id) {
        TaskContext c = tasks.get(id);
        return c == null ? null : c.status;
    }

    @Override
    public Path logDirectory(String taskId) {
        TaskContext c = tasks.get(taskId);
        return c == null ? null : c.dir;
    }

    public Path taskDir(String id) {
        return tasksDir.resolve(id);
    }

    @Override
    public void close() {
        // Containers keep running: only the executor's own threads stop.
        health.close();
        monitor.shutdownNow();
        workers.shutdownNow();
    }
}
