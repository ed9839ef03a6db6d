package io.jswarm.manager.control;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.PortConfig;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.TaskSpec;
import org.junit.jupiter.api.Test;

class SpecValidatorTest {
    static ServiceSpec.Builder spec(String name, String image) {
        return ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName(name))
                .setTask(TaskSpec.newBuilder().setContainer(ContainerSpec.newBuilder().setImage(image)))
                .setReplicated(ReplicatedService.newBuilder().setReplicas(3));
    }

    static String error(ServiceSpec.Builder b) {
        return assertThrows(IllegalArgumentException.class, () -> SpecValidator.validate(b.build())).getMessage();
    }

    @Test
    void acceptsGoodSpecs() {
        for (String image : new String[] {"busybox", "127.0.0.1:5000/busybox:1", "registry.example:5000/a/b-c_d.e:v1.2",
                "r:5000/x@sha256:" + "a".repeat(64), "library/busybox:latest"}) {
            assertDoesNotThrow(() -> SpecValidator.validate(spec("web", image).build()), image);
        }
        assertDoesNotThrow(() -> SpecValidator.validate(spec("a_b-c9", "x").build()));
    }

    @Test
    void refusesBadNamesImagesAndValues() {
        assertTrue(error(spec("-web", "x")).contains("\"-web\""));
        assertTrue(error(spec("web_", "x")).contains("invalid"));
        assertTrue(error(spec("a".repeat(64), "x")).contains("63"));
        assertTrue(error(spec("web", "")).contains("image is required"));
        assertTrue(error(spec("web", "Bad Image")).contains("invalid image reference"));
        assertTrue(error(spec("web", "UPPER/case")).contains("invalid image reference"));
        ServiceSpec.Builder b = spec("web", "x");
        b.getTaskBuilder().getPlacementBuilder().addConstraints("node.labels.a=b");
        assertTrue(error(b).contains("node.labels.a=b"));
        b = spec("web", "x");
        b.getTaskBuilder().getPlacementBuilder().addPreferencesBuilder().setSpread("node.hostname");
        assertTrue(error(b).contains("spread"));
        b = spec("web", "x");
        b.getUpdateBuilder().setMaxFailureRatio(2);
        assertTrue(error(b).contains("max failure ratio"));
        b = spec("web", "x");
        b.getEndpointBuilder().addPorts(PortConfig.newBuilder().setTargetPort(80).setPublishedPort(8080))
                .addPorts(PortConfig.newBuilder().setTargetPort(81).setPublishedPort(8080));
        assertTrue(error(b).contains("8080"));
        b = spec("web", "x");
        b.getTaskBuilder().getResourcesBuilder().getLimitsBuilder().setMemoryBytes(1024);
        assertTrue(error(b).contains("memory limit"));
        b = spec("web", "x");
        b.getTaskBuilder().getContainerBuilder().addMountsBuilder().setTarget("relative");
        assertTrue(error(b).contains("absolute"));
    }
}
