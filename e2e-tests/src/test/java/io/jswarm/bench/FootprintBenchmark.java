package io.jswarm.bench;

import io.jswarm.e2e.LocalCluster;
import io.jswarm.e2e.LocalCluster.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an idle swarmd holds: {@code bin/bench footprint [IDLE_SECONDS]} starts, with
 * swarmd's own JVM flags, a single-node cluster's manager (manager and agent, as the
 * quickstart runs it) and a worker-only agent joined to it, both on 127.0.0.1 (routing
 * mesh off, no upstream DNS: the harness's loopback nodes) and without tasks; once they
 * have been idle IDLE_SECONDS (default 60) it prints each one's RSS, threads, and the Java
 * heap and metaspace committed (from {@code jcmd GC.heap_info}), the median of five samples
 * two seconds apart, next to a bare JVM started with the same flags (a main that sleeps):
 * the floor that no code of the project's can go below.
 */
public final class FootprintBenchmark {
    /** The baseline: the JVM with swarmd's flags and nothing else to do. */
    public static final class Sleeper {
        public static void main(String[] args) throws InterruptedException {
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    record Sample(long rssKb, long threads, long heapKb, long metaspaceKb) {}

    public static void main(String[] args) throws Exception {
        int idleSeconds = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        if (System.getProperty("jswarm.javaOpts") == null) {
            // swarmd's own flags, as users run it (-Djswarm.javaOpts="..." to try others; with
            // -XX:NativeMemoryTracking=summary among them, where the memory goes is printed too)
            System.setProperty("jswarm.javaOpts", "default");
        }
        try (LocalCluster cluster = new LocalCluster()) {
            Member m1 = cluster.init("m1");
            String token = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
            Member w1 = cluster.join("w1", m1, token);
            LocalCluster.await(Duration.ofSeconds(120), () -> LocalCluster.readyNodes(m1) == 2, "w1 ready");
            Process bare = startBare(m1.pid());
            try {
                System.out.printf("footprint: idle for %d s (swarmd's own JVM flags, no tasks)...%n", idleSeconds);
                Thread.sleep(idleSeconds * 1_000L);
                Sample manager = median(m1.pid());
                Sample worker = median(w1.pid());
                Sample base = median(bare.pid());
                System.out.printf("%-44s %9s %8s %14s %16s %11s%n", "process", "RSS", "threads", "heap committed",
                        "metaspace comm.", "other");
                print("manager and agent (single-node cluster)", manager);
                print("worker-only agent", worker);
                print("bare JVM, same flags (baseline)", base);
                System.out.printf("above the bare JVM: manager %d MB, worker %d MB%n",
                        (manager.rssKb() - base.rssKb()) / 1024, (worker.rssKb() - base.rssKb()) / 1024);
                nativeMemory("manager and agent", m1.pid());
                nativeMemory("worker-only agent", w1.pid());
            } finally {
                bare.destroyForcibly();
                bare.waitFor();
            }
        }
    }

    private static void print(String what, Sample s) {
        long other = s.rssKb() - s.heapKb() - s.metaspaceKb();
        System.out.printf("%-44s %6d MB %8d %11d MB %13d MB %8d MB%n", what, s.rssKb() / 1024, s.threads(),
                s.heapKb() / 1024, s.metaspaceKb() / 1024, other / 1024);
    }

    /** java with the flags swarmd runs with (read from its command line), running {@link Sleeper}. */
    private static Process startBare(long swarmdPid) throws Exception {
        String[] swarmd = Files.readString(Path.of("/proc/" + swarmdPid + "/cmdline")).split("\0");
        List<String> cmd = new ArrayList<>(List.of(swarmd[0]));
        for (int i = 1; i < swarmd.length; i++) {
            if (swarmd[i].equals("-cp")) {
                break;
            }
            cmd.add(swarmd[i]);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Sleeper.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("MALLOC_ARENA_MAX", System.getenv().getOrDefault("MALLOC_ARENA_MAX", "2"));  // as bin/swarmd
        return pb.start();
    }

    private static Sample median(long pid) throws Exception {
        List<Sample> s = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            s.add(sample(pid));
            Thread.sleep(2_000);
        }
        s.sort((a, b) -> Long.compare(a.rssKb(), b.rssKb()));
        return s.get(2);
    }

    private static final Pattern NMT = Pattern.compile("-\\s+([A-Za-z ]+?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");

    /** The JVM's own account by category (committed), when it runs with native memory tracking. */
    private static void nativeMemory(String what, long pid) throws Exception {
        Process p = new ProcessBuilder("jcmd", Long.toString(pid), "VM.native_memory", "summary").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        Matcher m = NMT.matcher(out);
        StringBuilder line = new StringBuilder();
        while (m.find()) {
            long mb = Long.parseLong(m.group(2)) / 1024;
            if (mb > 0) {
                line.append(line.length() == 0 ? "" : ", ").append(m.group(1).trim().toLowerCase()).append(' ').append(mb).append(" MB");
            }
        }
        if (line.length() > 0) {
            System.out.println(what + ", native memory tracking (committed): " + line);
        }
    }

    private static final Pattern HEAP = Pattern.compile("heap\\s+total (\\d+)K");
    private static final Pattern METASPACE = Pattern.compile("Metaspace\\s+used \\d+K, committed (\\d+)K");

    private static Sample sample(long pid) throws Exception {
        long rss = 0;
        long threads = 0;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                rss = Long.parseLong(l.replaceAll("[^0-9]", ""));
            } else if (l.startsWith("Threads:")) {
                threads = Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        Process p = new ProcessBuilder("jcmd", Long.toString(pid), "GC.heap_info").redirectErrorStream(true).start();
        String info = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        Matcher h = HEAP.matcher(info);
        Matcher m = METASPACE.matcher(info);
        return new Sample(rss, threads, h.find() ? Long.parseLong(h.group(1)) : 0, m.find() ? Long.parseLong(m.group(1)) : 0);
    }
}
