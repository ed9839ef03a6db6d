package io.jswarm.manager.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.SignatureException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.Pem;
import org.junit.jupiter.api.Test;

/** The cluster CA: its root, the node certificates it issues, PEM round trips and the token digest. */
class ClusterCaTest {
    static void validate(X509Certificate leaf, X509Certificate root) throws Exception {
        PKIXParameters p = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        p.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), p);
    }

    @Test
    void issuesNodeCertificatesThatValidateUnderItsRootOnly() throws Exception {
        ClusterCa ca = ClusterCa.create("cluster1");
        X509Certificate root = ca.certificate();
        assertEquals("EC", root.getPublicKey().getAlgorithm());
        assertTrue(root.getBasicConstraints() >= 0, "the root is a CA");
        root.verify(root.getPublicKey());

        KeyPair node = Csr.newKeyPair();
        X509Certificate c = ca.issue("node1", NodeIdentity.WORKER, "cluster1", node.getPublic(), ClusterCa.NODE_VALIDITY);
        validate(c, root);
        assertEquals(new NodeIdentity("node1", "swarm-worker", "cluster1"), NodeIdentity.of(c));
        assertEquals(-1, c.getBasicConstraints(), "a node certificate is not a CA");
        assertTrue(c.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")), "server and client auth");
        long days = Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()).toDays();
        assertTrue(days >= 90 && days <= 91, "90 days: " + days);

        ClusterCa other = ClusterCa.create("cluster2");
        assertThrows(SignatureException.class, () -> c.verify(other.certificate().getPublicKey()));
        assertThrows(Exception.class, () -> validate(c, other.certificate()), "another cluster's root does not vouch for it");
        assertThrows(IllegalArgumentException.class, () -> ca.issue("n", "swarm-admin", "cluster1", node.getPublic(), Duration.ofDays(1)));
    }

    @Test
    void pemRoundTripAndDigest() {
        ClusterCa ca = ClusterCa.create("c");
        ClusterCa back = ClusterCa.fromPem(Pem.of(ca.certificate()), Pem.of(ca.key()));
        assertEquals(ca.certificate(), back.certificate());
        assertEquals(ca.key(), back.key());
        String d = ClusterCa.digest(ca.certificate());
        assertEquals(50, d.length());
        assertEquals(d, ClusterCa.digest(back.certificate()));
        assertNotEquals(d, ClusterCa.digest(ClusterCa.create("c").certificate()));
        // A certificate issued by the restored CA validates under the original root.
        KeyPair node = Csr.newKeyPair();
        X509Certificate c = back.issue("m1", NodeIdentity.MANAGER, "c", node.getPublic(), Duration.ofSeconds(30));
        assertEquals("swarm-manager", NodeIdentity.of(c).role());
        assertThrows(IllegalArgumentException.class, () -> Pem.certificate("not pem"));
        // An external CA must be a CA, and its key must be its own.
        IllegalArgumentException notCa = assertThrows(IllegalArgumentException.class,
                () -> ClusterCa.fromPem(Pem.of(c), Pem.of(node.getPrivate())));
        assertTrue(notCa.getMessage().contains("not a CA"), notCa.getMessage());
        IllegalArgumentException wrongKey = assertThrows(IllegalArgumentException.class,
                () -> ClusterCa.fromPem(Pem.of(ca.certificate()), Pem.of(node.getPrivate())));
        assertTrue(wrongKey.getMessage().contains("does not belong"), wrongKey.getMessage());
    }
}
