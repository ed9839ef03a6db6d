package io.jswarm.cli.stack;

import io.jswarm.manager.control.Quote;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Variable substitution in compose values, as compose does it: {@code $VAR}, {@code ${VAR}},
 * {@code ${VAR:-default}} (unset or empty), {@code ${VAR-default}} (unset),
 * {@code ${VAR:?message}} and {@code ${VAR?message}} (refused when unset, or empty with the
 * colon), {@code ${VAR:+other}} and {@code ${VAR+other}}, {@code $$} for a dollar sign.
 * Defaults may hold substitutions themselves. An unset variable without a default becomes
 * an empty string, with a warning (compose's wording).
 */
final class Interpolation {
    private final Map<String, String> vars;
    /** Variables used but not set, for one warning each. */
    final Set<String> unset = new LinkedHashSet<>();

    Interpolation(Map<String, String> vars) {
        this.vars = vars;
    }

    /**
     * The variables a deploy sees: those of a {@code .env} file in {@code dir} (if any),
     * overridden by the process environment (compose's order).
     */
    static Map<String, String> variables(Path dir, Map<String, String> environment) throws IOException {
        Map<String, String> out = new HashMap<>();
        Path env = dir.resolve(".env");
        if (Files.isRegularFile(env)) {
            out.putAll(parseEnvFile(env, Files.readString(env, StandardCharsets.UTF_8)));
        }
        out.putAll(environment);
        return out;
    }

    /**
     * KEY=VALUE lines, as compose reads .env and env_file files: blank lines and # comments
     * skipped, an optional {@code export }, single quotes literal, double quotes with \n, \t,
     * \" and \\ escapes, a # after a space in an unquoted value starts a comment.
     */
    static Map<String, String> parseEnvFile(Path file, String text) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("export ")) {
                line = line.substring(7).strip();
            }
            int eq = line.indexOf('=');
            String key = (eq < 0 ? line : line.substring(0, eq)).strip();
            if (key.isEmpty() || !key.matches("[A-Za-z_][A-Za-z0-9_.-]*")) {
                throw new ComposeException(file + ":" + (i + 1) + ": invalid variable name " + Quote.of(key)
                        + ": expected KEY=VALUE");
            }
            if (eq < 0) {
                out.put(key, null);  // as KEY alone in environment: taken from the environment, if set there
                continue;
            }
            String v = line.substring(eq + 1).strip();
            if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
                v = v.substring(1, v.length() - 1);
            } else if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                v = v.substring(1, v.length() - 1).replace("\\n", "\n").replace("\\t", "\t").replace("\\\"", "\"").replace("\\\\", "\\");
            } else {
                int hash = v.indexOf(" #");
                if (hash >= 0) {
                    v = v.substring(0, hash).strip();
                }
            }
            out.put(key, v);
        }
        return out;
    }

    /** The text with its substitutions made; errors name {@code node}'s place and key. */
    String apply(String text, String where, String path) {
        if (text.indexOf('$') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != '$') {
                out.append(c);
                i++;
                continue;
            }
            char next = i + 1 < text.length() ? text.charAt(i + 1) : 0;
            if (next == '$') {
                out.append('$');
                i += 2;
            } else if (next == '{') {
                int end = closing(text, i + 2);
                if (end < 0) {
                    throw invalid(text, where, path);
                }
                out.append(braced(text.substring(i + 2, end), text, where, path));
                i = end + 1;
            } else if (Character.isLetter(next) || next == '_') {
                int j = i + 1;
                while (j < text.length() && (Character.isLetterOrDigit(text.charAt(j)) || text.charAt(j) == '_')) {
                    j++;
                }
                out.append(value(text.substring(i + 1, j)));
                i = j;
            } else {
                throw invalid(text, where, path);
            }
        }
        return out.toString();
    }

    /** The index of the brace closing a "${" whose body starts at {@code from}, counting nested "${". */
    private static int closing(String text, int from) {
        int depth = 1;
        for (int i = from; i < text.length(); i++) {
            if (text.startsWith("${", i)) {
                depth++;
                i++;
            } else if (text.charAt(i) == '}' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private String braced(String body, String text, String where, String path) {
        int j = 0;
        while (j < body.length() && (Character.isLetterOrDigit(body.charAt(j)) || body.charAt(j) == '_')) {
            j++;
        }
        String name = body.substring(0, j);
        if (name.isEmpty() || Character.isDigit(name.charAt(0))) {
            throw invalid(text, where, path);
        }
        String op = body.substring(j);
        String set = vars.get(name);
        if (op.isEmpty()) {
            return value(name);
        }
        boolean colon = op.startsWith(":");
        String rest = colon ? op.substring(1) : op;
        if (rest.isEmpty()) {
            throw invalid(text, where, path);
        }
        char kind = rest.charAt(0);
        String word = rest.substring(1);
        boolean missing = set == null || (colon && set.isEmpty());
        return switch (kind) {
            case '-' -> missing ? apply(word, where, path) : set;
            case '?' -> {
                if (missing) {
                    String msg = apply(word, where, path);
                    throw new ComposeException(where + ": " + path + ": required variable " + name + " is "
                            + (set == null ? "missing a value" : "empty") + (msg.isEmpty() ? "" : ": " + msg));
                }
                yield set;
            }
            case '+' -> missing ? "" : apply(word, where, path);
            default -> throw invalid(text, where, path);
        };
    }

    private String value(String name) {
        String v = vars.get(name);
        if (v == null) {
            unset.add(name);
            return "";
        }
        return v;
    }

    private static ComposeException invalid(String text, String where, String path) {
        return new ComposeException(where + ": " + path + ": invalid interpolation format " + Quote.of(text)
                + ": write $$ for a literal dollar sign");
    }
}
