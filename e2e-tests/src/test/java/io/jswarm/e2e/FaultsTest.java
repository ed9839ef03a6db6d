package io.jswarm.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.e2e.FaultScenarios.Round;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The fault suite: three managers and two workers on simulated hosts (see
 * {@link FaultScenarios}), each fault repeated {@value #ROUNDS} times. Every round must keep
 * every property at zero: acknowledged writes lost, writes acknowledged by the cut-off
 * side, stale reads through it, managers not writing within 10 s of the heal, healthy
 * nodes marked down, a healed worker not READY within two heartbeat periods or marked
 * down again, slots with two running containers, orphan containers, containers started
 * twice after a restart, error messages naming a Java exception.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FaultsTest {
    /** Rounds of each fault (-Dfaults.rounds=N to change). */
    static final int ROUNDS = Integer.getInteger("faults.rounds", 3);
    static FaultScenarios faults;

    @BeforeAll
    static void start() throws Exception {
        faults = new FaultScenarios();
    }

    @AfterAll
    static void stop() throws Exception {
        if (faults != null) {
            faults.close();
        }
    }

    interface Scenario {
        Round run(int round) throws Exception;
    }

    static void rounds(Scenario s) throws Exception {
        List<String> violations = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            Round r = s.run(i);
            System.out.println("FaultsTest " + r.scenario + " round " + i + ": " + r.counts + " " + r.seconds);
            violations.addAll(r.violations());
        }
        assertEquals(List.of(), violations);
    }

    @Test
    @Order(1)
    void leaderPartitionedUnderThreeWritersThenHealed() throws Exception {
        rounds(i -> faults.managerPartition(i, true));
    }

    @Test
    @Order(2)
    void followerPartitionedThenHealed() throws Exception {
        rounds(i -> faults.managerPartition(i, false));
    }

    @Test
    @Order(3)
    void workerWithRunningTasksPartitionedPastNodeDown() throws Exception {
        rounds(faults::workerPartition);
    }

    @Test
    @Order(4)
    void everySwarmdKilledAndRestarted() throws Exception {
        rounds(faults::killAll);
    }

    @Test
    @Order(5)
    void managerOnAFullDiskThenFreed() throws Exception {
        rounds(faults::fullDisk);
    }

    @Test
    @Order(6)
    void theCliSaysWhatHappenedThroughACutOffManager() throws Exception {
        LocalCluster.Member leader = faults.leader();
        LocalCluster.Member cut = faults.managers.stream().filter(m -> m != leader).findFirst().orElseThrow();
        faults.net.link(cut.host, false);
        try {
            Thread.sleep(3_000);
            LocalCluster.Result ls = faults.cluster.swarmctl(cut, "service", "ls");
            assertEquals(1, ls.exit(), ls.err());
            assertTrue(ls.err().contains("cannot reach a quorum of managers (2 of 3 unreachable)"), ls.err());
            LocalCluster.Result create = faults.cluster.swarmctl(cut, "service", "create", "-d", "--name", "cli-cut",
                    "--replicas", "0", faults.registry.addr + "/busybox:1");
            assertTrue(create.exit() == 1 || create.exit() == 3, create.err());
            assertTrue(create.err().contains("cannot reach a quorum"), create.err());
            for (String err : List.of(ls.err(), create.err())) {
                assertTrue(!FaultScenarios.JAVA_NAME.matcher(err).find(), err);
                assertEquals(1, err.strip().lines().count(), err);
            }
        } finally {
            faults.net.link(cut.host, true);
        }
    }
}
