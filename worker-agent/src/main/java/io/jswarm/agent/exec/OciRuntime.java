package io.jswarm.agent.exec;

import io.jswarm.overlay.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The OCI runtime binary (runc by default, crun where it works) and its state directory.
 * Chosen by {@link #probe} when swarmd starts; the reason is logged and shown in
 * {@code node inspect}.
 */
public record OciRuntime(String binary, String root, String description) {

    /** Picks the runtime: the one given, else runc, else crun when the cgroup layout suits it. */
    public static OciRuntime probe(String override, String root) throws IOException {
        if (override != null) {
            String v = version(override);
            if (v == null) {
                throw new IOException("--runtime " + override + " does not run (" + override + " --version failed)");
            }
            return new OciRuntime(override, root, v + " at " + override + " (chosen with --runtime)");
        }
        String runc = which("runc");
        if (runc != null && version(runc) != null) {
            return new OciRuntime(runc, root, version(runc) + " at " + runc + " (default)");
        }
        String crun = which("crun");
        if (crun != null && version(crun) != null) {
            if (Files.isDirectory(Path.of("/sys/fs/cgroup/unified"))) {
                throw new IOException("no usable OCI runtime: runc is not installed, and " + version(crun)
                        + " refuses this machine's hybrid cgroup layout (cgroup v1 with /sys/fs/cgroup/unified); install runc");
            }
            return new OciRuntime(crun, root, version(crun) + " at " + crun + " (runc not found)");
        }
        throw new IOException("no OCI runtime found: install runc (apt-get install runc)");
    }

    static String which(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        for (String dir : new String[] {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    static String version(String bin) {
        try {
            Commands.Result r = Commands.run(List.of(bin, "--version"), 10);
            return r.exit() == 0 ? r.output().lines().findFirst().orElse(bin) : null;
        } catch (IOException e) {
            return null;
        }
    }

    public List<String> cmd(String... args) {
        List<String> c = new ArrayList<>(List.of(binary, "--root", root));
        c.addAll(List.of(args));
        return c;
    }

    /** What the runtime says of a container: its status ("running", "created", "stopped") and init pid. */
    public record State(String status, int pid) {}

    /** The container's state, or null when the runtime does not know it: one runtime call. */
    public State state(String id) throws IOException {
        Commands.Result r = Commands.run(cmd("state", id), 20);
        if (r.exit() != 0) {
            return null;
        }
        var status = java.util.regex.Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"").matcher(r.output());
        var pid = java.util.regex.Pattern.compile("\"pid\"\\s*:\\s*(\\d+)").matcher(r.output());
        return new State(status.find() ? status.group(1) : null, pid.find() ? Integer.parseInt(pid.group(1)) : 0);
    }

    /** "running", "created", "stopped", or null when the runtime does not know the container. */
    public String status(String id) throws IOException {
        State s = state(id);
        return s == null ? null : s.status();
    }
}
