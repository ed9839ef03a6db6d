package io.jswarm.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.jswarm.api.Meta;
import io.jswarm.api.Network;
import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class NameTableTest {
    static NetworkTable table(String net, NetworkService s, NetworkEndpoint... e) {
        return NetworkTable.newBuilder().setNetwork(Network.newBuilder().setMeta(Meta.newBuilder().setId(net)))
                .addServices(s).addAllEndpoints(List.of(e)).build();
    }

    static NetworkEndpoint ep(String task, String service, String addr, boolean serving) {
        return NetworkEndpoint.newBuilder().setTaskId(task).setTaskName("web.1." + task).setServiceId(service).setAddr(addr)
                .setServing(serving).build();
    }

    static Set<String> set(List<String> l) {
        return l == null ? null : new TreeSet<>(l);
    }

    @Test
    void servicesResolveToTheirVipAndTasksToServingAddressesOnly() {
        NameTable names = new NameTable();
        names.put(table("n1", NetworkService.newBuilder().setServiceId("s1").setName("Web").setVip("10.0.0.2").addAliases("www").build(),
                ep("t1", "s1", "10.0.0.5", true), ep("t2", "s1", "10.0.0.6", false), ep("t3", "s1", "10.0.0.7", true)));
        assertEquals(List.of("10.0.0.2"), names.lookupText(List.of("n1"), "web"));
        assertEquals(List.of("10.0.0.2"), names.lookupText(List.of("n1"), "WEB."), "case and the trailing dot do not matter");
        assertEquals(List.of("10.0.0.2"), names.lookupText(List.of("n1"), "www"), "an alias is the service");
        assertEquals(Set.of("10.0.0.5", "10.0.0.7"), set(names.lookupText(List.of("n1"), "tasks.web")), "a task that does not serve is left out");
        assertEquals(Set.of("10.0.0.5", "10.0.0.7"), set(names.lookupText(List.of("n1"), "tasks.www")));
        assertEquals(List.of("10.0.0.6"), names.lookupText(List.of("n1"), "web.1.t2"), "a task's own name is its address");
        assertNull(names.lookupText(List.of("n1"), "db"), "unknown: for the upstream");
        assertNull(names.lookupText(List.of("n2"), "web"), "another network does not see it");
        names.remove("n1");
        assertNull(names.lookupText(List.of("n1"), "web"));
    }

    @Test
    void dnsrrNamesAreTheTasksAndANameWithNothingServingStillExists() {
        NameTable names = new NameTable();
        names.put(table("n1", NetworkService.newBuilder().setServiceId("s1").setName("rr").build(),
                ep("t1", "s1", "10.0.0.5", true), ep("t2", "s1", "10.0.0.6", true)));
        assertEquals(Set.of("10.0.0.5", "10.0.0.6"), set(names.lookupText(List.of("n1"), "rr")));
        names.put(table("n1", NetworkService.newBuilder().setServiceId("s1").setName("rr").build(), ep("t1", "s1", "10.0.0.5", false)));
        assertEquals(List.of(), names.lookupText(List.of("n1"), "rr"), "known, nothing serving: no answer, and no upstream asked");
    }

    @Test
    void aContainerOnTwoNetworksSeesBoth() {
        NameTable names = new NameTable();
        names.put(table("n1", NetworkService.newBuilder().setServiceId("s1").setName("web").setVip("10.0.0.2").build()));
        names.put(table("n2", NetworkService.newBuilder().setServiceId("s1").setName("web").setVip("10.0.1.2").build()));
        assertEquals(Set.of("10.0.0.2", "10.0.1.2"), set(names.lookupText(List.of("n1", "n2"), "web")));
    }
}
