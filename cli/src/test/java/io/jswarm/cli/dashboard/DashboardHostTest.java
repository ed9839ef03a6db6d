package io.jswarm.cli.dashboard;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which Host headers the loopback dashboard answers: loopback names and addresses only (no DNS rebinding). */
class DashboardHostTest {
    @Test
    void loopbackNamesAndAddressesOnly() {
        for (String h : new String[] {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
            assertTrue(Dashboard.hostAllowed(h), h);
        }
        for (String h : new String[] {"evil.example", "localhost.evil.example", "10.0.0.1", "0.0.0.0", "", "[::2]"}) {
            assertFalse(Dashboard.hostAllowed(h), h);
        }
        assertFalse(Dashboard.hostAllowed(null), "no Host at all");
    }
}
