package io.jswarm.cli.engine;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a JSON object of Docker's API strictly: each getter names the field it reads, a
 * value of the wrong type is refused naming the field's path ({@code
 * TaskTemplate.ContainerSpec.Env}), and {@link #done()} refuses any field that was not read
 * and holds something. A field jswarm cannot honour is thus refused, never dropped; a field
 * at its zero value ({@code "Init": false}, {@code "DNSConfig": {}}, which the docker CLI
 * always sends) asks for nothing and passes.
 */
final class SpecReader {
    private final JsonObject json;
    private final String path;
    private final Set<String> read = new TreeSet<>();
    private final List<SpecReader> children = new ArrayList<>();

    private SpecReader(JsonObject json, String path) {
        this.json = json;
        this.path = path;
    }

    /** A request body; an empty body reads as an empty object. */
    static SpecReader of(Buffer body, String what) {
        if (body == null || body.length() == 0) {
            return new SpecReader(new JsonObject(), "");
        }
        try {
            return new SpecReader(new JsonObject(body), "");
        } catch (DecodeException | ClassCastException e) {
            throw EngineError.badRequest("invalid JSON in the " + what + ": " + firstLine(e.getMessage()));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "not a JSON object";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /**
     * The key as the client spelled it: Go's JSON decoding matches field names without regard
     * to case, and clients rely on it (docker-py sends {@code "Mode": {"replicated": ...}}).
     */
    private String key(String name) {
        if (json.containsKey(name)) {
            return name;
        }
        for (String k : json.fieldNames()) {
            if (k.equalsIgnoreCase(name)) {
                return k;
            }
        }
        return name;
    }

    private String at(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private EngineError wrongType(String key, String expected) {
        Object v = json.getValue(key);
        String got = v instanceof String ? "a string" : v instanceof Number ? "a number" : v instanceof Boolean ? "a boolean"
                : v instanceof JsonArray ? "an array" : "an object";
        return EngineError.badRequest("invalid value for " + at(key) + ": expected " + expected + ", got " + got);
    }

    boolean has(String key) {
        key = key(key);
        return json.getValue(key) != null;
    }

    String str(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        if (v == null) {
            return "";
        }
        if (!(v instanceof String s)) {
            throw wrongType(key, "a string");
        }
        return s;
    }

    long num(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        if (v == null) {
            return 0;
        }
        if (!(v instanceof Number n) || (n instanceof Double d && d != Math.rint(d))) {
            throw wrongType(key, "an integer");
        }
        return n.longValue();
    }

    /** A count or size: never negative (Go's uint64 fields refuse it too). */
    long unsigned(String key) {
        long n = num(key);
        if (n < 0) {
            throw EngineError.badRequest("invalid value for " + at(key) + ": " + n + " is negative");
        }
        return n;
    }

    double decimal(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        if (v == null) {
            return 0;
        }
        if (!(v instanceof Number n)) {
            throw wrongType(key, "a number");
        }
        return n.doubleValue();
    }

    boolean bool(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        if (v == null) {
            return false;
        }
        if (!(v instanceof Boolean b)) {
            throw wrongType(key, "a boolean");
        }
        return b;
    }

    List<String> strings(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!(v instanceof JsonArray a)) {
            throw wrongType(key, "an array of strings");
        }
        for (Object o : a) {
            if (!(o instanceof String s)) {
                throw EngineError.badRequest("invalid value for " + at(key) + ": expected an array of strings");
            }
            out.add(s);
        }
        return out;
    }

    Map<String, String> labels(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        if (!(v instanceof JsonObject o)) {
            throw wrongType(key, "an object of strings");
        }
        for (Map.Entry<String, Object> e : o) {
            if (!(e.getValue() instanceof String s)) {
                throw EngineError.badRequest("invalid value for " + at(key) + "." + e.getKey() + ": expected a string");
            }
            out.put(e.getKey(), s);
        }
        return out;
    }

    /** The object at key (empty when absent), read as strictly as this one. */
    SpecReader obj(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        if (v != null && !(v instanceof JsonObject)) {
            throw wrongType(key, "an object");
        }
        SpecReader child = new SpecReader(v == null ? new JsonObject() : (JsonObject) v, at(key));
        children.add(child);
        return child;
    }

    List<SpecReader> objs(String key) {
        key = key(key);
        read.add(key);
        Object v = json.getValue(key);
        List<SpecReader> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!(v instanceof JsonArray a)) {
            throw wrongType(key, "an array of objects");
        }
        for (int i = 0; i < a.size(); i++) {
            if (!(a.getValue(i) instanceof JsonObject o)) {
                throw EngineError.badRequest("invalid value for " + at(key) + "[" + i + "]: expected an object");
            }
            SpecReader child = new SpecReader(o, at(key) + "[" + i + "]");
            children.add(child);
            out.add(child);
        }
        return out;
    }

    /** Marks a field as read without using it: accepted and ignored, for the reason the caller names. */
    void ignore(String key) {
        key = key(key);
        read.add(key);
    }

    /** Refuses what was sent but not read, here and in every object read from this one. */
    void done() {
        for (Map.Entry<String, Object> e : json) {
            if (!read.contains(e.getKey()) && !zero(e.getValue())) {
                throw EngineError.badRequest(at(e.getKey()) + " is not supported by jswarm (it has no effect here, so it"
                        + " is refused rather than dropped)");
            }
        }
        for (SpecReader c : children) {
            c.done();
        }
    }

    /** Go's zero values, as the docker CLI sends for fields it does not set. */
    static boolean zero(Object v) {
        if (v == null || Boolean.FALSE.equals(v) || "".equals(v)) {
            return true;
        }
        if (v instanceof Number n) {
            return n.doubleValue() == 0;
        }
        if (v instanceof JsonArray a) {
            return a.isEmpty();
        }
        if (v instanceof JsonObject o) {
            for (Map.Entry<String, Object> e : o) {
                if (!zero(e.getValue())) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}
