package io.jswarm.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 request to an Engine API's unix socket, as raw as a client writes it (Java's
 * HttpClient has no unix sockets): for the requests no Docker client would send.
 */
public final class EngineHttp {
    public record Response(int status, Map<String, String> headers, String body) {}

    private EngineHttp() {}

    public static Response request(Path socket, String method, String path, String body) throws IOException {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n") + "\r\n";
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            ch.write(ByteBuffer.wrap(b));
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (ch.read(buf) >= 0) {
                buf.flip();
                raw.write(buf.array(), 0, buf.limit());
                buf.clear();
            }
        }
        String all = raw.toString(StandardCharsets.UTF_8);
        int end = all.indexOf("\r\n\r\n");
        String[] lines = all.substring(0, end).split("\r\n");
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        String rest = all.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            StringBuilder out = new StringBuilder();
            int at = 0;
            while (true) {
                int nl = rest.indexOf("\r\n", at);
                int n = Integer.parseInt(rest.substring(at, nl).trim(), 16);
                if (n == 0) {
                    break;
                }
                out.append(rest, nl + 2, nl + 2 + n);
                at = nl + 2 + n + 2;
            }
            rest = out.toString();
        }
        return new Response(Integer.parseInt(lines[0].split(" ")[1]), headers, rest);
    }
}
