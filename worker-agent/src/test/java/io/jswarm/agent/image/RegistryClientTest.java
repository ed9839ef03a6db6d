package io.jswarm.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client's protocol logic against a scripted HTTP server on 127.0.0.1: the bearer
 * challenge, digest verification, index resolution. (Pulls from a real registry are in
 * e2e-tests' ImagePullTest.)
 */
class RegistryClientTest {
    HttpServer server;
    String addr;
    final AtomicInteger tokenRequests = new AtomicInteger();
    static final byte[] BLOB = "the real content".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        addr = "127.0.0.1:" + server.getAddress().getPort();
        server.createContext("/token", ex -> {
            tokenRequests.incrementAndGet();
            assertTrue(ex.getRequestURI().getQuery().contains("scope=repository:app:pull"), ex.getRequestURI().toString());
            reply(ex, 200, "application/json", "{\"token\":\"T0K3N\"}".getBytes(StandardCharsets.UTF_8));
        });
        server.createContext("/v2/app/", ex -> {
            if (!"Bearer T0K3N".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().add("WWW-Authenticate",
                        "Bearer realm=\"http://" + addr + "/token\",service=\"test\",scope=\"repository:app:pull\"");
                reply(ex, 401, "application/json", "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String path = ex.getRequestURI().getPath();
            if (path.equals("/v2/app/blobs/" + RegistryClient.sha256(BLOB))) {
                reply(ex, 200, "application/octet-stream", BLOB);
            } else if (path.startsWith("/v2/app/blobs/")) {
                reply(ex, 200, "application/octet-stream", "tampered".getBytes(StandardCharsets.UTF_8));
            } else if (path.equals("/v2/app/manifests/multi")) {
                String index = "{\"schemaVersion\":2,\"mediaType\":\"" + RegistryClient.OCI_INDEX + "\",\"manifests\":["
                        + "{\"digest\":\"" + RegistryClient.sha256(arm()) + "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                        + "{\"digest\":\"" + RegistryClient.sha256(amd()) + "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
                reply(ex, 200, RegistryClient.OCI_INDEX, index.getBytes(StandardCharsets.UTF_8));
            } else if (path.equals("/v2/app/manifests/" + RegistryClient.sha256(amd()))) {
                reply(ex, 200, RegistryClient.OCI_MANIFEST, amd());
            } else {
                reply(ex, 404, "application/json", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}"
                        .getBytes(StandardCharsets.UTF_8));
            }
        });
        server.start();
    }

    static byte[] amd() {
        return ("{\"schemaVersion\":2,\"mediaType\":\"" + RegistryClient.OCI_MANIFEST + "\",\"config\":{\"digest\":\"sha256:"
                + "1".repeat(64) + "\"},\"layers\":[]}").getBytes(StandardCharsets.UTF_8);
    }

    static byte[] arm() {
        return "{\"arm\":true}".getBytes(StandardCharsets.UTF_8);
    }

    static void reply(HttpExchange ex, int code, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().add("Content-Type", type);
        ex.sendResponseHeaders(code, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void answersTheBearerChallengeAndVerifiesBlobs() throws Exception {
        RegistryClient c = new RegistryClient(Set.of(addr));
        ImageReference ref = ImageReference.parse(addr + "/app:1");
        Path dir = Files.createTempDirectory("jswarm-blob-");
        try {
            Path ok = dir.resolve("ok");
            c.blob(ref, RegistryClient.sha256(BLOB), ok);
            assertEquals("the real content", Files.readString(ok));
            assertEquals(1, tokenRequests.get(), "one token, then reused");
            String claimed = "sha256:" + "a".repeat(64);
            RegistryException e = assertThrows(RegistryException.class, () -> c.blob(ref, claimed, dir.resolve("bad")));
            assertTrue(e.getMessage().contains("failed verification"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("bad")), "a blob that fails verification is never kept");
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "no partial file left");
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void resolvesAnIndexToLinuxAmd64() throws Exception {
        RegistryClient c = new RegistryClient(Set.of(addr));
        ImageReference ref = ImageReference.parse(addr + "/app:multi");
        RegistryClient.Manifest top = c.manifest(ref, "multi");
        assertEquals(RegistryClient.OCI_INDEX, top.mediaType());
        RegistryClient.Manifest m = c.platformManifest(ref, top);
        assertEquals(RegistryClient.sha256(amd()), m.digest());
        RegistryException e = assertThrows(RegistryException.class, () -> c.manifest(ref, "nosuch"));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }
}
