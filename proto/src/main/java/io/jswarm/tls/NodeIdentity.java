package io.jswarm.tls;

import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * Who a certificate of the cluster CA speaks for, as SwarmKit's: CN = node id, OU = role,
 * O = cluster id. Every node-to-node call takes the caller's identity from here, never
 * from a field of the request.
 */
public record NodeIdentity(String nodeId, String role, String clusterId) {
    public static final String MANAGER = "swarm-manager";
    public static final String WORKER = "swarm-worker";
    /** A remote swarmctl's certificate (swarmctl cluster client-cert): the control API only. */
    public static final String CLIENT = "swarm-client";

    public static NodeIdentity of(X509Certificate c) {
        X500Name n = X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
        return new NodeIdentity(rdn(n, BCStyle.CN), rdn(n, BCStyle.OU), rdn(n, BCStyle.O));
    }

    private static String rdn(X500Name n, ASN1ObjectIdentifier type) {
        var rdns = n.getRDNs(type);
        return rdns.length == 0 ? "" : rdns[0].getFirst().getValue().toString();
    }

    public boolean manager() {
        return role.equals(MANAGER);
    }

    /** A node of the cluster (manager or worker), rather than a remote client. */
    public boolean node() {
        return role.equals(MANAGER) || role.equals(WORKER);
    }
}
