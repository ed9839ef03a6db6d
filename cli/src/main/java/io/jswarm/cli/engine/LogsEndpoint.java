package io.jswarm.cli.engine;

import io.grpc.Context;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.GetTaskRequest;
import io.jswarm.api.logs.LogMessage;
import io.jswarm.api.logs.LogMessages;
import io.jswarm.api.logs.LogSelector;
import io.jswarm.api.logs.SubscribeLogsRequest;
import io.jswarm.cli.ControlClient;
import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;

/**
 * {@code GET /services/{id}/logs} and {@code /tasks/{id}/logs}: the tasks' lines through
 * the Logs API, written as dockerd writes them for API 1.41: Docker's multiplexed stream
 * (an 8-byte header per frame: the stream, three zero bytes, the length), one line per
 * frame, with the timestamp and the details ({@code com.docker.swarm.node.id=...,...}) in
 * front when asked. The docker CLI asks for the details and names each line's task from them.
 */
final class LogsEndpoint {
    /** Go's RFC3339NanoFixed, as dockerd stamps log lines. */
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX")
            .withZone(ZoneOffset.UTC);

    private final ControlClient control;

    LogsEndpoint(ControlClient control) {
        this.control = control;
    }

    void register(EngineApi api) {
        api.route(HttpMethod.GET, "/services/([^/]+)/logs", c -> logs(c, LogSelector.newBuilder().addServiceIds(
                control.stub().getService(GetServiceRequest.newBuilder().setServiceId(c.param(1)).build())
                        .getService().getMeta().getId()).build()));
        api.route(HttpMethod.GET, "/tasks/([^/]+)/logs", c -> logs(c, LogSelector.newBuilder().addTaskIds(
                control.stub().getTask(GetTaskRequest.newBuilder().setTaskId(c.param(1)).build())
                        .getTask().getMeta().getId()).build()));
    }

    private Reply logs(Call c, LogSelector selector) {
        boolean stdout = c.flag("stdout");
        boolean stderr = c.flag("stderr");
        if (!stdout && !stderr) {
            throw EngineError.badRequest("Bad parameters: you must choose at least one stream");
        }
        boolean details = c.flag("details");
        boolean timestamps = c.flag("timestamps");
        SubscribeLogsRequest.Builder req = SubscribeLogsRequest.newBuilder().setSelector(selector).setFollow(c.flag("follow"))
                .setTail(tail(c.query("tail")));
        String since = c.query("since");
        if (since != null && !since.isEmpty() && !since.equals("0")) {
            req.setSinceMs(sinceMs(since));
        }
        return new Reply(200, new EngineApi.Stream("application/vnd.docker.raw-stream", out -> {
            Context.CancellableContext call = Context.current().withCancellation();
            out.onGone(() -> call.cancel(null));
            Context before = call.attach();
            try {
                Iterator<LogMessages> it = control.logs().subscribeLogs(req.build());
                while (it.hasNext()) {
                    ByteArrayOutputStream frames = new ByteArrayOutputStream();
                    for (LogMessage m : it.next().getMessagesList()) {
                        boolean err = m.getStream() == LogMessage.Stream.STDERR;
                        if (err ? stderr : stdout) {
                            frame(frames, err, line(m, details, timestamps));
                        }
                    }
                    if (frames.size() > 0) {
                        out.write(Buffer.buffer(frames.toByteArray()));
                    }
                }
            } finally {
                call.detach(before);
                call.cancel(null);
            }
        }));
    }

    static byte[] line(LogMessage m, boolean details, boolean timestamps) {
        StringBuilder head = new StringBuilder();
        if (timestamps) {
            head.append(STAMP.format(Instant.ofEpochSecond(0, m.getTimestampNs()))).append(' ');
        }
        if (details) {
            // sorted by key, as dockerd writes them
            head.append("com.docker.swarm.node.id=").append(escape(m.getNodeId()))
                    .append(",com.docker.swarm.service.id=").append(escape(m.getServiceId()))
                    .append(",com.docker.swarm.task.id=").append(escape(m.getTaskId())).append(' ');
        }
        byte[] h = head.toString().getBytes(StandardCharsets.UTF_8);
        byte[] data = m.getData().toByteArray();
        byte[] out = new byte[h.length + data.length + 1];
        System.arraycopy(h, 0, out, 0, h.length);
        System.arraycopy(data, 0, out, h.length, data.length);
        out[out.length - 1] = '\n';
        return out;
    }

    private static String escape(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** One frame of Docker's multiplexed stream: 1 stdout, 2 stderr; three zero bytes; the length, big-endian. */
    static void frame(ByteArrayOutputStream out, boolean stderr, byte[] payload) {
        int n = payload.length;
        out.write(stderr ? 2 : 1);
        out.write(0);
        out.write(0);
        out.write(0);
        out.write(n >>> 24);
        out.write(n >>> 16);
        out.write(n >>> 8);
        out.write(n);
        out.write(payload, 0, n);
    }

    /** "all" (or nothing): every line; otherwise the last N lines of each task. */
    static long tail(String t) {
        if (t == null || t.isEmpty() || t.equals("all")) {
            return -1;
        }
        try {
            long n = Long.parseLong(t);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw EngineError.badRequest("tail value must be a positive integer or \"all\"");
    }

    /** Docker sends since as a Unix time, seconds with an optional fraction ("1733356800.000000000"). */
    static long sinceMs(String s) {
        try {
            int dot = s.indexOf('.');
            long secs = Long.parseLong(dot < 0 ? s : s.substring(0, dot));
            long ms = secs * 1000;
            if (dot >= 0) {
                String frac = (s.substring(dot + 1) + "000").substring(0, 3);
                ms += Long.parseLong(frac);
            }
            return Math.max(ms, 1);
        } catch (NumberFormatException e) {
            throw EngineError.badRequest("could not parse since timestamp \"" + s + "\": expected Unix seconds");
        }
    }
}
