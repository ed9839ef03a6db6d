package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.TaskState;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.tls.NodeTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Autolock against real swarmd processes on 127.0.0.1: three managers (the first
 * initialized with --autolock) and a worker. A restarted manager serves nothing until
 * unlocked with the right key; turning autolock off lets managers restart unattended.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AutolockTest {
    /** Files the tests write (certificates, secrets): removed with the class. */
    @TempDir
    static Path tmp;
    static LocalCluster cluster;
    static TestRegistry registry;
    static Member m1;
    static String image;
    static String unlockKey;

    @BeforeAll
    static void startCluster() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        image = TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        m1 = cluster.init("m1", "--heartbeat-period", "1s", "--autolock");
        Matcher k = Pattern.compile("SWMKEY-1-[A-Za-z0-9+/]+").matcher(m1.logText());
        assertTrue(k.find(), "swarmd --autolock prints the unlock key: " + m1.logText());
        unlockKey = k.group();
        String managerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
        cluster.join("m2", m1, managerToken);
        cluster.join("m3", m1, managerToken);
        cluster.join("w1", m1, cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim());
        await(Duration.ofSeconds(90), () -> LocalCluster.readyNodes(m1) == 4, "all four nodes are ready");
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    static boolean keyLocked(String member) {
        try {
            return NodeTls.locked(cluster.member(member).stateDir);
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    @Order(1)
    void managersKeepTheirKeysSealedAndTheUnlockKeyIsShownOnlyOnTheSocket() throws Exception {
        await(Duration.ofSeconds(30), () -> keyLocked("m1") && keyLocked("m2") && keyLocked("m3"),
                "every manager's key file is sealed under the unlock key");
        assertFalse(keyLocked("w1"), "autolock is the managers': a worker's key stays plain");
        assertEquals(unlockKey, cluster.swarmctl(cluster.member("m3"), "cluster", "unlock-key", "-q").ok().out().trim(),
                "a manager that joined later holds the same key");
        String inspect = cluster.swarmctl(m1, "cluster", "inspect").ok().out();
        assertTrue(inspect.contains("\"autolock\": true"), inspect);
        for (String field : List.of("dataKey", "dataKeyLocked", "unlockKeySealed", "rootCaKeySealed", unlockKey)) {
            assertFalse(inspect.contains(field), field + " in cluster inspect");
        }
    }

    @Test
    @Order(2)
    void aRestartedManagerServesNothingUntilUnlockedWithTheRightKey() throws Exception {
        Path files = Files.createDirectories(tmp.resolve("autolock"));
        Files.writeString(files.resolve("pw"), "autolocked-secret");
        cluster.swarmctl(m1, "secret", "create", "pw", files.resolve("pw").toString()).ok();
        Member m3 = cluster.member("m3");
        m3.kill();
        m3.start();
        await(Duration.ofSeconds(60), () -> m3.logText().contains("this manager is locked"), "m3 starts locked");
        await(Duration.ofSeconds(30), () -> Files.exists(m3.socket()), "m3's socket is there");
        LocalCluster.Result ls = cluster.swarmctl(m3, "service", "ls");
        assertEquals(1, ls.exit());
        assertTrue(ls.err().contains("this manager is locked") && ls.err().contains("swarmctl cluster unlock"), ls.err());
        // The others go on: two of three managers are a quorum.
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "withpw", "--secret", "pw", "--constraint", "node.role==worker",
                image).ok();
        await(Duration.ofSeconds(90), () -> tasks(m1, "withpw").stream().anyMatch(t -> t.getStatus().getState() == TaskState.RUNNING),
                "a service with a secret runs while m3 is locked");
        // A wrong key (well formed) and a malformed one: refused, m3 stays locked.
        String wrong = "SWMKEY-1-" + java.util.Base64.getEncoder().withoutPadding().encodeToString(new byte[32]);
        LocalCluster.Result bad = cluster.swarmctlWithInput(m3, wrong + "\n", "cluster", "unlock");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("invalid unlock key"), bad.err());
        LocalCluster.Result junk = cluster.swarmctlWithInput(m3, "not-a-key\n", "cluster", "unlock");
        assertEquals(1, junk.exit());
        assertTrue(junk.err().contains("invalid unlock key"), junk.err());
        assertEquals(1, cluster.swarmctl(m3, "node", "ls").exit(), "still locked");
        // The right key: m3 starts and serves, secrets included.
        cluster.swarmctlWithInput(m3, unlockKey + "\n", "cluster", "unlock").ok();
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.swarmctl(m3, "node", "ls").exit() == 0 && LocalCluster.readyNodes(m3) == 4;
            } catch (Exception e) {
                return false;
            }
        }, "m3 serves again and sees every node ready");
        assertEquals(unlockKey, cluster.swarmctl(m3, "cluster", "unlock-key", "-q").ok().out().trim());
    }

    @Test
    @Order(3)
    void turnedOffManagersRestartUnattended() throws Exception {
        cluster.swarmctl(m1, "cluster", "update", "--autolock=false").ok();
        await(Duration.ofSeconds(30), () -> !keyLocked("m1") && !keyLocked("m2") && !keyLocked("m3"), "every key file is plain again");
        Member m2 = cluster.member("m2");
        m2.kill();
        m2.start();
        await(Duration.ofSeconds(60), () -> {
            try {
                return cluster.swarmctl(m2, "node", "ls").exit() == 0;
            } catch (Exception e) {
                return false;
            }
        }, "m2 serves after a restart without unlock");
        assertFalse(cluster.swarmctl(m1, "cluster", "unlock-key").exit() == 0, "no unlock key once autolock is off");
        // And on again: a new key, printed once by cluster update.
        LocalCluster.Result on = cluster.swarmctl(m1, "cluster", "update", "--autolock=true").ok();
        Matcher k = Pattern.compile("SWMKEY-1-[A-Za-z0-9+/]+").matcher(on.out());
        assertTrue(k.find(), on.out());
        assertFalse(k.group().equals(unlockKey), "a new unlock key");
        await(Duration.ofSeconds(30), () -> keyLocked("m1") && keyLocked("m2") && keyLocked("m3"), "every key file is sealed again");
    }
}
