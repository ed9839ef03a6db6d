package io.jswarm.manager.ca;

import io.jswarm.api.Cluster;
import io.jswarm.tls.SecretSeal;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.Pem;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's root certificate authority, as SwarmKit's: an ECDSA P-256 key and a
 * self-signed root (or an external CA given at init), and the node certificates it issues
 * (CN = node id, OU = the node's role, O = the cluster id), usable for both ends of a
 * mutual-TLS connection. Keys come from the JDK; certificates are built with Bouncy
 * Castle's X.509 builders. The leader holds it; its key is stored sealed under the
 * cluster's data key.
 */
public final class ClusterCa {
    /** SwarmKit's root CA name. */
    public static final String ROOT_CN = "swarm-ca";
    /** The root's life (SwarmKit: 20 years); node certificates' default is 90 days. */
    public static final Duration ROOT_VALIDITY = Duration.ofDays(20 * 365);
    public static final Duration NODE_VALIDITY = Duration.ofDays(90);
    /** The associated data the CA key is sealed with. */
    private static final String SEAL_ID = "cluster root CA key";
    private static final String NEXT_SEAL_ID = "cluster next root CA key";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate cert;
    private final PrivateKey key;

    private ClusterCa(X509Certificate cert, PrivateKey key) {
        this.cert = cert;
        this.key = key;
    }

    public X509Certificate certificate() {
        return cert;
    }

    public PrivateKey key() {
        return key;
    }

    /** A new root for a new cluster. */
    public static ClusterCa create(String clusterId) {
        KeyPair kp = Csr.newKeyPair();
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, clusterId).addRDN(BCStyle.CN, ROOT_CN).build();
        Instant now = Instant.now();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(ROOT_VALIDITY)), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            return new ClusterCa(sign(b, kp.getPrivate()), kp.getPrivate());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make the cluster's root certificate: " + e.getMessage(), e);
        }
    }

    /**
     * A CA given as PEM (swarmd --external-ca-cert/--external-ca-key, or as stored):
     * IllegalArgumentException names what is wrong with it.
     */
    public static ClusterCa fromPem(String certPem, String keyPem) {
        X509Certificate c = Pem.certificate(certPem);
        PrivateKey k = Pem.privateKey(keyPem);
        if (c.getBasicConstraints() < 0) {
            throw new IllegalArgumentException("the CA certificate is not a CA (its basic constraints say so)");
        }
        try {
            c.checkValidity();
            Signature s = Signature.getInstance(algorithm(k));
            s.initSign(k);
            byte[] probe = "jswarm".getBytes(StandardCharsets.UTF_8);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(c.getPublicKey());
            s.update(probe);
            if (!s.verify(sig)) {
                throw new IllegalArgumentException("the CA key does not belong to the CA certificate");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the CA key does not belong to the CA certificate, or the certificate"
                    + " is not valid now: " + e.getMessage());
        }
        return new ClusterCa(c, k);
    }

    /** The CA of a cluster object, its key opened with the data key. */
    public static ClusterCa of(Cluster cluster, byte[] dataKey) {
        if (cluster.getRootCaPem().isEmpty()) {
            throw new IllegalStateException("the cluster has no root CA");
        }
        return opened(dataKey, cluster.getRootCaPem(), cluster.getRootCaKeySealed(), SEAL_ID);
    }

    /** The key as the cluster object stores it. */
    public byte[] sealedKey(byte[] dataKey) {
        return sealedKey(dataKey, SEAL_ID);
    }

    private byte[] sealedKey(byte[] dataKey, String sealId) {
        return SecretSeal.seal(dataKey, sealId, Pem.of(key).getBytes(StandardCharsets.UTF_8));
    }

    private static ClusterCa opened(byte[] dataKey, String certPem, com.google.protobuf.ByteString sealed, String sealId) {
        byte[] keyPem = SecretSeal.open(dataKey, sealId, sealed.toByteArray());
        return fromPem(certPem, new String(keyPem, StandardCharsets.UTF_8));
    }

    /**
     * The start of a root rotation: a new CA, and its certificate cross-signed by this
     * (the old) root, as SwarmKit's, so that a chain through it validates under either root.
     */
    public io.jswarm.api.CaRotation rotation(Cluster cluster, byte[] dataKey) {
        ClusterCa next = create(cluster.getMeta().getId());
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509Certificate n = next.cert;
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(), n.getNotBefore(),
                    n.getNotAfter().after(cert.getNotAfter()) ? cert.getNotAfter() : n.getNotAfter(), n.getSubjectX500Principal(),
                    n.getPublicKey())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(n.getPublicKey()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
            X509Certificate cross = sign(b, key);
            return io.jswarm.api.CaRotation.newBuilder().setNewRootPem(Pem.of(n))
                    .setNewKeySealed(com.google.protobuf.ByteString.copyFrom(next.sealedKey(dataKey, NEXT_SEAL_ID)))
                    .setCrossSignedPem(Pem.of(cross)).setStartedMs(System.currentTimeMillis()).build();
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot cross-sign the new root: " + e.getMessage(), e);
        }
    }

    /** The end of a rotation: the new root's key sealed as the cluster's root key. */
    public static ClusterCa next(Cluster cluster, byte[] dataKey) {
        return opened(dataKey, cluster.getCaRotation().getNewRootPem(), cluster.getCaRotation().getNewKeySealed(), NEXT_SEAL_ID);
    }

    /**
     * What node certificates are signed with now: the root CA, or during a rotation the new
     * one with the cross-signed certificate after each leaf; and the roots nodes trust
     * (both, during a rotation).
     */
    public record Signer(ClusterCa ca, List<X509Certificate> intermediates, List<X509Certificate> trust) {
        public String issue(String nodeId, String role, String clusterId, PublicKey key, Duration validity, List<String> addresses) {
            List<X509Certificate> chain = new java.util.ArrayList<>();
            chain.add(ca.issue(nodeId, role, clusterId, key, validity, addresses));
            chain.addAll(intermediates);
            return Pem.of(chain);
        }

        public String digest() {
            return ClusterCa.digest(ca.certificate());
        }

        public String trustPem() {
            return Pem.of(trust);
        }
    }

    public static Signer signer(Cluster cluster, byte[] dataKey) {
        ClusterCa root = of(cluster, dataKey);
        if (!cluster.hasCaRotation()) {
            return new Signer(root, List.of(), List.of(root.cert));
        }
        ClusterCa next = next(cluster, dataKey);
        return new Signer(next, List.of(Pem.certificate(cluster.getCaRotation().getCrossSignedPem())), List.of(root.cert, next.cert));
    }

    /** A certificate that names no address (a client's, or a node's whose address is not vouched for). */
    public X509Certificate issue(String nodeId, String role, String clusterId, PublicKey nodeKey, Duration validity) {
        return issue(nodeId, role, clusterId, nodeKey, validity, List.of());
    }

    /**
     * A node's certificate for its public key: CN = node id, OU = role, O = cluster id, the
     * node id and role also as DNS names (as SwarmKit), for client and server use; and the
     * addresses it is reached at (IP addresses or host names), so that a client that checks
     * the name it dialled (the docker CLI's --tlsverify against tcp://IP:PORT) accepts it.
     */
    public X509Certificate issue(String nodeId, String role, String clusterId, PublicKey nodeKey, Duration validity,
            List<String> addresses) {
        if (!role.equals(NodeIdentity.MANAGER) && !role.equals(NodeIdentity.WORKER) && !role.equals(NodeIdentity.CLIENT)) {
            throw new IllegalArgumentException("unknown role " + role);
        }
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, clusterId).addRDN(BCStyle.OU, role)
                .addRDN(BCStyle.CN, nodeId).build();
        Instant now = Instant.now();
        // Never past the root's own end: a chain is only as valid as its root.
        Instant end = now.plus(validity).isAfter(cert.getNotAfter().toInstant()) ? cert.getNotAfter().toInstant() : now.plus(validity);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(), Date.from(now.minusMillis(io.jswarm.tls.NodeTls.BACKDATE_MS)),
                    Date.from(end), subject, nodeKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false, names(nodeId, role, addresses))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(nodeKey));
            return sign(b, key);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot issue a certificate: " + e.getMessage(), e);
        }
    }

    private static GeneralNames names(String nodeId, String role, List<String> addresses) {
        List<GeneralName> names = new java.util.ArrayList<>(List.of(new GeneralName(GeneralName.dNSName, nodeId),
                new GeneralName(GeneralName.dNSName, role)));
        for (String a : addresses) {
            names.add(org.bouncycastle.util.IPAddress.isValid(a) ? new GeneralName(GeneralName.iPAddress, a)
                    : new GeneralName(GeneralName.dNSName, a));
        }
        return new GeneralNames(names.toArray(new GeneralName[0]));
    }

    private static String algorithm(PrivateKey k) {
        return k.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException, OperatorCreationException {
        ContentSigner s = new JcaContentSignerBuilder(algorithm(signer)).build(signer);
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }

    private static BigInteger serial() {
        return new BigInteger(128, RANDOM);
    }

    /**
     * The digest a join token carries: SHA-256 of the root certificate's DER, base 36 in 50
     * characters (SwarmKit's token format), so that a joining node can check the CA it is
     * shown before it sends anything secret.
     */
    public static String digest(X509Certificate c) {
        return io.jswarm.manager.JoinTokens.digest(c);
    }
}
