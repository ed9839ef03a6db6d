package io.jswarm.agent;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
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
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private final Thread thread;
    private final BiConsumer<Node, List<ManagerPeer>> nodeListener;
    private final io.jswarm.agent.logs.LogSubscriptions logs;
    private volatile boolean running = true;
    private volatile String current;
    private volatile String sessionId;
    private volatile Context.CancellableContext sessionContext;

    /**
     * @param managerAddrs remote API addresses to try, in order
     * @param nodeListener told of this node's record as the cluster sees it (role changes)
     */
    public Agent(String nodeId, NodeDescription description, String addr, List<String> managerAddrs,
            BiConsumer<Node, List<ManagerPeer>> nodeListener, TaskRunner runner, StatusQueue statuses) {
        this.nodeId = nodeId;
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

    /** The manager addresses known now (from the latest session message). */
    public synchronized List<String> managers() {
        return new ArrayList<>(managers);
    }

    private ManagedChannel channel(String target) {
        return channels.computeIfAbsent(target, t -> ManagedChannelBuilder.forTarget(t).usePlaintext()
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
        long backoff = 100;
        while (running) {
            current = target;
            String redirect = null;
            try {
                redirect = session(target);
                backoff = 100;
            } catch (StatusRuntimeException e) {
                if (running) {
                    LOG.info("session with {} ended: {}", target, e.getStatus());
                }
            } catch (RuntimeException e) {
                if (running) {
                    LOG.warn("session with {} failed: {}", target, e.toString());
                }
            } finally {
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
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(2_000, backoff * 2);
            target = nextManager(target);
        }
    }

    /** Runs one session until it ends; returns a leader address when redirected. */
    private String session(String target) {
        DispatcherGrpc.DispatcherBlockingStub stub = DispatcherGrpc.newBlockingStub(channel(target));
        Context.CancellableContext ctx = Context.current().withCancellation();
        sessionContext = ctx;
        ScheduledFuture<?> heartbeats = null;
        Context previous = ctx.attach();
        try {
            Iterator<SessionMessage> it = stub.session(SessionRequest.newBuilder().setNodeId(nodeId)
                    .setDescription(description).setAddr(addr).build());
            while (it.hasNext()) {
                SessionMessage m = it.next();
                if (!m.getLeaderAddr().isEmpty()) {
                    learnManagers(m.getManagersList());
                    return m.getLeaderAddr();
                }
                if (sessionId == null) {
                    sessionId = m.getSessionId();
                    long period = Math.max(100, m.getHeartbeatPeriodMs());
                    String sid = sessionId;
                    heartbeats = timers.scheduleAtFixedRate(() -> heartbeat(target, sid, ctx), period, period,
                            TimeUnit.MILLISECONDS);
                    LOG.info("session {} open with manager {}", sessionId, target);
                }
                if (m.getManagersCount() > 0) {
                    learnManagers(m.getManagersList());
                }
                if (m.hasNode()) {
                    nodeListener.accept(m.getNode(), m.getManagersList());
                }
                if (m.hasAssignments()) {
                    apply(m.getAssignments());
                }
                for (var sub : m.getLogSubscriptionsList()) {
                    logs.handle(sub);  // after the assignments: a new task's directory exists by now
                }
            }
            return null;
        } finally {
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

    private void heartbeat(String target, String sid, Context.CancellableContext ctx) {
        try {
            DispatcherGrpc.newBlockingStub(channel(target)).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .heartbeat(HeartbeatRequest.newBuilder().setNodeId(nodeId).setSessionId(sid).build());
        } catch (StatusRuntimeException e) {
            LOG.info("heartbeat to {} failed ({}); reconnecting", target, e.getStatus());
            ctx.cancel(e);
        }
    }

    private void apply(Assignments a) {
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
