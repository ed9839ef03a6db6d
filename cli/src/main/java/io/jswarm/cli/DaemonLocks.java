package io.jswarm.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The exclusive locks a swarmd holds for its whole life, as dockerd's pid file: on its state
 * directory, its runtime root and its cgroup parent. Two daemons sharing a runtime root or a
 * cgroup parent would take each other's containers for orphans and remove them; sharing a
 * state directory, they would be one node twice. The kernel drops a lock when its process
 * dies (kill -9 included), so a stale file never blocks a restart.
 */
public final class DaemonLocks {
    /** Where the locks of paths that are not ours to write into live (tmpfs: gone at reboot). */
    static final Path LOCK_DIR = Path.of("/run/jswarm/locks");

    /** The state directory's lock file, which holds the daemon's pid (as dockerd's pid file). */
    static final String STATE_DIR_LOCK = "swarmd.pid";

    /** Held until the process exits: an unreachable channel would be closed, and its lock dropped. */
    private static final List<FileChannel> HELD = new ArrayList<>();
    private static final List<Path> FILES = new ArrayList<>();

    private DaemonLocks() {}

    /** Takes all three or refuses, naming the other daemon's pid and the flag to change. */
    static synchronized void take(Path stateDir, String runtimeRoot, String cgroupParent) throws IOException {
        lock(stateDir.toAbsolutePath().normalize().resolve(STATE_DIR_LOCK), "--state-dir " + stateDir,
                "give this one its own --state-dir (and its own --runtime-root and --cgroup-parent)");
        String advice = "two daemons on one %s remove each other's containers: give this one its own --runtime-root and --cgroup-parent";
        lock(runtimeRootLock(runtimeRoot), "--runtime-root " + runtimeRoot, String.format(advice, "runtime root"));
        lock(cgroupParentLock(cgroupParent), "--cgroup-parent " + cgroupParent, String.format(advice, "cgroup parent"));
    }

    /** The lock file of a runtime root: to be removed with the node's state once no swarmd runs there. */
    public static Path runtimeRootLock(String runtimeRoot) {
        return LOCK_DIR.resolve("runtime-root" + Path.of(runtimeRoot).toAbsolutePath().normalize().toString().replace('/', '%') + ".pid");
    }

    /** The lock file of a parent cgroup. */
    public static Path cgroupParentLock(String cgroupParent) {
        return LOCK_DIR.resolve("cgroup-parent" + Path.of(cgroupParent).normalize().toString().replace('/', '%') + ".pid");
    }

    /** After the node left the cluster, as swarmd exits: the locks and their files go. */
    static synchronized void releaseAndRemove() throws IOException {
        for (Path f : FILES) {
            Files.deleteIfExists(f);
        }
        for (FileChannel ch : HELD) {
            ch.close();
        }
        HELD.clear();
        FILES.clear();
    }

    private static void lock(Path file, String what, String advice) throws IOException {
        Files.createDirectories(file.getParent());
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;  // this very process holds it already
        }
        if (lock == null) {
            String pid = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
            ch.close();
            throw new IllegalArgumentException("another swarmd" + (pid.isEmpty() ? "" : " (pid " + pid + ")") + " is using "
                    + what + "; " + advice);
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        HELD.add(ch);
        FILES.add(file);
    }
}
