package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import org.junit.jupiter.api.Test;

/** --resolve-image changed: which image a redeployed service is sent with. */
class StackDeployerTest {
    static ServiceSpec spec(String image) {
        ServiceSpec.Builder b = ServiceSpec.newBuilder();
        b.getTaskBuilder().getContainerBuilder().setImage(image);
        return b.build();
    }

    static String image(ServiceSpec s) {
        return s.getTask().getContainer().getImage();
    }

    static final String DIGEST = "@sha256:" + "ab".repeat(32);

    @Test
    void theSameTagKeepsItsPinnedDigest() {
        Service running = Service.newBuilder().setSpec(spec("reg:5000/web:1" + DIGEST)).build();
        assertEquals("reg:5000/web:1" + DIGEST, image(StackDeployer.keepPinned(spec("reg:5000/web:1"), running)),
                "no registry query and no update for the tag the service runs");
        assertEquals("reg:5000/web:2", image(StackDeployer.keepPinned(spec("reg:5000/web:2"), running)),
                "another tag goes to the managers to be pinned");
        assertEquals("reg:5000/web:1@sha256:" + "cd".repeat(32),
                image(StackDeployer.keepPinned(spec("reg:5000/web:1@sha256:" + "cd".repeat(32)), running)),
                "a digest in the file is the file's");
        Service unpinned = Service.newBuilder().setSpec(spec("reg:5000/web:1")).build();
        assertEquals("reg:5000/web:1", image(StackDeployer.keepPinned(spec("reg:5000/web:1"), unpinned)));
    }
}
