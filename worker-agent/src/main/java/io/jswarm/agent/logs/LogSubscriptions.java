package io.jswarm.agent.logs;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.jswarm.api.logs.LogBrokerGrpc;
import io.jswarm.api.logs.LogMessage;
import io.jswarm.api.logs.LogSubscription;
import io.jswarm.api.logs.PublishLogsMessage;
import io.jswarm.api.logs.PublishLogsResponse;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's side of {@code service logs}: for each subscription the leader sends, a
 * thread reads the tasks' log files ({@link TaskLogReader}) and publishes the lines to the
 * leader on one PublishLogs stream, in order per task. Without follow it reads what is
 * there and says it is done; with follow it keeps reading until the leader ends the
 * stream (the user stopped, or the leader changed).
 */
public final class LogSubscriptions implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LogSubscriptions.class);
    private static final int BATCH_LINES = 1000;
    private static final int BATCH_BYTES = 1 << 20;
    private static final long POLL_MS = 100;

    private final String nodeId;
    private final Function<String, Path> taskDir;
    private final Supplier<Channel> leader;
    private final Map<String, Reading> active = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param taskDir where a task's log files are (null when this node does not know it)
     * @param leader the channel of the current session's manager
     */
    public LogSubscriptions(String nodeId, Function<String, Path> taskDir, Supplier<Channel> leader) {
        this.nodeId = nodeId;
        this.taskDir = taskDir;
        this.leader = leader;
    }

    /** A subscription from the leader: new, or more tasks for one already running. */
    public void handle(LogSubscription sub) {
        Channel ch = leader.get();
        if (closed || ch == null) {
            return;
        }
        synchronized (active) {
            Reading r = active.get(sub.getId());
            if (r != null) {
                r.add(sub);  // more tasks; tasks it already reads are not read again
                return;
            }
            r = new Reading(sub, ch);
            active.put(sub.getId(), r);
            r.add(sub);
            Thread t = new Thread(r::run, "logs-" + sub.getId());
            t.setDaemon(true);
            t.start();
        }
    }

    /** One subscription being served. */
    private final class Reading {
        final LogSubscription sub;
        final Channel channel;
        final Map<String, TaskLogReader> readers = new LinkedHashMap<>();
        final List<String> added = new ArrayList<>();
        volatile boolean ended;
        ClientCallStreamObserver<PublishLogsMessage> out;

        Reading(LogSubscription sub, Channel channel) {
            this.sub = sub;
            this.channel = channel;
        }

        final Map<String, Long> afterNs = new ConcurrentHashMap<>();

        synchronized void add(LogSubscription s) {
            afterNs.putAll(s.getAfterNsMap());
            added.addAll(s.getTaskIdsList());
        }

        synchronized List<String> takeAdded() {
            List<String> l = new ArrayList<>(added);
            added.clear();
            return l;
        }

        void run() {
            try {
                open();
                send(List.of(), false);  // tells the broker this stream serves the subscription
                long sinceNs = sub.getSinceMs() * 1_000_000L;
                while (!ended && !closed) {
                    boolean idle = true;
                    for (String id : takeAdded()) {
                        Path dir = taskDir.apply(id);
                        if (dir == null || readers.containsKey(id)) {
                            continue;
                        }
                        TaskLogReader reader = new TaskLogReader(dir);
                        readers.put(id, reader);
                        Long after = afterNs.get(id);
                        publish(id, after != null ? reader.backlog(Math.max(after + 1, sinceNs), -1)
                                : reader.backlog(sinceNs, sub.getTail()));
                        idle = false;
                    }
                    if (!sub.getFollow()) {
                        for (var e : readers.entrySet()) {
                            publish(e.getKey(), e.getValue().flush());
                        }
                        send(List.of(), true);
                        out.onCompleted();
                        return;
                    }
                    for (var it = readers.entrySet().iterator(); it.hasNext(); ) {
                        var e = it.next();
                        TaskLogReader reader = e.getValue();
                        boolean done = reader.writerDone();  // asked first: lines written before it are read below
                        List<LogLine> lines = reader.poll();
                        if (!lines.isEmpty()) {
                            idle = false;
                            publish(e.getKey(), lines);
                        }
                        if (done) {
                            publish(e.getKey(), reader.flush());
                            reader.close();
                            it.remove();
                        }
                    }
                    if (idle) {
                        Thread.sleep(POLL_MS);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!ended) {
                    LOG.info("log subscription {} stopped: {}", sub.getId(), e.toString());
                }
                if (out != null) {
                    out.cancel("log reading failed", e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                ended = true;
                for (TaskLogReader r : readers.values()) {
                    try {
                        r.close();
                    } catch (IOException ignored) {
                        // nothing to do
                    }
                }
                active.remove(sub.getId(), this);
            }
        }

        private void open() {
            LogBrokerGrpc.newStub(channel).publishLogs(new ClientResponseObserver<PublishLogsMessage, PublishLogsResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<PublishLogsMessage> requestStream) {
                    out = requestStream;
                }

                @Override
                public void onNext(PublishLogsResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                    ended = true;  // the broker ended the subscription, or the leader went away
                }

                @Override
                public void onCompleted() {
                    ended = true;
                }
            });
        }

        private void publish(String taskId, List<LogLine> lines) throws InterruptedException {
            List<LogMessage> batch = new ArrayList<>();
            int bytes = 0;
            for (LogLine l : lines) {
                batch.add(LogMessage.newBuilder().setTaskId(taskId).setNodeId(nodeId).setTimestampNs(l.timeNs())
                        .setStream(l.stderr() ? LogMessage.Stream.STDERR : LogMessage.Stream.STDOUT)
                        .setData(ByteString.copyFrom(l.data())).build());
                bytes += l.data().length + 64;
                if (batch.size() >= BATCH_LINES || bytes >= BATCH_BYTES) {
                    send(batch, false);
                    batch = new ArrayList<>();
                    bytes = 0;
                }
            }
            if (!batch.isEmpty()) {
                send(batch, false);
            }
        }

        /** Sends when the stream can take it (flow control), so a slow reader slows the reading. */
        private void send(List<LogMessage> batch, boolean close) throws InterruptedException {
            while (!out.isReady() && !ended && !closed) {
                Thread.sleep(2);
            }
            if (ended || closed) {
                throw new IllegalStateException("subscription ended");
            }
            out.onNext(PublishLogsMessage.newBuilder().setNodeId(nodeId).setSubscriptionId(sub.getId()).addAllMessages(batch)
                    .setClose(close).build());
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
