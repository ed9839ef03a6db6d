package io.jswarm.agent.logs;

import java.nio.charset.StandardCharsets;

/** One line a container wrote, as the log writer recorded it. */
public record LogLine(long timeNs, boolean stderr, byte[] data) {
    @Override
    public String toString() {
        return timeNs + (stderr ? " e " : " o ") + new String(data, StandardCharsets.UTF_8);
    }
}
