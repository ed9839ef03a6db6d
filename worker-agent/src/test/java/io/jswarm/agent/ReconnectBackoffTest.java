package io.jswarm.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {
    @Test
    void doublesUpToAThirdOfTheHeartbeatPeriodWithEachWaitBetweenHalfAndAll() {
        ReconnectBackoff b = new ReconnectBackoff();
        long[] ceilings = {100, 200, 400, 800, 1_600, 1_666, 1_666};
        for (long c : ceilings) {
            long w = b.next(5_000);
            assertTrue(w >= c / 2 && w <= c, w + " not within [" + c / 2 + ", " + c + "]");
        }
        b.reset();
        assertTrue(b.next(5_000) <= 100, "a session that opened starts the count again");
    }

    @Test
    void neverBeyondTwoSecondsNorBelowTheFirstWaitsBounds() {
        ReconnectBackoff slow = new ReconnectBackoff();
        for (int i = 0; i < 20; i++) {
            assertTrue(slow.next(60_000) <= 2_000);
        }
        ReconnectBackoff fast = new ReconnectBackoff();
        for (int i = 0; i < 20; i++) {
            long w = fast.next(30);  // a period shorter than the first wait: the first wait holds
            assertTrue(w >= 50 && w <= 100, String.valueOf(w));
        }
    }

    @Test
    void aFleetThatLostItsLeaderTogetherDoesNotComeBackTogether() {
        Set<Long> firstWaits = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            firstWaits.add(new ReconnectBackoff().next(5_000));
        }
        assertTrue(firstWaits.size() > 20, "first waits spread: " + firstWaits.size() + " distinct of 200");
        assertEquals(Set.of(), firstWaits.stream().filter(w -> w < 50 || w > 100).collect(java.util.stream.Collectors.toSet()));
    }
}
