package io.jswarm.e2e;

import io.jswarm.api.Task;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Commands run inside a task's container (runc exec) or in its network namespace, as the network tests and benchmarks need. */
public final class InContainer {
    private InContainer() {}

    /** The task's network namespace, as the agent names it. */
    public static String netns(Task t) {
        return "/var/run/netns/jswarm-" + t.getMeta().getId().substring(0, 12);
    }

    /** The task's address on its first network. */
    public static String addr(Task t) {
        String a = t.getNetworks(0).getAddresses(0);
        return a.substring(0, a.indexOf('/'));
    }

    /** Runs a command inside the container; its output (stdout and stderr), or "exit N: ..." on failure. */
    public static String exec(LocalCluster cluster, Task t, String... cmd) throws Exception {
        List<String> c = new ArrayList<>(List.of("runc", "--root", cluster.runtimeRoot(t.getMeta().getId()).toString(), "exec", t.getMeta().getId()));
        c.addAll(List.of(cmd));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    /** The IPv4 addresses busybox nslookup, inside the container, prints for a name (the server's own left out). */
    public static Set<String> resolve(LocalCluster cluster, Task from, String name) throws Exception {
        String out = exec(cluster, from, "nslookup", name);
        Set<String> addrs = new TreeSet<>();
        boolean answers = false;
        for (String line : out.split("\n")) {
            if (line.startsWith("Name:")) {
                answers = true;
            }
            Matcher m = Pattern.compile("^Address(?: \\d+)?:\\s+(\\d+\\.\\d+\\.\\d+\\.\\d+)").matcher(line.trim());
            if (answers && m.find()) {
                addrs.add(m.group(1));
            }
        }
        return addrs;
    }

    /** GET a URL from inside the container, bounded by timeout(1): busybox-static's own -T option crashes it (exit 139). */
    public static String wget(LocalCluster cluster, Task from, String url) throws Exception {
        return exec(cluster, from, "timeout", "5", "wget", "-q", "-O", "-", url).trim();
    }
}
