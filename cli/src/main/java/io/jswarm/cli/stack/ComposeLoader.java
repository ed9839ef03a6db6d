package io.jswarm.cli.stack;

import io.jswarm.manager.control.Quote;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads compose files into one interpolated tree: each file parsed by SnakeYAML (anchors,
 * aliases and {@code <<} merge keys resolved here, on the parsed nodes, so that every value
 * keeps its line), its values interpolated, then the files merged in order as compose
 * merges them (see {@link #merge}).
 */
public final class ComposeLoader {
    /** The merged tree, the directory relative paths are taken from (the first file's), and what to warn about. */
    public record Loaded(ComposeNode root, Path baseDir, List<String> warnings) {}

    private static final int MAX_DEPTH = 64;

    private ComposeLoader() {}

    /**
     * @param files paths, or "-" for standard input
     * @param environment the process environment (wins over the .env file beside the first file)
     */
    public static Loaded load(List<String> files, Map<String, String> environment, InputStream stdin) throws IOException {
        if (files.isEmpty()) {
            throw new ComposeException("no compose file given: use -c FILE (or -c - for standard input)");
        }
        String first = files.get(0);
        Path baseDir = first.equals("-") ? Path.of("").toAbsolutePath() : Path.of(first).toAbsolutePath().getParent();
        Interpolation vars = new Interpolation(Interpolation.variables(baseDir, environment));
        ComposeNode merged = null;
        for (String f : files) {
            String text;
            String name = f.equals("-") ? "(stdin)" : f;
            if (f.equals("-")) {
                text = new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
            } else {
                try {
                    text = Files.readString(Path.of(f), StandardCharsets.UTF_8);
                } catch (NoSuchFileException e) {
                    throw new ComposeException("compose file " + Quote.of(f) + " does not exist");
                } catch (java.nio.charset.MalformedInputException e) {
                    throw new ComposeException("compose file " + Quote.of(f) + " is not UTF-8 text");
                }
            }
            ComposeNode root = parse(name, text, vars);
            merged = merged == null ? root : merge(merged, root, "");
        }
        List<String> warnings = new ArrayList<>();
        for (String v : vars.unset) {
            warnings.add("The " + v + " variable is not set. Defaulting to a blank string.");
        }
        return new Loaded(merged, baseDir, warnings);
    }

    /** One file's tree, interpolated; refuses what is not YAML, not a mapping, or not a compose version jswarm reads. */
    static ComposeNode parse(String file, String text, Interpolation vars) {
        LoaderOptions opts = new LoaderOptions();
        opts.setAllowRecursiveKeys(false);
        opts.setMaxAliasesForCollections(200);
        opts.setAllowDuplicateKeys(true);  // found below, with both lines named
        Node node;
        try {
            node = new Yaml(opts).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            throw new ComposeException(file + (m == null ? "" : ":" + (m.getLine() + 1)) + ": invalid YAML: "
                    + (e.getProblem() != null ? e.getProblem() : e.getContext()));
        } catch (YAMLException e) {
            throw new ComposeException(file + ": invalid YAML: " + e.getMessage());
        }
        if (node == null) {
            throw new ComposeException(file + ": the file is empty: a compose file needs at least services");
        }
        ComposeNode root = new Converter(file, vars).convert(node, "", node.getStartMark().getLine() + 1, 0);
        if (!root.isMap()) {
            throw new ComposeException(file + ":" + root.line + ": a compose file is a mapping (services:, networks:, ...)");
        }
        ComposeNode version = root.get("version");
        if (version != null) {
            String v = version.isScalar() ? version.string() : "";
            if (!v.matches("3(\\.[0-9])?")) {
                throw version.error("unsupported compose file version " + Quote.of(v)
                        + ": jswarm reads versions 3 to 3.9, and files without a version (the compose specification)");
            }
        }
        return root;
    }

    /** SnakeYAML's nodes to ComposeNodes: merge keys applied, duplicate keys refused, scalars interpolated. */
    private record Converter(String file, Interpolation vars) {
        ComposeNode convert(Node n, String path, int line, int depth) {
            if (depth > MAX_DEPTH) {
                throw new ComposeException(file + ":" + line + ": " + path + ": nested too deeply (a recursive alias?)");
            }
            if (n instanceof ScalarNode s) {
                Tag tag = s.getTag();
                boolean plain = s.getScalarStyle() == org.yaml.snakeyaml.DumperOptions.ScalarStyle.PLAIN;
                ComposeNode.Type type = !plain ? ComposeNode.Type.STRING
                        : tag.equals(Tag.NULL) ? ComposeNode.Type.NULL
                        : tag.equals(Tag.INT) ? ComposeNode.Type.INT
                        : tag.equals(Tag.FLOAT) ? ComposeNode.Type.FLOAT
                        : tag.equals(Tag.BOOL) ? ComposeNode.Type.BOOL : ComposeNode.Type.STRING;
                String where = file + ":" + line;
                String text = type == ComposeNode.Type.STRING ? vars.apply(s.getValue(), where, path) : s.getValue();
                return ComposeNode.scalar(path, file, line, text, type);
            }
            if (n instanceof SequenceNode seq) {
                List<ComposeNode> items = new ArrayList<>();
                for (Node item : seq.getValue()) {
                    items.add(convert(item, path + "[" + items.size() + "]", item.getStartMark().getLine() + 1, depth + 1));
                }
                return ComposeNode.list(path, file, line, items);
            }
            MappingNode m = (MappingNode) n;
            Map<String, ComposeNode> entries = new LinkedHashMap<>();
            Map<String, Integer> keyLines = new LinkedHashMap<>();
            List<Node> merges = new ArrayList<>();
            for (NodeTuple t : m.getValue()) {
                int keyLine = t.getKeyNode().getStartMark().getLine() + 1;
                if (t.getKeyNode().getTag().equals(Tag.MERGE)) {
                    Node v = t.getValueNode();
                    if (v instanceof SequenceNode seq) {
                        merges.addAll(seq.getValue());
                    } else {
                        merges.add(v);
                    }
                    continue;
                }
                if (!(t.getKeyNode() instanceof ScalarNode k)) {
                    throw new ComposeException(file + ":" + keyLine + ": " + path + ": a key must be a plain string");
                }
                String key = k.getValue();
                String childPath = path.isEmpty() ? key : path + "." + key;
                if (entries.containsKey(key)) {
                    throw new ComposeException(file + ":" + keyLine + ": " + childPath + ": duplicate key (first at line "
                            + keyLines.get(key) + ")");
                }
                keyLines.put(key, keyLine);
                entries.put(key, convert(t.getValueNode(), childPath, keyLine, depth + 1));
            }
            // <<: *a or <<: [*a, *b]: keys written here win, then the first mapping named.
            for (Node merge : merges) {
                if (!(merge instanceof MappingNode)) {
                    throw new ComposeException(file + ":" + (merge.getStartMark().getLine() + 1) + ": " + path
                            + ": a merge key (<<) takes a mapping or a list of mappings");
                }
                ComposeNode merged = convert(merge, path, merge.getStartMark().getLine() + 1, depth + 1);
                for (Map.Entry<String, ComposeNode> e : merged.entries().entrySet()) {
                    entries.putIfAbsent(e.getKey(), e.getValue());
                }
            }
            return ComposeNode.map(path, file, line, entries);
        }
    }

    /** Keys whose lists are key=value pairs: merged as mappings when files are combined. */
    private static final Set<String> PAIRS = Set.of("environment", "labels");
    /** Service keys whose lists are added to (the override's entries replacing the base's with the same identity). */
    private static final Set<String> APPENDED = Set.of("ports", "volumes", "secrets", "configs", "tmpfs", "env_file");

    /**
     * {@code override} laid over {@code base}, as compose combines files: mappings merged key
     * by key, environment and labels merged by variable, ports, volumes, secrets, configs,
     * tmpfs and env_file added to, anything else (command, entrypoint, constraints, scalars)
     * replaced.
     */
    static ComposeNode merge(ComposeNode base, ComposeNode override, String key) {
        if (PAIRS.contains(key) && (base.isList() || override.isList()) && !base.isNull() && !override.isNull()) {
            return merge(pairsAsMap(base), pairsAsMap(override), "");
        }
        if (base.isMap() && override.isMap()) {
            Map<String, ComposeNode> out = new LinkedHashMap<>(base.entries());
            for (Map.Entry<String, ComposeNode> e : override.entries().entrySet()) {
                ComposeNode had = out.get(e.getKey());
                out.put(e.getKey(), had == null ? e.getValue() : merge(had, e.getValue(), e.getKey()));
            }
            return ComposeNode.map(override.path, override.file, override.line, out);
        }
        if (APPENDED.contains(key) && base.isList() && override.isList()) {
            Map<String, ComposeNode> byIdentity = new LinkedHashMap<>();
            for (ComposeNode n : base.items()) {
                byIdentity.put(identity(key, n), n);
            }
            for (ComposeNode n : override.items()) {
                byIdentity.put(identity(key, n), n);
            }
            return ComposeNode.list(override.path, override.file, override.line, new ArrayList<>(byIdentity.values())).at(override.path);
        }
        return override;
    }

    /** What makes two entries of an added-to list the same entry: a volume's target, a secret's source, else the whole text. */
    private static String identity(String key, ComposeNode n) {
        if (n.isMap()) {
            ComposeNode id = switch (key) {
                case "volumes" -> n.get("target");
                case "secrets", "configs" -> n.get("source");
                default -> null;
            };
            return id != null && id.isScalar() ? id.string() : String.valueOf(n.plain());
        }
        if (!n.isScalar()) {
            return String.valueOf(n.plain());
        }
        String s = n.string();
        if (key.equals("volumes")) {
            String[] parts = s.split(":");
            return parts.length >= 2 ? parts[1] : parts[0];
        }
        return s;
    }

    /** KEY=VALUE list entries as a mapping (KEY alone maps to null). */
    static ComposeNode pairsAsMap(ComposeNode n) {
        if (!n.isList()) {
            return n;
        }
        Map<String, ComposeNode> out = new LinkedHashMap<>();
        Set<String> seen = new LinkedHashSet<>();
        for (ComposeNode item : n.items()) {
            String s = item.string();
            int eq = s.indexOf('=');
            String k = eq < 0 ? s : s.substring(0, eq);
            seen.add(k);
            String childPath = n.path + "." + k;
            out.put(k, eq < 0 ? ComposeNode.nil(childPath, item.file, item.line)
                    : ComposeNode.scalar(childPath, item.file, item.line, s.substring(eq + 1), ComposeNode.Type.STRING));
        }
        return ComposeNode.map(n.path, n.file, n.line, out);
    }

    /** The merged file as YAML (stack config). */
    public static String print(ComposeNode root) {
        org.yaml.snakeyaml.DumperOptions d = new org.yaml.snakeyaml.DumperOptions();
        d.setDefaultFlowStyle(org.yaml.snakeyaml.DumperOptions.FlowStyle.BLOCK);
        d.setIndent(2);
        d.setIndicatorIndent(0);
        d.setWidth(200);
        return new Yaml(d).dump(root.plain());
    }
}
