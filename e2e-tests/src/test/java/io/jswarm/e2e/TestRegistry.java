package io.jswarm.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real registry (Debian's docker-registry) on a test address, with its storage in a
 * temporary directory. Ended by its pid in {@link #close()}.
 */
public final class TestRegistry implements AutoCloseable {
    public final String addr;
    private final Path dir;
    private final Process process;
    private final boolean keepDir;

    public TestRegistry(String host, int port) throws Exception {
        this(host, port, Files.createTempDirectory("jswarm-registry-"), false);
    }

    /**
     * A registry keeping its storage, configuration, log and pid ({@code registry.pid}) in
     * this directory, started in a session of its own so that it outlives this process
     * (bin/cluster's; {@link #stop(Path)} ends it by that pid later).
     */
    public static TestRegistry detached(String host, int port, Path dir) throws Exception {
        return new TestRegistry(host, port, Files.createDirectories(dir), true);
    }

    private TestRegistry(String host, int port, Path dir, boolean detached) throws Exception {
        this.addr = host + ":" + port;
        this.dir = dir;
        this.keepDir = detached;
        Path config = dir.resolve("config.yml");
        Files.writeString(config, String.join("\n",
                "version: 0.1",
                "log:",
                "  level: error",
                "  accesslog:",
                "    disabled: false",  // tests count the requests (one download per blob)
                "storage:",
                "  filesystem:",
                "    rootdirectory: " + dir.resolve("data"),
                "  delete:",
                "    enabled: true",
                "http:",
                "  addr: " + addr,
                "  secret: jswarm-test",
                ""));
        String bin = Files.exists(Path.of("/usr/bin/docker-registry")) ? "/usr/bin/docker-registry" : "docker-registry";
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(bin, "serve", config.toString()));
        if (detached) {
            cmd.add(0, "setsid");
        }
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("registry.log").toFile()).start();
        if (detached) {
            Files.writeString(dir.resolve("registry.pid"), process.pid() + "\n");
        }
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://" + addr + "/v2/"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    break;
                }
            } catch (IOException e) {
                // not up yet
            }
            if (System.nanoTime() > deadline || !process.isAlive()) {
                close();
                throw new IllegalStateException("docker-registry did not start on " + addr + ": "
                        + Files.readString(dir.resolve("registry.log")));
            }
            Thread.sleep(100);
        }
    }

    /** How many times each blob was downloaded (GET), by digest, from the access log. */
    public java.util.Map<String, Integer> blobDownloads() throws IOException {
        java.util.Map<String, Integer> out = new java.util.TreeMap<>();
        java.util.regex.Pattern get = java.util.regex.Pattern.compile("\"GET /v2/[^ ]+/blobs/(sha256:[0-9a-f]{64}) ");
        for (String line : Files.readAllLines(dir.resolve("registry.log"))) {
            java.util.regex.Matcher m = get.matcher(line);
            if (m.find()) {
                out.merge(m.group(1), 1, Integer::sum);
            }
        }
        return out;
    }

    /** Ends the registry a detached one left in this directory (by its pid, checked against its command line). */
    public static void stop(Path dir) throws Exception {
        Path pid = dir.resolve("registry.pid");
        if (!Files.exists(pid)) {
            return;
        }
        String p = Files.readString(pid).trim();
        ProcessHandle h = p.matches("[0-9]+") ? ProcessHandle.of(Long.parseLong(p)).orElse(null) : null;
        String cmdline;
        try {
            cmdline = h == null ? "" : Files.readString(Path.of("/proc", p, "cmdline"));
        } catch (IOException e) {
            cmdline = "";  // gone meanwhile
        }
        if (h != null && cmdline.contains(dir.resolve("config.yml").toString())) {
            h.destroy();
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                h.destroyForcibly();
            }
        }
        Files.delete(pid);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        if (!keepDir) {
            LocalCluster.deleteTree(dir);
        }
    }
}
