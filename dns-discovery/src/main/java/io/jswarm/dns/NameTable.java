package io.jswarm.dns;

import io.jswarm.api.dispatcher.NetworkEndpoint;
import io.jswarm.api.dispatcher.NetworkService;
import io.jswarm.api.dispatcher.NetworkTable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The names the cluster answers, per network, as Docker's embedded DNS does: a service's
 * name (and aliases) is its virtual IP, or in dnsrr mode the addresses of its serving
 * tasks; {@code tasks.NAME} is always the serving tasks' addresses; a task's full name
 * is its own address. A container sees only the names of the networks it is on.
 */
public final class NameTable {
    private final Map<String, Map<String, List<String>>> byNetwork = new ConcurrentHashMap<>();

    /** Replaces one network's names with those of its latest table. */
    public void put(NetworkTable t) {
        byNetwork.put(t.getNetwork().getMeta().getId(), names(t));
    }

    public void remove(String networkId) {
        byNetwork.remove(networkId);
    }

    static Map<String, List<String>> names(NetworkTable t) {
        Map<String, Set<String>> out = new HashMap<>();
        Map<String, List<String>> serving = new HashMap<>();
        for (NetworkEndpoint e : t.getEndpointsList()) {
            if (e.getServing()) {
                serving.computeIfAbsent(e.getServiceId(), k -> new ArrayList<>()).add(e.getAddr());
            }
            if (!e.getTaskName().isEmpty()) {
                add(out, e.getTaskName(), List.of(e.getAddr()));
            }
        }
        for (NetworkService s : t.getServicesList()) {
            List<String> tasks = serving.getOrDefault(s.getServiceId(), List.of());
            List<String> names = new ArrayList<>();
            names.add(s.getName());
            names.addAll(s.getAliasesList());
            for (String n : names) {
                add(out, n, s.getVip().isEmpty() ? tasks : List.of(s.getVip()));
                add(out, "tasks." + n, tasks);
            }
        }
        Map<String, List<String>> frozen = new HashMap<>();
        out.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return frozen;
    }

    private static void add(Map<String, Set<String>> out, String name, Collection<String> addrs) {
        out.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>()).addAll(addrs);
    }

    /**
     * The addresses a name has on any of these networks; an empty list for a cluster name
     * with nothing serving (the name exists: no upstream is asked), null for a name the
     * cluster does not know.
     */
    public List<String> lookup(Collection<String> networkIds, String name) {
        String key = name.toLowerCase(Locale.ROOT);
        if (key.endsWith(".")) {
            key = key.substring(0, key.length() - 1);
        }
        List<String> found = null;
        for (String id : networkIds) {
            Map<String, List<String>> names = byNetwork.get(id);
            List<String> a = names == null ? null : names.get(key);
            if (a != null) {
                if (found == null) {
                    found = new ArrayList<>();
                }
                for (String x : a) {
                    if (!found.contains(x)) {
                        found.add(x);
                    }
                }
            }
        }
        return found;
    }
}
