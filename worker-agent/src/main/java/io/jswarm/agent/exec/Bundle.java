package io.jswarm.agent.exec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jswarm.api.Mount;
import io.jswarm.api.ResourceRequirements;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes the OCI runtime bundle of one container: config.json (process, root, hostname,
 * mounts, namespaces, cgroup limits, capabilities) and the files it binds in
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf).
 */
public final class Bundle {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Docker's default capability set. */
    static final List<String> CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL", "CAP_AUDIT_WRITE");
    static final List<String> MASKED = List.of("/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware");
    static final List<String> READONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");

    /**
     * Everything config.json needs that is decided elsewhere; oomWatch: the path and then the
     * argv of the createRuntime hook that watches the container's memory cgroup for OOM kills
     * (empty: none).
     */
    public record Spec(ProcessSpec process, int uid, int gid, String hostname, boolean readOnly, Path netns, String cgroupsPath,
            ResourceRequirements resources, List<Mount> mounts, Path volumes, List<String> oomWatch) {}

    private Bundle() {}

    public static void write(Path bundle, Spec s) throws IOException {
        Files.writeString(bundle.resolve("hostname"), s.hostname() + "\n");
        Files.writeString(bundle.resolve("hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                + "127.0.1.1\t" + s.hostname() + "\n");
        // Service discovery (127.0.0.11) comes with the DNS issue; no upstream resolver is copied in.
        Files.writeString(bundle.resolve("resolv.conf"), "nameserver 127.0.0.11\noptions ndots:0\n");
        ObjectNode root = JSON.createObjectNode();
        root.put("ociVersion", "1.0.2");
        ObjectNode proc = root.putObject("process");
        proc.put("terminal", false);
        proc.putObject("user").put("uid", s.uid()).put("gid", s.gid());
        ArrayNode args = proc.putArray("args");
        s.process().args().forEach(args::add);
        ArrayNode env = proc.putArray("env");
        s.process().env().forEach(env::add);
        proc.put("cwd", s.process().cwd());
        ObjectNode caps = proc.putObject("capabilities");
        for (String set : new String[] {"bounding", "effective", "permitted"}) {
            ArrayNode a = caps.putArray(set);
            CAPABILITIES.forEach(a::add);
        }
        // No rlimits: the container inherits the node's (raising them may not be allowed).
        proc.put("noNewPrivileges", false);
        root.putObject("root").put("path", "rootfs").put("readonly", s.readOnly());
        root.put("hostname", s.hostname());
        ArrayNode mounts = root.putArray("mounts");
        mount(mounts, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
        mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
        mount(mounts, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
        mount(mounts, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
        mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
        mount(mounts, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
        mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro");
        for (String f : new String[] {"hosts", "hostname", "resolv.conf"}) {
            mount(mounts, "/etc/" + f, "bind", bundle.resolve(f).toString(), "rbind", "rprivate");
        }
        for (Mount m : s.mounts()) {
            switch (m.getType()) {
                case BIND -> mount(mounts, m.getTarget(), "bind", m.getSource(), "rbind", "rprivate", m.getReadOnly() ? "ro" : "rw");
                case VOLUME -> {
                    String name = m.getSource().isEmpty() ? "anon-" + Integer.toHexString(m.getTarget().hashCode()) : m.getSource();
                    Path dir = Files.createDirectories(s.volumes().resolve(name).resolve("_data"));
                    mount(mounts, m.getTarget(), "bind", dir.toString(), "rbind", "rprivate", m.getReadOnly() ? "ro" : "rw");
                }
                case TMPFS -> {
                    if (m.getTmpfsSizeBytes() > 0) {
                        mount(mounts, m.getTarget(), "tmpfs", "tmpfs", "nosuid", "nodev", "size=" + m.getTmpfsSizeBytes());
                    } else {
                        mount(mounts, m.getTarget(), "tmpfs", "tmpfs", "nosuid", "nodev");
                    }
                }
                default -> throw new IOException("unsupported mount type " + m.getType());
            }
        }
        ObjectNode linux = root.putObject("linux");
        ArrayNode ns = linux.putArray("namespaces");
        for (String t : new String[] {"pid", "ipc", "uts", "mount"}) {
            ns.addObject().put("type", t);
        }
        ns.addObject().put("type", "network").put("path", s.netns().toString());
        linux.put("cgroupsPath", s.cgroupsPath());
        ObjectNode res = linux.putObject("resources");
        res.putArray("devices").addObject().put("allow", false).put("access", "rwm");
        var limits = s.resources().getLimits();
        if (limits.getMemoryBytes() > 0) {
            // Swap limited to the memory limit: going over it is an OOM kill, as in Docker.
            res.putObject("memory").put("limit", limits.getMemoryBytes()).put("swap", limits.getMemoryBytes());
        }
        if (limits.getNanoCpus() > 0) {
            long period = 100_000;
            res.putObject("cpu").put("quota", limits.getNanoCpus() * period / 1_000_000_000L).put("period", period);
        }
        if (limits.getPids() > 0) {
            res.putObject("pids").put("limit", limits.getPids());
        }
        if (!s.oomWatch().isEmpty()) {
            // Run by the runtime once the cgroups are set and before the process runs: see jswarm-logger.c
            ObjectNode hook = root.putObject("hooks").putArray("createRuntime").addObject().put("path", s.oomWatch().get(0));
            ArrayNode hookArgs = hook.putArray("args");
            s.oomWatch().subList(1, s.oomWatch().size()).forEach(hookArgs::add);  // argv, from argv[0]
            hook.put("timeout", 10);
        }
        ArrayNode masked = linux.putArray("maskedPaths");
        MASKED.forEach(masked::add);
        ArrayNode ro = linux.putArray("readonlyPaths");
        READONLY.forEach(ro::add);
        JSON.writerWithDefaultPrettyPrinter().writeValue(bundle.resolve("config.json").toFile(), root);
    }

    private static void mount(ArrayNode mounts, String dest, String type, String source, String... options) {
        ObjectNode m = mounts.addObject();
        m.put("destination", dest).put("type", type).put("source", source);
        ArrayNode o = m.putArray("options");
        for (String x : options) {
            o.add(x);
        }
    }

    /** uid and gid for a user spec ("", "name", "uid", "uid:gid", "name:group") read from the root filesystem. */
    public static int[] resolveUser(String user, Path rootfs) throws IOException {
        if (user.isEmpty()) {
            return new int[] {0, 0};
        }
        String[] parts = user.split(":", 2);
        int uid;
        int gid = -1;
        if (parts[0].matches("\\d+")) {
            uid = Integer.parseInt(parts[0]);
        } else {
            String[] pw = lookup(rootfs.resolve("etc/passwd"), parts[0]);
            if (pw == null) {
                throw new IOException("unable to find user " + parts[0] + ": no matching entries in passwd file");
            }
            uid = Integer.parseInt(pw[2]);
            gid = Integer.parseInt(pw[3]);
        }
        if (parts.length > 1) {
            if (parts[1].matches("\\d+")) {
                gid = Integer.parseInt(parts[1]);
            } else {
                String[] gr = lookup(rootfs.resolve("etc/group"), parts[1]);
                if (gr == null) {
                    throw new IOException("unable to find group " + parts[1] + ": no matching entries in group file");
                }
                gid = Integer.parseInt(gr[2]);
            }
        }
        if (gid < 0) {
            String[] pw = lookupUid(rootfs.resolve("etc/passwd"), uid);
            gid = pw != null ? Integer.parseInt(pw[3]) : 0;
        }
        return new int[] {uid, gid};
    }

    private static String[] lookup(Path file, String name) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(":");
            if (f.length >= 4 && f[0].equals(name)) {
                return f;
            }
        }
        return null;
    }

    private static String[] lookupUid(Path file, int uid) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(":");
            if (f.length >= 4 && f[2].equals(Integer.toString(uid))) {
                return f;
            }
        }
        return null;
    }
}
