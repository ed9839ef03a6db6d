package io.jswarm.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Simulated hosts: each is a network namespace with its own address on a test bridge in
 * the root namespace, whose address (the gateway) serves the test registry. Everything
 * is removed in {@link #close()}: namespaces, veth pairs, the bridge, and the iptables
 * rule added when the machine's FORWARD chain would drop bridged traffic.
 */
public final class TestNetwork implements AutoCloseable {
    public final String tag;
    public final String bridge;
    public final String prefix;   // e.g. 10.231.17
    private boolean forwardRule;

    /** One simulated host. */
    public record Host(String name, String netns, String ip, String veth) {}

    /** A new network with names and a subnet of its own (10.231.10.0/24 to 10.231.249.0/24). */
    public TestNetwork() throws IOException {
        this(Long.toHexString(ThreadLocalRandom.current().nextLong(0x1000, 0xffff)),
                "10.231." + ThreadLocalRandom.current().nextInt(10, 250), true);
    }

    /**
     * The network named by this tag on PREFIX.0/24: made (create), or one made earlier and
     * still there (bin/cluster's later commands), whose hosts {@link #host} names again.
     */
    public TestNetwork(String tag, String prefix, boolean create) throws IOException {
        this.tag = tag;
        this.bridge = "jsbr" + tag;
        this.prefix = prefix;
        if (!create) {
            forwardRule = true;  // removed in close() if it is there
            return;
        }
        run("ip", "link", "add", bridge, "type", "bridge");
        run("ip", "addr", "add", gateway() + "/24", "dev", bridge);
        run("ip", "link", "set", bridge, "up");
        if (hasIptables() && !out("iptables", "-S", "FORWARD").contains("-P FORWARD ACCEPT")) {
            run("iptables", "-I", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT");
            forwardRule = true;
        }
    }

    public String gateway() {
        return prefix + ".1";
    }

    /** Host number n (1..200) as {@link #addHost} names it, without making anything. */
    public Host host(String name, int n) {
        return new Host(name, "jsh" + tag + "-" + name, prefix + "." + (10 + n), "jsv" + tag + n);
    }

    /** Adds host number n (1..200): namespace, veth into the bridge, address PREFIX.(10+n). */
    public Host addHost(String name, int n) throws IOException {
        Host h = host(name, n);
        String ns = h.netns();
        String veth = h.veth();
        String ip = h.ip();
        run("ip", "netns", "add", ns);
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        run("ip", "link", "set", veth, "master", bridge);
        run("ip", "link", "set", veth, "up");
        run("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0");
        run("ip", "-n", ns, "link", "set", "eth0", "up");
        run("ip", "-n", ns, "link", "set", "lo", "up");
        return h;
    }

    /** Cuts a host off the network (its link down), or brings it back. */
    public void link(Host h, boolean up) throws IOException {
        run("ip", "link", "set", h.veth(), up ? "up" : "down");
    }

    static boolean hasIptables() {
        for (String d : new String[] {"/usr/sbin", "/sbin", "/usr/bin"}) {
            if (Files.isExecutable(Path.of(d, "iptables"))) {
                return true;
            }
        }
        return false;
    }

    static String out(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + o);
        }
        return o;
    }

    static void run(String... cmd) throws IOException {
        out(cmd);
    }

    @Override
    public void close() {
        // Every host of this tag, also those a crashed earlier process made.
        try (var all = Files.isDirectory(Path.of("/var/run/netns")) ? Files.list(Path.of("/var/run/netns")) : java.util.stream.Stream.<Path>empty()) {
            for (Path ns : all.toList()) {
                if (ns.getFileName().toString().startsWith("jsh" + tag + "-")) {
                    LocalCluster.quietly("ip", "netns", "delete", ns.getFileName().toString());
                }
            }
        } catch (IOException e) {
            // best effort: the bridge still goes
        }
        LocalCluster.quietly("ip", "link", "delete", bridge);
        if (forwardRule) {
            LocalCluster.quietly("iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT");
        }
    }
}
