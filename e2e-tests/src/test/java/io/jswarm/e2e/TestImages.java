package io.jswarm.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds test images at test time from Debian's busybox-static and pushes them to a
 * registry with the distribution API (monolithic blob uploads, OCI manifests).
 */
public final class TestImages {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String[] APPLETS = {"sh", "sleep", "cat", "echo", "ls", "hostname", "id", "ps", "true", "false",
        "env", "mkdir", "rm", "dd", "head", "tail", "tr", "seq", "kill", "grep", "wc", "touch", "test", "cut",
        "httpd", "nslookup", "wget", "nc", "ip", "ping", "timeout", "sort", "uniq"};

    private TestImages() {}

    /** Pushes busybox:1 (busybox-static, command sleep 1000) to the registry; its reference. */
    public static String busybox(String registry) throws Exception {
        push(registry, "busybox", "1", List.of(busyboxLayer()), List.of("sleep", "1000"), List.of());
        return registry + "/busybox:1";
    }

    /** A layer holding /bin/busybox and its applet links, as a gzip tar. */
    public static byte[] busyboxLayer() throws Exception {
        Path root = Files.createTempDirectory("jswarm-img-");
        try {
            Path bin = Files.createDirectories(root.resolve("bin"));
            Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
            for (String a : APPLETS) {
                Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
            }
            Files.createDirectories(root.resolve("etc"));
            Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
            Files.writeString(root.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
            for (String d : new String[] {"tmp", "root", "proc", "sys", "dev"}) {
                Files.createDirectories(root.resolve(d));
            }
            return tarGz(root);
        } finally {
            LocalCluster.deleteTree(root);
        }
    }

    /** A layer from files given as path -> content; a path "a/.wh.b" is a whiteout. */
    public static byte[] layer(String... pathsAndContents) throws Exception {
        Path root = Files.createTempDirectory("jswarm-img-");
        try {
            for (int i = 0; i < pathsAndContents.length; i += 2) {
                Path p = root.resolve(pathsAndContents[i]);
                Files.createDirectories(p.getParent());
                Files.writeString(p, pathsAndContents[i + 1]);
            }
            return tarGz(root);
        } finally {
            LocalCluster.deleteTree(root);
        }
    }

    /** A layer holding one executable file, copied from {@code source} to {@code path}. */
    public static byte[] fileLayer(Path source, String path) throws Exception {
        Path root = Files.createTempDirectory("jswarm-img-");
        try {
            Path p = root.resolve(path);
            Files.createDirectories(p.getParent());
            Files.copy(source, p);
            p.toFile().setExecutable(true, false);
            return tarGz(root);
        } finally {
            LocalCluster.deleteTree(root);
        }
    }

    static byte[] tarGz(Path root) throws Exception {
        Path out = Files.createTempFile("jswarm-layer-", ".tar.gz");
        try {
            Process p = new ProcessBuilder("tar", "--numeric-owner", "--owner=0", "--group=0", "-C", root.toString(), "-czf",
                    out.toString(), ".").redirectErrorStream(true).start();
            String msg = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("tar failed: " + msg);
            }
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /**
     * Pushes an image: the layers (gzip tars), a config with the given Cmd, under repo:tag.
     * Returns the manifest digest.
     */
    public static String push(String registry, String repo, String tag, List<byte[]> layers, List<String> cmd, List<String> env)
            throws Exception {
        List<String> layerJson = new ArrayList<>();
        List<String> diffIds = new ArrayList<>();
        for (byte[] l : layers) {
            String d = uploadBlob(registry, repo, l);
            layerJson.add("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" + d + "\",\"size\":" + l.length + "}");
            diffIds.add("\"" + sha256(gunzip(l)) + "\"");
        }
        String config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[" + quoteAll(env) + "],\"Cmd\":["
                + quoteAll(cmd) + "],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", diffIds) + "]}}";
        byte[] cfg = config.getBytes(StandardCharsets.UTF_8);
        String cfgDigest = uploadBlob(registry, repo, cfg);
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
                + "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + cfgDigest + "\",\"size\":" + cfg.length
                + "},\"layers\":[" + String.join(",", layerJson) + "]}";
        byte[] mb = manifest.getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + registry + "/v2/" + repo + "/manifests/" + tag))
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(mb)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IOException("manifest push failed: " + r.statusCode() + " " + r.body());
        }
        return sha256(mb);
    }

    static String uploadBlob(String registry, String repo, byte[] data) throws Exception {
        String digest = sha256(data);
        HttpResponse<String> start = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + registry + "/v2/" + repo + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        if (start.statusCode() != 202) {
            throw new IOException("upload start failed: " + start.statusCode() + " " + start.body());
        }
        String location = start.headers().firstValue("Location").orElseThrow();
        URI uri = URI.create(location.startsWith("http") ? location : "http://" + registry + location);
        String sep = uri.toString().contains("?") ? "&" : "?";
        HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(URI.create(uri + sep + "digest=" + digest))
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
        if (put.statusCode() != 201) {
            throw new IOException("blob upload failed: " + put.statusCode() + " " + put.body());
        }
        return digest;
    }

    static String sha256(byte[] b) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static byte[] gunzip(byte[] gz) throws IOException {
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    private static String quoteAll(List<String> xs) {
        List<String> q = new ArrayList<>();
        for (String x : xs) {
            q.add("\"" + x.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        }
        return String.join(",", q);
    }
}
