package io.jswarm.manager.control;

/**
 * Puts a user's value into a message safely: control characters escaped (a name holding
 * ESC[31m must not recolour the terminal, one holding a newline must not split the
 * message), and long values cut, so that a refusal stays one short line and fits in a
 * gRPC status (a 1 MB value echoed whole broke the transport instead).
 */
public final class Quote {
    /** Values longer than this are cut in messages. */
    static final int MAX_SHOWN = 64;

    private Quote() {}

    /** {@code "value"}, escaped, cut after {@value #MAX_SHOWN} characters with the full length said. */
    public static String of(String value) {
        if (value == null) {
            return "\"\"";
        }
        String shown = value.length() > MAX_SHOWN ? value.substring(0, MAX_SHOWN) : value;
        String q = "\"" + escape(shown).replace("\"", "\\\"") + "\"";
        return value.length() > MAX_SHOWN ? q + "... (" + value.length() + " characters)" : q;
    }

    /** The text with every control character written as an escape (\n, \t, \r, \e, \xNN). */
    public static String escape(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!isControl(c)) {
                if (b != null) {
                    b.append(c);
                }
                continue;
            }
            if (b == null) {
                b = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case 0x1b -> b.append("\\e");
                default -> b.append(String.format("\\x%02x", (int) c));
            }
        }
        return b == null ? text : b.toString();
    }

    /** C0 and C1 control characters and DEL. */
    public static boolean isControl(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f);
    }

    /** Whether the text holds any control character. */
    public static boolean hasControl(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (isControl(text.charAt(i))) {
                return true;
            }
        }
        return false;
    }
}
