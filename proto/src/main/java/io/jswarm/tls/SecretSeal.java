package io.jswarm.tls;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals secret data at rest with the JDK's AES-256-GCM under the cluster's data key. The
 * secret's id is the associated data, so a sealed blob copied onto another secret does not
 * open. A separate HMAC key, derived from the data key, gives each secret a fingerprint
 * that tells identical data from changed data without opening it.
 */
public final class SecretSeal {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private SecretSeal() {}

    public static byte[] newKey() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return k;
    }

    public static byte[] seal(byte[] key, String id, byte[] data) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(id.getBytes(StandardCharsets.UTF_8));
            byte[] ct = c.doFinal(data);
            return ByteBuffer.allocate(nonce.length + ct.length).put(nonce).put(ct).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing a secret failed: " + e.getMessage(), e);
        }
    }

    /** The data, or an exception when the blob was not sealed for this id under this key. */
    public static byte[] open(byte[] key, String id, byte[] sealed) {
        if (sealed.length < NONCE_BYTES + TAG_BITS / 8) {
            throw new IllegalStateException("secret " + id + " holds no sealed data");
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
            c.updateAAD(id.getBytes(StandardCharsets.UTF_8));
            return c.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("secret " + id + " cannot be opened with the cluster's data key", e);
        }
    }

    /** HMAC-SHA256 of the data under a key derived from the data key (never the data key itself). */
    public static byte[] fingerprint(byte[] key, byte[] data) {
        try {
            Mac derive = Mac.getInstance("HmacSHA256");
            derive.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] macKey = derive.doFinal("jswarm secret fingerprint".getBytes(StandardCharsets.UTF_8));
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(macKey, "HmacSHA256"));
            return m.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("fingerprinting a secret failed: " + e.getMessage(), e);
        }
    }
}
