package io.jswarm.cli.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.jswarm.agent.image.ImageReference;
import io.jswarm.agent.image.RegistryClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * {@code GET /distribution/{name}/json}: what a reference names in its registry now, its
 * digest and platforms, through jswarm's own registry client. The docker CLI asks before
 * every service create and update, pins the image to the digest and places the tasks on
 * the platforms (the client library does it, not the daemon).
 */
final class Distribution {
    private final RegistryClient registry;

    Distribution(RegistryClient registry) {
        this.registry = registry;
    }

    Reply inspect(Call c) throws IOException {
        refuseCredentials(c);
        ImageReference ref;
        try {
            ref = ImageReference.parse(c.param(1));
        } catch (IllegalArgumentException e) {
            throw EngineError.badRequest(e.getMessage());
        }
        RegistryClient.Manifest m;
        try {
            m = registry.manifest(ref, ref.reference());
        } catch (io.jswarm.agent.image.RegistryException e) {
            // as dockerd: the CLI then warns that it could not pin the image and goes on
            throw new EngineError(e.notFound() ? 404 : 500, e.getMessage());
        }
        JsonArray platforms = new JsonArray();
        if (m.mediaType().equals(RegistryClient.OCI_INDEX) || m.mediaType().equals(RegistryClient.DOCKER_LIST)) {
            for (JsonNode entry : m.json().path("manifests")) {
                JsonNode p = entry.path("platform");
                if (!p.path("os").asText().isEmpty() && !p.path("architecture").asText().equals("unknown")) {
                    platforms.add(platform(p));
                }
            }
        } else {
            String config = m.json().path("config").path("digest").asText();
            if (!config.isEmpty()) {
                platforms.add(platform(RegistryClient.json().readTree(registry.smallBlob(ref, config))));
            }
        }
        return Reply.json(new JsonObject().put("Descriptor", new JsonObject().put("mediaType", m.mediaType())
                .put("digest", m.digest()).put("size", m.body().length)).put("Platforms", platforms));
    }

    private static JsonObject platform(JsonNode p) {
        JsonObject o = new JsonObject().put("architecture", p.path("architecture").asText()).put("os", p.path("os").asText());
        if (!p.path("variant").asText().isEmpty()) {
            o.put("variant", p.path("variant").asText());
        }
        return o;
    }

    /**
     * X-Registry-Auth (base64url JSON): jswarm's nodes pull without credentials (anonymous
     * tokens only), so credentials sent along would be dropped: refused instead. An empty
     * one (what clients send without a login) asks for nothing.
     */
    static void refuseCredentials(Call c) {
        String header = c.headers().get("X-Registry-Auth");
        if (header == null || header.isBlank()) {
            return;
        }
        JsonObject auth;
        try {
            auth = new JsonObject(new String(Base64.getUrlDecoder().decode(header.trim()), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw EngineError.badRequest("X-Registry-Auth is not base64url-encoded JSON");
        }
        for (String k : new String[] {"username", "password", "auth", "identitytoken", "registrytoken"}) {
            if (!auth.getString(k, "").isEmpty()) {
                throw EngineError.badRequest("X-Registry-Auth: jswarm's nodes pull images without registry credentials,"
                        + " so the ones given would not be used; refused (use a registry that allows anonymous pulls)");
            }
        }
    }
}
