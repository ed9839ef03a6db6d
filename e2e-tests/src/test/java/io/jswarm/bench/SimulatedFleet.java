package io.jswarm.bench;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.Platform;
import io.jswarm.api.Resources;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import io.jswarm.api.dispatcher.DispatcherGrpc;
import io.jswarm.api.dispatcher.HeartbeatRequest;
import io.jswarm.api.dispatcher.JoinRequest;
import io.jswarm.api.dispatcher.ManagerPeer;
import io.jswarm.api.dispatcher.SessionMessage;
import io.jswarm.api.dispatcher.SessionRequest;
import io.jswarm.api.dispatcher.TaskStatusUpdate;
import io.jswarm.api.dispatcher.UpdateTaskStatusRequest;
import io.jswarm.cli.Joining;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Thousands of simulated worker nodes in one JVM, speaking the real protocol: each joins
 * with a token and a certificate of its own (mutual TLS), opens a session with the leader
 * (following redirects and failovers), heartbeats at the period the cluster gives, and
 * answers its assignments as an agent whose containers start at once would: a new task is
 * reported PREPARING at the next report and RUNNING at the one after, a task told to stop
 * SHUTDOWN; reports go in batches every 50 ms per node, as the real agent's status queue
 * sends them. Nothing runs.
 *
 * <p>No thread per node (the e2e {@code SimulatedCluster} and the real {@code Agent} have
 * three each, and collapse first): every call is asynchronous on gRPC's shared event loop,
 * two scheduler threads drive every node's heartbeats and a third its reports.
 */
public final class SimulatedFleet implements AutoCloseable {
    private final ScheduledExecutorService clock = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "fleet-clock");
        t.setDaemon(true);
        return t;
    });
    /** Reports on a thread of their own: a slow round of reports must not delay heartbeats. */
    private final ScheduledExecutorService reporter = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-reports");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService callbacks = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "fleet-calls");
        t.setDaemon(true);
        return t;
    });
    final List<SimNode> nodes = new ArrayList<>();
    final AtomicLong reportsSent = new AtomicLong();
    final AtomicLong reportsFailed = new AtomicLong();
    /** Failed reports by gRPC status code, to tell a dead session from a slow manager. */
    final Map<Status.Code, AtomicLong> failuresByCode = new ConcurrentHashMap<>();
    /**
     * The longest time between two heartbeats one node sent: beyond three periods, a node
     * marked down was this fleet's fault (starved of CPU), not the manager's.
     */
    final AtomicLong longestHeartbeatGapMs = new AtomicLong();
    /**
     * Heartbeats that failed, by gRPC status code: a node marked down while this fleet sent
     * on time but its heartbeats were not answered (DEADLINE_EXCEEDED) was the manager's
     * side, not the fleet's.
     */
    final Map<Status.Code, AtomicLong> heartbeatFailures = new ConcurrentHashMap<>();
    final AtomicLong reportsShed = new AtomicLong();
    final AtomicLong sessionsOpened = new AtomicLong();
    /** Tasks whose report of a state a manager has acknowledged, by that state. */
    private final Map<TaskState, Set<String>> acknowledged = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public long reportsSent() {
        return reportsSent.get();
    }

    public long reportsFailed() {
        return reportsFailed.get();
    }

    public long reportsShed() {
        return reportsShed.get();
    }

    /** The tasks a manager acknowledged a report of this state for. */
    public Set<String> reported(TaskState state) {
        return Set.copyOf(acknowledged.getOrDefault(state, Set.of()));
    }

    /** Joins {@code n} nodes through {@code joinAddr} (8 at a time) and opens their sessions. */
    public static SimulatedFleet join(String joinAddr, String token, int n, String prefix) throws Exception {
        SimulatedFleet f = new SimulatedFleet();
        ExecutorService joiners = Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<SimNode>> joins = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = prefix + i;
                joins.add(joiners.submit(() -> {
                    NodeDescription d = NodeDescription.newBuilder().setHostname(name)
                            .setPlatform(Platform.newBuilder().setOs("linux").setArchitecture("amd64"))
                            .setResources(Resources.newBuilder().setNanoCpus(64_000_000_000L).setMemoryBytes(256L << 30)).build();
                    Joining.Joined j = Joining.join(joinAddr, token, JoinRequest.newBuilder().setDescription(d).setAddr("127.0.0.1:1"));
                    List<String> managers = new ArrayList<>();
                    j.response().getMembersList().forEach(m -> managers.add(m.getAddr()));
                    return f.new SimNode(j.response().getNodeId(), d, j.tls(), managers);
                }));
            }
            for (var j : joins) {
                f.nodes.add(j.get());
            }
        } finally {
            joiners.shutdownNow();
        }
        for (SimNode s : f.nodes) {
            s.open(s.managers.get(0));
        }
        f.reporter.scheduleWithFixedDelay(f::reportAll, 50, 50, TimeUnit.MILLISECONDS);
        return f;
    }

    /** Nodes whose session is open now. */
    long connected() {
        return nodes.stream().filter(s -> s.sessionId != null).count();
    }

    private void reportAll() {
        for (SimNode s : nodes) {
            s.report();
        }
    }

    /** One simulated node: its channels, session and the statuses it has yet to report. */
    final class SimNode {
        final String id;
        final NodeDescription description;
        final io.jswarm.tls.NodeTls tls;
        final List<String> managers;
        private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
        volatile String sessionId;
        volatile String target;
        private long heartbeatMs = 5_000;
        /** The real agent's waits between attempts: the fleet comes back as agents do. */
        private final io.jswarm.agent.ReconnectBackoff reconnect = new io.jswarm.agent.ReconnectBackoff();
        private java.util.concurrent.ScheduledFuture<?> heartbeats;
        /** Task id -> the next status to report; a task assigned here advances one step per report. */
        private final Map<String, TaskStatus> unreported = new LinkedHashMap<>();
        private final Map<String, TaskState> running = new ConcurrentHashMap<>();
        private boolean inFlight;
        private long retryAt;
        private long backoff;

        SimNode(String id, NodeDescription description, io.jswarm.tls.NodeTls tls, List<String> managers) {
            this.id = id;
            this.description = description;
            this.tls = tls;
            this.managers = managers;
        }

        private ManagedChannel channel(String t) {
            return channels.computeIfAbsent(t, x -> io.grpc.Grpc.newChannelBuilder(x, tls.channelCredentials())
                    .executor(callbacks).maxInboundMessageSize(64 << 20).build());
        }

        /** Counts sessions: only the first end of the current one opens the next (a redirect also completes its call). */
        private long generation;

        void open(String t) {
            long gen;
            synchronized (this) {
                if (closed) {
                    return;
                }
                target = t;
                gen = ++generation;
            }
            DispatcherGrpc.newStub(channel(t)).session(SessionRequest.newBuilder().setNodeId(id).setDescription(description)
                    .setAddr("127.0.0.1:1").build(), new StreamObserver<>() {
                        @Override
                        public void onNext(SessionMessage m) {
                            if (!m.getLeaderAddr().isEmpty()) {
                                ended(gen, m.getLeaderAddr());
                                return;
                            }
                            synchronized (SimNode.this) {
                                // A message on a session that has ended (a heartbeat found it unknown,
                                // and the next one is on its way) must not start heartbeats again: they
                                // were never cancelled, and piled up with every failover.
                                if (gen != generation) {
                                    return;
                                }
                                if (sessionId == null && !m.getSessionId().isEmpty()) {
                                    sessionId = m.getSessionId();
                                    reconnect.reset();
                                    heartbeatMs = io.jswarm.agent.Agent.heartbeatPeriod(m, heartbeatMs);
                                    sessionsOpened.incrementAndGet();
                                    String sid = sessionId;
                                    heartbeats = clock.scheduleAtFixedRate(() -> heartbeat(gen, t, sid), 0, heartbeatMs,
                                            TimeUnit.MILLISECONDS);
                                }
                            }
                            for (ManagerPeer p : m.getManagersList()) {
                                if (!p.getAddr().isEmpty() && !managers.contains(p.getAddr())) {
                                    managers.add(p.getAddr());
                                }
                            }
                            if (m.hasAssignments()) {
                                assigned(m.getAssignments().getUpdatedList(), m.getAssignments().getRemovedList());
                            }
                        }

                        @Override
                        public void onError(Throwable e) {
                            ended(gen, null);
                        }

                        @Override
                        public void onCompleted() {
                            ended(gen, null);
                        }
                    });
        }

        /** Opens the next session: at once where redirected to the leader, else after the agent's backoff. */
        private synchronized void ended(long gen, String leader) {
            if (gen != generation) {
                return;  // that session has already ended and its successor is open or on its way
            }
            generation++;
            sessionId = null;
            lastHeartbeatSent = 0;
            if (heartbeats != null) {
                heartbeats.cancel(false);
                heartbeats = null;
            }
            if (closed) {
                return;
            }
            String next = leader != null ? leader : managers.get((managers.indexOf(target) + 1) % managers.size());
            clock.schedule(() -> open(next), leader != null ? 0 : reconnect.next(heartbeatMs), TimeUnit.MILLISECONDS);
        }

        private long lastHeartbeatSent;

        private void heartbeat(long gen, String t, String sid) {
            long now = System.currentTimeMillis();
            synchronized (this) {
                if (lastHeartbeatSent > 0 && gen == generation) {
                    longestHeartbeatGapMs.accumulateAndGet(now - lastHeartbeatSent, Math::max);
                }
                lastHeartbeatSent = now;
            }
            DispatcherGrpc.newStub(channel(t)).withDeadlineAfter(Math.max(50, heartbeatMs * 2 / 3), TimeUnit.MILLISECONDS)
                    .heartbeat(HeartbeatRequest.newBuilder().setNodeId(id).setSessionId(sid).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(io.jswarm.api.dispatcher.HeartbeatResponse r) {
                        }

                        @Override
                        public void onError(Throwable e) {
                            heartbeatFailures.computeIfAbsent(Status.fromThrowable(e).getCode(), k -> new AtomicLong()).incrementAndGet();
                            if (Status.fromThrowable(e).getCode() == Status.Code.NOT_FOUND) {
                                ended(gen, null);  // the manager no longer knows the session
                            }
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        }

        private synchronized void assigned(List<Task> updated, List<String> removed) {
            long now = System.currentTimeMillis();
            for (Task t : updated) {
                String tid = t.getMeta().getId();
                TaskState have = running.get(tid);
                if (t.getDesiredState().getNumber() > TaskState.RUNNING_VALUE) {
                    if (t.getStatus().getState().getNumber() <= TaskState.RUNNING_VALUE) {
                        unreported.put(tid, status(TaskState.SHUTDOWN, now));
                        running.put(tid, TaskState.SHUTDOWN);
                    }
                } else if (have == null && t.getStatus().getState().getNumber() < TaskState.RUNNING_VALUE) {
                    running.put(tid, TaskState.PREPARING);
                    unreported.put(tid, status(TaskState.PREPARING, now));
                }
            }
            for (String tid : removed) {
                running.remove(tid);
                unreported.remove(tid);
            }
        }

        private TaskStatus status(TaskState s, long now) {
            return TaskStatus.newBuilder().setState(s).setTimestampMs(now).setMessage(s == TaskState.RUNNING ? "started" : "simulated").build();
        }

        /** Sends what is unreported (one call in flight per node, as the agent); a reported PREPARING becomes RUNNING next. */
        void report() {
            String sid = sessionId;
            String t = target;
            List<TaskStatusUpdate> batch = new ArrayList<>();
            synchronized (this) {
                long now = System.currentTimeMillis();
                if (sid == null || inFlight || unreported.isEmpty() || now < retryAt) {
                    return;
                }
                for (Map.Entry<String, TaskStatus> e : unreported.entrySet()) {
                    batch.add(TaskStatusUpdate.newBuilder().setTaskId(e.getKey()).setStatus(e.getValue()).build());
                    if (batch.size() >= 500) {
                        break;
                    }
                }
                inFlight = true;
            }
            reportsSent.incrementAndGet();
            DispatcherGrpc.newStub(channel(t)).withDeadlineAfter(10, TimeUnit.SECONDS).updateTaskStatus(
                    UpdateTaskStatusRequest.newBuilder().setNodeId(id).setSessionId(sid).addAllUpdates(batch).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(io.jswarm.api.dispatcher.UpdateTaskStatusResponse r) {
                        }

                        @Override
                        public void onError(Throwable e) {
                            if (Status.fromThrowable(e).getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                                reportsShed.incrementAndGet();
                            } else {
                                reportsFailed.incrementAndGet();
                                failuresByCode.computeIfAbsent(Status.fromThrowable(e).getCode(), k -> new AtomicLong()).incrementAndGet();
                            }
                            synchronized (SimNode.this) {
                                inFlight = false;
                                backoff = Math.min(2_000, backoff == 0 ? 100 : backoff * 2);
                                retryAt = System.currentTimeMillis() + backoff / 2 + (long) (Math.random() * backoff / 2);
                            }
                        }

                        @Override
                        public void onCompleted() {
                            synchronized (SimNode.this) {
                                inFlight = false;
                                backoff = 0;
                                long now = System.currentTimeMillis();
                                for (TaskStatusUpdate u : batch) {
                                    String tid = u.getTaskId();
                                    acknowledged.computeIfAbsent(u.getStatus().getState(), k -> ConcurrentHashMap.newKeySet()).add(tid);
                                    if (unreported.remove(tid, u.getStatus()) && u.getStatus().getState() == TaskState.PREPARING
                                            && running.get(tid) == TaskState.PREPARING) {
                                        running.put(tid, TaskState.RUNNING);
                                        unreported.put(tid, status(TaskState.RUNNING, now));
                                    }
                                }
                            }
                        }
                    });
        }

        void close() {
            for (ManagedChannel c : channels.values()) {
                c.shutdownNow();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        clock.shutdownNow();
        reporter.shutdownNow();
        for (SimNode s : nodes) {
            s.close();
        }
        callbacks.shutdownNow();
    }
}
