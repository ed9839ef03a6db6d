package io.jswarm.e2e;

import io.jswarm.api.Node;
import io.jswarm.api.Service;
import io.jswarm.api.Task;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.ControlClient;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Several swarmd processes on 127.0.0.1, each with its own state directory and ports,
 * started from the built bin/swarmd. Every process is ended by its pid and every file
 * removed in {@link #close()}, also when a test fails.
 */
public final class LocalCluster implements AutoCloseable {
    public static final Path ROOT = Path.of(System.getProperty("jswarm.root", "..")).toAbsolutePath().normalize();

    public final Path dir;
    /** The cgroup under which each node has its own parent cgroup; removed in close(). */
    public final String cgroupParent;
    /**
     * Nodes started in a session of their own (setsid), to outlive this process and its
     * terminal: bin/cluster's, which a later command ends by pid.
     */
    private boolean detached;
    private final List<String> insecureRegistries = new ArrayList<>();
    private final Map<String, Member> members = new LinkedHashMap<>();

    /** One swarmd: its ports, its state and its process while it runs. */
    public final class Member {
        public final String name;
        public final int remotePort;
        public final int raftPort;
        public final Path stateDir;
        public final Path log;
        /**
         * The node's own OCI runtime state and parent cgroup: swarmd refuses to share either
         * with another swarmd on the machine (their containers would be each other's).
         */
        public final Path runtimeRoot;
        public final String cgroupParent;
        List<String> extraArgs = List.of();
        Process process;
        /** A swarmd this process did not start (bin/cluster reattached to it by its pid file). */
        private ProcessHandle attached;
        /** The simulated host this node runs in, or null for 127.0.0.1. */
        public final TestNetwork.Host host;

        Member(String name, TestNetwork.Host host) throws IOException {
            this.name = name;
            this.host = host;
            // On its own host a node uses the standard ports; on loopback each needs its own.
            this.remotePort = host != null ? 4242 : freePort();
            this.raftPort = host != null ? 4243 : freePort();
            this.stateDir = dir.resolve(name);
            this.log = dir.resolve(name + ".log");
            this.runtimeRoot = dir.resolve("runc-" + name);
            this.cgroupParent = LocalCluster.this.cgroupParent + "/" + name;
        }

        public String ip() {
            return host != null ? host.ip() : "127.0.0.1";
        }

        public String addr() {
            return ip() + ":" + remotePort;
        }

        public Path socket() {
            return stateDir.resolve("swarmd.sock");
        }

        /** When this node's control socket was last created (ms), or 0. */
        public long socketCreatedAt() {
            try {
                return ((java.nio.file.attribute.FileTime) Files.getAttribute(socket(), "lastModifiedTime")).toMillis();
            } catch (IOException e) {
                return 0;
            }
        }

        /** Its swarmd's process, started here or found by its pid file; null when none. */
        private ProcessHandle handle() {
            return process != null ? process.toHandle() : attached;
        }

        /** The pid of its swarmd while it runs, else -1. */
        public long pid() {
            ProcessHandle h = handle();
            return h != null && h.isAlive() ? h.pid() : -1;
        }

        public boolean running() {
            ProcessHandle h = handle();
            return h != null && h.isAlive();
        }

        /**
         * Finds the swarmd running on this node's state directory, by the pid its lock file
         * holds, checked against that process's command line (a pid may have been reused).
         */
        void reattach() throws IOException {
            attached = null;
            Path pidFile = stateDir.resolve("swarmd.pid");
            if (!Files.exists(pidFile)) {
                return;
            }
            String text = Files.readString(pidFile).trim();
            if (!text.matches("[0-9]+")) {
                return;
            }
            ProcessHandle h = ProcessHandle.of(Long.parseLong(text)).orElse(null);
            if (h == null) {
                return;
            }
            try {
                String cmdline = Files.readString(Path.of("/proc", text, "cmdline")).replace('\0', ' ');
                if (cmdline.contains("io.jswarm.cli.Swarmd") && cmdline.contains("--state-dir " + stateDir + " ")) {
                    attached = h;
                }
            } catch (IOException e) {
                // gone meanwhile
            }
        }

        public void start() throws IOException {
            List<String> cmd = new ArrayList<>();
            if (host != null) {
                // nsenter enters only the network namespace (ip netns exec would also remount
                // /sys, hiding the cgroup mounts) and execs: the pid stays swarmd's.
                cmd.addAll(List.of("nsenter", "--net=/var/run/netns/" + host.netns(), "--"));
            }
            cmd.addAll(List.of(ROOT.resolve("bin/swarmd").toString(), "--state-dir", stateDir.toString(),
                    "--hostname", name, "--listen-remote-api", addr(), "--listen-raft-api", ip() + ":" + raftPort));
            cmd.addAll(List.of("--runtime-root", runtimeRoot.toString(), "--cgroup-parent", cgroupParent));
            for (String r : insecureRegistries) {
                cmd.addAll(List.of("--insecure-registry", r));
            }
            cmd.addAll(extraArgs);
            if (host == null && !extraArgs.contains("--routing-mesh")) {
                // Nodes sharing the machine's own namespace would fight over one set of
                // published-port rules (and the machine's): the mesh runs on simulated hosts.
                cmd.addAll(List.of("--routing-mesh", "off"));
            }
            if (!extraArgs.contains("--dns-upstream")) {
                // Never the machine's resolvers: a test that wants forwarding names its own stub.
                cmd.addAll(List.of("--dns-upstream", "none"));
            }
            if (detached) {
                cmd.add(0, "setsid");  // not a group leader here: setsid execs, the pid stays swarmd's
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            // Small and quick to start (several JVMs share 2 cores); a benchmark may ask for swarmd's own defaults.
            String opts = System.getProperty("jswarm.javaOpts", "-Xmx256m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
            if (!opts.equals("default")) {
                pb.environment().put("JSWARM_JAVA_OPTS", opts);
            }
            process = pb.start();
        }

        /** kill -9, by pid. */
        public void kill() throws InterruptedException {
            ProcessHandle h = handle();
            if (h != null) {
                h.destroyForcibly();
                awaitExit(h, 10);
            }
        }

        /** SIGTERM, then SIGKILL if it does not exit in time. */
        public void stop() throws InterruptedException {
            ProcessHandle h = handle();
            if (h != null) {
                h.destroy();
                if (!awaitExit(h, 10)) {
                    kill();
                }
            }
        }

        private static boolean awaitExit(ProcessHandle h, int seconds) throws InterruptedException {
            try {
                h.onExit().get(seconds, TimeUnit.SECONDS);
                return true;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                return !h.isAlive();
            }
        }

        public ControlClient control() {
            return new ControlClient(socket());
        }

        public String logText() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "";
            }
        }
    }

    public LocalCluster() throws IOException {
        this.dir = Files.createTempDirectory("jswarm-e2e-");
        this.cgroupParent = "/jswarm-test-" + Long.toHexString(System.nanoTime());
    }

    /**
     * A cluster in a directory of its own choosing (bin/cluster's), with this parent cgroup,
     * whose nodes run detached: they outlive this process. Nodes already there (a directory
     * per node) are found again, running or not, with the hosts given for them.
     */
    public LocalCluster(Path dir, String cgroupParent, Map<String, TestNetwork.Host> hosts) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.cgroupParent = cgroupParent;
        this.detached = true;
        for (Map.Entry<String, TestNetwork.Host> e : hosts.entrySet()) {
            Member m = new Member(e.getKey(), e.getValue());
            if (Files.isDirectory(m.stateDir)) {
                m.reattach();
                members.put(e.getKey(), m);
            }
        }
    }

    /** A node found again (see the constructor) is started again with these flags. */
    public void restartWith(Member m, List<String> args) throws IOException {
        m.extraArgs = args;
        m.start();
    }

    /** Lets every node started from now on pull from this registry over plain HTTP. */
    public LocalCluster insecureRegistry(String addr) {
        insecureRegistries.add(addr);
        return this;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The first manager: initializes the cluster. */
    public Member init(String name, String... args) throws Exception {
        return init(name, null, args);
    }

    /** The first manager, on a simulated host (null: on 127.0.0.1). */
    public Member init(String name, TestNetwork.Host host, String... args) throws Exception {
        Member m = members.containsKey(name) ? members.get(name) : new Member(name, host);
        List<String> a = new ArrayList<>(List.of(args));
        m.extraArgs = a;
        members.put(name, m);
        m.start();
        await(Duration.ofSeconds(60), () -> {
            try (ControlClient c = m.control()) {
                return !c.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList().isEmpty();
            } catch (RuntimeException e) {
                return false;
            }
        }, name + " initializes the cluster");
        return m;
    }

    /**
     * A node started with swarmd --inactive, on a simulated host (null: on 127.0.0.1): in no
     * swarm until docker swarm init or join on its Engine API socket; returns once that serves.
     */
    public Member startInactive(String name, TestNetwork.Host host, String... args) throws Exception {
        Member m = new Member(name, host);
        List<String> a = new ArrayList<>(List.of("--inactive"));
        a.addAll(List.of(args));
        m.extraArgs = a;
        members.put(name, m);
        m.start();
        await(Duration.ofSeconds(60), () -> Files.exists(m.stateDir.resolve("docker.sock")), name + " serves its Engine API",
                m::logText);
        return m;
    }

    /** Starts a node that joins through {@code via} with the given token (not waiting for it). */
    public Member join(String name, Member via, String token) throws Exception {
        return join(name, null, via, token);
    }

    /** A node joining through {@code via}, on a simulated host (null: on 127.0.0.1). */
    public Member join(String name, TestNetwork.Host host, Member via, String token, String... args) throws Exception {
        Member m = new Member(name, host);
        List<String> a = new ArrayList<>(List.of("--join-addr", via.addr(), "--join-token", token));
        a.addAll(List.of(args));
        m.extraArgs = a;
        members.put(name, m);
        m.start();
        return m;
    }

    /**
     * Joins managers m2..mN and workers w1..wM (on 127.0.0.1) through the first manager with
     * the cluster's tokens, and waits until every node is ready.
     */
    public void joinAll(Member first, int managers, int workers) throws Exception {
        String managerToken = swarmctl(first, "cluster", "join-token", "-q", "manager").ok().out().trim();
        String workerToken = swarmctl(first, "cluster", "join-token", "-q", "worker").ok().out().trim();
        for (int i = 2; i <= managers; i++) {
            join("m" + i, first, managerToken);
        }
        for (int i = 1; i <= workers; i++) {
            join("w" + i, first, workerToken);
        }
        long all = managers + workers;
        await(Duration.ofSeconds(120), () -> readyNodes(first) == all, "all " + all + " nodes are ready");
    }

    /** A member on 127.0.0.1 with its ports chosen but not started: for a test that needs them first. */
    public Member prepare(String name) throws IOException {
        Member m = new Member(name, null);
        members.put(name, m);
        return m;
    }

    /** Runs a command to its end (at most two minutes); its exit code and output. */
    public static Result run(List<String> cmd) throws Exception {
        return run(cmd, "");
    }

    /** As {@link #run(List)}, with this on its standard input. */
    public static Result run(List<String> cmd, String input) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        try (var in = p.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    public Member member(String name) {
        return members.get(name);
    }

    public List<Member> members() {
        return new ArrayList<>(members.values());
    }

    /** Runs bin/swarmctl against a manager's socket. */
    public Result swarmctl(Member via, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/swarmctl").toString(), "--socket", via.socket().toString()));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** bin/swarmctl with this on its standard input (cluster unlock reads the key there). */
    public Result swarmctlWithInput(Member via, String input, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/swarmctl").toString(), "--socket", via.socket().toString()));
        cmd.addAll(List.of(args));
        return run(cmd, input);
    }

    /** Starts bin/swarmctl with its output going to files: for long-running or large output (logs -f). */
    public Process swarmctlToFiles(Member via, Path out, Path err, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/swarmctl").toString(), "--socket", via.socket().toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    public record Result(int exit, String out, String err) {
        public Result ok() {
            if (exit != 0) {
                throw new AssertionError("swarmctl failed (" + exit + "): " + err + out);
            }
            return this;
        }
    }

    public static void await(Duration timeout, BooleanSupplier cond, String what) throws InterruptedException {
        await(timeout, cond, what, () -> "");
    }

    /** As above; {@code seen} describes, on a timeout, what was there instead (it goes into the failure message). */
    public static void await(Duration timeout, BooleanSupplier cond, String what, java.util.function.Supplier<String> seen)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        String instead;
        try {
            instead = seen.get();
        } catch (RuntimeException e) {
            instead = "(could not look: " + e.getMessage() + ")";
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting until " + what
                + (instead.isEmpty() ? "" : "; seen instead: " + instead));
    }

    public static List<Node> nodes(Member via) {
        try (ControlClient c = via.control()) {
            return c.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList();
        }
    }

    /** How many nodes the manager sees READY; -1 while it does not answer. */
    public static long readyNodes(Member via) {
        try {
            return nodes(via).stream().filter(n -> n.getStatus().getState() == io.jswarm.api.NodeState.NODE_READY).count();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    public static List<Service> services(Member via) {
        try (ControlClient c = via.control()) {
            return c.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesList();
        }
    }

    /** The tasks of a service, or of all services when service is empty. */
    public static List<Task> tasks(Member via, String service) {
        try (ControlClient c = via.control()) {
            ListTasksRequest.Builder r = ListTasksRequest.newBuilder();
            if (!service.isEmpty()) {
                r.addServiceIds(service);
            }
            return c.stub().listTasks(r.build()).getTasksList();
        }
    }

    /** Task ids of containers the runtime knows in this cluster, on every node. */
    public List<String> containers() throws IOException {
        List<String> ids = new ArrayList<>();
        for (Member m : members.values()) {
            ids.addAll(runc(m, "list", "-q").lines().filter(l -> !l.isBlank()).toList());
        }
        return ids;
    }

    /** What {@code runc --root ROOT ARGS} prints for this node's runtime root ("" when it has none yet). */
    public static String runc(Member m, String... args) throws IOException {
        if (!Files.isDirectory(m.runtimeRoot)) {
            return "";
        }
        List<String> cmd = new ArrayList<>(List.of("runc", "--root", m.runtimeRoot.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** The runtime root that holds this task's container (the first node's when none does yet). */
    public Path runtimeRoot(String taskId) {
        for (Member m : members.values()) {
            if (Files.isDirectory(m.runtimeRoot.resolve(taskId))) {
                return m.runtimeRoot;
            }
        }
        return members.values().iterator().next().runtimeRoot;
    }

    /** Runs a host command for cleanup, ignoring its outcome. */
    static void quietly(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort
        }
    }

    /** Removes every container, mount, network namespace and cgroup the cluster's nodes made. */
    void removeContainers() throws IOException {
        for (Member m : members.values()) {
            for (String id : runc(m, "list", "-q").lines().filter(l -> !l.isBlank()).toList()) {
                quietly("runc", "--root", m.runtimeRoot.toString(), "delete", "--force", id);
            }
        }
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 1 && f[1].startsWith(dir.toString())) {
                mounts.add(f[1]);
            }
        }
        mounts.sort(Comparator.reverseOrder());
        for (String m : mounts) {
            quietly("umount", "-l", m);
        }
        for (Member m : members.values()) {
            Path tasks = m.stateDir.resolve("tasks");
            if (Files.isDirectory(tasks)) {
                try (Stream<Path> ids = Files.list(tasks)) {
                    for (Path t : ids.toList()) {
                        String id = t.getFileName().toString();
                        Path ns = Path.of("/var/run/netns/jswarm-" + id.substring(0, Math.min(12, id.length())));
                        if (Files.exists(ns)) {
                            quietly("ip", "netns", "delete", ns.getFileName().toString());
                        }
                    }
                }
            }
        }
        // Overlay networks: one namespace per node and network, named after the node id; the node's mesh sandbox.
        for (Member m : members.values()) {
            Path props = m.stateDir.resolve("node.properties");
            if (!Files.exists(props)) {
                continue;
            }
            java.util.Properties p = new java.util.Properties();
            try (var in = Files.newInputStream(props)) {
                p.load(in);
            }
            String id = p.getProperty("node.id", "");
            if (id.isEmpty() || !Files.isDirectory(Path.of("/var/run/netns"))) {
                continue;
            }
            String tag = id.substring(0, Math.min(8, id.length()));
            try (Stream<Path> all = Files.list(Path.of("/var/run/netns"))) {
                for (Path ns : all.toList()) {
                    String name = ns.getFileName().toString();
                    if (name.startsWith("jsov-" + tag + "-") || name.equals("jsing-" + tag)) {  // and the routing-mesh sandbox
                        quietly("ip", "netns", "delete", ns.getFileName().toString());
                    }
                }
            }
        }
        removeCgroups(cgroupParent);
    }

    @Override
    public void close() throws Exception {
        for (Member m : members.values()) {
            m.kill();
        }
        removeContainers();
        for (Member m : members.values()) {  // the nodes' locks (in /run, outside the cluster's directory)
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.runtimeRootLock(m.runtimeRoot.toString()));
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.cgroupParentLock(m.cgroupParent));
        }
        if (Boolean.getBoolean("jswarm.keep")) {
            return;
        }
        deleteTree(dir);
    }

    /** Removes a test's (empty) parent cgroup from every v1 hierarchy. */
    public static void removeCgroups(String parent) throws IOException {
        Path root = Path.of("/sys/fs/cgroup");
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> controllers = Files.list(root)) {
            for (Path c : controllers.toList()) {
                removeCgroupTree(c.resolve(parent.substring(1)));
            }
        }
    }

    /** rmdir of a cgroup after its children, deepest first: only empty cgroups go. */
    private static void removeCgroupTree(Path p) throws IOException {
        if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> children = Files.list(p)) {
            for (Path child : children.filter(x -> Files.isDirectory(x, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                removeCgroupTree(child);
            }
        }
        p.toFile().delete();
    }

    /** Removes a directory tree (test files only). */
    public static void deleteTree(Path dir) throws IOException {
        io.jswarm.agent.FileTrees.delete(dir);
    }
}
