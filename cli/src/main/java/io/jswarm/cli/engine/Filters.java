package io.jswarm.cli.engine;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A listing's {@code filters} query parameter, in both of Docker's encodings: {@code
 * {"name":{"web":true}}} (the docker CLI) and {@code {"name":["web"]}} (docker-py and
 * older clients). Only the keys Docker accepts for the kind are allowed; another is refused
 * as dockerd refuses it.
 */
final class Filters {
    private final Map<String, List<String>> values;

    private Filters(Map<String, List<String>> values) {
        this.values = values;
    }

    static Filters parse(String param, Set<String> allowed) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        if (param == null || param.isBlank()) {
            return new Filters(values);
        }
        JsonObject json;
        try {
            json = new JsonObject(param);
        } catch (DecodeException | ClassCastException e) {
            throw EngineError.badRequest("invalid filter: the filters parameter is not a JSON object");
        }
        for (Map.Entry<String, Object> e : json) {
            if (!allowed.contains(e.getKey())) {
                throw EngineError.badRequest("invalid filter '" + e.getKey() + "'");
            }
            List<String> vs = new ArrayList<>();
            if (e.getValue() instanceof JsonObject o) {
                for (Map.Entry<String, Object> v : o) {
                    if (Boolean.TRUE.equals(v.getValue())) {
                        vs.add(v.getKey());
                    }
                }
            } else if (e.getValue() instanceof JsonArray a) {
                for (Object v : a) {
                    if (!(v instanceof String s)) {
                        throw EngineError.badRequest("invalid filter '" + e.getKey() + "': values must be strings");
                    }
                    vs.add(s);
                }
            } else {
                throw EngineError.badRequest("invalid filter '" + e.getKey() + "': expected a list of values");
            }
            values.put(e.getKey(), vs);
        }
        return new Filters(values);
    }

    /** The values given for key, empty when the key was not given. */
    List<String> get(String key) {
        return values.getOrDefault(key, List.of());
    }

    boolean has(String key) {
        return values.containsKey(key) && !values.get(key).isEmpty();
    }

    /** Whether any value of key is a prefix of s (Docker's id and name filters), or key was not given. */
    boolean prefixMatch(String key, String s) {
        return !has(key) || get(key).stream().anyMatch(s::startsWith);
    }

    /** Docker's label filter: each value {@code k} or {@code k=v} must hold. */
    boolean labelsMatch(String key, Map<String, String> labels) {
        for (String f : get(key)) {
            int eq = f.indexOf('=');
            if (eq < 0 ? !labels.containsKey(f) : !f.substring(eq + 1).equals(labels.get(f.substring(0, eq)))) {
                return false;
            }
        }
        return true;
    }
}
