package io.jswarm.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A placement constraint such as {@code node.labels.zone==a} or {@code node.role!=manager}.
 * Parsing is strict so that a typo is refused when the service is created, not silently
 * never matched.
 */
public record Constraint(String key, boolean equal, String value) {

    public static Constraint parse(String text) {
        String s = text.trim();
        int eq = s.indexOf("==");
        int ne = s.indexOf("!=");
        int at;
        boolean equal;
        if (eq >= 0 && (ne < 0 || eq < ne)) {
            at = eq;
            equal = true;
        } else if (ne >= 0) {
            at = ne;
            equal = false;
        } else {
            throw new IllegalArgumentException("invalid constraint \"" + text
                    + "\": expected KEY==VALUE or KEY!=VALUE, e.g. node.labels.zone==a");
        }
        String key = s.substring(0, at).trim();
        String value = s.substring(at + 2).trim();
        if (value.isEmpty() || value.contains("==") || value.contains("!=")) {
            throw new IllegalArgumentException("invalid constraint \"" + text + "\": missing or malformed value");
        }
        String lower = key.toLowerCase(Locale.ROOT);
        boolean known = switch (lower) {
            case "node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch" -> true;
            default -> lower.startsWith("node.labels.") && key.length() > "node.labels.".length();
        };
        if (!known) {
            throw new IllegalArgumentException("invalid constraint \"" + text + "\": unknown key \"" + key
                    + "\" (use node.id, node.hostname, node.role, node.platform.os, node.platform.arch or node.labels.KEY)");
        }
        if (lower.equals("node.role") && !value.equalsIgnoreCase("manager") && !value.equalsIgnoreCase("worker")) {
            throw new IllegalArgumentException("invalid constraint \"" + text + "\": node.role is manager or worker");
        }
        String normalizedKey = lower.startsWith("node.labels.") ? "node.labels." + key.substring("node.labels.".length()) : lower;
        return new Constraint(normalizedKey, equal, value);
    }

    public static List<Constraint> parseAll(List<String> texts) {
        List<Constraint> out = new ArrayList<>(texts.size());
        for (String t : texts) {
            out.add(parse(t));
        }
        return out;
    }

    public boolean matches(NodeInfo node) {
        String actual = switch (key) {
            case "node.id" -> node.id();
            case "node.hostname" -> node.hostname();
            case "node.role" -> node.role();
            case "node.platform.os" -> node.os();
            case "node.platform.arch" -> node.arch();
            default -> node.labels().get(key.substring("node.labels.".length()));
        };
        // A missing label never equals anything, and always differs from everything.
        boolean same = actual != null && (key.startsWith("node.labels.") || key.equals("node.id")
                ? actual.equals(value) : actual.equalsIgnoreCase(value));
        return equal == same;
    }

    @Override
    public String toString() {
        return key + (equal ? "==" : "!=") + value;
    }
}
