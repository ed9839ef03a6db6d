package io.jswarm.manager.secrets;

import io.jswarm.api.Cluster;
import io.jswarm.tls.SecretSeal;
import java.util.Base64;

/**
 * The cluster's data key (secrets and the CA key are sealed under it) as this manager can
 * use it, and, with autolock, the unlock key. Without autolock the data key is in the
 * cluster object. With it, the cluster object holds the data key sealed under the unlock
 * key and the unlock key sealed under the data key: neither can be read from a manager's
 * disk. A manager that was running when autolock was turned on keeps the data key it saw;
 * a restarted one gets the unlock key from the user (cluster unlock); a new one from the
 * leader over its mutual-TLS session.
 */
public final class DataKey {
    private static final String DATA_SEAL_ID = "cluster data key";
    private static final String UNLOCK_SEAL_ID = "cluster unlock key";
    private static final String PREFIX = "SWMKEY-1-";
    private volatile byte[] unlockKey;
    private volatile byte[] dataKey;

    public void unlockWith(byte[] key) {
        this.unlockKey = key;
    }

    /** Remembers the data key while the cluster object still shows it (before autolock). */
    public void observe(Cluster c) {
        if (c != null && !c.getDataKey().isEmpty()) {
            dataKey = c.getDataKey().toByteArray();
        }
    }

    public byte[] of(Cluster c) {
        if (!c.getDataKey().isEmpty()) {
            return c.getDataKey().toByteArray();
        }
        byte[] d = dataKey;
        if (d != null) {
            return d;
        }
        if (c.getDataKeyLocked().isEmpty()) {
            throw new IllegalStateException("the cluster has no data key");
        }
        byte[] k = unlockKey;
        if (k == null) {
            throw new IllegalStateException("this manager does not hold the unlock key yet: it cannot open secrets or the CA");
        }
        d = SecretSeal.open(k, DATA_SEAL_ID, c.getDataKeyLocked().toByteArray());
        dataKey = d;
        return d;
    }

    /** The unlock key of an autolocked cluster: the one given to this manager, or opened with the data key. */
    public byte[] unlockKey(Cluster c) {
        byte[] k = unlockKey;
        if (k == null && !c.getUnlockKeySealed().isEmpty()) {
            k = SecretSeal.open(of(c), UNLOCK_SEAL_ID, c.getUnlockKeySealed().toByteArray());
            unlockKey = k;
        }
        return k;
    }

    /** The cluster with autolock turned on under a new unlock key (returned), or off. */
    public static Cluster.Builder lock(Cluster.Builder b, byte[] dataKey, byte[] unlockKey) {
        if (unlockKey == null) {
            return b.setDataKey(com.google.protobuf.ByteString.copyFrom(dataKey)).clearDataKeyLocked().clearUnlockKeySealed();
        }
        return b.clearDataKey()
                .setDataKeyLocked(com.google.protobuf.ByteString.copyFrom(SecretSeal.seal(unlockKey, DATA_SEAL_ID, dataKey)))
                .setUnlockKeySealed(com.google.protobuf.ByteString.copyFrom(SecretSeal.seal(dataKey, UNLOCK_SEAL_ID, unlockKey)));
    }

    /** Docker's unlock key format: SWMKEY-1-<base64 of 32 bytes>. */
    public static String format(byte[] key) {
        return PREFIX + Base64.getEncoder().withoutPadding().encodeToString(key);
    }

    public static byte[] parse(String text) {
        String t = text == null ? "" : text.strip();
        try {
            if (t.startsWith(PREFIX)) {
                byte[] k = Base64.getDecoder().decode(t.substring(PREFIX.length()));
                if (k.length == 32) {
                    return k;
                }
            }
        } catch (IllegalArgumentException e) {
            // not base64: said below
        }
        throw new IllegalArgumentException("invalid unlock key: expected SWMKEY-1-<key> as printed when autolock was turned on");
    }
}
