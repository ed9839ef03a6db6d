package io.jswarm.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jswarm.api.dispatcher.SessionMessage;
import org.junit.jupiter.api.Test;

class HeartbeatPeriodTest {
    @Test
    void aMessageWithoutAPeriodKeepsTheOneHeld() {
        assertEquals(5_000, Agent.heartbeatPeriod(SessionMessage.newBuilder().setSessionId("s").build(), 5_000));
        assertEquals(2_000, Agent.heartbeatPeriod(SessionMessage.newBuilder().setHeartbeatPeriodMs(2_000).build(), 5_000));
        assertEquals(100, Agent.heartbeatPeriod(SessionMessage.newBuilder().setHeartbeatPeriodMs(10).build(), 5_000), "at least 100 ms");
    }
}
