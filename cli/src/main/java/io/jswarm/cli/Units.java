package io.jswarm.cli;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the value syntaxes users type: durations (Go style), byte sizes, CPU counts. */
public final class Units {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");
    private static final Pattern BYTES = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?b?)", Pattern.CASE_INSENSITIVE);

    private Units() {}

    /** The largest duration a spec holds: int64 nanoseconds (about 292 years), in ms. */
    static final double MAX_DURATION_MS = Long.MAX_VALUE / 1e6;

    /** "1m30s", "500ms", "0" -> milliseconds. Durations below a millisecond (other than 0) are refused. */
    public static long parseDurationMs(String flag, String text) {
        String s = text.trim();
        if (s.equals("0")) {
            return 0;
        }
        Matcher m = DURATION_PART.matcher(s);
        int pos = 0;
        double ms = 0;
        while (pos < s.length() && m.find(pos) && m.start() == pos) {
            double v = Double.parseDouble(m.group(1));
            ms += switch (m.group(2)) {
                case "ns" -> v / 1e6;
                case "us", "µs" -> v / 1e3;
                case "ms" -> v;
                case "s" -> v * 1e3;
                case "m" -> v * 60e3;
                default -> v * 3600e3;
            };
            pos = m.end();
        }
        if (pos != s.length() || s.isEmpty()) {
            throw new IllegalArgumentException("invalid duration " + quote(text) + " for " + flag
                    + ": expected a number with a unit (ms, s, m, h), e.g. 10s or 1m30s");
        }
        if (!(ms <= MAX_DURATION_MS)) {
            throw new IllegalArgumentException("duration " + quote(text) + " for " + flag
                    + " exceeds the largest duration, 2562047h (about 292 years, int64 nanoseconds)");
        }
        if (ms > 0 && ms < 1) {
            throw new IllegalArgumentException("duration " + quote(text) + " for " + flag + " is below the minimum of 1ms");
        }
        return Math.round(ms);
    }

    /** "64m", "1g", "512MiB", "1024" -> bytes (binary units, as Docker). */
    public static long parseBytes(String flag, String text) {
        Matcher m = BYTES.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid size " + quote(text) + " for " + flag + ": expected e.g. 64m, 1g or 512MiB");
        }
        BigDecimal v = new BigDecimal(m.group(1));
        long mult = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 1L << 10;
            case "m" -> 1L << 20;
            case "g" -> 1L << 30;
            case "t" -> 1L << 40;
            default -> 1;
        };
        BigDecimal bytes = v.multiply(BigDecimal.valueOf(mult));
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("size " + quote(text) + " for " + flag
                    + " exceeds the largest size, 8 EiB (int64 bytes)");
        }
        return bytes.longValue();
    }

    /** "0.5" -> 500000000 nano CPUs. */
    public static long parseNanoCpus(String flag, String text) {
        try {
            BigDecimal v = new BigDecimal(text.trim());
            if (v.signum() < 0) {
                throw new NumberFormatException();
            }
            return v.multiply(BigDecimal.valueOf(1_000_000_000L)).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("invalid CPU count " + quote(text) + " for " + flag + ": expected e.g. 0.5 or 2");
        }
    }

    public static long parseNonNegative(String flag, String text) {
        if (text.trim().matches("\\d{19,}")) {
            try {
                Long.parseLong(text.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("value " + quote(text) + " for " + flag + " exceeds the largest number, "
                        + Long.MAX_VALUE);
            }
        }
        try {
            long v = Long.parseLong(text.trim());
            if (v < 0) {
                throw new IllegalArgumentException("invalid value " + quote(text) + " for " + flag + ": must not be negative");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid value " + quote(text) + " for " + flag + ": expected a whole number");
        }
    }

    /** A value as messages show it: quoted, control characters escaped, long ones cut. */
    static String quote(String text) {
        return io.jswarm.manager.control.Quote.of(text);
    }

    /** "5 seconds ago" style, as Docker prints times. */
    public static String ago(long thenMs, long nowMs) {
        long s = Math.max(0, (nowMs - thenMs) / 1000);
        if (s < 1) {
            return "Less than a second ago";
        }
        if (s < 60) {
            return s + (s == 1 ? " second ago" : " seconds ago");
        }
        long m = s / 60;
        if (m < 60) {
            return (m == 1 ? "About a minute" : m + " minutes") + " ago";
        }
        long h = m / 60;
        if (h < 48) {
            return (h == 1 ? "About an hour" : h + " hours") + " ago";
        }
        return (h / 24) + " days ago";
    }

    public static String formatDuration(long ms) {
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
