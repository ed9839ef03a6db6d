package io.jswarm.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.jswarm.agent.Agent;
import io.jswarm.agent.StatusQueue;
import io.jswarm.agent.exec.Executor;
import io.jswarm.agent.exec.OciRuntime;
import io.jswarm.agent.image.ImageReference;
import io.jswarm.agent.image.ImageStore;
import io.jswarm.agent.image.RegistryClient;
import io.jswarm.api.Node;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.NodeRole;
import io.jswarm.api.control.GetNodeRequest;
import io.jswarm.api.control.UpdateNodeRequest;
import io.jswarm.api.dispatcher.AddRaftMemberRequest;
import io.jswarm.api.dispatcher.LeaveRequest;
import io.jswarm.api.local.LeaveNodeRequest;
import io.jswarm.api.local.LeaveNodeResponse;
import io.jswarm.api.dispatcher.ManagerPeer;
import io.jswarm.api.dispatcher.MembershipGrpc;
import io.jswarm.manager.Manager;
import io.jswarm.manager.raft.RaftNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.ratis.protocol.RaftPeer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one swarmd runs: always an agent, and a manager while the node is one. Acts
 * on role changes the cluster decides (promote, demote) by starting or stopping the
 * manager.
 */
public final class SwarmNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(SwarmNode.class);

    /** Addresses this node listens on and advertises. */
    public record Addresses(HostPort listenRemote, HostPort advertiseRemote, HostPort listenRaft, HostPort advertiseRaft,
            Path controlSocket) {}

    /** How this node runs containers. */
    public record Containers(OciRuntime runtime, RegistryClient registry, String cgroupParent,
            io.jswarm.agent.exec.LogWriter.Limits logLimits, List<java.net.InetSocketAddress> dnsUpstreams, String gatewaySubnet,
            String meshOff) {}  // meshOff: null when this node serves published ports, or why not

    private final Path stateDir;
    private final long snapshotInterval;
    private final LocalState state;
    private final io.jswarm.tls.NodeTls tls;
    /** The cluster's data key and (autolock) unlock key as this node's manager holds them. */
    private final io.jswarm.manager.secrets.DataKey keys;
    private CertificateRenewal renewal;
    private final NodeDescription description;
    private final Addresses addrs;
    private final Containers containers;
    private final StatusQueue statuses = new StatusQueue();
    private Executor executor;
    private io.jswarm.agent.net.TaskNetworks networks;
    private volatile Manager manager;
    /** The managers as the session last named them (what a worker's docker info shows). */
    private volatile List<ManagerPeer> managerPeers = List.of();
    private Agent agent;
    private LocalApi localApi;
    private volatile boolean roleChangeRunning;
    /** Set once swarmctl cluster leave has begun; left: done, the process is to exit. */
    private volatile boolean leaving;
    private volatile boolean left;
    private Runnable onLeft = () -> {};

    /** @param snapshotInterval Raft log entries between snapshots, when this node is a manager */
    public SwarmNode(Path stateDir, LocalState state, io.jswarm.tls.NodeTls tls, io.jswarm.manager.secrets.DataKey keys,
            NodeDescription description, Addresses addrs, Containers containers, long snapshotInterval) {
        this.snapshotInterval = snapshotInterval;
        this.tls = tls;
        this.keys = keys;
        this.stateDir = stateDir;
        this.state = state;
        this.description = description.toBuilder().setRuntime(containers.runtime().description())
                .setRoutingMesh(containers.meshOff() == null ? "on" : containers.meshOff()).build();
        this.addrs = addrs;
        this.containers = containers;
    }

    static List<RaftPeer> peers(List<String> members) {
        List<RaftPeer> out = new ArrayList<>();
        for (String m : members) {
            int eq = m.indexOf('=');
            out.add(RaftNode.peer(m.substring(0, eq), m.substring(eq + 1)));
        }
        return out;
    }

    /** Starts the local socket, the manager (if this node is one) and the agent. */
    public synchronized void start(Manager.Bootstrap bootstrap, boolean joining) throws IOException {
        localApi = new LocalApi(addrs.controlSocket());
        if ("manager".equals(state.role)) {
            startManager(bootstrap, joining);
        }
        // Served once a manager's services are in it: a manager's socket never answers "not a manager".
        localApi.start(this::leave);
        List<String> managers = new ArrayList<>();
        if (manager != null) {
            managers.add(addrs.advertiseRemote().toString());
        }
        managers.addAll(state.managers);
        ImageStore images = new ImageStore(stateDir.resolve("images"), containers.registry(), true);
        networks = new io.jswarm.agent.net.TaskNetworks(state.nodeId, addrs.advertiseRemote().host(), containers.dnsUpstreams(),
                containers.gatewaySubnet(), containers.meshOff() == null);
        executor = new Executor(stateDir, containers.runtime(), images, statuses::report, containers.cgroupParent(),
                containers.logLimits(), networks);
        executor.recover();  // containers that outlived a previous swarmd are watched again, not restarted
        agent = new Agent(state.nodeId, description, addrs.advertiseRemote().toString(), managers, this::nodeChanged,
                executor, statuses, tls.channelCredentials());
        agent.onAutolock(this::autolock);
        agent.onSessionLost(() -> {
            Manager m = manager;
            if (m != null) {
                m.raft().leaderConnectionLost();
            }
        });
        agent.start();
        renewal = new CertificateRenewal(stateDir, tls, agent::managers, addrs.advertiseRemote().toString());
        if (!tls.plaintext()) {
            renewal.start();
        }
    }

    private void startManager(Manager.Bootstrap bootstrap, boolean joining) throws IOException {
        Manager.Config cfg = new Manager.Config(state.nodeId, stateDir.toFile(), addrs.listenRaft().host(),
                addrs.listenRaft().port(), addrs.advertiseRaft().toString(), addrs.listenRemote().host(),
                addrs.listenRemote().port(), addrs.advertiseRemote().toString(), state.raftGroup,
                peers(state.raftMembers), joining, snapshotInterval, tls, keys);
        manager = new Manager(cfg, bootstrap);
        manager.resolveImagesWith(this::resolveImage);
        manager.start();
        localApi.serveManager(manager.localServices());
    }

    /** Pins a tag to the digest it names now, as Docker does when a service is created or updated. */
    private String resolveImage(String image) throws IOException {
        ImageReference ref = ImageReference.parse(image);
        if (ref.digest() != null) {
            return image;
        }
        return image + "@" + containers.registry().resolveDigest(ref);
    }

    /**
     * Autolock, as the leader tells a manager node: seal its key file under the unlock key
     * (and hold the key, to open the data key), or keep it plain.
     */
    private synchronized void autolock(io.jswarm.api.dispatcher.Autolock a) {
        byte[] key = a.getOn() ? a.getUnlockKey().toByteArray() : null;
        if (a.getOn() && key.length == 0) {
            return;
        }
        if (key != null) {
            keys.unlockWith(key);
        }
        if (!java.util.Arrays.equals(tls.lockKey(), key)) {
            tls.lockWith(key);
            try {
                tls.save(stateDir);
                LOG.info(key != null ? "autolock: this manager's key is now sealed under the unlock key"
                        : "autolock is off: this manager's key is plain again");
            } catch (IOException e) {
                LOG.error("autolock: cannot rewrite this manager's key: {}", e.getMessage());
            }
        }
    }

    /** The session told us how the cluster sees this node: act on a role change. */
    private void nodeChanged(Node node, List<ManagerPeer> managers) {
        if (!managers.isEmpty()) {
            managerPeers = List.copyOf(managers);
        }
        boolean wantManager = node.getSpec().getDesiredRole() == NodeRole.MANAGER;
        renewal.wantRole(wantManager ? io.jswarm.tls.NodeIdentity.MANAGER : io.jswarm.tls.NodeIdentity.WORKER);
        if (node.getCertificate().getRenew()) {
            renewal.renewSoon();  // the cluster asks (a root CA rotation)
        }
        synchronized (this) {
            if (roleChangeRunning) {
                return;
            }
            if (wantManager && manager == null) {
                roleChangeRunning = true;
                Thread t = new Thread(() -> promote(managers), "promote");
                t.setDaemon(true);
                t.start();
            } else if (node.getRole() == NodeRole.WORKER && !wantManager && manager != null) {
                roleChangeRunning = true;
                Thread t = new Thread(this::demote, "demote");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    private void promote(List<ManagerPeer> managers) {
        try {
            LOG.info("this node was promoted: starting its manager");
            if (!tls.identity().manager()) {
                renewal.renew();  // a manager's certificate first: Raft and the Raft join need it
            }
            List<String> members = new ArrayList<>();
            for (ManagerPeer p : managers) {
                if (!p.getRaftAddr().isEmpty()) {
                    members.add(p.getNodeId() + "=" + p.getRaftAddr());
                }
            }
            members.add(state.nodeId + "=" + addrs.advertiseRaft());
            synchronized (this) {
                state.role = "manager";
                state.raftMembers = members;
                if (state.raftGroup.isEmpty()) {
                    throw new IOException("unknown Raft group: this node joined before it was recorded; rejoin it");
                }
                io.jswarm.agent.FileTrees.delete(stateDir.resolve("raft"));
                startManager(null, true);
            }
            addRaftMember(managers.stream().map(ManagerPeer::getAddr).toList(), tls, state.nodeId, addrs.advertiseRaft());
            state.save(stateDir);
        } catch (Exception e) {
            LOG.error("promotion failed: {}", e.toString());
        } finally {
            roleChangeRunning = false;
        }
    }

    private void demote() {
        try {
            LOG.info("this node was demoted: stopping its manager");
            synchronized (this) {
                localApi.stopServingManager();
                manager.close();
                manager = null;
                state.role = "worker";
                state.raftMembers = List.of();
                tls.lockWith(null);  // autolock is the managers': a worker restarts unlocked
                tls.save(stateDir);
                state.managers = agent.managers();
                state.save(stateDir);
                io.jswarm.agent.FileTrees.delete(stateDir.resolve("raft"));
            }
        } catch (Exception e) {
            LOG.error("demotion failed: {}", e.toString());
        } finally {
            roleChangeRunning = false;
        }
    }

    /**
     * Asks the managers (any; the leader does the change) to add this node to the Raft
     * group; its manager certificate says who it is and that it may.
     */
    static void addRaftMember(List<String> managerAddrs, io.jswarm.tls.NodeTls tls, String nodeId, HostPort raftAddr) throws IOException {
        long deadline = System.currentTimeMillis() + 60_000;
        String last = "no manager address known";
        while (System.currentTimeMillis() < deadline) {
            for (String addr : managerAddrs) {
                ManagedChannel ch = io.grpc.Grpc.newChannelBuilder(addr, tls.channelCredentials()).build();
                try {
                    MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                            .addRaftMember(AddRaftMemberRequest.newBuilder().setNodeId(nodeId)
                                    .setRaftAddr(raftAddr.toString()).build());
                    return;
                } catch (StatusRuntimeException e) {
                    last = addr + ": " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
                    if (e.getStatus().getCode() == io.grpc.Status.Code.PERMISSION_DENIED) {
                        throw new IOException(e.getStatus().getDescription());
                    }
                } finally {
                    ch.shutdownNow();
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IOException("could not join the Raft group: " + last);
    }

    @Override
    public synchronized void close() throws IOException {
        if (renewal != null) {
            renewal.close();
        }
        if (agent != null) {
            agent.close();
        }
        if (executor != null) {
            executor.close();  // containers keep running
        }
        if (networks != null) {
            networks.close();  // their networks too; a restarted agent answers their DNS again
        }
        statuses.close();
        if (manager != null) {
            manager.close();
        }
        if (localApi != null) {
            localApi.close();
        }
    }

    /** Called once the node has left (swarmctl cluster leave): swarmd then exits. */
    public void onLeft(Runnable r) {
        this.onLeft = r;
    }

    /** Before a metrics scrape: the manager's gauges of the moment (services come and go). */
    public void refreshMetrics() {
        Manager m = manager;
        if (m != null) {
            m.refreshMetrics();
        }
    }

    /** The managers as this node's session last named them, node id and address. */
    public List<ManagerPeer> managerPeers() {
        return managerPeers;
    }

    public String nodeId() {
        return state.nodeId;
    }

    /** This node's manager while it is one (promotion and demotion change it), else null. */
    public Manager manager() {
        return manager;
    }

    /** The node's certificates and keys, as renewals update them. */
    public io.jswarm.tls.NodeTls tls() {
        return tls;
    }

    public boolean hasLeft() {
        return left;
    }

    /**
     * swarmctl cluster leave, on a thread of the local socket: a manager leaves the Raft
     * group first (demoted through the Control API, as node demote does); the managers
     * drain the node (its tasks stop here through the session and start elsewhere); then
     * every container, mount, cgroup and network of this node and its state go, and the
     * managers mark it down. A refusal changes nothing.
     */
    private LeaveNodeResponse leave(LeaveNodeRequest req) throws IOException {
        synchronized (this) {
            if (leaving) {
                throw new IOException("this node is already leaving the cluster");
            }
            leaving = true;
        }
        List<String> warnings = new ArrayList<>();
        boolean lastManager;
        try {
            lastManager = manager != null && leaveRaftGroup(req.getForce(), warnings);
        } catch (IOException | RuntimeException e) {
            leaving = false;  // refused: nothing changed
            throw e;
        }
        LOG.info("leaving the cluster");
        List<String> managerAddrs = agent.managers();
        if (lastManager) {
            localApi.stopServingManager();
            manager.close();  // the cluster ends with it
            manager = null;
        } else if (tellManagers(managerAddrs, false, warnings)) {
            awaitTasksStopped(120_000, warnings);
        }
        renewal.close();
        agent.close();  // its session ends: no assignment comes any more
        LeaveNodeResponse.Builder out = LeaveNodeResponse.newBuilder().setNodeId(state.nodeId);
        try {
            int tasks = executor.removeAll(120_000);
            out.addRemoved(tasks + (tasks == 1 ? " container" : " containers"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            warnings.add("interrupted while removing the containers");
        }
        executor.close();
        networks.removeAll();
        out.addRemoved("network namespaces, overlay interfaces and rules");
        if (!lastManager) {
            tellManagers(managerAddrs, true, warnings);
        }
        removeLocalState(req.getKeepImages(), out, warnings);
        left = true;
        out.addAllWarnings(warnings);
        LOG.info("left the cluster: removed {}{}", out.getRemovedList(), warnings.isEmpty() ? "" : "; " + warnings);
        // Answer first, then exit.
        Thread exit = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException ignored) {
                // exiting anyway
            }
            onLeft.run();
        }, "left");
        exit.start();
        return out.build();
    }

    /**
     * Demotes this manager through the Control API and waits until its manager has stopped;
     * true when it is the last manager (allowed only with force: it is torn down with the
     * rest, and the cluster with it).
     */
    private boolean leaveRaftGroup(boolean force, List<String> warnings) throws IOException {
        if (manager.raft().peers().size() <= 1) {
            if (!force) {
                throw new IOException("this node is the cluster's last manager: leaving ends the cluster and everything it"
                        + " holds (services, secrets, configs, networks); `swarmctl cluster leave --force` does that");
            }
            return true;
        }
        try (ControlClient c = new ControlClient(addrs.controlSocket())) {
            Node self = c.stub().getNode(GetNodeRequest.newBuilder().setNodeId(state.nodeId).build()).getNode();
            c.stub().updateNode(UpdateNodeRequest.newBuilder().setNodeId(state.nodeId).setNodeVersion(self.getMeta().getVersion())
                    .setSpec(self.getSpec().toBuilder().setDesiredRole(NodeRole.WORKER)).build());
        } catch (StatusRuntimeException e) {
            String why = "this manager cannot leave the Raft group: " + Swarmctl.describe(e);
            if (!force) {
                throw new IOException(why + "; --force leaves anyway (the other managers then count this node in the Raft"
                        + " group until it is removed)");
            }
            warnings.add(why);
            return false;
        }
        long deadline = System.currentTimeMillis() + 60_000;
        while (manager != null && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (manager != null) {
            String why = "this manager was demoted but has not left the Raft group within 60 s";
            if (!force) {
                throw new IOException(why + "; try again, or give --force");
            }
            warnings.add(why);
            localApi.stopServingManager();
            manager.close();
            manager = null;
        }
        return false;
    }

    /**
     * Membership.Leave at the first manager that answers: first (gone false) the node is
     * drained, then (gone true) marked down. False, with a warning, when no manager took it.
     */
    private boolean tellManagers(List<String> managerAddrs, boolean gone, List<String> warnings) {
        String last = "no manager known";
        for (String addr : managerAddrs) {
            ManagedChannel ch = io.grpc.Grpc.newChannelBuilder(addr, tls.channelCredentials()).build();
            try {
                MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                        .leave(LeaveRequest.newBuilder().setNodeId(state.nodeId).setGone(gone).build());
                return true;
            } catch (StatusRuntimeException e) {
                last = addr + ": " + Swarmctl.describe(e);
            } finally {
                ch.shutdownNow();
            }
        }
        warnings.add("the managers could not be told (" + last + ")" + (gone
                ? ": they mark this node down when its heartbeats stop" : ": its tasks were stopped here, not drained first"));
        return false;
    }

    /**
     * Drained: waits until the managers have had every task here stopped (each within its
     * grace period) and have been told so: the session must not end with a final status
     * unsent, or the managers would count a stopped task as running.
     */
    private void awaitTasksStopped(long timeoutMs, List<String> warnings) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        int quiet = 0;
        while (System.currentTimeMillis() < deadline) {
            boolean running = executor.taskIds().stream().map(executor::status)
                    .anyMatch(st -> st != null && st.getState().getNumber() <= io.jswarm.api.TaskState.RUNNING_VALUE);
            quiet = !running && statuses.isEmpty() ? quiet + 1 : 0;
            if (quiet >= 2) {
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        warnings.add("drained, but some tasks were still running (or their end not reported) after " + timeoutMs / 1000
                + " s: stopped here");
    }

    /** What swarmd keeps in its state directory; anything else there is someone else's and stays. */
    private static final List<String> STATE_ENTRIES = List.of("node.properties", "node.properties.tmp", io.jswarm.tls.NodeTls.DIR,
            "raft", "tasks", "bin", "images", "volumes");

    /**
     * The node's own entries in its state directory, but volumes that hold data (as Docker
     * keeps them) and the images with keep_images; the lock and socket this process still
     * holds go as it exits, with the directory if nothing else is left in it. The runtime's
     * state directories too.
     */
    private void removeLocalState(boolean keepImages, LeaveNodeResponse.Builder out, List<String> warnings) {
        List<String> remove = new ArrayList<>(STATE_ENTRIES);
        boolean volumes;
        try (Stream<Path> v = Files.isDirectory(stateDir.resolve("volumes")) ? Files.list(stateDir.resolve("volumes")) : Stream.empty()) {
            volumes = v.findAny().isPresent();
        } catch (IOException e) {
            volumes = true;  // unknown: kept
        }
        if (volumes) {
            remove.remove("volumes");
        }
        if (keepImages) {
            remove.remove("images");
        } else if (Files.isDirectory(stateDir.resolve("images"))) {
            out.addRemoved("images");
        }
        try {
            for (String e : remove) {
                io.jswarm.agent.FileTrees.delete(stateDir.resolve(e));
            }
            out.addRemoved("node state in " + stateDir + (volumes ? " (volumes kept)" : ""));
        } catch (IOException e) {
            warnings.add("removing " + stateDir + ": " + e.getMessage());
        }
        for (Path p : List.of(Path.of(containers.runtime().root() + "-files"), Path.of(containers.runtime().root()))) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                warnings.add("removing " + p + ": " + e.getMessage());
            }
        }
    }
}

