package io.jswarm.manager;

import io.jswarm.api.Cluster;
import io.jswarm.api.NodeRole;
import io.jswarm.tls.Pem;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;

/**
 * Join tokens, as SwarmKit's: {@code SWMTKN-1-<digest of the root CA certificate>-<secret>}.
 * The digest lets a joining node check the CA a manager shows it before it sends the token
 * (a man in the middle has another CA); the secret decides the role.
 */
public final class JoinTokens {
    private JoinTokens() {}

    public static String digest(byte[] der) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(der);
            String s = new BigInteger(1, h).toString(36);
            return "0".repeat(Math.max(0, 50 - s.length())) + s;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The digest of a root certificate, as tokens carry it. */
    public static String digest(X509Certificate root) {
        try {
            return digest(root.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String newToken(X509Certificate root) {
        return "SWMTKN-1-" + digest(root) + "-" + Ids.random(25);
    }

    /** The CA digest a token carries; IllegalArgumentException when it is not a token. */
    public static String caDigest(String token) {
        String[] parts = token.split("-");
        if (parts.length != 4 || !parts[0].equals("SWMTKN") || !parts[1].equals("1") || parts[2].length() != 50) {
            throw new IllegalArgumentException("invalid join token: expected SWMTKN-1-<digest>-<secret>");
        }
        return parts[2];
    }

    /** The role a token grants in this cluster; IllegalArgumentException names what is wrong. */
    public static NodeRole roleFor(Cluster cluster, String token) {
        if (!caDigest(token).equals(digest(Pem.certificate(cluster.getRootCaPem())))) {
            throw new IllegalArgumentException("invalid join token: it belongs to a different cluster");
        }
        if (token.equals(cluster.getJoinTokens().getManager())) {
            return NodeRole.MANAGER;
        }
        if (token.equals(cluster.getJoinTokens().getWorker())) {
            return NodeRole.WORKER;
        }
        throw new IllegalArgumentException("invalid join token: it is not valid for this cluster (rotated?)");
    }
}
