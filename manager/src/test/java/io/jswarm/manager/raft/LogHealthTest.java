package io.jswarm.manager.raft;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogHealthTest {
    @TempDir
    Path dir;

    @Test
    void aFlushThatStopsWhileEntriesWaitIsAFailedLog() {
        LogHealth h = new LogHealth(dir.toFile());
        for (long t = 0; t < LogHealth.STALL_MS; t += 50) {
            h.observe(10, 12 + t / 50, t);
        }
        assertFalse(h.failed());
        h.observe(10, 200, LogHealth.STALL_MS + 1);
        assertTrue(h.failed());
        String p = h.problem(() -> "m3");
        assertTrue(p.contains("could not be written") || p.contains("no space left"), p);
        h.reset();
        assertFalse(h.failed());
    }

    @Test
    void aManagerThatStoodStillDoesNotBlameItsLog() {
        LogHealth h = new LogHealth(dir.toFile());
        h.observe(10, 12, 0);
        h.observe(10, 14, 50);
        h.observe(10, 20, 5_050);  // a five-second collection: nothing ran, the log worker neither
        assertFalse(h.failed());
        for (long t = 5_100; t < 5_050 + LogHealth.STALL_MS; t += 50) {
            h.observe(10, 20, t);
        }
        assertFalse(h.failed());
        h.observe(10, 20, 5_050 + LogHealth.STALL_MS + 1);
        assertTrue(h.failed(), "a flush still stopped once the manager runs again is a failed log");
    }

    @Test
    void anIdleOrProgressingLogIsHealthy() {
        LogHealth h = new LogHealth(dir.toFile());
        for (long t = 0; t < 10 * LogHealth.STALL_MS; t += 1000) {
            h.observe(5, 5, t);  // nothing waiting
        }
        for (long t = 0; t < 10 * LogHealth.STALL_MS; t += 1000) {
            h.observe(t, t + 3, t + 100_000);  // flushing as it goes
        }
        assertFalse(h.failed());
        assertNull(h.problem(() -> "m3"));  // this test's directory has room
    }
}
