package io.jswarm.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.agent.image.Image;
import io.jswarm.agent.image.ImageStore;
import io.jswarm.agent.image.RegistryClient;
import io.jswarm.agent.image.RegistryException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Pulls images built at test time from a real registry on 127.0.0.1. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImagePullTest {
    static TestRegistry registry;
    static Path dir;
    static String digest;

    @BeforeAll
    static void start() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        byte[] base = TestImages.busyboxLayer();
        // The second layer deletes /etc/group (whiteout) and adds a file.
        byte[] top = TestImages.layer("etc/.wh.group", "", "etc/motd", "hello");
        digest = TestImages.push(registry.addr, "busybox", "1", List.of(base, top), List.of("sleep", "1000"), List.of("A=1"));
        dir = Files.createTempDirectory("jswarm-images-");
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        LocalCluster.deleteTree(dir);
    }

    @Test
    void pullsUnpacksAndSharesLayers() throws Exception {
        ImageStore store = new ImageStore(dir, new RegistryClient(Set.of(registry.addr)), true);
        Image img = store.pull(registry.addr + "/busybox:1");
        assertEquals(digest, img.digest());
        assertEquals(List.of("sleep", "1000"), img.config().cmd());
        assertEquals(List.of("A=1"), img.config().env());
        assertEquals(2, img.layers().size());
        assertTrue(Files.isRegularFile(img.layers().get(0).resolve("bin/busybox")));
        assertTrue(Files.isSymbolicLink(img.layers().get(0).resolve("bin/sh")));
        assertEquals("hello", Files.readString(img.layers().get(1).resolve("etc/motd")));
        // The whiteout is an overlayfs whiteout: a character device named after the file.
        Path wh = img.layers().get(1).resolve("etc/group");
        assertTrue(Files.exists(wh, LinkOption.NOFOLLOW_LINKS));
        assertEquals("c", Files.getAttribute(wh, "unix:mode", LinkOption.NOFOLLOW_LINKS) instanceof Integer m
                && (m & 0170000) == 0020000 ? "c" : "not a char device");
        assertFalse(Files.exists(img.layers().get(1).resolve("etc/.wh.group")));
        // Pulling by digest gives the same layers, and a second pull reuses them.
        Image again = store.pull(registry.addr + "/busybox@" + digest);
        assertEquals(img.layers(), again.layers());
    }

    @Test
    void concurrentPullsOfTheSameImageShareTheWork() throws Exception {
        // A 16 MB layer takes long enough to download that three pulls started together overlap.
        byte[] noise = new byte[12 << 20];
        new java.util.Random(7).nextBytes(noise);
        byte[] big = TestImages.layer("data/noise", java.util.Base64.getEncoder().encodeToString(noise));
        TestImages.push(registry.addr, "big", "1", List.of(TestImages.busyboxLayer(), big), List.of("sleep", "1000"), List.of());
        Path d = Files.createTempDirectory("jswarm-images-");
        var pool = Executors.newFixedThreadPool(3);
        try {
            ImageStore store = new ImageStore(d, new RegistryClient(Set.of(registry.addr)), true);
            java.util.Map<String, Integer> before = registry.blobDownloads();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<Future<Image>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    return store.pull(registry.addr + "/big:1");
                }));
            }
            go.countDown();
            Image first = fs.get(0).get();
            for (Future<Image> f : fs) {
                assertEquals(first.layers(), f.get().layers());
            }
            try (var files = Files.list(d.resolve("layers"))) {
                assertEquals(2, files.count(), "each layer unpacked once, no leftovers");
            }
            java.util.Map<String, Integer> after = registry.blobDownloads();
            after.replaceAll((blob, n) -> n - before.getOrDefault(blob, 0));
            after.values().removeIf(n -> n == 0);
            assertTrue(after.size() >= 2, "the layers were downloaded: " + after);
            assertTrue(after.values().stream().allMatch(n -> n == 1), "each blob downloaded once by the three pulls: " + after);
        } finally {
            pool.shutdownNow();
            LocalCluster.deleteTree(d);
        }
    }

    @Test
    void missingImagesAndUnreachableRegistriesAreClearErrors() throws Exception {
        ImageStore store = new ImageStore(dir, new RegistryClient(Set.of(registry.addr, "127.0.0.1:1")), true);
        RegistryException e = assertThrows(RegistryException.class, () -> store.pull(registry.addr + "/nosuch:1"));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        e = assertThrows(RegistryException.class, () -> store.pull("127.0.0.1:1/busybox:1"));
        assertTrue(e.getMessage().contains("cannot reach registry 127.0.0.1:1"), e.getMessage());
    }
}
