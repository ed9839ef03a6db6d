package io.jswarm.cli.stack;

import io.jswarm.cli.Units;
import io.jswarm.manager.control.Quote;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One value of a compose file, interpolated, with where it was written: a mapping, a
 * list, a scalar (its text and the YAML type it resolved to) or null. Every accessor that
 * expects a type refuses another with the file, line and key path
 * ({@code app.yml:12: services.web.deploy.replicas: ...}).
 */
public final class ComposeNode {
    public enum Kind { MAP, LIST, SCALAR, NULL }

    /** What a plain scalar resolved to in YAML; quoted scalars and interpolated text are strings. */
    public enum Type { STRING, INT, FLOAT, BOOL, NULL }

    public final Kind kind;
    public final String path;
    public final String file;
    public final int line;
    private final String text;
    private final Type type;
    private final Map<String, ComposeNode> map;
    private final List<ComposeNode> list;

    private ComposeNode(Kind kind, String path, String file, int line, String text, Type type, Map<String, ComposeNode> map,
            List<ComposeNode> list) {
        this.kind = kind;
        this.path = path;
        this.file = file;
        this.line = line;
        this.text = text;
        this.type = type;
        this.map = map;
        this.list = list;
    }

    static ComposeNode scalar(String path, String file, int line, String text, Type type) {
        return type == Type.NULL ? nil(path, file, line) : new ComposeNode(Kind.SCALAR, path, file, line, text, type, null, null);
    }

    static ComposeNode nil(String path, String file, int line) {
        return new ComposeNode(Kind.NULL, path, file, line, null, Type.NULL, null, null);
    }

    static ComposeNode map(String path, String file, int line, Map<String, ComposeNode> entries) {
        return new ComposeNode(Kind.MAP, path, file, line, null, null, Collections.unmodifiableMap(new LinkedHashMap<>(entries)), null);
    }

    static ComposeNode list(String path, String file, int line, List<ComposeNode> items) {
        return new ComposeNode(Kind.LIST, path, file, line, null, null, null, List.copyOf(items));
    }

    /** The same value under another key path (a merged or aliased subtree keeps its lines). */
    ComposeNode at(String newPath) {
        if (newPath.equals(path)) {
            return this;
        }
        return switch (kind) {
            case SCALAR, NULL -> new ComposeNode(kind, newPath, file, line, text, type, null, null);
            case MAP -> {
                Map<String, ComposeNode> m = new LinkedHashMap<>();
                map.forEach((k, v) -> m.put(k, v.at(newPath + "." + k)));
                yield map(newPath, file, line, m);
            }
            case LIST -> {
                List<ComposeNode> l = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    l.add(list.get(i).at(newPath + "[" + i + "]"));
                }
                yield list(newPath, file, line, l);
            }
        };
    }

    /** "app.yml:12". */
    public String where() {
        return file + ":" + line;
    }

    /** A refusal naming this value's place and key path. */
    public ComposeException error(String what) {
        return new ComposeException(where() + ": " + path + ": " + what);
    }

    public boolean isMap() {
        return kind == Kind.MAP;
    }

    public boolean isList() {
        return kind == Kind.LIST;
    }

    public boolean isNull() {
        return kind == Kind.NULL;
    }

    public boolean isScalar() {
        return kind == Kind.SCALAR;
    }

    public Type type() {
        return type;
    }

    private String describe() {
        return switch (kind) {
            case MAP -> "a mapping";
            case LIST -> "a list";
            case NULL -> "nothing";
            case SCALAR -> Quote.of(text);
        };
    }

    /** The entries of a mapping, in file order. */
    public Map<String, ComposeNode> entries() {
        if (kind != Kind.MAP) {
            throw error("expected a mapping, got " + describe());
        }
        return map;
    }

    /** The entries of a mapping, or none for null (a key written without a value). */
    public Map<String, ComposeNode> entriesOrEmpty() {
        return kind == Kind.NULL ? Map.of() : entries();
    }

    public ComposeNode get(String key) {
        return kind == Kind.MAP ? map.get(key) : null;
    }

    public List<ComposeNode> items() {
        if (kind != Kind.LIST) {
            throw error("expected a list, got " + describe());
        }
        return list;
    }

    /** A scalar's text (numbers and booleans as written). */
    public String string() {
        if (kind != Kind.SCALAR) {
            throw error("expected a string, got " + describe());
        }
        return text;
    }

    /** A list of strings, or one string as a list of one. */
    public List<String> strings() {
        if (kind == Kind.SCALAR) {
            return List.of(text);
        }
        List<String> out = new ArrayList<>();
        for (ComposeNode n : items()) {
            out.add(n.string());
        }
        return out;
    }

    /**
     * A whole number, as YAML 1.1 writes them (0x1F, 0755 octal, 1_000); a string holding one
     * (as interpolation gives) too.
     */
    public long integer(long min, long max) {
        if (kind != Kind.SCALAR || !(type == Type.INT || type == Type.STRING)) {
            throw error("expected a whole number, got " + describe());
        }
        long v;
        try {
            v = parseInt(text);
        } catch (NumberFormatException e) {
            throw error("expected a whole number, got " + describe());
        }
        if (v < min || v > max) {
            throw error(Quote.of(text) + " is out of range: expected " + min + " to " + max);
        }
        return v;
    }

    static long parseInt(String s) {
        String t = s.trim().replace("_", "");
        boolean neg = t.startsWith("-");
        if (neg || t.startsWith("+")) {
            t = t.substring(1);
        }
        long v;
        if (t.startsWith("0x")) {
            v = Long.parseLong(t.substring(2), 16);
        } else if (t.startsWith("0o")) {
            v = Long.parseLong(t.substring(2), 8);
        } else if (t.length() > 1 && t.startsWith("0")) {
            v = Long.parseLong(t, 8);
        } else {
            v = Long.parseLong(t);
        }
        return neg ? -v : v;
    }

    /** A number that may have a fraction: CPUs, ratios. */
    public String number() {
        if (kind != Kind.SCALAR || !(type == Type.INT || type == Type.FLOAT || type == Type.STRING)) {
            throw error("expected a number, got " + describe());
        }
        try {
            Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw error("expected a number, got " + describe());
        }
        return text.trim();
    }

    public boolean bool() {
        if (kind == Kind.SCALAR) {
            switch (text.toLowerCase(java.util.Locale.ROOT)) {
                case "true", "yes", "on" -> {
                    return true;
                }
                case "false", "no", "off" -> {
                    return false;
                }
                default -> { }
            }
        }
        throw error("expected true or false, got " + describe());
    }

    /** A duration as compose writes it (1m30s, 500ms, 10s); a bare number is seconds. */
    public long durationMs() {
        String s = string().trim();
        try {
            if (s.matches("\\d+")) {
                return Units.parseDurationMs(path, s + "s");
            }
            return Units.parseDurationMs(path, s);
        } catch (IllegalArgumentException e) {
            throw error("expected a duration such as 10s, 1m30s or 500ms, got " + describe());
        }
    }

    /** A size as compose writes it: 512M, 1g, 1024 (bytes). */
    public long bytes() {
        try {
            return Units.parseBytes(path, string());
        } catch (IllegalArgumentException e) {
            throw error("expected a size such as 512M or 1G, got " + describe());
        }
    }

    /** This value as plain Java objects (LinkedHashMap, List, String, Long, Double, Boolean, null), for printing. */
    Object plain() {
        return switch (kind) {
            case NULL -> null;
            case SCALAR -> switch (type) {
                case INT -> {
                    try {
                        yield parseInt(text);
                    } catch (NumberFormatException e) {
                        yield text;
                    }
                }
                case FLOAT -> {
                    try {
                        yield Double.parseDouble(text);
                    } catch (NumberFormatException e) {
                        yield text;
                    }
                }
                case BOOL -> bool();
                default -> text;
            };
            case MAP -> {
                Map<String, Object> m = new LinkedHashMap<>();
                map.forEach((k, v) -> m.put(k, v.plain()));
                yield m;
            }
            case LIST -> {
                List<Object> l = new ArrayList<>();
                list.forEach(n -> l.add(n.plain()));
                yield l;
            }
        };
    }
}
