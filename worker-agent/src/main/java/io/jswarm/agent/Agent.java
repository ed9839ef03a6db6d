package io.jswarm.agent;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.Node;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.dispatcher.Assignments;
import io.jswarm.api.dispatcher.DispatcherGrpc;
import io.jswarm.api.dispatcher.HeartbeatRequest;
import io.jswarm.api.dispatcher.ManagerPeer;
import io.jswarm.api.dispatcher.SessionMessage;
import io.jswarm.api.dispatcher.SessionRequest;
import io.jswarm.api.dispatcher.TaskStatusUpdate;
import io.jswarm.api.dispatcher.UpdateTaskStatusRequest;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session with the managers: registers this node, heartbeats at the period
 * the managers set, receives assignments, and follows the leader when it moves.
 */
public final class Agent implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final String nodeId;
    private final NodeDescription description;
    private final String addr;
    private final LinkedHashSet<String> managers = new LinkedHashSet<>();
    private final TaskRunner runner;
    private final StatusQueue statuses;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final io.grpc.ChannelCredentials credentials;
    /** Told, on a manager node, whether to seal its keys and with which unlock key. */
    private volatile java.util.function.Consumer<io.jswarm.api.dispatcher.Autolock> autolockListener = a -> {};
    private volatile Runnable sessionLostListener = () -> {};
    /** Heartbeats only: nothing else runs on this thread, and a heartbeat never blocks it. */
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private final Thread thread;
    private final BiConsumer<Node, List<ManagerPeer>> nodeListener;
    private final io.jswarm.agent.logs.LogSubscriptions logs;
    private volatile boolean running = true;
    /** The cluster's heartbeat period as the last session said (the default until one opens). */
    private volatile long heartbeatPeriodMs = 5_000;
    private volatile String current;
    private volatile String sessionId;
    private volatile Context.CancellableContext sessionContext;

    /**
     * @param managerAddrs remote API addresses to try, in order
     * @param nodeListener told of this node's record as the cluster sees it (role changes)
     * @param credentials  this node's mutual-TLS credentials (its certificate says who it is)
     */
    public Agent(String nodeId, NodeDescription description, String addr, List<String> managerAddrs,
            BiConsumer<Node, List<ManagerPeer>> nodeListener, TaskRunner runner, StatusQueue statuses,
            io.grpc.ChannelCredentials credentials) {
        this.nodeId = nodeId;
        this.credentials = credentials;
        this.description = description;
        this.addr = addr;
        this.managers.addAll(managerAddrs);
        this.nodeListener = nodeListener;
        this.runner = runner;
        this.statuses = statuses;
        statuses.sendTo(this::reportStatus);
        this.logs = new io.jswarm.agent.logs.LogSubscriptions(nodeId, runner::logDirectory, () -> {
            String target = current;
            return sessionId == null || target == null ? null : channel(target);
        });
        this.thread = new Thread(this::run, "agent-session");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /**
     * Told at once when a session that had opened ends on the manager's side or the
     * connection's: on a manager node, a sign that the leader's process may have died
     * (its connections close the moment it does), which its Raft member checks at once.
     */
    public void onSessionLost(Runnable listener) {
        this.sessionLostListener = listener;
    }

    /** Where autolock instructions for this (manager) node go; set before {@link #start}. */
    public void onAutolock(java.util.function.Consumer<io.jswarm.api.dispatcher.Autolock> listener) {
        this.autolockListener = listener;
    }

    /** The manager addresses known now (from the latest session message). */
    public synchronized List<String> managers() {
        return new ArrayList<>(managers);
    }

    private ManagedChannel channel(String target) {
        return channels.computeIfAbsent(target, t -> io.grpc.Grpc.newChannelBuilder(t, credentials)
                .maxInboundMessageSize(64 << 20).build());
    }

    private synchronized String nextManager(String after) {
        List<String> list = new ArrayList<>(managers);
        if (list.isEmpty()) {
            return null;
        }
        int i = list.indexOf(after);
        return list.get((i + 1) % list.size());
    }

    private void run() {
        String target = nextManager(null);
        ReconnectBackoff backoff = new ReconnectBackoff();
        while (running) {
            current = target;
            String redirect = null;
            try {
                redirect = session(target);
                backoff.reset();
            } catch (StatusRuntimeException e) {
                if (running) {
                    LOG.info("session with {} ended: {}", target, e.getStatus());
                    if (sessionId != null) {
                        sessionLostListener.run();
                    }
                }
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warn("session with {} failed: {}", target, e.toString());
                }
            } finally {
                if (sessionId != null) {
                    backoff.reset();  // it had opened: the next loss starts from the shortest wait
                }
                sessionId = null;
            }
            if (!running) {
                return;
            }
            if (redirect != null && !redirect.equals(target)) {
                target = redirect;
                continue;
            }
            try {
                // Capped below the heartbeat period: a node that finds the new leader late is
                // marked down by it (three periods of grace from its election).
                Thread.sleep(backoff.next(heartbeatPeriodMs));
            } catch (InterruptedException e) {
                return;
            }
            target = nextManager(target);
        }
    }

    /** Runs one session until it ends; returns a leader address when redirected. */
    private String session(String target) {
        // A channel that failed while the network was cut waits out gRPC's reconnect backoff
        // (up to two minutes) before it tries again: a healed node must not wait for it.
        channel(target).resetConnectBackoff();
        DispatcherGrpc.DispatcherBlockingStub stub = DispatcherGrpc.newBlockingStub(channel(target));
        Context.CancellableContext ctx = Context.current().withCancellation();
        sessionContext = ctx;
        ScheduledFuture<?> heartbeats = null;
        // A manager that does not answer the opening in time (a host cut off behind a
        // connection that still looks open) is given up, so the agent moves on to the others.
        java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
        long openTimeout = Math.max(1_000, Math.min(5_000, 2 * heartbeatPeriodMs));
        ScheduledFuture<?> watchdog = timers.schedule(() -> {
            if (!answered.get()) {
                LOG.info("manager {} did not answer the session opening within {} ms; trying another", target, openTimeout);
                ctx.cancel(null);
            }
        }, openTimeout, TimeUnit.MILLISECONDS);
        Context previous = ctx.attach();
        try {
            Iterator<SessionMessage> it = stub.session(SessionRequest.newBuilder().setNodeId(nodeId)
                    .setDescription(description).setAddr(addr).build());
            while (it.hasNext()) {
                SessionMessage m = it.next();
                answered.set(true);
                if (!m.getLeaderAddr().isEmpty()) {
                    learnManagers(m.getManagersList());
                    return m.getLeaderAddr();
                }
                if (sessionId == null) {
                    sessionId = m.getSessionId();
                    long period = heartbeatPeriod(m, heartbeatPeriodMs);
                    heartbeatPeriodMs = period;
                    String sid = sessionId;
                    // Heartbeats that failed in a row, counted per session: a late answer to an
                    // earlier session's heartbeat must not count against this one.
                    var missed = new java.util.concurrent.atomic.AtomicInteger();
                    // The first heartbeat goes at once: a leader that has just been elected
                    // counts a node's silence from its election, not from this session.
                    heartbeats = timers.scheduleAtFixedRate(() -> heartbeat(target, sid, period, ctx, missed), 0, period,
                            TimeUnit.MILLISECONDS);
                    LOG.info("session {} open with manager {}", sessionId, target);
                }
                if (m.getManagersCount() > 0) {
                    learnManagers(m.getManagersList());
                }
                if (m.hasNode()) {
                    nodeListener.accept(m.getNode(), m.getManagersList());
                }
                if (m.hasAutolock()) {
                    autolockListener.accept(m.getAutolock());
                }
                if (m.hasAssignments()) {
                    apply(m.getAssignments());
                }
                if (m.hasNetworks()) {
                    runner.networks(m.getNetworks());
                }
                for (var sub : m.getLogSubscriptionsList()) {
                    logs.handle(sub);  // after the assignments: a new task's directory exists by now
                }
            }
            return null;
        } finally {
            watchdog.cancel(false);
            ctx.detach(previous);
            if (heartbeats != null) {
                heartbeats.cancel(false);
            }
            ctx.cancel(null);
        }
    }

    private synchronized void learnManagers(List<ManagerPeer> peers) {
        for (ManagerPeer p : peers) {
            if (!p.getAddr().isEmpty()) {
                managers.add(p.getAddr());
            }
        }
    }

    /**
     * Sends one heartbeat without waiting for it, with a deadline shorter than the period
     * so that an unanswered one is known before the next is due. A session the manager
     * does not know is given up at once; two heartbeats lost in a row end the session too
     * (the node is reported down after three), and the agent looks for the leader again.
     */
    private void heartbeat(String target, String sid, long periodMs, Context.CancellableContext ctx,
            java.util.concurrent.atomic.AtomicInteger missedHeartbeats) {
        if (ctx.isCancelled()) {
            return;
        }
        long deadline = Math.max(50, periodMs * 2 / 3);
        var call = DispatcherGrpc.newFutureStub(channel(target)).withDeadlineAfter(deadline, TimeUnit.MILLISECONDS)
                .heartbeat(HeartbeatRequest.newBuilder().setNodeId(nodeId).setSessionId(sid).build());
        com.google.common.util.concurrent.Futures.addCallback(call,
                new com.google.common.util.concurrent.FutureCallback<>() {
                    @Override
                    public void onSuccess(io.jswarm.api.dispatcher.HeartbeatResponse r) {
                        missedHeartbeats.set(0);
                    }

                    @Override
                    public void onFailure(Throwable t) {
                        io.grpc.Status st = io.grpc.Status.fromThrowable(t);
                        boolean unknownSession = st.getCode() == io.grpc.Status.Code.NOT_FOUND;
                        if (unknownSession || missedHeartbeats.incrementAndGet() >= 2) {
                            LOG.info("heartbeat to {} failed ({}); reconnecting", target, st);
                            ctx.cancel(st.asRuntimeException());
                        }
                    }
                }, com.google.common.util.concurrent.MoreExecutors.directExecutor());
    }

    private void apply(Assignments a) {
        runner.files(a);
        if (a.getType() == Assignments.Type.COMPLETE) {
            runner.complete(a.getUpdatedList());
        } else {
            runner.update(a.getUpdatedList(), a.getRemovedList());
        }
    }

    /** Sends status changes to the manager of the current session; false when none is open. */
    private boolean reportStatus(List<TaskStatusUpdate> updates) {
        String sid = sessionId;
        String target = current;
        if (sid == null || target == null) {
            return false;
        }
        try {
            DispatcherGrpc.newBlockingStub(channel(target)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .updateTaskStatus(UpdateTaskStatusRequest.newBuilder().setNodeId(nodeId).setSessionId(sid)
                            .addAllUpdates(updates).build());
            return true;
        } catch (StatusRuntimeException e) {
            LOG.info("status report to {} failed: {}", target, e.getStatus());
            return false;
        }
    }

    public boolean connected() {
        return sessionId != null;
    }

    /**
     * The heartbeat period a session message gives, at least 100 ms; {@code current} when it
     * gives none (a manager that sent another message before the session's first): taken as
     * 0, the least allowed, it had nodes flood the manager with a heartbeat every 100 ms.
     */
    public static long heartbeatPeriod(SessionMessage m, long current) {
        return m.getHeartbeatPeriodMs() > 0 ? Math.max(100, m.getHeartbeatPeriodMs()) : current;
    }

    @Override
    public void close() {
        running = false;
        logs.close();
        Context.CancellableContext ctx = sessionContext;
        if (ctx != null) {
            ctx.cancel(null);
        }
        thread.interrupt();
        timers.shutdownNow();
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
        }
    }
}
