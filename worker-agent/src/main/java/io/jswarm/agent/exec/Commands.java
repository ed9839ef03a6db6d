package io.jswarm.agent.exec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host command to completion with a time bound; output is returned, failures name the command. */
public final class Commands {
    private Commands() {}

    public record Result(int exit, String output) {}

    public static Result run(List<String> cmd, long timeoutSeconds) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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

    /** Runs and requires exit 0. */
    public static String check(List<String> cmd, long timeoutSeconds) throws IOException {
        Result r = run(cmd, timeoutSeconds);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.output());
        }
        return r.output();
    }
}
