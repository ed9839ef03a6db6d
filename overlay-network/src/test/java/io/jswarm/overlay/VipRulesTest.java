package io.jswarm.overlay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class VipRulesTest {
    @Test
    void oneRulePerVipTheWholeTableReplacedAndEmptyVipsRejected() {
        String r = VipRules.render(List.of(new VipRules.Vip("10.0.0.4", List.of("10.0.0.5", "10.0.0.6", "10.0.0.7")),
                new VipRules.Vip("10.0.0.2", List.of("10.0.0.3")), new VipRules.Vip("10.0.0.9", List.of())));
        assertTrue(r.startsWith("table ip jswarm\ndelete table ip jswarm\n"), "replaced whole, and the delete cannot fail: " + r);
        assertTrue(r.contains("ip daddr 10.0.0.4 dnat to numgen random mod 3 map { 0 : 10.0.0.5, 1 : 10.0.0.6, 2 : 10.0.0.7 }\n"), r);
        assertTrue(r.contains("ip daddr 10.0.0.2 dnat to 10.0.0.3\n"), r);
        assertTrue(r.contains("ip daddr 10.0.0.9 reject\n"), r);
        assertEquals(1, r.split("10.0.0.4", -1).length - 1, "one rule for the VIP with three backends");
    }

    @Test
    void macsFollowFromAddresses() {
        assertEquals("02:42:0a:00:00:07", OverlayNetwork.mac("10.0.0.7"));
        assertEquals("02:42:ac:12:ff:01", OverlayNetwork.mac("172.18.255.1"));
    }
}
