package io.jswarm.manager.ca;

import io.jswarm.api.Cluster;
import io.jswarm.api.Node;
import io.jswarm.api.NodeCertificate;
import io.jswarm.api.store.StoreAction;
import io.jswarm.manager.JoinTokens;
import io.jswarm.manager.store.StoreObjects;
import io.jswarm.tls.Pem;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The two steps of replacing the root CA without downtime (cluster rotate-ca, as Docker's
 * {@code swarm ca --rotate}): start (a new CA, cross-signed by the old; every node asked to
 * renew, and given certificates from the new key that either root accepts), and, once
 * every node holds one, finish (the new root replaces the old, join tokens carry its
 * digest, every node renews once more and from then on trusts the new root alone).
 */
public final class CaRotations {
    private CaRotations() {}

    /** The batch that starts a rotation: the cluster with its next CA, every node asked to renew. */
    public static List<StoreAction> start(Cluster cluster, Collection<Node> nodes, byte[] dataKey) {
        if (cluster.hasCaRotation()) {
            throw new IllegalStateException("a root CA rotation is in progress already: " + progress(cluster, nodes));
        }
        List<StoreAction> out = new ArrayList<>();
        out.add(update(StoreObjects.of(cluster.toBuilder().setCaRotation(ClusterCa.of(cluster, dataKey).rotation(cluster, dataKey)).build())));
        out.addAll(askToRenew(nodes));
        return out;
    }

    /** How far a rotation is: nodes holding a certificate from the new key. */
    public static String progress(Cluster cluster, Collection<Node> nodes) {
        String next = JoinTokens.digest(Pem.certificate(cluster.getCaRotation().getNewRootPem()));
        long done = nodes.stream().filter(n -> renewedUnder(n, next)).count();
        return done + " of " + nodes.size() + " nodes hold a certificate from the new root";
    }

    private static boolean renewedUnder(Node n, String digest) {
        return n.getCertificate().getIssuerDigest().equals(digest) && !n.getCertificate().getRenew();
    }

    /** The batch that finishes a rotation, or none while a node still holds a certificate of the old key. */
    public static List<StoreAction> finishIfDone(Cluster cluster, Collection<Node> nodes, byte[] dataKey) {
        if (!cluster.hasCaRotation()) {
            return List.of();
        }
        String next = JoinTokens.digest(Pem.certificate(cluster.getCaRotation().getNewRootPem()));
        if (!nodes.stream().allMatch(n -> renewedUnder(n, next))) {
            return List.of();
        }
        ClusterCa ca = ClusterCa.next(cluster, dataKey);
        Cluster.Builder b = cluster.toBuilder().clearCaRotation().setRootCaPem(Pem.of(ca.certificate()))
                .setRootCaKeySealed(com.google.protobuf.ByteString.copyFrom(ca.sealedKey(dataKey)));
        b.getJoinTokensBuilder().setWorker(withDigest(cluster.getJoinTokens().getWorker(), next))
                .setManager(withDigest(cluster.getJoinTokens().getManager(), next));
        List<StoreAction> out = new ArrayList<>();
        out.add(update(StoreObjects.of(b.build())));
        out.addAll(askToRenew(nodes));
        return out;
    }

    /** The same secret under the new root's digest: a token of the old root no longer admits anyone. */
    private static String withDigest(String token, String digest) {
        String[] parts = token.split("-");
        return parts[0] + "-" + parts[1] + "-" + digest + "-" + parts[3];
    }

    private static List<StoreAction> askToRenew(Collection<Node> nodes) {
        List<StoreAction> out = new ArrayList<>();
        for (Node n : nodes) {
            out.add(update(StoreObjects.of(n.toBuilder().setCertificate(NodeCertificate.newBuilder(n.getCertificate()).setRenew(true))
                    .build())));
        }
        return out;
    }

    private static StoreAction update(io.jswarm.api.store.StoreObject o) {
        return StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE).setObject(o).build();
    }
}
