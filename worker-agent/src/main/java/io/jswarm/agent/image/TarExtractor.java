package io.jswarm.agent.image;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Unpacks one image layer (tar, optionally gzip) into a directory that will be an
 * overlayfs lower directory. OCI whiteouts become what overlayfs understands:
 * {@code .wh.NAME} a 0:0 character device NAME, {@code .wh..wh..opq} the
 * trusted.overlay.opaque attribute on its directory. Paths never leave the directory.
 */
public final class TarExtractor {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private final Path root;
    private final boolean asRoot;

    /** @param asRoot set owners from the archive (needs root) */
    public TarExtractor(Path root, boolean asRoot) {
        this.root = root.toAbsolutePath().normalize();
        this.asRoot = asRoot;
    }

    public void extract(InputStream raw) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b1 = in.read();
        int b2 = in.read();
        in.reset();
        InputStream tar = (b1 == 0x1f && b2 == 0x8b) ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in;
        byte[] header = new byte[512];
        Map<String, String> pax = new HashMap<>();
        String longName = null;
        String longLink = null;
        List<Path[]> dirTimes = new ArrayList<>();
        while (true) {
            if (!readFully(tar, header)) {
                break;
            }
            if (isZero(header)) {
                break;  // end of archive
            }
            char type = (char) header[156];
            long size = octal(header, 124, 12);
            String name = pax.getOrDefault("path", longName != null ? longName : name(header));
            String link = pax.getOrDefault("linkpath", longLink != null ? longLink : string(header, 157, 100));
            if (pax.containsKey("size")) {
                size = Long.parseLong(pax.get("size"));
            }
            switch (type) {
                case 'x' -> {
                    pax = parsePax(readData(tar, size));
                    continue;
                }
                case 'g' -> {
                    skip(tar, size);
                    continue;
                }
                case 'L' -> {
                    longName = trimNul(new String(readData(tar, size), StandardCharsets.UTF_8));
                    continue;
                }
                case 'K' -> {
                    longLink = trimNul(new String(readData(tar, size), StandardCharsets.UTF_8));
                    continue;
                }
                default -> { }
            }
            int mode = (int) octal(header, 100, 8) & 07777;
            int uid = (int) (pax.containsKey("uid") ? Long.parseLong(pax.get("uid")) : octal(header, 108, 8));
            int gid = (int) (pax.containsKey("gid") ? Long.parseLong(pax.get("gid")) : octal(header, 116, 8));
            long mtime = octal(header, 136, 12);
            pax = new HashMap<>();
            longName = null;
            longLink = null;
            Path target = resolve(name);
            String base = target.getFileName() == null ? "" : target.getFileName().toString();
            if (base.equals(OPAQUE)) {
                Files.createDirectories(target.getParent());
                Posix.setOpaque(target.getParent().toString());
                skip(tar, size);
                continue;
            }
            if (base.startsWith(WHITEOUT)) {
                Path hidden = target.resolveSibling(base.substring(WHITEOUT.length()));
                Files.createDirectories(hidden.getParent());
                io.jswarm.agent.FileTrees.delete(hidden);
                Posix.mknodWhiteout(hidden.toString());
                skip(tar, size);
                continue;
            }
            if (target.equals(root) && type == '5') {
                skip(tar, size);
                continue;
            }
            Files.createDirectories(target.getParent());
            switch (type) {
                case '5' -> {
                    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                        io.jswarm.agent.FileTrees.delete(target);
                        Files.createDirectory(target);
                    }
                    dirTimes.add(new Path[] {target});
                    skip(tar, size);
                }
                case '2' -> {
                    io.jswarm.agent.FileTrees.delete(target);
                    Files.createSymbolicLink(target, Path.of(link));
                    skip(tar, size);
                }
                case '1' -> {
                    io.jswarm.agent.FileTrees.delete(target);
                    Files.createLink(target, resolve(link));
                    skip(tar, size);
                    continue;  // a hard link shares the target's mode and owner
                }
                case '0', '\0', '7' -> {
                    io.jswarm.agent.FileTrees.delete(target);
                    try (OutputStream out = Files.newOutputStream(target)) {
                        copy(tar, out, size);
                    }
                    skipPadding(tar, size);
                }
                default -> {
                    // Devices and fifos are not needed in images; the runtime provides /dev.
                    skip(tar, size);
                    continue;
                }
            }
            if (type != '2') {
                Posix.chmod(target.toString(), mode);
                Files.setLastModifiedTime(target, FileTime.fromMillis(mtime * 1000));
            }
            if (asRoot) {
                Posix.lchown(target.toString(), uid, gid);
            }
        }
    }

    /** The path inside the root; ".." that would leave it is refused. */
    private Path resolve(String name) throws IOException {
        String n = name.startsWith("/") ? name.substring(1) : name;
        Path p = root.resolve(n).normalize();
        if (!p.startsWith(root)) {
            throw new IOException("layer entry \"" + name + "\" points outside the layer");
        }
        return p;
    }

    private static String name(byte[] h) {
        String name = string(h, 0, 100);
        String prefix = string(h, 345, 155);
        boolean ustar = string(h, 257, 6).startsWith("ustar");
        return ustar && !prefix.isEmpty() ? prefix + "/" + name : name;
    }

    private static String string(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    private static String trimNul(String s) {
        int i = s.indexOf('\0');
        return i >= 0 ? s.substring(0, i) : s;
    }

    static long octal(byte[] h, int off, int len) {
        if ((h[off] & 0x80) != 0) {
            // base-256 (GNU) for large values
            long v = h[off] & 0x7f;
            for (int i = 1; i < len; i++) {
                v = (v << 8) | (h[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        for (int i = off; i < off + len; i++) {
            byte c = h[i];
            if (c == 0 || c == ' ') {
                if (v != 0) {
                    break;
                }
                continue;
            }
            v = v * 8 + (c - '0');
        }
        return v;
    }

    private static Map<String, String> parsePax(byte[] data) {
        Map<String, String> out = new HashMap<>();
        int i = 0;
        while (i < data.length) {
            int sp = i;
            while (sp < data.length && data[sp] != ' ') {
                sp++;
            }
            int len = Integer.parseInt(new String(data, i, sp - i, StandardCharsets.US_ASCII));
            String rec = new String(data, sp + 1, len - (sp - i) - 2, StandardCharsets.UTF_8);
            int eq = rec.indexOf('=');
            out.put(rec.substring(0, eq), rec.substring(eq + 1));
            i += len;
        }
        return out;
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean readFully(InputStream in, byte[] b) throws IOException {
        int n = 0;
        while (n < b.length) {
            int r = in.read(b, n, b.length - n);
            if (r < 0) {
                if (n == 0) {
                    return false;
                }
                throw new EOFException("truncated layer archive");
            }
            n += r;
        }
        return true;
    }

    private static byte[] readData(InputStream in, long size) throws IOException {
        byte[] b = new byte[(int) size];
        if (size > 0 && !readFully(in, b)) {
            throw new EOFException("truncated layer archive");
        }
        skipPadding(in, size);
        return b;
    }

    private static void copy(InputStream in, OutputStream out, long size) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                throw new EOFException("truncated layer archive");
            }
            out.write(buf, 0, r);
            left -= r;
        }
    }

    private static void skip(InputStream in, long size) throws IOException {
        long total = size + pad(size);
        while (total > 0) {
            long s = in.skip(total);
            if (s <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("truncated layer archive");
                }
                s = 1;
            }
            total -= s;
        }
    }

    private static void skipPadding(InputStream in, long size) throws IOException {
        long p = pad(size);
        while (p > 0) {
            long s = in.skip(p);
            if (s <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("truncated layer archive");
                }
                s = 1;
            }
            p -= s;
        }
    }

    private static long pad(long size) {
        return (512 - (size % 512)) % 512;
    }
}
