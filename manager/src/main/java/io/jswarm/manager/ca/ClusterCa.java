package io.jswarm.manager.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
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
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's root certificate authority, as SwarmKit's: an ECDSA P-256 key and a
 * self-signed root, and the node certificates it issues (CN = node id, OU = the node's
 * role, O = the cluster id), usable for both ends of a mutual-TLS connection. Keys come
 * from the JDK; certificates are built with Bouncy Castle's X.509 builders.
 *
 * <p>Not used on any connection yet: issue 13 wires it into joining and every
 * node-to-node connection (see the README's Status).
 */
public final class ClusterCa {
    public static final String MANAGER_OU = "swarm-manager";
    public static final String WORKER_OU = "swarm-worker";
    /** SwarmKit's root CA name. */
    public static final String ROOT_CN = "swarm-ca";
    /** The root's life (SwarmKit: 20 years); node certificates' default is 90 days. */
    public static final Duration ROOT_VALIDITY = Duration.ofDays(20 * 365);
    public static final Duration NODE_VALIDITY = Duration.ofDays(90);
    private static final String SIGNATURE = "SHA256withECDSA";
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

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make P-256 keys", e);
        }
    }

    /** A new root for a new cluster. */
    public static ClusterCa create(String clusterId) {
        KeyPair kp = newKeyPair();
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

    /** The CA as stored: its certificate and key in PEM. */
    public static ClusterCa fromPem(String certPem, String keyPem) {
        X509Certificate c = certificateFromPem(certPem);
        try (PEMParser p = new PEMParser(new StringReader(keyPem))) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            PrivateKey k = o instanceof PEMKeyPair kp ? conv.getPrivateKey(kp.getPrivateKeyInfo())
                    : o instanceof PrivateKeyInfo info ? conv.getPrivateKey(info) : null;
            if (k == null) {
                throw new IllegalArgumentException("the CA key is not a PEM private key");
            }
            return new ClusterCa(c, k);
        } catch (IOException e) {
            throw new IllegalArgumentException("the CA key cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * A node's certificate for its public key: CN = node id, OU = role, O = cluster id, the
     * node id and role also as DNS names (as SwarmKit), for client and server use.
     */
    public X509Certificate issue(String nodeId, String ou, String clusterId, PublicKey nodeKey, Duration validity) {
        if (!ou.equals(MANAGER_OU) && !ou.equals(WORKER_OU)) {
            throw new IllegalArgumentException("unknown role " + ou);
        }
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, clusterId).addRDN(BCStyle.OU, ou)
                .addRDN(BCStyle.CN, nodeId).build();
        Instant now = Instant.now();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(), Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(validity)), subject, nodeKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.dNSName, nodeId), new GeneralName(GeneralName.dNSName, ou)}))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(nodeKey));
            return sign(b, key);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot issue a certificate: " + e.getMessage(), e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException, OperatorCreationException {
        ContentSigner s = new JcaContentSignerBuilder(SIGNATURE).build(signer);
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }

    private static BigInteger serial() {
        return new BigInteger(128, RANDOM);
    }

    /** What a node certificate says of its holder. */
    public record Identity(String nodeId, String role, String clusterId) {}

    public static Identity identity(X509Certificate c) {
        X500Name n = X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
        return new Identity(rdn(n, BCStyle.CN), rdn(n, BCStyle.OU), rdn(n, BCStyle.O));
    }

    private static String rdn(X500Name n, org.bouncycastle.asn1.ASN1ObjectIdentifier type) {
        var rdns = n.getRDNs(type);
        return rdns.length == 0 ? "" : rdns[0].getFirst().getValue().toString();
    }

    /**
     * The digest a join token carries: SHA-256 of the root certificate's DER, base 36 in 50
     * characters (SwarmKit's token format), so that a joining node can check the CA it is
     * shown before it sends anything secret.
     */
    public static String digest(X509Certificate c) {
        try {
            return io.jswarm.manager.JoinTokens.digest(c.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String toPem(Object certOrKey) {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            // Keys as PKCS#8 ("PRIVATE KEY"), which every TLS library reads.
            p.writeObject(certOrKey instanceof PrivateKey k ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : certOrKey);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return w.toString();
    }

    public static X509Certificate certificateFromPem(String pem) {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o = p.readObject();
            if (!(o instanceof org.bouncycastle.cert.X509CertificateHolder h)) {
                throw new IllegalArgumentException("not a PEM certificate");
            }
            return new JcaX509CertificateConverter().getCertificate(h);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("the certificate cannot be read: " + e.getMessage(), e);
        }
    }
}
