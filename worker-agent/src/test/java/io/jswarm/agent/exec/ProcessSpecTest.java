package io.jswarm.agent.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.agent.image.ImageConfig;
import io.jswarm.api.ContainerSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessSpecTest {
    final ImageConfig image = new ImageConfig(List.of("PATH=/bin", "A=image", "B=image"), List.of("/entry"), List.of("cmd", "x"),
            "/app", "nobody", io.jswarm.api.HealthConfig.getDefaultInstance(), "");

    @Test
    void mergesAsDockerDoes() {
        ProcessSpec p = ProcessSpec.of(ContainerSpec.getDefaultInstance(), image, "h");
        assertEquals(List.of("/entry", "cmd", "x"), p.args(), "entrypoint + cmd");
        assertEquals("/app", p.cwd());
        assertEquals("nobody", p.user());
        p = ProcessSpec.of(ContainerSpec.newBuilder().addArgs("other").build(), image, "h");
        assertEquals(List.of("/entry", "other"), p.args(), "args replace cmd");
        p = ProcessSpec.of(ContainerSpec.newBuilder().addCommand("sh").addArgs("-c").addArgs("y").build(), image, "h");
        assertEquals(List.of("sh", "-c", "y"), p.args(), "command replaces entrypoint and drops cmd");
        p = ProcessSpec.of(ContainerSpec.newBuilder().addEnv("B=service").addEnv("C=service").setDir("/w").setUser("0").build(),
                image, "h");
        assertTrue(p.env().containsAll(List.of("PATH=/bin", "A=image", "B=service", "C=service", "HOSTNAME=h")), p.env().toString());
        assertTrue(p.env().stream().noneMatch(e -> e.equals("B=image")));
        assertEquals("/w", p.cwd());
        assertEquals("0", p.user());
    }

    @Test
    void refusesAnImageWithNothingToRun() {
        ImageConfig empty = new ImageConfig(List.of(), List.of(), List.of(), "", "", io.jswarm.api.HealthConfig.getDefaultInstance(), "");
        assertThrows(IllegalArgumentException.class, () -> ProcessSpec.of(ContainerSpec.getDefaultInstance(), empty, "h"));
    }
}
