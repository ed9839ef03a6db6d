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

    /** What a client that checks the name it dialled (Go's crypto/tls, the docker CLI) matches against. */
    @Test
    void aNodesAddressesAreSubjectAlternativeNames() throws Exception {
        ClusterCa ca = ClusterCa.create("c");
        X509Certificate c = ca.issue("n1", NodeIdentity.MANAGER, "c", Csr.newKeyPair().getPublic(), Duration.ofHours(1),
                List.of("10.77.0.2", "fd00::2", "m1.example"));
        Set<List<?>> names = Set.copyOf(c.getSubjectAlternativeNames());
        assertEquals(Set.of(List.of(2, "n1"), List.of(2, "swarm-manager"), List.of(7, "10.77.0.2"), List.of(7, "fd00:0:0:0:0:0:0:2"),
                List.of(2, "m1.example")), names, "2 = DNS name, 7 = IP address");
        X509Certificate none = ca.issue("n2", NodeIdentity.WORKER, "c", Csr.newKeyPair().getPublic(), Duration.ofHours(1));
        assertEquals(2, none.getSubjectAlternativeNames().size(), "no address unless one is vouched for");
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

    /** A cluster object as the first leader writes it: the CA's key sealed under the data key. */
    static io.jswarm.api.Cluster cluster(ClusterCa ca) {
        byte[] dataKey = io.jswarm.tls.SecretSeal.newKey();
        return io.jswarm.api.Cluster.newBuilder().setMeta(io.jswarm.api.Meta.newBuilder().setId("c1"))
                .setDataKey(com.google.protobuf.ByteString.copyFrom(dataKey)).setRootCaPem(Pem.of(ca.certificate()))
                .setRootCaKeySealed(com.google.protobuf.ByteString.copyFrom(ca.sealedKey(dataKey))).build();
    }

    static io.jswarm.tls.NodeTls node(ClusterCa.Signer signer, String id) {
        KeyPair k = Csr.newKeyPair();
        return new io.jswarm.tls.NodeTls(k.getPrivate(), Pem.certificates(signer.issue(id, NodeIdentity.MANAGER, "c1", k.getPublic(),
                Duration.ofHours(1), List.of())), Pem.certificates(signer.trustPem()));
    }

    static void accepts(io.jswarm.tls.NodeTls verifier, io.jswarm.tls.NodeTls peer) throws Exception {
        javax.net.ssl.X509ExtendedKeyManager km = peer.keyManager();
        verifier.trustManager(Set.of(NodeIdentity.MANAGER), id -> false).checkServerTrusted(km.getCertificateChain("node"), "EC");
    }

    @Test
    void aRotationBridgesTheOldAndNewRootsThenRetiresTheOld() throws Exception {
        ClusterCa ca = ClusterCa.create("c1");
        io.jswarm.api.Cluster before = cluster(ca);
        ClusterCa.Signer old = ClusterCa.signer(before, before.getDataKey().toByteArray());
        assertEquals(List.of(ca.certificate()), old.trust());
        io.jswarm.tls.NodeTls a = node(old, "a");  // not yet renewed: trusts the old root only

        io.jswarm.api.Cluster rotating = before.toBuilder().setCaRotation(ClusterCa.of(before, before.getDataKey().toByteArray()).rotation(before, before.getDataKey().toByteArray())).build();
        ClusterCa.Signer during = ClusterCa.signer(rotating, rotating.getDataKey().toByteArray());
        io.jswarm.tls.NodeTls b = node(during, "b");  // renewed: new key, the cross-signed root after its leaf
        assertEquals(2, Pem.certificates(during.issue("x", NodeIdentity.WORKER, "c1", Csr.newKeyPair().getPublic(), Duration.ofHours(1), List.of())).size());
        assertEquals(2, b.roots().size(), "both roots trusted during the rotation");
        accepts(a, b);  // the old root accepts the new leaf through the cross-signed root
        accepts(b, a);  // and the renewed node still accepts the old leaf

        // Finished: the new root alone; a leaf of the old key is refused, new leaves pass with or without the bridge.
        X509Certificate newRoot = Pem.certificate(rotating.getCaRotation().getNewRootPem());
        io.jswarm.tls.NodeTls c = new io.jswarm.tls.NodeTls(Csr.newKeyPair().getPrivate(), b.certificate(), List.of(newRoot));
        accepts(c, b);
        assertThrows(java.security.cert.CertificateException.class, () -> accepts(c, a));
        assertEquals(newRoot, ClusterCa.next(rotating, rotating.getDataKey().toByteArray()).certificate());
    }
}
