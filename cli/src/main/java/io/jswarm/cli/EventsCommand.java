package io.jswarm.cli;

import io.jswarm.api.control.Event;
import io.jswarm.api.control.EventsRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** swarmctl events: changes to services, tasks and nodes as they are committed. */
@Command(name = "events", description = "Stream changes to services, tasks and nodes.", mixinStandardHelpOptions = true)
final class EventsCommand implements Callable<Integer> {
    @Option(names = {"-f", "--filter"}, description = "type=service|task|node (repeatable)") List<String> filters = new ArrayList<>();
    @Option(names = "--since", description = "Show events since a time: RFC 3339 (2026-11-22T10:00:00Z), unix seconds, or a duration ago (10m)")
    String since;
    @Option(names = "--until", description = "Stop after this long (a duration, e.g. 30s); default: follow until interrupted")
    String until;

    @Override
    public Integer call() {
        EventsRequest.Builder req = EventsRequest.newBuilder();
        for (String f : filters) {
            if (!f.startsWith("type=") || !List.of("service", "task", "node").contains(f.substring(5))) {
                throw new IllegalArgumentException("invalid --filter \"" + f + "\": expected type=service, type=task or type=node");
            }
            req.addTypes(f.substring(5));
        }
        if (since != null) {
            req.setSinceMs(parseTime("--since", since));
        }
        long deadline = until == null ? Long.MAX_VALUE : System.currentTimeMillis() + Units.parseDurationMs("--until", until);
        try (ControlClient cc = Swarmctl.client()) {
            var stub = cc.streamingStub();
            if (until != null) {
                stub = stub.withDeadlineAfter(Math.max(1, deadline - System.currentTimeMillis()), java.util.concurrent.TimeUnit.MILLISECONDS);
            }
            Iterator<Event> it = stub.events(req.build());
            try {
                while (it.hasNext()) {
                    System.out.println(format(it.next()));
                    System.out.flush();
                }
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.DEADLINE_EXCEEDED) {
                    throw e;
                }
            }
        }
        return 0;
    }

    /** As Docker prints them: time, type, action, id, then (key=value, ...). */
    static String format(Event e) {
        StringBuilder sb = new StringBuilder();
        sb.append(Instant.ofEpochMilli(e.getTimeMs())).append(' ').append(e.getType()).append(' ').append(e.getAction()).append(' ')
                .append(e.getId());
        if (e.getAttributesCount() > 0) {
            List<String> kv = new ArrayList<>();
            new TreeMap<>(e.getAttributesMap()).forEach((k, v) -> kv.add(k + "=" + v));
            sb.append(" (").append(String.join(", ", kv)).append(')');
        }
        return sb.toString();
    }

    static long parseTime(String flag, String text) {
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            // not RFC 3339
        }
        if (text.matches("\\d+(\\.\\d+)?")) {
            return (long) (Double.parseDouble(text) * 1000);
        }
        try {
            return System.currentTimeMillis() - Units.parseDurationMs(flag, text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid time \"" + text + "\" for " + flag
                    + ": expected RFC 3339 (2026-11-22T10:00:00Z), unix seconds, or a duration such as 10m");
        }
    }
}
