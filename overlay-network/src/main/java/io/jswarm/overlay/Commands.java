package io.jswarm.overlay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host command to completion with a time bound; output is returned, failures name the command. */
public final class Commands {
    private Commands() {}

    public record Result(int exit, String output) {}

    public static Result run(List<String> cmd, long timeoutSeconds) throws IOException {
        return run(cmd, null, timeoutSeconds);
    }

    /** Runs with {@code input} (or nothing) on its standard input. */
    public static Result run(List<String> cmd, String input, long timeoutSeconds) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            if (input != null) {
                in.write(input.getBytes(StandardCharsets.UTF_8));
            }
        }
        byte[] out;
        try {
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out after " + timeoutSeconds + "s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", cmd) + ": interrupted");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
    }

    /**
     * Runs many iproute2 commands in one process ({@code ip -batch -}, {@code bridge -batch -}):
     * one fork instead of one per command, which is what keeps attaching a container cheap.
     */
    public static void batch(List<String> prefix, List<String> lines) throws IOException {
        if (lines.isEmpty()) {
            return;
        }
        List<String> cmd = new java.util.ArrayList<>(prefix);
        cmd.addAll(List.of("-batch", "-"));
        checkWithInput(cmd, String.join("\n", lines) + "\n", 20);
    }

    /** Runs with {@code input} on its standard input and requires exit 0. */
    public static String checkWithInput(List<String> cmd, String input, long timeoutSeconds) throws IOException {
        Result r = run(cmd, input, timeoutSeconds);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.output()
                    + (input.length() < 400 ? " (input: " + input.strip().replace("\n", "; ") + ")" : ""));
        }
        return r.output();
    }

    /** Runs and requires exit 0. */
    public static String check(List<String> cmd, long timeoutSeconds) throws IOException {
        Result r = run(cmd, timeoutSeconds);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.output());
        }
        return r.output();
    }
}
