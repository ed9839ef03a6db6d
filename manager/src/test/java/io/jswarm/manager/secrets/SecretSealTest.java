package io.jswarm.manager.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jswarm.tls.SecretSeal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SecretSealTest {
    static final byte[] DATA = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);

    static boolean contains(byte[] hay, byte[] needle) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void sealedDataOpensOnlyWithItsKeyAndItsId() {
        byte[] key = SecretSeal.newKey();
        byte[] sealed = SecretSeal.seal(key, "id1", DATA);
        assertFalse(contains(sealed, DATA), "the sealed form does not hold the data");
        assertArrayEquals(DATA, SecretSeal.open(key, "id1", sealed));
        assertThrows(IllegalStateException.class, () -> SecretSeal.open(SecretSeal.newKey(), "id1", sealed), "another key");
        assertThrows(IllegalStateException.class, () -> SecretSeal.open(key, "id2", sealed), "copied onto another secret");
        sealed[sealed.length - 1] ^= 1;
        assertThrows(IllegalStateException.class, () -> SecretSeal.open(key, "id1", sealed), "tampered with");
    }

    @Test
    void sealingTwiceGivesDifferentBlobsButTheSameFingerprint() {
        byte[] key = SecretSeal.newKey();
        assertFalse(Arrays.equals(SecretSeal.seal(key, "a", DATA), SecretSeal.seal(key, "a", DATA)), "a fresh nonce each time");
        assertArrayEquals(SecretSeal.fingerprint(key, DATA), SecretSeal.fingerprint(key, DATA.clone()));
        assertFalse(Arrays.equals(SecretSeal.fingerprint(key, DATA), SecretSeal.fingerprint(key, "other".getBytes(StandardCharsets.UTF_8))));
        assertFalse(Arrays.equals(SecretSeal.fingerprint(key, DATA), SecretSeal.fingerprint(SecretSeal.newKey(), DATA)),
                "a fingerprint depends on the cluster's key: it cannot be checked against guesses without it");
        assertEquals(32, SecretSeal.fingerprint(key, DATA).length);
    }
}
