package io.jswarm.manager.ca;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.tls.NodeIdentity;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.function.Predicate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who is calling the remote API: the identity in the client certificate of the TLS
 * connection (already checked against the cluster's roots by the handshake), or nobody
 * (a joining node has no certificate yet). The services ask for what each call needs;
 * a node removed from the cluster is refused here even on a connection it opened before.
 */
public final class Callers implements ServerInterceptor {
    private static final Context.Key<NodeIdentity> CALLER = Context.key("jswarm-caller");
    /** Set on a plaintext server (swarmd --tls=false, benchmarks only): every check passes. */
    private static final Context.Key<Boolean> UNCHECKED = Context.keyWithDefault("jswarm-unchecked", false);
    /** The address the connection comes from, as this end sees it. */
    private static final Context.Key<java.net.InetAddress> FROM = Context.key("jswarm-from");
    private final Predicate<String> removed;
    private final boolean plaintext;

    /**
     * @param removed   whether a node id names a node no longer in the cluster
     * @param plaintext the server runs without TLS (the benchmarks' baseline): callers are who they say
     */
    public Callers(Predicate<String> removed, boolean plaintext) {
        this.removed = removed;
        this.plaintext = plaintext;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        NodeIdentity id = identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        if (id != null && id.node() && removed.test(id.nodeId())) {
            call.close(Status.UNAUTHENTICATED.withDescription("node " + id.nodeId() + " has been removed from the cluster;"
                    + " its certificate is no longer accepted"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        java.net.InetAddress from = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)
                instanceof java.net.InetSocketAddress a ? a.getAddress() : null;
        return Contexts.interceptCall(Context.current().withValue(CALLER, id).withValue(UNCHECKED, plaintext).withValue(FROM, from),
                call, headers, next);
    }

    /** Where a connection's TLS session keeps its caller's identity, read once. */
    private static final String IDENTITY = "jswarm.identity";

    /**
     * The identity in the connection's client certificate, parsed once per TLS session and
     * kept in it: parsing it (Bouncy Castle's ASN.1) for every call was a thread dump's
     * commonest sight on a leader taking 2,000 nodes' heartbeats.
     */
    private static NodeIdentity identity(SSLSession session) {
        if (session == null) {
            return null;
        }
        if (session.getValue(IDENTITY) instanceof NodeIdentity known) {
            return known;
        }
        try {
            Certificate[] peer = session.getPeerCertificates();
            NodeIdentity id = peer.length > 0 && peer[0] instanceof X509Certificate c ? NodeIdentity.of(c) : null;
            if (id != null) {
                session.putValue(IDENTITY, id);
            }
            return id;
        } catch (SSLPeerUnverifiedException e) {
            return null;  // no client certificate
        }
    }

    /**
     * For services only some roles may call over the remote API: the control API and task
     * logs (managers passing a stream on, remote swarmctl clients).
     */
    public static ServerInterceptor only(java.util.Set<String> roles) {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                NodeIdentity id = CALLER.get();
                Status refused = UNCHECKED.get() ? null : id == null ? Status.UNAUTHENTICATED.withDescription("this call needs a client certificate of the"
                        + " cluster (swarmctl cluster client-cert)")
                        : roles.contains(id.role()) ? null
                        : Status.PERMISSION_DENIED.withDescription("a " + id.role() + " certificate may not call "
                                + call.getMethodDescriptor().getServiceName() + " (" + id.nodeId() + ")");
                if (refused != null) {
                    call.close(refused, new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return next.startCall(call, headers);
            }
        };
    }

    /** The caller's identity, or null for a caller without a certificate. */
    public static NodeIdentity current() {
        return CALLER.get();
    }

    /** Where the call comes from (an IP address), or null (a unix socket, or no interceptor). */
    public static java.net.InetAddress from() {
        return FROM.get();
    }

    /** The calling node, which must be {@code nodeId} itself. */
    public static NodeIdentity requireNode(String nodeId) {
        if (UNCHECKED.get()) {
            return new NodeIdentity(nodeId, NodeIdentity.MANAGER, "");
        }
        NodeIdentity id = requireAnyNode();
        if (!id.nodeId().equals(nodeId)) {
            throw Status.PERMISSION_DENIED.withDescription("this certificate belongs to node " + id.nodeId()
                    + ", which may not speak for node " + nodeId).asRuntimeException();
        }
        return id;
    }

    /** A calling manager. */
    public static NodeIdentity requireManager() {
        if (UNCHECKED.get()) {
            return new NodeIdentity("", NodeIdentity.MANAGER, "");
        }
        NodeIdentity id = requireAnyNode();
        if (!id.manager()) {
            throw Status.PERMISSION_DENIED.withDescription("only managers may make this call; node " + id.nodeId()
                    + " holds a " + id.role() + " certificate").asRuntimeException();
        }
        return id;
    }

    /** A node of the cluster, manager or worker: a client certificate speaks for no node, whatever its name. */
    public static NodeIdentity requireAnyNode() {
        NodeIdentity id = CALLER.get();
        if (id == null) {
            throw unauthenticated();
        }
        if (!id.node()) {
            throw Status.PERMISSION_DENIED.withDescription("a " + id.role() + " certificate speaks for no node")
                    .asRuntimeException();
        }
        return id;
    }

    static StatusRuntimeException unauthenticated() {
        return Status.UNAUTHENTICATED.withDescription("this call needs a node certificate of the cluster").asRuntimeException();
    }
}
