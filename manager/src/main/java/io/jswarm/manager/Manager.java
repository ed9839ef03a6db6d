package io.jswarm.manager;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.jswarm.api.Annotations;
import io.jswarm.api.Cluster;
import io.jswarm.api.ClusterSpec;
import io.jswarm.api.DispatcherConfig;
import io.jswarm.api.JoinTokens;
import io.jswarm.api.ManagerStatus;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.NodeState;
import io.jswarm.api.NodeStatus;
import io.jswarm.api.OrchestrationConfig;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.control.ControlService;
import io.jswarm.manager.dispatcher.Dispatcher;
import io.jswarm.manager.dispatcher.MembershipService;
import io.jswarm.manager.orchestrator.LeaderControllers;
import io.jswarm.manager.orchestrator.TaskReaper;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreObjects;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftPeer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One manager: its Raft member and replica of the store, the Control API (for the node's
 * local socket, and on TCP for managers and client certificates), the remote API
 * (membership, dispatcher) on TCP, and the controllers it runs while it leads.
 */
public final class Manager implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Manager.class);

    /** Where this manager listens and who it is. */
    public record Config(String nodeId, File stateDir, String raftHost, int raftPort, String advertiseRaft,
            String remoteHost, int remotePort, String advertiseRemote, String groupUuid,
            List<RaftPeer> peers, boolean joining, long snapshotInterval, io.jswarm.tls.NodeTls tls,
            io.jswarm.manager.secrets.DataKey keys) {
        /** Raft log entries between snapshots, unless swarmd is told otherwise (--snapshot-interval). */
        public static final long DEFAULT_SNAPSHOT_INTERVAL = 20_000;
    }

    /**
     * Present only on the node that initializes a new cluster: the cluster id and root CA
     * were made (or given) by swarmd before anything started, as this node's own
     * certificate comes from them.
     */
    public record Bootstrap(NodeDescription description, long heartbeatMs, io.jswarm.api.AddressPool addressPool,
            String clusterId, io.jswarm.manager.ca.ClusterCa ca, long certExpiryMs, byte[] unlockKey) {}

    private final Config config;
    private final Bootstrap bootstrap;
    private final MemoryStore store = new MemoryStore();
    private final io.jswarm.manager.control.EventLog eventLog = new io.jswarm.manager.control.EventLog();
    private final RaftNode raft;
    private final Dispatcher dispatcher;
    private final LeaderControllers controllers;
    private final io.jswarm.manager.logs.LogBroker logBroker;
    private final NioEventLoopGroup boss = new NioEventLoopGroup(1);
    private final NioEventLoopGroup workers = new NioEventLoopGroup(2);
    /**
     * The agents' session, heartbeat and status calls run here, on a few threads: none of
     * them blocks (status reports wait for Raft asynchronously), so a queue serves them as
     * well as more threads would. On gRPC's default executor, which makes a thread whenever
     * all are busy, a leader at 2,000 nodes had 426 such threads after a burst (idle, each
     * holding its touched stack for a minute) on a 2-core machine. Everything else (users'
     * Control calls, which wait for their writes; joins; logs) keeps the default executor.
     */
    private final java.util.concurrent.ExecutorService nodeCalls = java.util.concurrent.Executors.newFixedThreadPool(
            Math.max(4, 2 * Runtime.getRuntime().availableProcessors()), daemonThreads("node-calls"));
    private ImageResolver imageResolver = image -> image;
    private Server remoteServer;
    private ManagerMetrics metrics;
    /** What the node's local socket serves while this manager runs: the Control and Logs APIs. */
    private List<io.grpc.ServerServiceDefinition> localServices = List.of();

    public Manager(Config config, Bootstrap bootstrap) throws IOException {
        this.config = config;
        this.bootstrap = bootstrap;
        var managersOnly = java.util.Set.of(io.jswarm.tls.NodeIdentity.MANAGER);
        this.raft = new RaftNode(config.nodeId(), config.raftHost(), config.raftPort(), new File(config.stateDir(), "raft"),
                config.groupUuid(), config.peers(), config.joining(), store, config.snapshotInterval(),
                config.tls().plaintext() ? null
                        : new org.apache.ratis.grpc.GrpcTlsConfig(config.tls().keyManager(), config.tls().trustManager(managersOnly, id -> false), true));
        this.dispatcher = new Dispatcher(store, raft, config.keys());
        store.addListener(eventLog);
        store.addListener(e -> config.keys().observe(store.cluster()));  // the data key, while it is shown
        this.controllers = new LeaderControllers(store, raft, dispatcher, config.keys());
        this.logBroker = new io.jswarm.manager.logs.LogBroker(store, dispatcher, config.nodeId(), config.tls().channelCredentials());
    }

    /** Pins image tags to digests when services are created or updated. */
    public interface ImageResolver {
        String resolve(String image) throws IOException;
    }

    public void resolveImagesWith(ImageResolver r) {
        this.imageResolver = r;
    }

    public MemoryStore store() {
        return store;
    }

    public RaftNode raft() {
        return raft;
    }

    public String nodeId() {
        return config.nodeId();
    }

    /** The changes this manager applied, as user-facing events (swarmctl events, the dashboard). */
    public io.jswarm.manager.control.EventLog eventLog() {
        return eventLog;
    }

    public void start() throws IOException {
        raft.onLeadershipChange(this::leadershipChanged);
        raft.start();
        // Mutual TLS: nodes of the cluster (managers and workers) present their certificates;
        // a joining node has none yet and may only fetch the root and join with a token.
        var nodes = java.util.Set.of(io.jswarm.tls.NodeIdentity.MANAGER, io.jswarm.tls.NodeIdentity.WORKER,
                io.jswarm.tls.NodeIdentity.CLIENT);
        var controlCallers = java.util.Set.of(io.jswarm.tls.NodeIdentity.MANAGER, io.jswarm.tls.NodeIdentity.CLIENT);
        ControlService control = new ControlService(store, raft, image -> imageResolver.resolve(image), eventLog, config.keys());
        remoteServer = NettyServerBuilder.forAddress(new InetSocketAddress(config.remoteHost(), config.remotePort()),
                        config.tls().serverCredentials(nodes, id -> false))
                .channelType(NioServerSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers)
                .callExecutor(new io.grpc.ServerCallExecutorSupplier() {
                    @Override
                    public <Q, R> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers) {
                        // null: the server's default executor
                        return io.jswarm.api.dispatcher.DispatcherGrpc.SERVICE_NAME.equals(
                                call.getMethodDescriptor().getServiceName()) ? nodeCalls : null;
                    }
                })
                .intercept(new io.jswarm.manager.ca.Callers(this::removed, config.tls().plaintext()))
                .addService(new MembershipService(store, raft, config.keys(), dispatcher.nodeWriter()))
                .addService(dispatcher)
                // followers pass service logs on to the leader; remote swarmctl reads them
                .addService(io.grpc.ServerInterceptors.intercept(logBroker, io.jswarm.manager.ca.Callers.only(controlCallers)))
                // remote swarmctl with a client certificate (managers' certificates may too, as Docker's)
                .addService(io.grpc.ServerInterceptors.intercept(control, io.jswarm.manager.ca.Callers.only(controlCallers),
                        new io.jswarm.manager.control.CallMetrics()))
                .addService(logBroker.publisher)  // agents publish task logs
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .maxInboundMessageSize(64 << 20)
                .build().start();
        localServices = List.of(io.grpc.ServerInterceptors.intercept(control, new io.jswarm.manager.control.CallMetrics()),
                logBroker.bindService());
        metrics = new ManagerMetrics(io.micrometer.core.instrument.Metrics.globalRegistry, raft, store, dispatcher::sessionCount);
        io.micrometer.core.instrument.FunctionCounter.builder("jswarm_manager_stalled_seconds", dispatcher, d -> d.stalledMs() / 1e3)
                .description("time this manager stood still (garbage collection, no CPU), not held against nodes' heartbeats")
                .register(io.micrometer.core.instrument.Metrics.globalRegistry);
        LOG.info("manager {} listening: remote API {}:{}, Raft {}:{}", config.nodeId(), config.remoteHost(),
                config.remotePort(), config.raftHost(), config.raftPort());
    }

    /**
     * The services the node's local socket serves for this manager (swarmctl without TLS,
     * root only): the Control and Logs APIs. Empty until {@link #start()}.
     */
    public List<io.grpc.ServerServiceDefinition> localServices() {
        return localServices;
    }

    /** Brings this manager's gauges up to date before a scrape (per-service gauges come and go). */
    public void refreshMetrics() {
        if (metrics != null) {
            metrics.refresh();
        }
    }

    /**
     * The node was removed from the cluster (node rm): its certificate speaks for no one any
     * more. Asked on every call, so it takes no lock (a heartbeat must not wait behind a write).
     */
    public boolean removed(String nodeId) {
        return store.hasCluster() && !store.isMember(nodeId);
    }

    private void leadershipChanged(boolean leader) {
        if (leader) {
            try {
                bootstrapIfNeeded();
                ensureIngress();
            } catch (RuntimeException e) {
                LOG.error("cannot initialize the cluster", e);
            }
            dispatcher.activate();
            logBroker.activate();
            controllers.start();
        } else {
            controllers.stop();
            logBroker.deactivate();
            dispatcher.deactivate();
        }
    }

    /** The first leader of a new cluster writes the cluster object and its own node. */
    private void bootstrapIfNeeded() {
        if (bootstrap == null || store.cluster() != null) {
            return;
        }
        long now = System.currentTimeMillis();
        byte[] dataKey = io.jswarm.tls.SecretSeal.newKey();
        java.security.cert.X509Certificate root = bootstrap.ca().certificate();
        Cluster.Builder cb = Cluster.newBuilder()
                .setMeta(Meta.newBuilder().setId(bootstrap.clusterId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                .setSpec(ClusterSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("default"))
                        .setOrchestration(OrchestrationConfig.newBuilder().setTaskHistoryRetentionLimit(TaskReaper.DEFAULT_RETENTION))
                        .setDispatcher(DispatcherConfig.newBuilder().setHeartbeatPeriod(Durations.ofMillis(bootstrap.heartbeatMs())))
                        .setCaConfig(io.jswarm.api.CaConfig.newBuilder().setNodeCertExpiry(Durations.ofMillis(bootstrap.certExpiryMs()))))
                .setJoinTokens(JoinTokens.newBuilder().setWorker(io.jswarm.manager.JoinTokens.newToken(root))
                        .setManager(io.jswarm.manager.JoinTokens.newToken(root)))
                .setRaftGroupId(config.groupUuid())
                .setAddressPool(bootstrap.addressPool())
                .setRootCaPem(io.jswarm.tls.Pem.of(root))
                .setRootCaKeySealed(com.google.protobuf.ByteString.copyFrom(bootstrap.ca().sealedKey(dataKey)));
        cb.getSpecBuilder().setAutolock(bootstrap.unlockKey() != null);
        Cluster cluster = io.jswarm.manager.secrets.DataKey.lock(cb, dataKey, bootstrap.unlockKey()).build();
        Node self = Node.newBuilder()
                .setMeta(Meta.newBuilder().setId(config.nodeId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                .setSpec(NodeSpec.newBuilder().setDesiredRole(NodeRole.MANAGER).setAvailability(NodeAvailability.ACTIVE))
                .setDescription(bootstrap.description())
                .setStatus(NodeStatus.newBuilder().setState(NodeState.NODE_UNKNOWN).setAddr(config.advertiseRemote()))
                .setRole(NodeRole.MANAGER)
                .setManagerStatus(ManagerStatus.newBuilder().setAddr(config.advertiseRemote()).setRaftAddr(config.advertiseRaft()))
                .build();
        raft.propose(StoreBatch.newBuilder()
                .addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(cluster)))
                .addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(self)))
                .build());
        LOG.info("initialized a new cluster {}", cluster.getMeta().getId());
    }

    /**
     * The routing mesh's network, created by the cluster itself (as Docker's swarm init
     * does) so that every published port has a network to travel on; also for a cluster
     * whose state predates it.
     */
    private void ensureIngress() {
        Cluster cluster = store.cluster();
        if (cluster == null || store.ingressNetwork() != null) {
            return;
        }
        if (store.networkByName(io.jswarm.manager.network.NetworkAllocator.INGRESS) != null) {
            LOG.warn("a network named ingress exists and is not the routing mesh's: published ports cannot be routed");
            return;
        }
        long now = System.currentTimeMillis();
        io.jswarm.api.Network n = io.jswarm.manager.network.NetworkAllocator.allocate(io.jswarm.api.Network.newBuilder()
                        .setMeta(Meta.newBuilder().setId(io.jswarm.manager.Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                        .setSpec(io.jswarm.manager.network.NetworkAllocator.ingressSpec()),
                cluster.getAddressPool(), store.networks(), store.nodes());
        raft.propose(StoreBatch.newBuilder()
                .addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(n))).build());
        LOG.info("created the ingress network {} ({}, VXLAN {})", n.getMeta().getId(), n.getIpam(0).getSubnet(), n.getVxlanId());
    }

    @Override
    public void close() throws IOException {
        if (metrics != null) {
            metrics.close();
        }
        controllers.stop();
        logBroker.close();
        dispatcher.close();
        if (remoteServer != null) {
            remoteServer.shutdownNow();
            try {
                remoteServer.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            raft.close();
        } finally {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            nodeCalls.shutdownNow();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
