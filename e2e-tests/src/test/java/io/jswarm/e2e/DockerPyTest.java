package io.jswarm.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * docker-py, Debian 12's python3-docker 5.0.3 (API 1.41) with Debian's own Python, against
 * the Engine API of a single-node cluster with real containers: nodes, networks, secrets,
 * configs and services created, listed, updated, scaled, logged and removed as automation
 * written for Docker swarm does it. The checks are in {@code engine/docker_py_check.py};
 * each prints "ok: ..." and the first that fails ends the script with its traceback.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DockerPyTest {
    static final Path PYTHON = Path.of("/usr/bin/python3");

    @Test
    void dockerPyDrivesJswarm() throws Exception {
        assertTrue(Files.isExecutable(PYTHON), "Debian's python3 is missing: run bin/setup");
        try (SimulatedCluster sim = new SimulatedCluster(0, "1s")) {
            byte[] busybox = TestImages.busyboxLayer();
            List<String> cmd = List.of("sleep", "1000");
            TestImages.push(sim.registry.addr, "busybox", "py1", List.of(busybox), cmd, List.of());
            TestImages.push(sim.registry.addr, "busybox", "py2", List.of(busybox), cmd, List.of("VERSION=2"));
            Path script = Files.createTempFile("docker_py_check", ".py");
            try (var in = DockerPyTest.class.getResourceAsStream("/engine/docker_py_check.py")) {
                Files.write(script, in.readAllBytes());
            }
            try {
                Process p = new ProcessBuilder(PYTHON.toString(), "-I", script.toString(),
                        sim.m1.stateDir.resolve("docker.sock").toString(), sim.registry.addr + "/busybox:py1",
                        sim.registry.addr + "/busybox:py2").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                assertTrue(p.waitFor(240, TimeUnit.SECONDS), out);
                assertEquals(0, p.exitValue(), out);
                for (String check : List.of("version negotiated: 1.41", "nodes: list, update", "networks: create",
                        "secrets and configs: create", "services: create", "services: scale", "services: update (image)",
                        "services: logs", "services: remove", "networks, secrets, configs: remove", "a missing service: NotFound")) {
                    assertTrue(out.contains("ok: " + check), "missing check " + check + " in:\n" + out);
                }
            } finally {
                Files.deleteIfExists(script);
            }
        }
    }
}
