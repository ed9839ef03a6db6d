package io.jswarm.overlay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class IngressRulesTest {
    @Test
    void theNodeSendsMeshPortsToTheSandboxAndLocalPortsToItsTasks() {
        String t = IngressRules.renderNode(List.of(new IngressRules.Port("tcp", 8080, List.of("172.18.0.2"), 8080),
                new IngressRules.Port("udp", 9000, List.of("172.18.0.5", "172.18.0.6"), 53),
                new IngressRules.Port("tcp", 8081, List.of(), 80)), "jsgwbr0", "172.18.0.0/16");
        assertTrue(t.startsWith("table ip jswarm_ingress\ndelete table ip jswarm_ingress\n"), "replaced whole: " + t);
        assertTrue(t.contains("fib daddr type local tcp dport 8080 dnat to 172.18.0.2:8080\n"), t);
        assertTrue(t.contains("fib daddr type local udp dport 9000 dnat to numgen random mod 2 map { 0 : 172.18.0.5, 1 : 172.18.0.6 }:53\n"), t);
        assertFalse(t.contains("8081"), "a port with no serving task has no rule: " + t);
        assertTrue(t.contains("type nat hook output priority -100"), "127.0.0.1 and the node's own clients: " + t);
        assertTrue(t.contains("oifname \"jsgwbr0\" ct status dnat ip saddr { 127.0.0.0/8, 172.18.0.0/16 } masquerade"), t);
    }

    @Test
    void theSandboxBalancesOverTheTasksAndRefusesAPortWithNone() {
        String t = IngressRules.renderSandbox(List.of(new IngressRules.Port("tcp", 8080, List.of("10.0.0.5", "10.0.0.6"), 80),
                new IngressRules.Port("tcp", 8082, List.of(), 80), new IngressRules.Port("udp", 9000, List.of(), 9000)), "eth1", "eth0");
        assertTrue(t.contains("iifname \"eth1\" tcp dport 8080 dnat to numgen random mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }:80\n"), t);
        assertTrue(t.contains("iifname \"eth1\" tcp dport 8082 reject with tcp reset\n"), t);
        assertTrue(t.contains("iifname \"eth1\" udp dport 9000 reject\n"), t);
        assertTrue(t.contains("oifname \"eth0\" ct status dnat masquerade"), t);
    }
}
