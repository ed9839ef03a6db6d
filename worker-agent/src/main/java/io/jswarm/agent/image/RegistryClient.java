package io.jswarm.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client of OCI distribution (registry v2) endpoints: manifests (OCI and Docker,
 * indexes and lists resolved to linux/amd64), blobs with digest verification, and the
 * bearer-token challenge. Plain HTTP only for registries named insecure.
 */
public final class RegistryClient {
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    private static final String ACCEPT = String.join(", ", OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST);
    private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    /**
     * Made when first used, as the HTTP client is: a node that never pulls (an idle worker)
     * loads neither Jackson (375 classes) nor the HTTP client's classes and selector thread.
     */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    public static ObjectMapper json() {
        return Json.MAPPER;
    }

    private final Set<String> insecure;
    private HttpClient http;

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        return http;
    }
    private final Map<String, String> tokens = new ConcurrentHashMap<>();  // repository -> bearer token

    /** A manifest as fetched: its bytes, media type and digest. */
    public record Manifest(String mediaType, byte[] body, String digest) {
        public JsonNode json() throws IOException {
            return RegistryClient.json().readTree(body);
        }
    }

    public RegistryClient(Set<String> insecureRegistries) {
        this.insecure = Set.copyOf(insecureRegistries);
    }

    private String base(ImageReference ref) {
        String host = ref.domain().equals(ImageReference.DOCKER_HUB) ? "registry-1.docker.io" : ref.domain();
        return (insecure.contains(ref.domain()) ? "http://" : "https://") + host + "/v2/" + ref.path();
    }

    public static String sha256(byte[] b) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Fetches the manifest the reference names (tag or digest), as the registry stores it. */
    public Manifest manifest(ImageReference ref, String reference) throws IOException {
        HttpResponse<byte[]> r = send(ref, HttpRequest.newBuilder(URI.create(base(ref) + "/manifests/" + reference))
                .header("Accept", ACCEPT), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() == 404) {
            throw RegistryException.notFound("image " + ref + " not found: manifest unknown to " + ref.domain());
        }
        if (r.statusCode() != 200) {
            throw new RegistryException("registry " + ref.domain() + " answered " + r.statusCode() + " for the manifest of "
                    + ref + errorText(r.body()));
        }
        String digest = sha256(r.body());
        if (reference.startsWith("sha256:") && !reference.equals(digest)) {
            throw new RegistryException("manifest of " + ref + " does not match its digest " + reference + " (got " + digest + ")");
        }
        String type = r.headers().firstValue("Content-Type").orElse("");
        JsonNode j = json().readTree(r.body());
        if (j.hasNonNull("mediaType")) {
            type = j.get("mediaType").asText();
        }
        return new Manifest(type.split(";")[0].trim(), r.body(), digest);
    }

    /** The digest a tag points at now (of the index, for multi-platform images), as Docker pins it. */
    public String resolveDigest(ImageReference ref) throws IOException {
        return manifest(ref, ref.reference()).digest();
    }

    /** Resolves an index or list to the linux/amd64 manifest; a plain manifest is returned as is. */
    public Manifest platformManifest(ImageReference ref, Manifest m) throws IOException {
        if (!m.mediaType().equals(OCI_INDEX) && !m.mediaType().equals(DOCKER_LIST)) {
            return m;
        }
        for (JsonNode entry : m.json().path("manifests")) {
            JsonNode p = entry.path("platform");
            if (p.path("os").asText().equals("linux") && p.path("architecture").asText().equals("amd64")) {
                return manifest(ref, entry.path("digest").asText());
            }
        }
        throw new RegistryException("image " + ref + " has no linux/amd64 variant");
    }

    /** A small blob (an image's config) in memory, verified against its digest. */
    public byte[] smallBlob(ImageReference ref, String digest) throws IOException {
        HttpResponse<byte[]> r = send(ref, HttpRequest.newBuilder(URI.create(base(ref) + "/blobs/" + digest)),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new RegistryException("registry " + ref.domain() + " answered " + r.statusCode() + " for blob " + digest
                    + " of " + ref + errorText(r.body()));
        }
        if (!sha256(r.body()).equals(digest)) {
            throw new RegistryException("blob " + digest + " of " + ref + " failed verification");
        }
        return r.body();
    }

    /** Downloads a blob to {@code dest}, verifying its digest; a mismatch leaves nothing behind. */
    public void blob(ImageReference ref, String digest, Path dest) throws IOException {
        HttpResponse<InputStream> r = send(ref, HttpRequest.newBuilder(URI.create(base(ref) + "/blobs/" + digest)),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            byte[] body;
            try (InputStream in = r.body()) {
                body = in.readNBytes(4096);
            }
            throw new RegistryException("registry " + ref.domain() + " answered " + r.statusCode() + " for blob " + digest
                    + " of " + ref + errorText(body));
        }
        Path tmp = dest.resolveSibling(dest.getFileName() + ".part-" + Thread.currentThread().getId());
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        String got = "sha256:" + HexFormat.of().formatHex(md.digest());
        if (!got.equals(digest)) {
            Files.deleteIfExists(tmp);
            throw new RegistryException("blob " + digest + " of " + ref + " failed verification: its content hashes to " + got);
        }
        Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private <T> HttpResponse<T> send(ImageReference ref, HttpRequest.Builder req, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        req.timeout(Duration.ofMinutes(10));
        String token = tokens.get(ref.domain() + "/" + ref.path());
        if (token != null) {
            req.header("Authorization", "Bearer " + token);
        }
        try {
            HttpResponse<T> r = http().send(req.build(), handler);
            if (r.statusCode() == 401 && token == null) {
                String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
                if (r.body() instanceof InputStream in) {
                    in.close();
                }
                tokens.put(ref.domain() + "/" + ref.path(), fetchToken(ref, challenge));
                return send(ref, req, handler);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted talking to " + ref.domain());
        } catch (java.net.ConnectException e) {
            throw new RegistryException("cannot reach registry " + ref.domain() + ": connection refused");
        } catch (java.net.http.HttpConnectTimeoutException e) {
            throw new RegistryException("cannot reach registry " + ref.domain() + ": connection timed out");
        }
    }

    /** Answers a Bearer challenge: GET realm?service=...&scope=... for an anonymous pull token. */
    private String fetchToken(ImageReference ref, String challenge) throws IOException, InterruptedException {
        if (!challenge.toLowerCase().startsWith("bearer ")) {
            throw new RegistryException("registry " + ref.domain() + " wants authentication this client does not do: " + challenge);
        }
        Map<String, String> params = new java.util.HashMap<>();
        Matcher m = CHALLENGE_PARAM.matcher(challenge);
        while (m.find()) {
            params.put(m.group(1), m.group(2));
        }
        String realm = params.get("realm");
        if (realm == null) {
            throw new RegistryException("registry " + ref.domain() + " sent a Bearer challenge without a realm");
        }
        String scope = params.getOrDefault("scope", "repository:" + ref.path() + ":pull");
        String url = realm + "?scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8)
                + (params.containsKey("service") ? "&service=" + URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8) : "");
        HttpResponse<byte[]> r = http().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new RegistryException("token service " + realm + " answered " + r.statusCode());
        }
        JsonNode j = json().readTree(r.body());
        String t = j.hasNonNull("token") ? j.get("token").asText() : j.path("access_token").asText("");
        if (t.isEmpty()) {
            throw new RegistryException("token service " + realm + " sent no token");
        }
        return t;
    }

    private static String errorText(byte[] body) {
        try {
            JsonNode j = json().readTree(body);
            JsonNode e = j.path("errors").path(0);
            if (!e.isMissingNode()) {
                return ": " + e.path("code").asText() + " " + e.path("message").asText();
            }
        } catch (IOException | RuntimeException ignored) {
            // not JSON
        }
        return "";
    }
}
