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
import io.jswarm.manager.Ids;
import io.jswarm.manager.JoinTokens;
import io.jswarm.manager.control.GrpcErrors;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Joining nodes: token check, the node record, and Raft membership for managers. */
public final class MembershipService extends MembershipGrpc.MembershipImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipService.class);
    private final MemoryStore store;
    private final RaftNode raft;

    public MembershipService(MemoryStore store, RaftNode raft) {
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
    public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        try {
            NodeRole role = checkToken(req.getToken());
            if (req.getDescription().getHostname().isEmpty()) {
                throw GrpcErrors.invalid("joining node has no hostname");
            }
            if (req.getAddr().isEmpty() || (role == NodeRole.MANAGER && req.getRaftAddr().isEmpty())) {
                throw GrpcErrors.invalid("joining node did not say where it can be reached");
            }
            long now = System.currentTimeMillis();
            Node.Builder n = Node.newBuilder()
                    .setMeta(Meta.newBuilder().setId(Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now))
                    .setSpec(NodeSpec.newBuilder().setDesiredRole(role).setAvailability(NodeAvailability.ACTIVE))
                    .setDescription(req.getDescription())
                    .setStatus(NodeStatus.newBuilder().setState(NodeState.NODE_UNKNOWN).setAddr(req.getAddr()))
                    .setRole(role);
            if (role == NodeRole.MANAGER) {
                n.setManagerStatus(ManagerStatus.newBuilder().setAddr(req.getAddr()).setRaftAddr(req.getRaftAddr()));
            }
            Node node = n.build();
            raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder()
                    .setKind(StoreAction.Kind.CREATE).setObject(StoreObjects.of(node))).build());
            LOG.info("node {} ({}) joined as {}", node.getMeta().getId(), req.getDescription().getHostname(), role);
            out.onNext(JoinResponse.newBuilder().setNodeId(node.getMeta().getId()).setRole(role)
                    .setClusterId(cluster().getMeta().getId()).setRaftGroupId(cluster().getRaftGroupId())
                    .addAllMembers(members()).build());
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
        }
    }

    @Override
    public void addRaftMember(AddRaftMemberRequest req, StreamObserver<AddRaftMemberResponse> out) {
        try {
            Node node = store.node(req.getNodeId());
            if (node == null) {
                throw GrpcErrors.notFound("node " + req.getNodeId() + " is not part of this cluster");
            }
            // Either a manager token, or the cluster already decided to promote this node.
            if (node.getSpec().getDesiredRole() != NodeRole.MANAGER) {
                if (checkToken(req.getToken()) != NodeRole.MANAGER) {
                    throw Status.PERMISSION_DENIED.withDescription("a manager join token is required").asRuntimeException();
                }
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
