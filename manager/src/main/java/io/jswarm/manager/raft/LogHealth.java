package io.jswarm.manager.raft;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Whether this manager's Raft log can be written. Ratis' log worker stops for good at the
 * first I/O error (a full disk while it preallocates a segment): entries are still taken
 * into memory but never flushed again. That shows as a flush index that stops while the
 * last entry moves on, which this class watches, together with the free space of the
 * storage directory.
 */
final class LogHealth {
    /** Below this, writes through this manager are refused before the log fails. */
    static final long MIN_FREE_BYTES = 2L << 20;
    /** Space a restarted member needs: a preallocated segment, metadata and a snapshot. */
    static final long RESTART_FREE_BYTES = 16L << 20;
    /** A flush that makes no progress this long, with entries waiting, is an I/O failure. */
    static final long STALL_MS = 4_000;

    private final File dir;
    private boolean observed;
    private long lastFlush;
    private long stalledSince;
    private volatile boolean failed;

    LogHealth(File dir) {
        this.dir = dir;
    }

    /** Called periodically with the log's flush index and last entry index. */
    synchronized void observe(long flushIndex, long lastIndex, long now) {
        if (!observed || flushIndex != lastFlush || lastIndex <= flushIndex) {
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
    }

    long freeBytes() {
        try {
            return Files.getFileStore(dir.toPath()).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;  // unknown: do not refuse on a guess
        }
    }

    /** Why writes through this manager cannot be stored now, or null. */
    String problem(String manager) {
        long free = freeBytes();
        if (free < MIN_FREE_BYTES || (failed && free < RESTART_FREE_BYTES)) {
            return "manager " + manager + ": no space left on device in " + dir + " (" + (free >> 10) + " KiB free)";
        }
        if (failed) {
            return "manager " + manager + ": the Raft log in " + dir + " could not be written; restarting it";
        }
        return null;
    }
}
