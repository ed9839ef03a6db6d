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
import io.jswarm.api.dispatcher.AddRaftMemberRequest;
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
    private Manager manager;
    private Agent agent;
    private volatile boolean roleChangeRunning;

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

    /** Starts the manager (if this node is one) and the agent. */
    public synchronized void start(Manager.Bootstrap bootstrap, boolean joining) throws IOException {
        if ("manager".equals(state.role)) {
            startManager(bootstrap, joining);
        }
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
        agent.start();
        renewal = new CertificateRenewal(stateDir, tls, agent::managers);
        if (!tls.plaintext()) {
            renewal.start();
        }
    }

    private void startManager(Manager.Bootstrap bootstrap, boolean joining) throws IOException {
        Manager.Config cfg = new Manager.Config(state.nodeId, stateDir.toFile(), addrs.listenRaft().host(),
                addrs.listenRaft().port(), addrs.advertiseRaft().toString(), addrs.listenRemote().host(),
                addrs.listenRemote().port(), addrs.advertiseRemote().toString(), addrs.controlSocket(), state.raftGroup,
                peers(state.raftMembers), joining, snapshotInterval, tls, keys);
        manager = new Manager(cfg, bootstrap);
        manager.resolveImagesWith(this::resolveImage);
        manager.start();
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
    }
}
