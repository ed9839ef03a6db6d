package io.jswarm.manager.raft;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Whether this manager's Raft log can be written. Ratis' log worker stops for good at the
 * first I/O error (a full disk while it preallocates a segment): entries are still taken
 * into memory but never flushed again. That shows as a flush index that stops while the
 * last entry moves on, which this class watches; a storage directory with less than
 * {@link #MIN_FREE_BYTES} free counts as failed at once.
 */
final class LogHealth {
    /** Below this, writes through this manager are refused before the log fails. */
    static final long MIN_FREE_BYTES = 2L << 20;
    /** Space a restarted member needs: a preallocated segment, metadata and a snapshot. */
    static final long RESTART_FREE_BYTES = 16L << 20;
    /** A flush that makes no progress this long, with entries waiting, is an I/O failure. */
    static final long STALL_MS = 4_000;
    /**
     * Observations this far apart mean the whole manager stood still (a long collection, no
     * CPU): its log worker did too, so the stall is counted again from then. A leader that
     * paused five seconds in a full collection had been stopped as if its disk had failed.
     */
    static final long STOOD_STILL_MS = 1_000;

    private final File dir;
    /** Free space as last measured by {@link #observe}: writes and reads only look at this. */
    private volatile long free = Long.MAX_VALUE;
    private long freeMeasuredAt = Long.MIN_VALUE / 2;
    private boolean observed;
    private long lastFlush;
    private long stalledSince;
    private long observedAt;
    private volatile boolean failed;

    LogHealth(File dir) {
        this.dir = dir;
    }

    /** Called periodically with the log's flush index and last entry index. */
    synchronized void observe(long flushIndex, long lastIndex, long now) {
        if (now - freeMeasuredAt >= 500) {
            free = freeBytes();
            freeMeasuredAt = now;
        }
        if (free < MIN_FREE_BYTES) {
            // Out of space: the log worker fails at its next segment, and a leader whose log
            // fails may take no entry at all (no stall to see). Stop the member now.
            failed = true;
            return;
        }
        boolean stoodStill = observed && now - observedAt > STOOD_STILL_MS;
        observedAt = now;
        if (!observed || flushIndex != lastFlush || lastIndex <= flushIndex || stoodStill) {
            observed = true;
            lastFlush = flushIndex;
            stalledSince = now;
            return;
        }
        if (now - stalledSince > STALL_MS) {
            failed = true;
        }
    }

    /** The log failed: the Raft member must be restarted once there is room again. */
    boolean failed() {
        return failed;
    }

    synchronized void reset() {
        failed = false;
        observed = false;
        free = freeBytes();  // a restarted member is judged on the space it has now
        freeMeasuredAt = Long.MIN_VALUE / 2;
    }

    /** Measures the free space now (a system call: not for every request). */
    long freeBytes() {
        try {
            return Files.getFileStore(dir.toPath()).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;  // unknown: do not refuse on a guess
        }
    }

    /** Why writes through this manager cannot be stored now, or null; from the last measurement. */
    String problem(java.util.function.Supplier<String> manager) {
        long f = free;
        if (f < MIN_FREE_BYTES || (failed && f < RESTART_FREE_BYTES)) {
            return "manager " + manager.get() + ": no space left on device in " + dir + " (" + (f >> 10) + " KiB free)";
        }
        if (failed) {
            return "manager " + manager.get() + ": the Raft log in " + dir + " could not be written; restarting it";
        }
        return null;
    }
}
