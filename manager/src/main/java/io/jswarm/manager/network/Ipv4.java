package io.jswarm.manager.network;

/** Dotted-quad IPv4 addresses as unsigned 32-bit values in a long. */
public final class Ipv4 {
    private Ipv4() {}

    public static long parse(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("\"" + s + "\" is not an IPv4 address");
        }
        long v = 0;
        for (String p : parts) {
            if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > 255) {
                throw new IllegalArgumentException("\"" + s + "\" is not an IPv4 address");
            }
            v = (v << 8) | Integer.parseInt(p);
        }
        return v;
    }

    public static String format(long v) {
        return ((v >> 24) & 255) + "." + ((v >> 16) & 255) + "." + ((v >> 8) & 255) + "." + (v & 255);
    }

    /** "10.0.1.7/24" or "10.0.1.7" to "10.0.1.7". */
    public static String withoutPrefix(String cidrOrAddr) {
        int slash = cidrOrAddr.indexOf('/');
        return slash < 0 ? cidrOrAddr : cidrOrAddr.substring(0, slash);
    }
}
