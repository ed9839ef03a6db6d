package io.jswarm.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * The node's images: blobs in one content-addressed store ({@code blobs/sha256/HEX}),
 * each layer unpacked once ({@code layers/HEX}) and shared by every container that uses
 * it. Concurrent pulls of the same image, or of the same blob, do the work once.
 */
public final class ImageStore {
    private final Path blobs;
    private final Path layers;
    private final RegistryClient registry;
    private final boolean asRoot;
    private final Map<String, CompletableFuture<Image>> pulls = new ConcurrentHashMap<>();
    /** Images pulled by digest: content-addressed, so they never change and need no registry round trip. */
    private final Map<String, Image> byDigest = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Path>> blobFetches = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Path>> unpacks = new ConcurrentHashMap<>();

    public ImageStore(Path dir, RegistryClient registry, boolean asRoot) throws IOException {
        this.blobs = Files.createDirectories(dir.resolve("blobs/sha256"));
        this.layers = Files.createDirectories(dir.resolve("layers"));
        this.registry = registry;
        this.asRoot = asRoot;
    }

    /** Pulls (or finds) the image; the message of a failure says what a user can fix. */
    public Image pull(String reference) throws IOException {
        Image known = byDigest.get(reference);
        if (known != null && known.layers().stream().allMatch(Files::isDirectory)) {
            return known;
        }
        long t0 = System.nanoTime();
        Image img = once(pulls, reference, () -> doPull(reference));
        io.micrometer.core.instrument.Timer.builder("jswarm_image_pull").description("image pulls that needed the registry or unpacking")
                .register(io.micrometer.core.instrument.Metrics.globalRegistry)
                .record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        if (reference.contains("@sha256:")) {
            byDigest.put(reference, img);
        }
        return img;
    }

    private Image doPull(String reference) throws IOException {
        ImageReference ref = ImageReference.parse(reference);
        RegistryClient.Manifest top = registry.manifest(ref, ref.reference());
        RegistryClient.Manifest m = registry.platformManifest(ref, top);
        JsonNode manifest = m.json();
        String configDigest = manifest.path("config").path("digest").asText();
        if (configDigest.isEmpty()) {
            throw new RegistryException("manifest of " + ref + " has no config (schema 1 manifests are not supported)");
        }
        Path configBlob = blob(ref, configDigest);
        ImageConfig config = ImageConfig.parse(RegistryClient.json().readTree(configBlob.toFile()));
        List<Path> dirs = new ArrayList<>();
        for (JsonNode layer : manifest.path("layers")) {
            String digest = layer.path("digest").asText();
            String type = layer.path("mediaType").asText();
            if (type.contains("zstd") || type.contains("foreign")) {
                throw new RegistryException("layer " + digest + " of " + ref + " has unsupported media type " + type);
            }
            dirs.add(unpacked(ref, digest));
        }
        return new Image(ref.toString(), top.digest(), config, dirs);
    }

    /** The blob's file, downloading it once. */
    public Path blob(ImageReference ref, String digest) throws IOException {
        Path p = blobs.resolve(hex(digest));
        if (Files.exists(p)) {
            return p;
        }
        return once(blobFetches, digest, () -> {
            registry.blob(ref, digest, p);
            io.micrometer.core.instrument.Metrics.counter("jswarm_image_pull_bytes").increment(Files.size(p));
            return p;
        });
    }

    private Path unpacked(ImageReference ref, String digest) throws IOException {
        Path dir = layers.resolve(hex(digest));
        if (Files.isDirectory(dir)) {
            return dir;
        }
        return once(unpacks, digest, () -> {
            Path blob = blob(ref, digest);
            Path tmp = layers.resolve(hex(digest) + ".unpacking");
            io.jswarm.agent.FileTrees.delete(tmp);
            Files.createDirectories(tmp);
            try (InputStream in = Files.newInputStream(blob)) {
                new TarExtractor(tmp, asRoot).extract(in);
            }
            Files.move(tmp, dir);
            return dir;
        });
    }

    /** Work that may throw IOException. */
    private interface Work<T> {
        T run() throws IOException;
    }

    /** Runs the work for a key once at a time: concurrent callers for the same key wait for the first. */
    private static <T> T once(Map<String, CompletableFuture<T>> inFlight, String key, Work<T> work) throws IOException {
        CompletableFuture<T> mine = new CompletableFuture<>();
        CompletableFuture<T> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            return await(running);
        }
        try {
            T result = work.run();
            mine.complete(result);
            return result;
        } catch (IOException | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(key, mine);
        }
    }

    static String hex(String digest) throws RegistryException {
        if (!digest.matches("sha256:[a-f0-9]{64}")) {
            throw new RegistryException("unsupported digest \"" + digest + "\"");
        }
        return digest.substring("sha256:".length());
    }

    private static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a pull");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            throw new IOException(e.getCause());
        }
    }
}
