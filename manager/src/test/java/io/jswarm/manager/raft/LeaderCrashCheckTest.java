package io.jswarm.manager.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.protocol.TermIndex;
import org.junit.jupiter.api.Test;

/** Which survivor of a crashed leader stands: every survivor must pick the same one, and one that can win. */
class LeaderCrashCheckTest {
    private static LeaderCrashCheck.Candidate c(String id, long term, long index, long followingMs) {
        return new LeaderCrashCheck.Candidate(RaftPeerId.valueOf(id), TermIndex.valueOf(term, index), followingMs, false);
    }

    private static String best(LeaderCrashCheck.Candidate... cs) {
        return List.of(cs).stream().max(LeaderCrashCheck.Candidate::compareTo).orElseThrow().id().toString();
    }

    @Test
    void theLongestLogStandsForOnlyItCanWinTheOthersVotes() {
        assertEquals("b", best(c("a", 3, 100, 600_000), c("b", 3, 101, 5_000)));
        assertEquals("a", best(c("a", 4, 90, 5_000), c("b", 3, 101, 600_000)), "a later term beats a longer log");
    }

    @Test
    void betweenEqualLogsTheOneFollowingLongestThenTheLowerId() {
        assertEquals("b", best(c("a", 3, 100, 6_000), c("b", 3, 100, 600_000)), "not the manager that has just restarted");
        assertEquals("a", best(c("b", 3, 100, 1_000), c("a", 3, 100, 1_000)));
        assertEquals("a", best(c("a", 3, 100, 1_000), c("b", 3, 100, 1_000)), "the same answer whatever the order");
    }
}
