package io.jswarm.agent.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The log writer (the real jswarm-logger binary, built by this module) and its reader. */
class TaskLogReaderTest {
    @TempDir Path dir;

    /** Runs a shell script under jswarm-logger writing into dir; returns its exit code. */
    int run(long maxBytes, int maxFiles, String script) throws Exception {
        Path bin = Path.of(getClass().getResource("/io/jswarm/agent/exec/jswarm-logger").toURI());
        Process p = new ProcessBuilder(bin.toString(), dir.toString(), Long.toString(maxBytes), Integer.toString(maxFiles), "--",
                "sh", "-c", script).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue();
    }

    static List<String> text(List<LogLine> lines) {
        List<String> out = new ArrayList<>();
        for (LogLine l : lines) {
            out.add((l.stderr() ? "E:" : "O:") + new String(l.data(), StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void linesOfBothStreamsInOrderWithTheExitCode() throws Exception {
        assertEquals(3, run(0, 1, "echo one; echo two >&2; printf 'no newline'; exit 3"));
        try (TaskLogReader r = new TaskLogReader(dir)) {
            List<LogLine> lines = r.backlog(0, -1);
            assertEquals(List.of("O:one", "E:two", "O:no newline"), text(lines));
            assertTrue(lines.get(0).timeNs() <= lines.get(1).timeNs(), "timestamped as written");
            assertEquals(List.of("E:two", "O:no newline"), text(new TaskLogReader(dir).backlog(0, 2)), "tail");
            assertEquals(List.of(), text(new TaskLogReader(dir).backlog(lines.get(2).timeNs() + 1, -1)), "since");
        }
    }

    @Test
    void aLongLineIsWrittenInPiecesAndReadWhole() throws Exception {
        run(0, 1, "head -c 40000 /dev/zero | tr '\\0' x; echo; echo after");
        List<String> lines = text(new TaskLogReader(dir).backlog(0, -1));
        assertEquals(2, lines.size());
        assertEquals("O:" + "x".repeat(40000), lines.get(0));
        assertEquals("O:after", lines.get(1));
        assertTrue(Files.readString(dir.resolve("log")).contains(" O "), "pieces marked as continued");
    }

    @Test
    void rotationKeepsTheNewestFilesWithinBounds() throws Exception {
        run(4096, 3, "seq 1 5000");
        assertTrue(Files.exists(dir.resolve("log.2")));
        assertFalse(Files.exists(dir.resolve("log.3")), "three files at most");
        for (String f : List.of("log", "log.1", "log.2")) {
            assertTrue(Files.size(dir.resolve(f)) < 4096 + 64, f + " bounded");
        }
        List<String> lines = text(new TaskLogReader(dir).backlog(0, -1));
        assertEquals("O:5000", lines.get(lines.size() - 1));
        int first = Integer.parseInt(lines.get(0).substring(2));
        for (int i = 0; i < lines.size(); i++) {
            assertEquals("O:" + (first + i), lines.get(i), "consecutive across files");
        }
    }

    @Test
    void theBytesWrittenCountRotatedFilesToo() throws Exception {
        run(4096, 3, "seq 1 5000");
        // Every record: 19 digits of nanoseconds, " o ", the line, "\n".
        long expected = 0;
        for (int i = 1; i <= 5000; i++) {
            expected += 19 + 3 + Integer.toString(i).length() + 1;
        }
        assertTrue(Files.exists(dir.resolve("rotated")), "files were rotated out");
        assertEquals(expected, io.jswarm.agent.exec.LogWriter.bytesWritten(dir), "more than the three files kept hold");
        assertEquals(0, io.jswarm.agent.exec.LogWriter.bytesWritten(dir.resolve("none")), "a task without logs");
    }

    @Test
    void followCatchesUpAfterSeveralRotationsBetweenPolls() throws Exception {
        run(4096, 10, "seq 1 100");
        try (TaskLogReader r = new TaskLogReader(dir)) {
            assertEquals(100, r.backlog(0, -1).size());
            run(4096, 10, "seq 101 1000");  // the same files, rotated several times before the next poll
            assertTrue(Files.exists(dir.resolve("log.3")), "rotated more than once");
            List<String> seen = text(r.poll());
            assertEquals(900, seen.size());
            for (int i = 0; i < 900; i++) {
                assertEquals("O:" + (101 + i), seen.get(i));
            }
        }
    }

    @Test
    void followReadsAcrossARotation() throws Exception {
        Path bin = Path.of(getClass().getResource("/io/jswarm/agent/exec/jswarm-logger").toURI());
        try (TaskLogReader r = new TaskLogReader(dir)) {
            assertEquals(List.of(), r.backlog(0, -1), "nothing yet");
            List<String> seen = new ArrayList<>();
            // 600 lines of about 30 bytes against 8 KiB files: two rotations, a line every millisecond or so.
            Process p = new ProcessBuilder(bin.toString(), dir.toString(), "8192", "5", "--", "sh", "-c",
                    "i=1; while [ $i -le 600 ]; do echo $i; i=$((i+1)); done").start();
            while (p.isAlive()) {
                seen.addAll(text(r.poll()));
                Thread.sleep(5);
            }
            seen.addAll(text(r.poll()));
            assertTrue(Files.exists(dir.resolve("log.1")), "rotated");
            assertEquals(600, seen.size());
            for (int i = 0; i < 600; i++) {
                assertEquals("O:" + (i + 1), seen.get(i));
            }
        }
    }
}
