package io.jswarm.tls;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A node's key pair and the PKCS#10 request that proves it holds the private key. The
 * subject a node asks for does not matter: the CA writes the node id, role and cluster.
 */
public final class Csr {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Csr() {}

    /** A new ECDSA P-256 key pair, from the JDK. */
    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make P-256 keys", e);
        }
    }

    /** The DER of a request signed with the pair's private key. */
    public static byte[] create(KeyPair kp) {
        try {
            return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=swarm-node"), kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
        } catch (OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make a certificate request: " + e.getMessage(), e);
        }
    }

    /** The public key of a request whose signature holds; IllegalArgumentException otherwise. */
    public static PublicKey publicKey(byte[] der) {
        try {
            JcaPKCS10CertificationRequest r = new JcaPKCS10CertificationRequest(new PKCS10CertificationRequest(der));
            PublicKey key = r.getPublicKey();
            if (!r.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw new IllegalArgumentException("the certificate request's signature does not match its key");
            }
            if (!key.getAlgorithm().equals("EC")) {
                throw new IllegalArgumentException("the certificate request's key is " + key.getAlgorithm() + ", not ECDSA");
            }
            return key;
        } catch (IOException | RuntimeException | GeneralSecurityException | OperatorCreationException | PKCSException e) {
            if (e instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("the certificate request cannot be read: " + e.getMessage(), e);
        }
    }
}
