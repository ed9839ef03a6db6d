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
    private final Map<String, Member> members = new LinkedHashMap<>();

    /** One swarmd: its ports, its state and its process while it runs. */
    public final class Member {
        public final String name;
        public final int remotePort;
        public final int raftPort;
        public final Path stateDir;
        public final Path log;
        List<String> extraArgs = List.of();
        Process process;

        Member(String name) throws IOException {
            this.name = name;
            this.remotePort = freePort();
            this.raftPort = freePort();
            this.stateDir = dir.resolve(name);
            this.log = dir.resolve(name + ".log");
        }

        public String addr() {
            return "127.0.0.1:" + remotePort;
        }

        public Path socket() {
            return stateDir.resolve("swarmd.sock");
        }

        public boolean running() {
            return process != null && process.isAlive();
        }

        public void start() throws IOException {
            List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/swarmd").toString(), "--state-dir", stateDir.toString(),
                    "--hostname", name, "--listen-remote-api", addr(), "--listen-raft-api", "127.0.0.1:" + raftPort));
            cmd.addAll(extraArgs);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().put("JSWARM_JAVA_OPTS", "-Xmx256m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
            process = pb.start();
        }

        /** kill -9, by pid. */
        public void kill() throws InterruptedException {
            if (process != null) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }

        /** SIGTERM, then SIGKILL if it does not exit in time. */
        public void stop() throws InterruptedException {
            if (process != null) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    kill();
                }
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
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The first manager: initializes the cluster. */
    public Member init(String name, String... args) throws Exception {
        Member m = new Member(name);
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

    /** Starts a node that joins through {@code via} with the given token (not waiting for it). */
    public Member join(String name, Member via, String token) throws Exception {
        Member m = new Member(name);
        m.extraArgs = List.of("--join-addr", via.addr(), "--join-token", token);
        members.put(name, m);
        m.start();
        return m;
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
        Process p = new ProcessBuilder(cmd).start();
        // Read both streams fully; the outputs are small.
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("swarmctl " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
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
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting until " + what);
    }

    public static List<Node> nodes(Member via) {
        try (ControlClient c = via.control()) {
            return c.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList();
        }
    }

    public static List<Service> services(Member via) {
        try (ControlClient c = via.control()) {
            return c.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesList();
        }
    }

    public static List<Task> tasks(Member via, String service) {
        try (ControlClient c = via.control()) {
            return c.stub().listTasks(ListTasksRequest.newBuilder().addServiceIds(service).build()).getTasksList();
        }
    }

    @Override
    public void close() throws Exception {
        for (Member m : members.values()) {
            m.kill();
        }
        if (Boolean.getBoolean("jswarm.keep")) {
            return;
        }
        deleteTree(dir);
    }

    /** Removes a directory tree (test files only). */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                File f = p.toFile();
                f.delete();
            }
        }
    }
}
