package io.jswarm.e2e;

import io.jswarm.e2e.LocalCluster.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Docker's own client, the docker CLI 20.10 of Debian 12 (bin/setup extracts it; no dockerd
 * anywhere), as the Engine API tests run it: no user's configuration or credentials, no
 * DOCKER_* variables but the ones given, output to files (the progress display writes a lot).
 */
final class DockerCli {
    static final Path DOCKER = Path.of(System.getProperty("jswarm.dockerCli", "/usr/local/lib/jswarm/docker-cli/docker"));

    private DockerCli() {}

    /** Runs {@code docker ARGS} with these environment variables; its files go to {@code dir}. */
    static Result run(Path dir, Map<String, String> env, List<String> args) throws Exception {
        return run(dir, env, args, "");
    }

    /** As {@link #run(Path, Map, List)}, with this on its standard input (docker swarm unlock reads the key there). */
    static Result run(Path dir, Map<String, String> env, List<String> args, String input) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(DOCKER.toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("DOCKER_"));
        pb.environment().putAll(env);
        pb.environment().put("DOCKER_CONFIG", dir.resolve("docker-config").toString());
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Path in = Files.writeString(Files.createTempFile(dir, "in", ".txt"), input);
        Process p = pb.redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("docker " + String.join(" ", args) + " did not finish: " + Files.readString(out));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
