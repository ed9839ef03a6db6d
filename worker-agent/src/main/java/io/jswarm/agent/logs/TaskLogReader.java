package io.jswarm.agent.logs;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads one task's log files as jswarm-logger writes them: records
 * {@code "<ns> <o|e|O|E> <bytes>\n"} in {@code log}, {@code log.1} (older), ... A record
 * marked O or E is a piece of a long line that the next record of the stream continues;
 * the reader joins them. {@link #backlog} reads what is there; {@link #poll} then follows
 * the current file, switching to the new one when the writer rotates it.
 */
public final class TaskLogReader implements Closeable {
    private static final int MAX_JOINED = 1 << 20;  // a line longer than this is cut into several

    private final Path dir;
    private FileChannel current;
    private Object currentKey;            // the file the channel reads, to notice a rotation
    private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    private final ByteArrayOutputStream carry = new ByteArrayOutputStream();       // an unfinished record
    private final ByteArrayOutputStream[] partial = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
    private final long[] partialTime = new long[2];

    public TaskLogReader(Path dir) {
        this.dir = dir;
    }

    /**
     * The lines already written, oldest first: those at or after sinceNs, then the last
     * tail of them (tail &lt; 0: all). Leaves the reader at the end of the current file.
     */
    public List<LogLine> backlog(long sinceNs, long tail) throws IOException {
        Deque<LogLine> kept = new ArrayDeque<>();
        Consumer<LogLine> keep = l -> {
            if (l.timeNs() >= sinceNs && tail != 0) {
                kept.addLast(l);
                if (tail > 0 && kept.size() > tail) {
                    kept.removeFirst();
                }
            }
        };
        for (int i = rotatedCount(); i >= 1; i--) {
            try (FileChannel ch = FileChannel.open(dir.resolve("log." + i), StandardOpenOption.READ)) {
                readAll(ch, keep);
            } catch (NoSuchFileException e) {
                // rotated away meanwhile
            }
        }
        carry.reset();
        if (openCurrent()) {
            readAll(current, keep);
        }
        return new ArrayList<>(kept);
    }

    /** Lines written since the last call; follows a rotation of the current file. */
    public List<LogLine> poll() throws IOException {
        List<LogLine> out = new ArrayList<>();
        if (current == null) {
            // Nothing was there before: everything there now is new, rotated files first.
            for (int i = rotatedCount(); i >= 1; i--) {
                try (FileChannel ch = FileChannel.open(dir.resolve("log." + i), StandardOpenOption.READ)) {
                    readAll(ch, out::add);
                    carry.reset();
                } catch (NoSuchFileException e) {
                    // rotated away meanwhile
                }
            }
            if (openCurrent()) {
                readAll(current, out::add);
            }
            return out;
        }
        readAll(current, out::add);
        Object key = fileKey(dir.resolve("log"));
        if (key != null && !key.equals(currentKey)) {
            readAll(current, out::add);  // what the writer added before it rotated
            current.close();
            current = null;
            carry.reset();
            // The writer may have rotated more than once since the last poll: the files
            // written after ours are the rotated ones newer than it, then the current one.
            // They are opened first, so a rotation meanwhile does not move them away.
            int n = rotatedCount();
            int ours = n + 1;  // not found: ours was dropped, every rotated file is newer
            for (int i = 1; i <= n; i++) {
                if (currentKey.equals(fileKey(dir.resolve("log." + i)))) {
                    ours = i;
                    break;
                }
            }
            List<FileChannel> newer = new ArrayList<>();
            try {
                for (int i = ours - 1; i >= 1; i--) {
                    try {
                        newer.add(FileChannel.open(dir.resolve("log." + i), StandardOpenOption.READ));
                    } catch (NoSuchFileException e) {
                        // rotated away meanwhile
                    }
                }
                boolean opened = openCurrent();
                for (FileChannel ch : newer) {
                    readAll(ch, out::add);
                    carry.reset();
                }
                if (opened) {
                    readAll(current, out::add);
                }
            } finally {
                for (FileChannel ch : newer) {
                    ch.close();
                }
            }
        }
        return out;
    }

    /** The writer has exited (the shim records the exit code after it): nothing more will come. */
    public boolean writerDone() {
        return Files.exists(dir.resolve("exit")) || !Files.isDirectory(dir);
    }

    /** Lines still waiting for their continuation, once nothing more will come. */
    public List<LogLine> flush() {
        List<LogLine> out = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            if (partial[s].size() > 0) {
                out.add(new LogLine(partialTime[s], s == 1, partial[s].toByteArray()));
                partial[s].reset();
            }
        }
        return out;
    }

    private int rotatedCount() {
        int n = 0;
        while (Files.exists(dir.resolve("log." + (n + 1)))) {
            n++;
        }
        return n;
    }

    private boolean openCurrent() throws IOException {
        Path p = dir.resolve("log");
        try {
            current = FileChannel.open(p, StandardOpenOption.READ);
            currentKey = fileKey(p);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    private static Object fileKey(Path p) {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Reads the channel to its end, handing over every complete line. */
    private void readAll(FileChannel ch, Consumer<LogLine> sink) throws IOException {
        while (true) {
            buf.clear();
            int n = ch.read(buf);
            if (n <= 0) {
                return;
            }
            byte[] a = buf.array();
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (a[i] == '\n') {
                    if (carry.size() > 0) {
                        carry.write(a, start, i - start);
                        record(carry.toByteArray(), sink);
                        carry.reset();
                    } else {
                        record(java.util.Arrays.copyOfRange(a, start, i), sink);
                    }
                    start = i + 1;
                }
            }
            carry.write(a, start, n - start);
        }
    }

    private void record(byte[] r, Consumer<LogLine> sink) {
        int sp = indexOf(r, (byte) ' ', 0);
        if (sp <= 0 || r.length < sp + 3) {
            return;  // not a record: ignore rather than fail the stream
        }
        long time;
        try {
            time = Long.parseLong(new String(r, 0, sp, java.nio.charset.StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return;
        }
        byte kind = r[sp + 1];
        int s = kind == 'e' || kind == 'E' ? 1 : 0;
        int from = sp + 3;
        if (kind == 'O' || kind == 'E') {
            if (partial[s].size() == 0) {
                partialTime[s] = time;
            }
            partial[s].write(r, from, r.length - from);
            if (partial[s].size() >= MAX_JOINED) {
                sink.accept(new LogLine(partialTime[s], s == 1, partial[s].toByteArray()));
                partial[s].reset();
            }
            return;
        }
        if (partial[s].size() > 0) {
            partial[s].write(r, from, r.length - from);
            sink.accept(new LogLine(partialTime[s], s == 1, partial[s].toByteArray()));
            partial[s].reset();
            return;
        }
        sink.accept(new LogLine(time, s == 1, java.util.Arrays.copyOfRange(r, from, r.length)));
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        if (current != null) {
            current.close();
        }
    }
}
