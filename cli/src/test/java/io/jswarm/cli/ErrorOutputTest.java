package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** What swarmctl prints for the ways a manager's answer can go wrong: words, never a class name. */
class ErrorOutputTest {
    @Test
    void anUnknownOutcomeSaysTheRequestMayHaveBeenAppliedAndHasItsOwnExitStatus() {
        var server = Status.DEADLINE_EXCEEDED.withDescription("manager m3 cannot reach a quorum of managers (2 of 3 unreachable);"
                + " the request may have been applied: check with `swarmctl service ls` (running it again is safe)").asRuntimeException();
        assertTrue(Swarmctl.outcomeUnknown(server));
        assertEquals(server.getStatus().getDescription(), Swarmctl.describe(server));
        // The client's own deadline: the same case, in words.
        var client = Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded after 59.999s. [remote_addr=...]").asRuntimeException();
        assertTrue(Swarmctl.outcomeUnknown(client));
        assertTrue(Swarmctl.describe(client).contains("may have been applied"), Swarmctl.describe(client));
        assertFalse(Swarmctl.outcomeUnknown(Status.UNAVAILABLE.withDescription("x").asRuntimeException()));
    }

    @Test
    void transportFailuresAndBugsNameNoJavaClass() {
        String down = Swarmctl.describe(Status.UNAVAILABLE.withDescription("io exception").asRuntimeException());
        assertTrue(down.startsWith("cannot reach the manager"), down);
        assertFalse(down.contains("io exception"), down);
        assertEquals("internal", Swarmctl.describe(Status.INTERNAL.asRuntimeException()));
        assertEquals("unexpected failure in swarmctl", Swarmctl.describe(new NullPointerException()));
        assertEquals("boom", Swarmctl.describe(new IllegalStateException("boom")));
    }
}
