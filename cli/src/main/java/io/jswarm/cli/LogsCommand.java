package io.jswarm.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.control.GetServiceRequest;
import io.jswarm.api.control.GetTaskRequest;
import io.jswarm.api.logs.LogMessage;
import io.jswarm.api.logs.LogMessages;
import io.jswarm.api.logs.LogSelector;
import io.jswarm.api.logs.SubscribeLogsRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * swarmctl service logs: the stdout and stderr of a service's tasks (or of one task) from
 * every node, through the managers, each line prefixed NAME.SLOT.TASKID@NODE as Docker
 * prints it. stdout lines go to stdout, stderr lines to stderr.
 */
@Command(name = "logs", description = "Fetch the logs of a service or task.", mixinStandardHelpOptions = true)
final class LogsCommand implements Callable<Integer> {
    private static final DateTimeFormatter RFC3339_NANO =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

    @Option(names = {"-f", "--follow"}, description = "Follow log output, including tasks that start later") boolean follow;
    @Option(names = {"-n", "--tail"}, defaultValue = "all", description = "Number of lines to show from the end of each task's logs (default: all)")
    String tail;
    @Option(names = "--since", description = "Show logs since a time: RFC 3339 (2026-11-22T10:00:00Z), unix seconds, or a duration ago (10m)")
    String since;
    @Option(names = {"-t", "--timestamps"}, description = "Show timestamps") boolean timestamps;
    @Option(names = "--no-task-ids", description = "Do not include task IDs in output") boolean noTaskIds;
    @Option(names = "--no-trunc", description = "Do not truncate task IDs") boolean noTrunc;
    @Option(names = "--raw", description = "Do not add the task context to each line") boolean raw;
    @Parameters(paramLabel = "SERVICE|TASK") String target;

    @Override
    public Integer call() throws IOException {
        long tailLines = tail.equals("all") ? -1 : Units.parseNonNegative("--tail", tail);
        SubscribeLogsRequest.Builder req = SubscribeLogsRequest.newBuilder().setFollow(follow).setTail(tailLines);
        if (since != null) {
            req.setSinceMs(EventsCommand.parseTime("--since", since));
        }
        try (ControlClient cc = Swarmctl.client()) {
            req.setSelector(select(cc, target));
            Iterator<LogMessages> it = cc.logs().subscribeLogs(req.build());
            try {
                while (it.hasNext()) {
                    for (LogMessage m : it.next().getMessagesList()) {
                        PrintStream to = m.getStream() == LogMessage.Stream.STDERR ? System.err : System.out;
                        write(to, m);
                    }
                    System.out.flush();
                    System.err.flush();
                }
            } catch (StatusRuntimeException e) {
                System.out.flush();
                throw ended(e);
            }
        }
        return 0;
    }

    /** A service by name, id or id prefix; otherwise a task by id or id prefix. */
    private static LogSelector select(ControlClient cc, String target) {
        try {
            String id = cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(target).build()).getService().getMeta().getId();
            return LogSelector.newBuilder().addServiceIds(id).build();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
        try {
            String id = cc.stub().getTask(GetTaskRequest.newBuilder().setTaskId(target).build()).getTask().getMeta().getId();
            return LogSelector.newBuilder().addTaskIds(id).build();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw e;
            }
            throw new IllegalArgumentException("no such service or task: " + target);
        }
    }

    private void write(PrintStream to, LogMessage m) throws IOException {
        StringBuilder head = new StringBuilder();
        if (timestamps) {
            head.append(RFC3339_NANO.format(Instant.ofEpochSecond(0, m.getTimestampNs()))).append(' ');
        }
        if (!raw) {
            head.append(prefix(m, noTaskIds, noTrunc)).append(" | ");
        }
        OutputStream os = to;
        os.write(head.toString().getBytes(StandardCharsets.UTF_8));
        m.getData().writeTo(os);
        os.write('\n');
    }

    /** NAME.SLOT.TASKID@NODE, as Docker prints it (task ids cut to 12 characters unless --no-trunc). */
    static String prefix(LogMessage m, boolean noTaskIds, boolean noTrunc) {
        String id = m.getTaskId();
        if (!noTrunc && id.length() > 12) {
            id = id.substring(0, 12);
        }
        return m.getTaskName() + (noTaskIds ? "" : "." + id) + "@" + m.getNodeName();
    }

    /** The stream broke: say so plainly (a manager failover ends a follow; run the command again). */
    private static RuntimeException ended(StatusRuntimeException e) {
        String d = e.getStatus().getDescription();
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && (d == null || !(d.startsWith("log stream ended")
                || d.startsWith("incomplete")))) {
            return new IllegalArgumentException("log stream ended: lost the connection to the manager (failover?); "
                    + "run the command again");
        }
        return e;
    }
}
