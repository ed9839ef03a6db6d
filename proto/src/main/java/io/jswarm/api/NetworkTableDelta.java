package io.jswarm.api;

import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A network table as changes to the one a node holds, made by the managers and applied by
 * the agents the same way. The ingress table names every node, so a node joining or going
 * down changed one endpoint of a table that every node was sent whole: the square of the
 * fleet in traffic. A change now costs what changed.
 */
public final class NetworkTableDelta {
    private NetworkTableDelta() {}

    /** What identifies an endpoint in its table: its task, or the node of a routing-mesh sandbox. */
    public static String key(NetworkEndpoint e) {
        return e.getTaskId().isEmpty() ? "node:" + e.getNodeId() : e.getTaskId();
    }

    /** The partial table that turns {@code before} into {@code after} (both whole, of one network). */
    public static NetworkTable diff(NetworkTable before, NetworkTable after) {
        NetworkTable.Builder d = NetworkTable.newBuilder().setNetwork(after.getNetwork()).setPartial(true);
        Map<String, NetworkEndpoint> had = new HashMap<>();
        for (NetworkEndpoint e : before.getEndpointsList()) {
            had.put(key(e), e);
        }
        for (NetworkEndpoint e : after.getEndpointsList()) {
            NetworkEndpoint old = had.remove(key(e));
            if (!e.equals(old)) {
                d.addEndpoints(e);
            }
        }
        d.addAllRemovedEndpoints(had.keySet());
        Map<String, NetworkService> hadServices = new HashMap<>();
        for (NetworkService s : before.getServicesList()) {
            hadServices.put(s.getServiceId(), s);
        }
        for (NetworkService s : after.getServicesList()) {
            NetworkService old = hadServices.remove(s.getServiceId());
            if (!s.equals(old)) {
                d.addServices(s);
            }
        }
        d.addAllRemovedServices(hadServices.keySet());
        return d.build();
    }

    /** True when a partial table changes nothing but (perhaps) the network itself. */
    public static boolean changesNoEntry(NetworkTable delta) {
        return delta.getEndpointsCount() == 0 && delta.getServicesCount() == 0
                && delta.getRemovedEndpointsCount() == 0 && delta.getRemovedServicesCount() == 0;
    }

    /**
     * The whole table after {@code change}: itself when whole, else {@code before} (null when the
     * node holds none) with the changed entries replaced in place, new ones last, removed ones gone.
     */
    public static NetworkTable apply(NetworkTable before, NetworkTable change) {
        if (!change.getPartial()) {
            return change;
        }
        Map<String, NetworkEndpoint> endpoints = new LinkedHashMap<>();
        Map<String, NetworkService> services = new LinkedHashMap<>();
        if (before != null) {
            before.getEndpointsList().forEach(e -> endpoints.put(key(e), e));
            before.getServicesList().forEach(s -> services.put(s.getServiceId(), s));
        }
        change.getRemovedEndpointsList().forEach(endpoints::remove);
        change.getRemovedServicesList().forEach(services::remove);
        change.getEndpointsList().forEach(e -> endpoints.put(key(e), e));
        change.getServicesList().forEach(s -> services.put(s.getServiceId(), s));
        return NetworkTable.newBuilder().setNetwork(change.getNetwork())
                .addAllEndpoints(endpoints.values()).addAllServices(services.values()).build();
    }
}
