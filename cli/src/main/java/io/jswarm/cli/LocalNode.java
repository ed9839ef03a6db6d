package io.jswarm.cli;

import io.jswarm.api.NodeDescription;
import io.jswarm.api.Platform;
import io.jswarm.api.Resources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Describes this machine: hostname, platform, real CPUs and memory. */
public final class LocalNode {
    public static final String VERSION = "0.1.0";

    private LocalNode() {}

    public static NodeDescription describe(String hostname) {
        String arch = System.getProperty("os.arch");
        arch = switch (arch) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> arch;
        };
        return NodeDescription.newBuilder()
                .setHostname(hostname)
                .setPlatform(Platform.newBuilder().setOs("linux").setArchitecture(arch))
                .setResources(Resources.newBuilder()
                        .setNanoCpus(Runtime.getRuntime().availableProcessors() * 1_000_000_000L)
                        .setMemoryBytes(memTotal()))
                .setVersion(VERSION)
                .build();
    }

    static long memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return Runtime.getRuntime().maxMemory();
    }
}
