package io.jswarm.manager.logs;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.Node;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.logs.LogBrokerGrpc;
import io.jswarm.api.logs.LogMessage;
import io.jswarm.api.logs.LogMessages;
import io.jswarm.api.logs.LogSubscription;
import io.jswarm.api.logs.LogsGrpc;
import io.jswarm.api.logs.PublishLogsMessage;
import io.jswarm.api.logs.PublishLogsResponse;
import io.jswarm.api.logs.SubscribeLogsRequest;
import io.jswarm.api.store.StoreAction;
import io.jswarm.manager.Ids;
import io.jswarm.manager.dispatcher.Dispatcher;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreEvent;
import io.jswarm.manager.store.StoreListener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * service logs, through the managers. On the leader: a subscription is sent to every node
 * that holds tasks of the selection (over its agent session), the agents publish the lines
 * back, and the broker passes them to the subscriber with the task and node names filled
 * in. A following subscription picks up tasks that start later. On a follower, the
 * {@link LeaderForwarder} passes the request on to the leader.
 *
 * <p>Losing leadership (or the leader) ends every stream with a message that says so, so
 * a follow never hangs on a manager that can no longer serve it.
 */
public final class LogBroker extends LogsGrpc.LogsImplBase implements StoreListener {
    public static final String ENDED = "log stream ended: ";

    private final MemoryStore store;
    private final Dispatcher dispatcher;
    private final String selfId;
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final LeaderForwarder forwarder;
    private volatile boolean active;

    /** The service agents publish on (remote API). */
    public final LogBrokerGrpc.LogBrokerImplBase publisher = new LogBrokerGrpc.LogBrokerImplBase() {
        @Override
        public StreamObserver<PublishLogsMessage> publishLogs(StreamObserver<PublishLogsResponse> response) {
            return new Publication(response);
        }
    };

    public LogBroker(MemoryStore store, Dispatcher dispatcher, String selfId, io.grpc.ChannelCredentials credentials) {
        this.store = store;
        this.dispatcher = dispatcher;
        this.selfId = selfId;
        store.addListener(this);  // after the dispatcher's: a new task's assignment reaches its node first
        dispatcher.onSessionOpened(this::nodeReconnected);
        this.forwarder = new LeaderForwarder(dispatcher::leaderAddr, credentials);
    }

    /**
     * A node's agent opened a new session (it restarted, or lost the manager for a while):
     * following subscriptions ask it again for their tasks there, each from just after the
     * last line delivered, so the follow goes on with nothing lost or doubled. An agent
     * still serving the subscription ignores the repeat.
     */
    private void nodeReconnected(String nodeId) {
        if (!active) {
            return;
        }
        for (Subscription s : subscriptions.values()) {
            if (!s.req.getFollow()) {
                continue;
            }
            List<String> ids = new ArrayList<>();
            for (String id : s.tasks) {
                Task t = store.task(id);
                if (t != null && t.getNodeId().equals(nodeId)) {
                    ids.add(id);
                }
            }
            if (!ids.isEmpty()) {
                s.resume(nodeId, ids);
            }
        }
    }

    public void activate() {
        active = true;
    }

    /** Leadership lost: every stream ends, saying why. */
    public void deactivate() {
        active = false;
        for (Subscription s : subscriptions.values()) {
            s.fail(Status.UNAVAILABLE.withDescription(ENDED + "manager " + selfId
                    + " is no longer the leader (failover); run the command again"));
        }
    }

    // ------------------------------------------------------------------ subscribers

    @Override
    public void subscribeLogs(SubscribeLogsRequest req, StreamObserver<LogMessages> out) {
        if (!active) {
            forwarder.forward(req, out);
            return;
        }
        if (req.getSelector().getServiceIdsCount() == 0 && req.getSelector().getTaskIdsCount() == 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("no service or task to read logs from").asRuntimeException());
            return;
        }
        List<Task> tasks = new ArrayList<>();
        for (String id : req.getSelector().getServiceIdsList()) {
            if (store.service(id) == null) {
                out.onError(Status.NOT_FOUND.withDescription("service " + id + " not found").asRuntimeException());
                return;
            }
            for (Task t : store.tasksOfService(id)) {
                if (hasLogs(t)) {
                    tasks.add(t);
                }
            }
        }
        for (String id : req.getSelector().getTaskIdsList()) {
            Task t = store.task(id);
            if (t == null) {
                out.onError(Status.NOT_FOUND.withDescription("task " + id + " not found").asRuntimeException());
                return;
            }
            if (hasLogs(t)) {
                tasks.add(t);
            }
        }
        Subscription sub = new Subscription(Ids.random(16), req, (ServerCallStreamObserver<LogMessages>) out);
        subscriptions.put(sub.id, sub);
        sub.out.setOnCancelHandler(sub::end);
        Map<String, List<String>> perNode = new LinkedHashMap<>();
        for (Task t : tasks) {
            sub.tasks.add(t.getMeta().getId());
            sub.initial.add(t.getMeta().getId());
            perNode.computeIfAbsent(t.getNodeId(), k -> new ArrayList<>()).add(t.getMeta().getId());
        }
        for (Map.Entry<String, List<String>> e : perNode.entrySet()) {
            sub.ask(e.getKey(), e.getValue(), req.getTail());
        }
        sub.asked();
    }

    /** A task that was given to a node may have written logs there. */
    private static boolean hasLogs(Task t) {
        return !t.getNodeId().isEmpty() && t.getStatus().getState().getNumber() >= TaskState.ASSIGNED_VALUE;
    }

    /** Follow: tasks of the selected services that reach a node later are read too, from their start. */
    @Override
    public void onApplied(StoreEvent event) {
        if (!active || subscriptions.isEmpty()) {
            return;
        }
        for (StoreAction a : event.actions()) {
            if (!a.getObject().hasTask() || a.getKind() == StoreAction.Kind.REMOVE) {
                continue;
            }
            Task t = a.getObject().getTask();
            if (!hasLogs(t)) {
                continue;
            }
            for (Subscription s : subscriptions.values()) {
                if (s.req.getFollow() && s.req.getSelector().getServiceIdsList().contains(t.getServiceId())
                        && s.tasks.add(t.getMeta().getId())) {
                    s.ask(t.getNodeId(), List.of(t.getMeta().getId()), -1);
                }
            }
        }
    }

    /** One subscriber's stream. */
    private final class Subscription {
        final String id;
        final SubscribeLogsRequest req;
        final ServerCallStreamObserver<LogMessages> out;
        final Set<String> tasks = ConcurrentHashMap.newKeySet();
        final Set<String> waiting = new TreeSet<>();      // nodes that have not sent everything yet
        final Set<String> unreachable = new TreeSet<>();
        final Set<StreamObserver<PublishLogsResponse>> publishers = ConcurrentHashMap.newKeySet();
        final Map<String, String> taskNames = new ConcurrentHashMap<>();
        final Map<String, String> nodeNames = new ConcurrentHashMap<>();
        final Map<String, String> serviceIds = new ConcurrentHashMap<>();
        final Set<Publication> parked = ConcurrentHashMap.newKeySet();  // waiting for the subscriber to read
        final Map<String, Long> lastNs = new ConcurrentHashMap<>();       // per task: the newest line delivered
        final Set<String> initial = ConcurrentHashMap.newKeySet();         // the tasks asked for at the start
        boolean over;
        boolean asking = true;  // nodes are still being asked: a quick answer must not end the stream early

        Subscription(String id, SubscribeLogsRequest req, ServerCallStreamObserver<LogMessages> out) {
            this.id = id;
            this.req = req;
            this.out = out;
            out.setOnReadyHandler(this::unpark);
        }

        /**
         * Flow control: an agent's next message is read only once the subscriber can take
         * more, so a slow reader slows the agents (whose sends wait) instead of filling
         * the leader's memory.
         */
        void readNext(Publication p) {
            if (out.isReady()) {
                p.response.request(1);
                return;
            }
            parked.add(p);
            if (out.isReady()) {
                unpark();  // it became ready meanwhile: its handler may have run before the add
            }
        }

        void unpark() {
            for (Publication p : parked) {
                if (parked.remove(p)) {
                    p.response.request(1);
                }
            }
        }

        void ask(String nodeId, List<String> taskIds, long tail) {
            send(nodeId, LogSubscription.newBuilder().setId(id).addAllTaskIds(taskIds).setFollow(req.getFollow())
                    .setTail(tail).setSinceMs(req.getSinceMs()).build());
        }

        void resume(String nodeId, List<String> taskIds) {
            LogSubscription.Builder m = LogSubscription.newBuilder().setId(id).addAllTaskIds(taskIds).setFollow(true)
                    .setTail(req.getTail()).setSinceMs(req.getSinceMs());
            for (String t : taskIds) {
                Long last = lastNs.get(t);
                if (last != null) {
                    m.putAfterNs(t, last);
                } else if (!initial.contains(t)) {
                    m.putAfterNs(t, 0L);  // a task that started later: all of it
                }
                // else nothing of it was shown yet: the request's tail and since apply as at first
            }
            send(nodeId, m.build());
        }

        private void send(String nodeId, LogSubscription m) {
            synchronized (this) {
                if (dispatcher.sendLogSubscription(nodeId, m)) {
                    waiting.add(nodeId);
                } else {
                    unreachable.add(nodeId);
                }
            }
        }

        synchronized void asked() {
            asking = false;
            finishIfDone();
        }

        /** A node's publish stream broke before it sent everything: its logs are missing. */
        synchronized void lost(String nodeId) {
            if (waiting.remove(nodeId)) {
                unreachable.add(nodeId);
                finishIfDone();
            }
        }

        synchronized void deliver(PublishLogsMessage m) {
            if (over) {
                return;
            }
            if (m.getMessagesCount() > 0) {
                LogMessages.Builder b = LogMessages.newBuilder();
                for (LogMessage l : m.getMessagesList()) {
                    lastNs.merge(l.getTaskId(), l.getTimestampNs(), Math::max);
                    b.addMessages(l.toBuilder().setTaskName(taskNames.computeIfAbsent(l.getTaskId(), this::taskName))
                            .setNodeName(nodeNames.computeIfAbsent(l.getNodeId(), this::nodeName))
                            .setServiceId(serviceIds.computeIfAbsent(l.getTaskId(), this::serviceOf)));
                }
                try {
                    out.onNext(b.build());
                } catch (RuntimeException e) {
                    end();
                    return;
                }
            }
            if (m.getClose()) {
                waiting.remove(m.getNodeId());
                finishIfDone();
            }
        }

        private String taskName(String taskId) {
            Task t = store.task(taskId);
            return t == null ? taskId : t.getAnnotations().getName();
        }

        private String serviceOf(String taskId) {
            Task t = store.task(taskId);
            return t == null ? "" : t.getServiceId();
        }

        private String nodeName(String nodeId) {
            Node n = store.node(nodeId);
            return n == null || n.getDescription().getHostname().isEmpty() ? nodeId : n.getDescription().getHostname();
        }

        /** Without follow, the stream ends once every node has sent what it has. */
        synchronized void finishIfDone() {
            if (over || asking || req.getFollow() || !waiting.isEmpty()) {
                return;
            }
            if (!unreachable.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (String n : unreachable) {
                    names.add(nodeName(n));
                }
                fail(Status.UNAVAILABLE.withDescription("incomplete log stream: node " + String.join(", ", names)
                        + " is not connected, its tasks' logs are missing"));
                return;
            }
            end();
            try {
                out.onCompleted();
            } catch (RuntimeException ignored) {
                // the subscriber left
            }
        }

        synchronized void fail(Status s) {
            if (over) {
                return;
            }
            end();
            try {
                out.onError(s.asRuntimeException());
            } catch (RuntimeException ignored) {
                // the subscriber left
            }
        }

        /** No more lines: the agents' publish streams end, so they stop reading. */
        synchronized void end() {
            if (over) {
                return;
            }
            over = true;
            subscriptions.remove(id, this);
            for (StreamObserver<PublishLogsResponse> p : publishers) {
                try {
                    p.onCompleted();
                } catch (RuntimeException ignored) {
                    // the agent left
                }
            }
        }
    }

    // ------------------------------------------------------------------ agents

    /** One agent's publish stream for one subscription. */
    private final class Publication implements StreamObserver<PublishLogsMessage> {
        final ServerCallStreamObserver<PublishLogsResponse> response;
        Subscription sub;
        String nodeId;

        Publication(StreamObserver<PublishLogsResponse> response) {
            this.response = (ServerCallStreamObserver<PublishLogsResponse>) response;
            this.response.disableAutoRequest();
            this.response.request(1);
        }

        @Override
        public void onNext(PublishLogsMessage m) {
            if (sub == null) {
                try {
                    io.jswarm.manager.ca.Callers.requireNode(m.getNodeId());  // a node publishes its own tasks' lines
                } catch (RuntimeException e) {
                    response.onError(e);
                    return;
                }
                nodeId = m.getNodeId();
                sub = subscriptions.get(m.getSubscriptionId());
                if (sub == null) {
                    response.onError(Status.NOT_FOUND.withDescription("log subscription " + m.getSubscriptionId()
                            + " has ended").asRuntimeException());
                    return;
                }
                sub.publishers.add(response);
                if (sub.over) {
                    sub.publishers.remove(response);
                    response.onCompleted();
                    return;
                }
            }
            sub.deliver(m);
            sub.readNext(this);
        }

        @Override
        public void onError(Throwable t) {
            if (sub != null) {
                sub.publishers.remove(response);
                sub.lost(nodeId);
            }
        }

        @Override
        public void onCompleted() {
            if (sub != null && sub.publishers.remove(response)) {
                try {
                    response.onCompleted();
                } catch (RuntimeException ignored) {
                    // already ended by the subscription
                }
            }
        }
    }

    public void close() {
        deactivate();
        store.removeListener(this);
        forwarder.close();
    }
}
