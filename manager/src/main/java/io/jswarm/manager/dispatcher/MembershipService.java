package io.jswarm.manager.dispatcher;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.Cluster;
import io.jswarm.api.ManagerStatus;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.NodeState;
import io.jswarm.api.NodeStatus;
import io.jswarm.api.dispatcher.*;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.Durations;
import io.jswarm.manager.Ids;
import io.jswarm.manager.ca.Callers;
import io.jswarm.manager.ca.ClusterCa;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.Pem;
import java.security.PublicKey;
import java.time.Duration;
import io.jswarm.manager.JoinTokens;
import io.jswarm.manager.control.GrpcErrors;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joining nodes: the root CA for anyone, token check, the node record and its first
 * certificate, certificate renewal, and Raft membership for managers. Callers' identities
 * come from their certificates ({@link Callers}), never from the request.
 */
public final class MembershipService extends MembershipGrpc.MembershipImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipService.class);
    private final MemoryStore store;
    private final RaftNode raft;

    private final io.jswarm.manager.secrets.DataKey keys;

    /** Joining nodes are created many to an entry, with sessions' READY (no handler thread waits on Raft). */
    private final io.jswarm.manager.store.CoalescingWriter nodeWriter;

    public MembershipService(MemoryStore store, RaftNode raft, io.jswarm.manager.secrets.DataKey keys,
            io.jswarm.manager.store.CoalescingWriter nodeWriter) {
        this.nodeWriter = nodeWriter;
        this.keys = keys;
        this.store = store;
        this.raft = raft;
    }

    private Cluster cluster() {
        Cluster c = store.cluster();
        if (c == null) {
            throw Status.UNAVAILABLE.withDescription("the cluster is not initialized yet").asRuntimeException();
        }
        return c;
    }

    private NodeRole checkToken(String token) {
        try {
            return JoinTokens.roleFor(cluster(), token);
        } catch (IllegalArgumentException e) {
            throw Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException();
        }
    }

    private List<RaftMember> members() {
        List<RaftMember> out = new ArrayList<>();
        for (Node n : store.nodes()) {
            if (n.getRole() == NodeRole.MANAGER) {
                out.add(RaftMember.newBuilder().setNodeId(n.getMeta().getId()).setRaftAddr(n.getManagerStatus().getRaftAddr())
                        .setAddr(n.getManagerStatus().getAddr()).build());
            }
        }
        return out;
    }

    @Override
    public void rootCa(RootCaRequest req, StreamObserver<RootCaResponse> out) {
        try {
            out.onNext(RootCaResponse.newBuilder().setRootCaPem(cluster().getRootCaPem()).build());
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }

    private static PublicKey csrKey(com.google.protobuf.ByteString csr) {
        if (csr.isEmpty()) {
            throw GrpcErrors.invalid("no certificate request: the node must send one for its key");
        }
        try {
            return Csr.publicKey(csr.toByteArray());
        } catch (IllegalArgumentException e) {
            throw GrpcErrors.invalid(e.getMessage());
        }
    }

    /** How long node certificates last (cluster update --cert-expiry), 90 days by default. */
    public static Duration certExpiry(Cluster c) {
        return c.getSpec().getCaConfig().hasNodeCertExpiry()
                ? Duration.ofMillis(Durations.millis(c.getSpec().getCaConfig().getNodeCertExpiry())) : ClusterCa.NODE_VALIDITY;
    }

    /**
     * A certificate (PEM chain) for a node in the role the cluster wants it in (promoted:
     * manager at once), naming the address the node is reached at (its HOST:PORT) when the
     * call comes from that very address: a node cannot have itself certified for another's.
     */
    private static String issue(ClusterCa.Signer signer, Cluster c, String nodeId, NodeRole role, PublicKey key, String addr) {
        String ou = role == NodeRole.MANAGER ? NodeIdentity.MANAGER : NodeIdentity.WORKER;
        return signer.issue(nodeId, ou, c.getMeta().getId(), key, certExpiry(c), vouchedFor(nodeId, addr));
    }

    /** The host of {@code addr} when the caller connects from it, else nothing (and why, in the log). */
    static List<String> vouchedFor(String nodeId, String addr) {
        String host = NetworkTableBuilder.host(addr);
        java.net.InetAddress from = Callers.from();
        try {
            // Only an address literal is compared: a name would need a lookup, and is not vouched for by one.
            if (from != null && org.bouncycastle.util.IPAddress.isValid(host) && java.net.InetAddress.getByName(host).equals(from)) {
                return List.of(host);
            }
        } catch (java.net.UnknownHostException e) {
            // not reached for a literal
        }
        LOG.info("the certificate of node {} names no address: it says it is reached at {} but connects from {}", nodeId,
                addr, from == null ? "a local socket" : from.getHostAddress());
        return List.of();
    }

    /** Records which root signed the node's certificate (a rotation waits for every node) and clears a renewal request. */
    private void recordIssued(String nodeId, String issuerDigest) {
        updateNode(nodeId, n -> n.setCertificate(io.jswarm.api.NodeCertificate.newBuilder().setIssuerDigest(issuerDigest)));
    }

    /**
     * Writes a change to a node read just before, again if another write to it came in
     * between (the store refuses a stale version); nothing when it changes nothing.
     */
    private void updateNode(String nodeId, java.util.function.UnaryOperator<Node.Builder> change) {
        for (int attempt = 0; ; attempt++) {
            Node cur = store.node(nodeId);
            if (cur == null) {
                return;
            }
            Node next = change.apply(cur.toBuilder()).build();
            if (next.equals(cur)) {
                return;
            }
            try {
                raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder()
                        .setKind(StoreAction.Kind.UPDATE).setObject(StoreObjects.of(next))).build());
                return;
            } catch (io.jswarm.manager.store.StoreException e) {
                if (attempt >= 5) {
                    throw e;
                }
            }
        }
    }

    @Override
    public void leave(LeaveRequest req, StreamObserver<LeaveResponse> out) {
        try {
            String nodeId = req.getNodeId();
            Callers.requireNode(nodeId);
            Node node = store.node(nodeId);
            if (node == null) {
                throw GrpcErrors.notFound("node " + nodeId + " is not part of this cluster");
            }
            if (node.getRole() == NodeRole.MANAGER) {
                throw GrpcErrors.precondition("node " + node.getDescription().getHostname()
                        + " is still a manager: it leaves the Raft group (demotion) first");
            }
            if (req.getGone()) {
                updateNode(nodeId, n -> {
                    n.getStatusBuilder().setState(NodeState.NODE_DOWN).setMessage("left the cluster");
                    return n;
                });
                LOG.info("node {} ({}) left the cluster", nodeId, node.getDescription().getHostname());
            } else {
                // As node update --availability drain: its tasks stop through its session and start elsewhere.
                updateNode(nodeId, n -> {
                    n.getSpecBuilder().setAvailability(NodeAvailability.DRAIN);
                    return n;
                });
                LOG.info("node {} ({}) is leaving the cluster: drained", nodeId, node.getDescription().getHostname());
            }
            out.onNext(LeaveResponse.getDefaultInstance());
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }

    @Override
    public void renewCertificate(RenewCertificateRequest req, StreamObserver<RenewCertificateResponse> out) {
        try {
            NodeIdentity caller = Callers.requireAnyNode();
            Node node = store.node(caller.nodeId());
            if (node == null) {
                throw Status.UNAUTHENTICATED.withDescription("node " + caller.nodeId() + " is not part of this cluster")
                        .asRuntimeException();
            }
            Cluster c = cluster();
            ClusterCa.Signer signer = ClusterCa.signer(c, keys.of(c));
            String cert = issue(signer, c, caller.nodeId(), node.getSpec().getDesiredRole(), csrKey(req.getCsr()),
                    req.getAddr().isEmpty() ? node.getStatus().getAddr() : req.getAddr());
            recordIssued(caller.nodeId(), signer.digest());
            LOG.info("renewed the certificate of node {} ({}) as {}", caller.nodeId(), node.getDescription().getHostname(),
                    node.getSpec().getDesiredRole());
            out.onNext(RenewCertificateResponse.newBuilder().setCertPem(cert).setRootCaPem(signer.trustPem()).build());
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }

    @Override
    public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        try {
            NodeRole role = checkToken(req.getToken());
            PublicKey key = csrKey(req.getCsr());
            if (req.getDescription().getHostname().isEmpty()) {
                throw GrpcErrors.invalid("joining node has no hostname");
            }
            if (req.getAddr().isEmpty() || (role == NodeRole.MANAGER && req.getRaftAddr().isEmpty())) {
                throw GrpcErrors.invalid("joining node did not say where it can be reached");
            }
            long now = System.currentTimeMillis();
            Cluster c = cluster();
            ClusterCa.Signer signer = ClusterCa.signer(c, keys.of(c));
            Node.Builder n = Node.newBuilder()
                    .setMeta(Meta.newBuilder().setId(Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                    .setSpec(NodeSpec.newBuilder().setDesiredRole(role).setAvailability(NodeAvailability.ACTIVE))
                    .setDescription(req.getDescription())
                    .setStatus(NodeStatus.newBuilder().setState(NodeState.NODE_UNKNOWN).setAddr(req.getAddr()))
                    .setRole(role)
                    .setCertificate(io.jswarm.api.NodeCertificate.newBuilder().setIssuerDigest(signer.digest()));
            if (role == NodeRole.MANAGER) {
                n.setManagerStatus(ManagerStatus.newBuilder().setAddr(req.getAddr()).setRaftAddr(req.getRaftAddr()));
            }
            Node node = n.build();
            JoinResponse.Builder answer = JoinResponse.newBuilder().setNodeId(node.getMeta().getId()).setRole(role)
                    .setClusterId(c.getMeta().getId()).setRaftGroupId(c.getRaftGroupId())
                    .setCertPem(issue(signer, c, node.getMeta().getId(), role, key, req.getAddr())).setRootCaPem(signer.trustPem());
            StoreAction create = StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(node)).build();
            // Nothing to write when it exists: an earlier entry of a batch refused further on made it.
            nodeWriter.submit(() -> store.node(node.getMeta().getId()) != null ? null : create, e -> {
                try {
                    if (e != null) {
                        out.onError(GrpcErrors.toStatus(e));
                        return;
                    }
                    LOG.info("node {} ({}) joined as {}", node.getMeta().getId(), req.getDescription().getHostname(), role);
                    out.onNext(answer.addAllMembers(members()).build());
                    out.onCompleted();
                } catch (RuntimeException ended) {
                    // the joining node gave up meanwhile
                }
            });
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }

    @Override
    public void addRaftMember(AddRaftMemberRequest req, StreamObserver<AddRaftMemberResponse> out) {
        try {
            // A manager certificate is issued only to a node the cluster wants as a manager
            // (joined with the manager token, or promoted); it may add only itself.
            Callers.requireManager();
            Callers.requireNode(req.getNodeId());
            Node node = store.node(req.getNodeId());
            if (node == null) {
                throw GrpcErrors.notFound("node " + req.getNodeId() + " is not part of this cluster");
            }
            if (node.getSpec().getDesiredRole() != NodeRole.MANAGER) {
                throw Status.PERMISSION_DENIED.withDescription("node " + req.getNodeId() + " is not to be a manager")
                        .asRuntimeException();
            }
            raft.addPeer(node.getMeta().getId(), req.getRaftAddr());
            Node cur = store.node(req.getNodeId());
            Node next = cur.toBuilder().setRole(NodeRole.MANAGER)
                    .setManagerStatus(ManagerStatus.newBuilder().setAddr(cur.getStatus().getAddr().isEmpty()
                            ? cur.getManagerStatus().getAddr() : cur.getStatus().getAddr()).setRaftAddr(req.getRaftAddr()))
                    .build();
            if (!next.equals(cur)) {
                raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder()
                        .setKind(StoreAction.Kind.UPDATE).setObject(StoreObjects.of(next))).build());
            }
            LOG.info("node {} added to the Raft group at {}", req.getNodeId(), req.getRaftAddr());
            out.onNext(AddRaftMemberResponse.newBuilder().addAllMembers(members()).build());
            out.onCompleted();
        } catch (java.io.IOException e) {
            out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }
}
