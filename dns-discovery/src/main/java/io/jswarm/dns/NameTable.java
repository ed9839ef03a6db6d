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
    /** An IPv4 address with its four bytes, parsed once when the table arrives rather than per query. */
    public record Address(String text, byte[] octets) {
        static Address of(String ipv4) {
            String[] p = ipv4.split("\\.");
            return new Address(ipv4, new byte[] {(byte) Integer.parseInt(p[0]), (byte) Integer.parseInt(p[1]),
                    (byte) Integer.parseInt(p[2]), (byte) Integer.parseInt(p[3])});
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Address a && a.text.equals(text);
        }

        @Override
        public int hashCode() {
            return text.hashCode();
        }
    }

    private final Map<String, Map<String, List<Address>>> byNetwork = new ConcurrentHashMap<>();

    /** Replaces one network's names with those of its latest table. */
    public void put(NetworkTable t) {
        byNetwork.put(t.getNetwork().getMeta().getId(), names(t));
    }

    public void remove(String networkId) {
        byNetwork.remove(networkId);
    }

    static Map<String, List<Address>> names(NetworkTable t) {
        if (t.getNetwork().getSpec().getIngress()) {
            return Map.of();  // as in Docker: the routing mesh's network carries requests, not names
        }
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
        Map<String, List<Address>> frozen = new HashMap<>();
        out.forEach((k, v) -> frozen.put(k, v.stream().map(Address::of).toList()));
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
    public List<Address> lookup(Collection<String> networkIds, String name) {
        String key = name.toLowerCase(Locale.ROOT);
        if (key.endsWith(".")) {
            key = key.substring(0, key.length() - 1);
        }
        if (networkIds.size() == 1) {
            // The usual case, on the query path: no copy.
            Map<String, List<Address>> names = byNetwork.get(networkIds.iterator().next());
            return names == null ? null : names.get(key);
        }
        List<Address> found = null;
        for (String id : networkIds) {
            Map<String, List<Address>> names = byNetwork.get(id);
            List<Address> a = names == null ? null : names.get(key);
            if (a != null) {
                if (found == null) {
                    found = new ArrayList<>();
                }
                for (Address x : a) {
                    if (!found.contains(x)) {
                        found.add(x);
                    }
                }
            }
        }
        return found;
    }

    /** The addresses as text, for tests and inspection. */
    public List<String> lookupText(Collection<String> networkIds, String name) {
        List<Address> a = lookup(networkIds, name);
        return a == null ? null : a.stream().map(Address::text).toList();
    }
}
