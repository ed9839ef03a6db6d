package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Mount;
import io.jswarm.api.PortConfig;
import org.junit.jupiter.api.Test;

class FlagParsingTest {
    @Test
    void durations() {
        assertEquals(5_000, Units.parseDurationMs("--x", "5s"));
        assertEquals(90_000, Units.parseDurationMs("--x", "1m30s"));
        assertEquals(250, Units.parseDurationMs("--x", "250ms"));
        assertEquals(0, Units.parseDurationMs("--x", "0"));
        assertEquals(3_600_000, Units.parseDurationMs("--x", "1h"));
        for (String bad : new String[] {"5x", "5", "", "s", "-5s", "1m 30s"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Units.parseDurationMs("--update-delay", bad));
            assertTrue(e.getMessage().contains("--update-delay"), e.getMessage());
        }
    }

    @Test
    void sizesAndCpus() {
        assertEquals(16L << 20, Units.parseBytes("--m", "16m"));
        assertEquals(1L << 30, Units.parseBytes("--m", "1g"));
        assertEquals(512L << 20, Units.parseBytes("--m", "512MiB"));
        assertEquals(1024, Units.parseBytes("--m", "1024"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseBytes("--m", "lots"));
        assertEquals(500_000_000L, Units.parseNanoCpus("--c", "0.5"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseNanoCpus("--c", "-1"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseNonNegative("--replicas", "-1"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseNonNegative("--replicas", "three"));
    }

    @Test
    void secretsAndConfigs() {
        var s = ServiceOptions.parseSecret("--secret", "db_pw");
        assertEquals("db_pw", s.getSecretName());
        assertTrue(!s.hasMode() && s.getTarget().isEmpty(), "defaults are the managers' to fill in");
        s = ServiceOptions.parseSecret("--secret", "source=db_pw,target=pw,uid=1000,gid=50,mode=0400");
        assertEquals("pw", s.getTarget());
        assertEquals(1000, s.getUid());
        assertEquals(50, s.getGid());
        assertEquals(0400, s.getMode());
        var c = ServiceOptions.parseConfig("--config", "src=conf,target=/etc/app.conf");
        assertEquals("conf", c.getConfigName());
        assertEquals("/etc/app.conf", c.getTarget());
        for (String bad : new String[] {"", "target=x", "source=a,mode=999", "source=a,mode=rw", "source=a,uid=-1", "source=a,colour=red",
            "source=a,target="}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parseSecret("--secret", bad),
                    bad);
            assertTrue(e.getMessage().startsWith("invalid --secret"), e.getMessage());
        }
    }

    @Test
    void portsAndMounts() {
        PortConfig p = ServiceOptions.parsePort("8080:80/udp");
        assertEquals(8080, p.getPublishedPort());
        assertEquals(80, p.getTargetPort());
        assertEquals(PortConfig.Protocol.UDP, p.getProtocol());
        p = ServiceOptions.parsePort("published=9090,target=90,mode=host");
        assertEquals(PortConfig.PublishMode.HOST, p.getPublishMode());
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parsePort("80:70000"));
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parsePort("a:b"));
        Mount m = ServiceOptions.parseMount("type=bind,source=/srv,target=/data,readonly");
        assertEquals(Mount.Type.BIND, m.getType());
        assertTrue(m.getReadOnly());
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parseMount("type=bind,target=/data"));
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parseMount("type=nfs,target=/data"));
    }

    @Test
    void badFlagsExitWithOneLine() {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(err));
        int code;
        try {
            code = Swarmctl.run(new String[] {"service", "create", "--replicas", "-1", "127.0.0.1:5000/x:1"});
        } finally {
            System.setErr(old);
        }
        assertEquals(1, code);
        assertEquals("Error: invalid value \"-1\" for --replicas: must not be negative", err.toString().strip());
    }

    @Test
    void valuesBeyondWhatAFieldHoldsOrBelowItsResolutionAreRefusedNamingTheLimit() {
        String d = assertThrows(IllegalArgumentException.class,
                () -> Units.parseDurationMs("--update-delay", "99999999999999999999999h")).getMessage();
        assertTrue(d.contains("--update-delay") && d.contains("largest duration"), d);
        assertEquals(9_223_372_036_854L, Units.parseDurationMs("--x", "2562047h47m16s854ms"));
        String ns = assertThrows(IllegalArgumentException.class, () -> Units.parseDurationMs("--health-interval", "1ns")).getMessage();
        assertTrue(ns.contains("minimum of 1ms"), ns);
        String b = assertThrows(IllegalArgumentException.class, () -> Units.parseBytes("--limit-memory", "99999999999999999999999")).getMessage();
        assertTrue(b.contains("8 EiB"), b);
        assertEquals(Long.MAX_VALUE, Units.parseBytes("--m", String.valueOf(Long.MAX_VALUE)));
        String n = assertThrows(IllegalArgumentException.class, () -> Units.parseNonNegative("--replicas", "99999999999999999999")).getMessage();
        assertTrue(n.contains("largest number"), n);
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parsePort("80:"));
        assertThrows(IllegalArgumentException.class, () -> ServiceOptions.parsePort(":80"));
        String m = assertThrows(IllegalArgumentException.class,
                () -> ServiceOptions.parseMount("type=tmpfs,target=/t,readonly=maybe")).getMessage();
        assertTrue(m.contains("readonly must be true, false, 1 or 0"), m);
        assertTrue(ServiceOptions.parseMount("type=tmpfs,target=/t,readonly=false").getTarget().equals("/t"));
        String esc = assertThrows(IllegalArgumentException.class, () -> Units.parseDurationMs("--x", "5\u001b[31m")).getMessage();
        assertTrue(!esc.contains("\u001b") && esc.contains("\\e[31m"), esc);
    }
}
