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

    /** What one swarmctl or swarmd command line prints on stderr, and its exit status. */
    private static String[] stderrOf(java.util.function.ToIntFunction<String[]> cli, String... args) {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            int status = cli.applyAsInt(args);
            return new String[] {String.valueOf(status), err.toString(java.nio.charset.StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void anEmptyFlagValueIsRefusedBeforeAnythingRuns() {
        // No manager listens at this socket: a refusal that came from trying to reach one would say so.
        String socket = "--socket=/nonexistent/swarmd.sock";
        for (String[] args : new String[][] {
            {socket, "service", "create", "--user", "", "127.0.0.1:5000/busybox:1"},
            {socket, "service", "create", "--hostname=", "127.0.0.1:5000/busybox:1"},
            {socket, "service", "update", "--workdir", " ", "web"},
            {socket, "service", "create", "--env", "", "127.0.0.1:5000/busybox:1"},
            {"--host", "", "service", "ls"},
        }) {
            String[] r = stderrOf(Swarmctl::run, args);
            assertEquals("1", r[0], String.join(" ", args));
            assertTrue(r[1].matches("Error: --[a-z-]+: empty value; leave the flag out for its default\\n"), r[1]);
        }
        String[] r = stderrOf(Swarmctl::run, socket, "service", "create", "--stop-signal=", "img");
        assertEquals("Error: --stop-signal: empty value; leave the flag out for its default\n", r[1]);
        r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--runtime-root", "");
        assertEquals("swarmd: --runtime-root: empty value; leave the flag out for its default\n", r[1]);
        // `service update --args ''` means: no arguments any more. It reaches the manager (here: none).
        r = stderrOf(Swarmctl::run, socket, "service", "update", "--args", "", "web");
        assertTrue(r[1].startsWith("Error: cannot reach a manager"), r[1]);
    }

    @Test
    void aDashboardOffLoopbackWithoutCertificatesIsRefusedBeforeAnythingRuns() {
        String[] r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--tls=false", "--dashboard-addr", "0.0.0.0:8081");
        assertEquals("1", r[0]);
        assertTrue(r[1].startsWith("swarmd: --dashboard-addr 0.0.0.0:8081 is not a loopback address: the dashboard then requires"
                + " client certificates"), r[1]);
        r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--dashboard-insecure");
        assertEquals("swarmd: --dashboard-insecure goes with --dashboard-addr\n", r[1]);
        r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--dashboard-addr", "127.0.0.1");
        assertEquals("swarmd: invalid address \"127.0.0.1\" for --dashboard-addr: expected HOST:PORT\n", r[1]);
        assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of("/nonexistent")), "nothing was written");
    }

    @Test
    void anInactiveNodeRefusesWhatInitOrJoinWouldSayBeforeAnythingRuns() {
        String[] r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--inactive", "--autolock");
        assertEquals("1", r[0]);
        assertTrue(r[1].startsWith("swarmd: --inactive waits for docker swarm init or join to say what to make or join"), r[1]);
        r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--inactive", "--engine-api", "off");
        assertTrue(r[1].startsWith("swarmd: --inactive waits for docker swarm init or join on the Engine API"), r[1]);
        r = stderrOf(Swarmd::run, "--state-dir", "/nonexistent/jswarm", "--inactive", "--engine-api", "tcp://10.0.0.1:2376");
        assertTrue(r[1].contains("a node in no swarm has no certificate to serve HTTPS with"), r[1]);
        assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of("/nonexistent")), "nothing was written");
    }
}
