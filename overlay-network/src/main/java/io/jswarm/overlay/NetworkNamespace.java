package io.jswarm.overlay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A task's network namespace, made with iproute2 so that it outlives swarmd with the
 * container. Loopback only for now; overlay networks attach here later.
 */
public final class NetworkNamespace {
    private NetworkNamespace() {}

    public static String name(String taskId) {
        return "jswarm-" + taskId.substring(0, Math.min(12, taskId.length()));
    }

    public static Path path(String name) {
        return Path.of("/var/run/netns", name);
    }

    public static Path create(String name) throws IOException {
        if (!Files.exists(path(name))) {
            Commands.check(List.of("ip", "netns", "add", name), 20);
        }
        Commands.check(List.of("ip", "-n", name, "link", "set", "lo", "up"), 20);
        return path(name);
    }

    public static void delete(String name) throws IOException {
        if (Files.exists(path(name))) {
            Commands.check(List.of("ip", "netns", "delete", name), 20);
        }
    }
}
