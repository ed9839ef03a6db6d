package io.jswarm.manager.control;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;

/** How users name objects: by full id, by name, or by a unique prefix of the id (as Docker). */
final class References {
    private References() {}

    static <T> T find(String kind, String ref, Function<String, T> byId, Function<String, T> byName, Collection<T> all,
            Function<T, String> idOf) {
        if (ref.isEmpty()) {
            throw GrpcErrors.invalid(kind + " name or id is required");
        }
        T found = byId.apply(ref);
        if (found == null) {
            found = byName.apply(ref);
        }
        if (found == null) {
            List<T> matches = new ArrayList<>();
            for (T c : all) {
                if (idOf.apply(c).startsWith(ref)) {
                    matches.add(c);
                }
            }
            if (matches.size() > 1) {
                throw GrpcErrors.invalid(kind + " id prefix " + Quote.of(ref) + " is ambiguous");
            }
            found = matches.isEmpty() ? null : matches.get(0);
        }
        if (found == null) {
            throw GrpcErrors.notFound(kind + " " + Quote.of(ref) + " not found");
        }
        return found;
    }
}
