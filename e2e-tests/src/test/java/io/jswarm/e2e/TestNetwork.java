package io.jswarm.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    private final List<String> namespaces = new ArrayList<>();
    private boolean forwardRule;

    /** One simulated host. */
    public record Host(String name, String netns, String ip, String veth) {}

    public TestNetwork() throws IOException {
        this.tag = Long.toHexString(ThreadLocalRandom.current().nextLong(0x1000, 0xffff));
        this.bridge = "jsbr" + tag;
        this.prefix = "10.231." + ThreadLocalRandom.current().nextInt(10, 250);
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

    /** Adds host number n (1..200): namespace, veth into the bridge, address PREFIX.(10+n). */
    public Host addHost(String name, int n) throws IOException {
        String ns = "jsh" + tag + "-" + name;
        String veth = "jsv" + tag + n;
        String ip = prefix + "." + (10 + n);
        run("ip", "netns", "add", ns);
        namespaces.add(ns);
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        run("ip", "link", "set", veth, "master", bridge);
        run("ip", "link", "set", veth, "up");
        run("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0");
        run("ip", "-n", ns, "link", "set", "eth0", "up");
        run("ip", "-n", ns, "link", "set", "lo", "up");
        return new Host(name, ns, ip, veth);
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
        for (String ns : namespaces) {
            LocalCluster.quietly("ip", "netns", "delete", ns);
        }
        LocalCluster.quietly("ip", "link", "delete", bridge);
        if (forwardRule) {
            LocalCluster.quietly("iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT");
        }
    }
}
