package io.jswarm.manager.dispatcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HeartbeatsTest {
    private static final long LIMIT = 15_000;

    /** Pulses every 100 ms from {@code from} to {@code to}, as the timer does on a manager that runs. */
    private static void run(Heartbeats h, long from, long to) {
        for (long t = from; t <= to; t += Heartbeats.PULSE_MS) {
            h.pulse(t);
        }
    }

    @Test
    void aNodeSilentBeyondTheLimitIsSilent() {
        Heartbeats h = new Heartbeats();
        h.activate(0);
        h.heard("n1", 1_000);
        run(h, 0, 16_000);
        assertFalse(h.silent("n1", 16_000, LIMIT));
        run(h, 16_000, 16_100);
        assertTrue(h.silent("n1", 16_100, LIMIT));
        assertEquals(0, h.stalledMs(), "a manager that ran all along forgives nothing");
    }

    @Test
    void theManagersOwnStallIsNotHeldAgainstNodes() {
        Heartbeats h = new Heartbeats();
        h.activate(0);
        h.heard("n1", 1_000);
        run(h, 0, 5_000);
        // The manager stands still for 12 s (a long collection): no heartbeat could be read.
        h.pulse(17_000);
        assertEquals(11_900, h.stalledMs());
        assertFalse(h.silent("n1", 17_000, LIMIT), "heard 16 s ago, 12 of them while this manager stood still");
        run(h, 17_100, 27_800);
        assertFalse(h.silent("n1", 27_800, LIMIT));
        run(h, 27_900, 28_100);
        assertTrue(h.silent("n1", 28_100, LIMIT), "silent for 15 s of the manager's own running time");
        h.heard("n1", 28_200);
        assertTrue(h.recent("n1", 28_200, LIMIT));
    }

    @Test
    void aLateWakeBelowTheThresholdIsNoStall() {
        Heartbeats h = new Heartbeats();
        h.activate(0);
        h.pulse(100);
        h.pulse(100 + Heartbeats.PULSE_MS + Heartbeats.STALL_MS);  // late by exactly the threshold
        assertEquals(0, h.stalledMs());
    }

    @Test
    void aNodeNotHeardSinceTheElectionGetsTwiceTheGrace() {
        Heartbeats h = new Heartbeats();
        h.activate(10_000);
        run(h, 10_000, 40_000);
        assertFalse(h.silent("n1", 40_000, LIMIT), "its session may still be on its way from the old leader");
        run(h, 40_100, 40_100);
        assertTrue(h.silent("n1", 40_100, LIMIT));
        assertFalse(h.recent("n1", 40_100, LIMIT));
    }

    @Test
    void nodesNotYetBackAreNotJudgedWhileOthersAreStillComingBack() {
        Heartbeats h = new Heartbeats();
        h.activate(0);
        // 2,000 nodes reconnect to the new leader over 80 s, one every 40 ms.
        for (long t = 0; t < 80_000; t += 100) {
            h.pulse(t);
            if (t >= 5_000) {
                h.heard("back-" + t, t);
                h.heard("back-" + (t + 40), t);
            }
            assertFalse(h.silent("last", t, LIMIT), "at " + t + " ms: nodes are still coming back");
        }
        // The last node back heard from at 79,900: one not back by 79,900 + LIMIT is silent.
        run(h, 80_000, 79_900 + LIMIT);
        assertFalse(h.silent("last", 79_900 + LIMIT, LIMIT));
        run(h, 79_900 + LIMIT + 100, 79_900 + LIMIT + 100);
        assertTrue(h.silent("last", 79_900 + LIMIT + 100, LIMIT));
    }

    /** Ten nodes heartbeating every 5 s, heard last at the given times. */
    private static Heartbeats fleet(long... lastHeard) {
        Heartbeats h = new Heartbeats();
        h.activate(0);
        for (int i = 0; i < lastHeard.length; i++) {
            h.heard("n" + i, lastHeard[i]);
        }
        return h;
    }

    private static java.util.List<String> ids(int n) {
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> "n" + i).toList();
    }

    @Test
    void nodesSilentPastThreePeriodsExpireWhileMostAreOnTime() {
        // Four of ten silent since 10 s (past 15 s at 26 s), six heard a moment ago.
        Heartbeats h = fleet(10_000, 10_000, 10_000, 10_000, 25_000, 25_000, 25_000, 25_000, 25_000, 25_000);
        run(h, 0, 26_000);
        Heartbeats.Verdict v = h.judge(ids(10), 26_000, 5_000);
        assertFalse(v.held());
        assertEquals(java.util.List.of("n0", "n1", "n2", "n3"), v.expired());
        assertEquals(4, v.late());
    }

    @Test
    void noneIsMarkedDownWhileMostNodesAreLateAtOnce() {
        // The manager reads every connection late: two nodes past three periods, four more past
        // one and a half: six of ten late (60%), so the two are not marked down yet.
        Heartbeats h = fleet(10_000, 10_000, 17_000, 17_000, 17_000, 17_000, 25_000, 25_000, 25_000, 25_000);
        run(h, 0, 26_000);
        Heartbeats.Verdict v = h.judge(ids(10), 26_000, 5_000);
        assertTrue(v.held());
        assertEquals(java.util.List.of(), v.expired());
        assertEquals(6, v.late());
        // Their heartbeats are read again: the two that really stopped are marked down.
        for (int i = 2; i < 10; i++) {
            h.heard("n" + i, 26_500);
        }
        v = h.judge(ids(10), 26_500, 5_000);
        assertFalse(v.held());
        assertEquals(java.util.List.of("n0", "n1"), v.expired());
    }

    @Test
    void oneOrTwoNodesOfASmallClusterExpireWhateverTheirShare() {
        Heartbeats h = fleet(10_000, 10_000, 25_000);
        run(h, 0, 26_000);
        Heartbeats.Verdict v = h.judge(ids(3), 26_000, 5_000);
        assertFalse(v.held(), "two of three is a share, but two nodes dying alone is not unusual");
        assertEquals(java.util.List.of("n0", "n1"), v.expired());
    }

    @Test
    void theNodesAWaveHasTakenCountWithThoseItIsAboutTo() {
        // Four of ten expire first (40%: marked down).
        Heartbeats h = fleet(10_000, 10_000, 10_000, 10_000, 22_000, 22_000, 22_000, 22_000, 22_000, 22_000);
        run(h, 0, 26_000);
        Heartbeats.Verdict first = h.judge(ids(10), 26_000, 5_000);
        assertEquals(java.util.List.of("n0", "n1", "n2", "n3"), first.expired());
        // Two more expire and two are late 11 s later: with the four just marked down, eight of
        // ten are late, so none more goes.
        h.heard("n6", 29_000);
        h.heard("n7", 29_000);
        h.heard("n8", 36_000);
        h.heard("n9", 36_000);
        run(h, 26_100, 37_100);
        Heartbeats.Verdict next = h.judge(ids(10).subList(4, 10), 37_100, 5_000);
        assertTrue(next.held(), next.toString());
        assertEquals(8, next.late());
        assertEquals(10, next.judged());
        // Three periods after the wave, the nodes it took no longer count: the two go if still silent.
        for (int i = 6; i < 10; i++) {
            h.heard("n" + i, 41_000);
        }
        run(h, 37_200, 41_100);
        Heartbeats.Verdict later = h.judge(ids(10).subList(4, 10), 41_100, 5_000);
        assertFalse(later.held(), later.toString());
        assertEquals(java.util.List.of("n4", "n5"), later.expired());
    }
}
