package io.jswarm.manager.network;

/**
 * An IPv4 subnet (base address and prefix length), the arithmetic the allocator needs.
 * Addresses are held as unsigned 32-bit values in a long to keep comparisons plain.
 */
public record Subnet(long base, int prefix) {
    public Subnet {
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("prefix length " + prefix + " is not 0-32");
        }
        if ((base & ~mask(prefix)) != 0) {
            throw new IllegalArgumentException(Ipv4.format(base) + "/" + prefix + " has host bits set");
        }
    }

    /** Parses "10.0.1.0/24". Host bits set ("10.0.1.5/24") are an error, as in Docker. */
    public static Subnet parse(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("\"" + cidr + "\" is not a CIDR subnet such as 10.0.9.0/24");
        }
        long addr = Ipv4.parse(cidr.substring(0, slash));
        String p = cidr.substring(slash + 1);
        if (!p.matches("\\d{1,2}") || Integer.parseInt(p) > 32) {
            throw new IllegalArgumentException("\"" + cidr + "\" has an invalid prefix length (expected 0-32)");
        }
        int prefix = Integer.parseInt(p);
        if ((addr & ~mask(prefix)) != 0) {
            throw new IllegalArgumentException("\"" + cidr + "\" has host bits set: did you mean "
                    + Ipv4.format(addr & mask(prefix)) + "/" + prefix + "?");
        }
        return new Subnet(addr, prefix);
    }

    static long mask(int prefix) {
        return prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
    }

    public long size() {
        return 1L << (32 - prefix);
    }

    public long last() {
        return base + size() - 1;
    }

    public boolean contains(long addr) {
        return addr >= base && addr <= last();
    }

    public boolean overlaps(Subnet o) {
        return base <= o.last() && o.base <= last();
    }

    /** The first usable address, which Docker gives the gateway. */
    public long firstHost() {
        return prefix >= 31 ? base : base + 1;
    }

    /** True for an address a task may hold: inside, and neither the network nor the broadcast address. */
    public boolean usable(long addr) {
        if (!contains(addr)) {
            return false;
        }
        return prefix >= 31 || (addr != base && addr != last());
    }

    /** The address with this subnet's prefix length: "10.0.1.7/24". */
    public String cidrOf(long addr) {
        return Ipv4.format(addr) + "/" + prefix;
    }

    @Override
    public String toString() {
        return Ipv4.format(base) + "/" + prefix;
    }
}
