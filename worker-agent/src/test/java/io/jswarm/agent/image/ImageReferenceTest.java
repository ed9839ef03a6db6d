package io.jswarm.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ImageReferenceTest {
    @Test
    void parsesAsDockerDoes() {
        assertEquals(new ImageReference("docker.io", "library/busybox", "latest", null), ImageReference.parse("busybox"));
        assertEquals(new ImageReference("docker.io", "user/app", "1.0", null), ImageReference.parse("user/app:1.0"));
        assertEquals(new ImageReference("127.0.0.1:5000", "busybox", "1", null), ImageReference.parse("127.0.0.1:5000/busybox:1"));
        assertEquals(new ImageReference("localhost", "a/b", "latest", null), ImageReference.parse("localhost/a/b"));
        String d = "sha256:" + "ab".repeat(32);
        ImageReference r = ImageReference.parse("reg.example:5000/team/app:2@" + d);
        assertEquals("reg.example:5000", r.domain());
        assertEquals("team/app", r.path());
        assertEquals("2", r.tag());
        assertEquals(d, r.digest());
        assertEquals(d, r.reference());
        assertEquals(null, ImageReference.parse("x@" + d).tag());
    }

    @Test
    void refusesMalformedReferences() {
        for (String bad : new String[] {"", "UPPER", "a//b", "reg:5000/", "x:bad tag", "x@sha256:12", "-x"}) {
            assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(bad), bad);
        }
    }
}
