package io.jswarm.manager;

import io.jswarm.api.Cluster;
import io.jswarm.api.NodeRole;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Join tokens: {@code SWMTKN-1-<cluster digest>-<secret>}. The digest part identifies the
 * cluster (a joiner told the wrong address learns so clearly); the secret decides the role.
 */
public final class JoinTokens {
    private JoinTokens() {}

    public static String digest(byte[] rootSecret) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(rootSecret);
            String s = new BigInteger(1, h).toString(36);
            return "0".repeat(Math.max(0, 50 - s.length())) + s;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String newToken(byte[] rootSecret) {
        return "SWMTKN-1-" + digest(rootSecret) + "-" + Ids.random(25);
    }

    /** The role a token grants in this cluster; IllegalArgumentException names what is wrong. */
    public static NodeRole roleFor(Cluster cluster, String token) {
        String[] parts = token.split("-");
        if (parts.length != 4 || !parts[0].equals("SWMTKN") || !parts[1].equals("1")) {
            throw new IllegalArgumentException("invalid join token: expected SWMTKN-1-<digest>-<secret>");
        }
        if (!parts[2].equals(digest(cluster.getRootSecret().toByteArray()))) {
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
