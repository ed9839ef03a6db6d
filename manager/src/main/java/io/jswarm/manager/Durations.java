package io.jswarm.manager;

import com.google.protobuf.Duration;

/** google.protobuf.Duration helpers; an unset duration means "use the default". */
public final class Durations {
    private Durations() {}

    public static long millis(Duration d) {
        return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    }

    public static long millisOr(boolean set, Duration d, long defaultMillis) {
        return set ? millis(d) : defaultMillis;
    }

    public static Duration ofMillis(long ms) {
        return Duration.newBuilder().setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000).build();
    }
}
