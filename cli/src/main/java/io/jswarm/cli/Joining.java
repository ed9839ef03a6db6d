package io.jswarm.cli;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.dispatcher.JoinRequest;
import io.jswarm.api.dispatcher.JoinResponse;
import io.jswarm.api.dispatcher.MembershipGrpc;
import io.jswarm.api.dispatcher.RootCaRequest;
import io.jswarm.manager.JoinTokens;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.NodeTls;
import io.jswarm.tls.Pem;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Joining a cluster, as SwarmKit's node does: fetch the root CA over TLS without trusting
 * it yet, check it against the digest in the join token, and only then send the token,
 * with a certificate request for a key made here, over TLS that trusts that root alone.
 * A manager that shows another CA (a wrong address, a man in the middle) never sees the
 * token.
 */
public final class Joining {
    private Joining() {}

    /** What joining gave: the managers' answer and this node's credentials (not yet saved). */
    public record Joined(JoinResponse response, NodeTls tls) {}

    /** @param request the joining node's description and addresses; the token and request are added here */
    public static Joined join(String managerAddr, String token, JoinRequest.Builder request) {
        return join(managerAddr, token, request, false);
    }

    /** @param plaintext the cluster runs without TLS (swarmd --tls=false, the benchmarks' baseline) */
    public static Joined join(String managerAddr, String token, JoinRequest.Builder request, boolean plaintext) {
        String expected = JoinTokens.caDigest(token);
        X509Certificate root = rootCa(managerAddr, plaintext);
        String shown = JoinTokens.digest(root);
        if (!shown.equals(expected)) {
            throw new IllegalArgumentException("the manager at " + managerAddr + " has a root CA whose digest (" + shown
                    + ") is not the one in the join token (" + expected + "): not joining, and the token was not sent");
        }
        KeyPair key = Csr.newKeyPair();
        JoinResponse r = call(managerAddr, plaintext ? io.grpc.InsecureChannelCredentials.create() : NodeTls.trusting(root),
                "cannot join the cluster at " + managerAddr,
                ch -> MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .join(request.setToken(token).setCsr(com.google.protobuf.ByteString.copyFrom(Csr.create(key))).build()));
        List<X509Certificate> chain = Pem.certificates(r.getCertPem());
        List<X509Certificate> roots = Pem.certificates(r.getRootCaPem());
        if (chain.isEmpty() || !roots.contains(root)) {
            throw new IllegalArgumentException("the manager at " + managerAddr + " answered without a certificate under the root it showed");
        }
        X509Certificate cert = chain.get(0);
        NodeIdentity id = NodeIdentity.of(cert);
        if (!id.nodeId().equals(r.getNodeId()) || !cert.getPublicKey().equals(key.getPublic())) {
            throw new IllegalArgumentException("the manager at " + managerAddr + " answered with a certificate for another node or key");
        }
        NodeTls tls = new NodeTls(key.getPrivate(), chain, roots);
        if (plaintext) {
            tls.plaintextForBenchmarks();
        }
        return new Joined(r, tls);
    }

    /** The root CA certificate a manager shows, not yet trusted. */
    public static X509Certificate rootCa(String managerAddr, boolean plaintext) {
        String pem = call(managerAddr, plaintext ? io.grpc.InsecureChannelCredentials.create() : NodeTls.unverified(),
                "cannot reach a manager at " + managerAddr,
                ch -> MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .rootCa(RootCaRequest.getDefaultInstance()).getRootCaPem());
        try {
            return Pem.certificate(pem);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the manager at " + managerAddr + " sent no usable root CA certificate");
        }
    }

    private interface Call<T> {
        T on(ManagedChannel ch);
    }

    private static <T> T call(String addr, ChannelCredentials creds, String failure, Call<T> c) {
        ManagedChannel ch = Grpc.newChannelBuilder(addr, creds).build();
        try {
            return c.on(ch);
        } catch (StatusRuntimeException e) {
            String why = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : e.getStatus().getCode().toString();
            throw new IllegalArgumentException(failure + ": " + why);
        } finally {
            ch.shutdownNow();
        }
    }
}
