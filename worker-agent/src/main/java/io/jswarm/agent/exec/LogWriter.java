package io.jswarm.agent.exec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;

/**
 * The per-container log writer: {@code jswarm-logger} (src/main/c), built with the agent
 * and shipped in its jar. It runs the OCI runtime with stdout and stderr on pipes and
 * writes timestamped lines to {@code TASKDIR/log}, rotating by size and count. The agent
 * JVM stays out of the containers' output path, so containers outlive swarmd.
 */
public final class LogWriter {
    /** Per-task bounds: the current file rotates at maxBytes (0: unbounded); maxFiles files are kept. */
    public record Limits(long maxBytes, int maxFiles) {
        public static final Limits DEFAULT = new Limits(10L << 20, 3);

        public Limits {
            if (maxBytes < 0) {
                throw new IllegalArgumentException("invalid log size " + maxBytes + ": must not be negative");
            }
            if (maxFiles < 1) {
                throw new IllegalArgumentException("invalid log file count " + maxFiles + ": at least 1");
            }
        }
    }

    private final Path binary;
    private final Limits limits;

    private LogWriter(Path binary, Limits limits) {
        this.binary = binary;
        this.limits = limits;
    }

    /** Installs the binary into STATE/bin (replaced atomically when it changed: running shims keep the old inode). */
    static LogWriter install(Path stateDir, Limits limits) throws IOException {
        byte[] bytes;
        try (InputStream in = LogWriter.class.getResourceAsStream("jswarm-logger")) {
            if (in == null) {
                throw new IOException("jswarm-logger is missing from the agent's jar (built by the worker-agent module with gcc)");
            }
            bytes = in.readAllBytes();
        }
        Path bin = Files.createDirectories(stateDir.resolve("bin")).resolve("jswarm-logger");
        if (!Files.exists(bin) || !Arrays.equals(Files.readAllBytes(bin), bytes)) {
            Path tmp = bin.resolveSibling("jswarm-logger.tmp");
            Files.write(tmp, bytes);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(tmp, bin, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        return new LogWriter(bin, limits);
    }

    Path binary() {
        return binary;
    }

    Limits limits() {
        return limits;
    }

    /**
     * The createRuntime hook that watches a container's memory cgroup (v1) for OOM kills and
     * writes {"type":"oom"} to {@code file} (jswarm-logger --oom-watch); none where the memory
     * controller is not at /sys/fs/cgroup/memory (then an OOM kill shows as exit 137 only).
     */
    List<String> oomWatch(String cgroupsPath, Path file) {
        Path memory = Path.of("/sys/fs/cgroup/memory");
        if (!Files.isDirectory(memory)) {
            return List.of();
        }
        return List.of(binary.toString(), "jswarm-logger", "--oom-watch", memory + cgroupsPath, file.toString());
    }

    /**
     * Bytes the logger wrote to a task's log files ever: those of the files it rotated out
     * (its {@code rotated} file) and the current file's. 0 for a task without logs.
     */
    public static long bytesWritten(Path taskDir) {
        long sum = 0;
        try {
            sum += Long.parseLong(Files.readString(taskDir.resolve("rotated")).trim());
        } catch (IOException | NumberFormatException e) {
            // nothing rotated yet (or a count lost to a full disk)
        }
        try {
            sum += Files.size(taskDir.resolve("log"));
        } catch (IOException e) {
            // no output yet
        }
        return sum;
    }
}
