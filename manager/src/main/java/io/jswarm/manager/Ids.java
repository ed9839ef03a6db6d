package io.jswarm.manager;

import java.security.SecureRandom;

/** Random object ids: 25 characters of [0-9a-z], like Docker's. */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz".toCharArray();

    private Ids() {}

    public static String newId() {
        return random(25);
    }

    public static String random(int length) {
        char[] c = new char[length];
        for (int i = 0; i < length; i++) {
            c[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        }
        return new String(c);
    }
}
