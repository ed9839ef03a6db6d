package io.jswarm.cli.stack;

import com.google.protobuf.Duration;
import io.jswarm.api.ConfigReference;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.EndpointSpec;
import io.jswarm.api.GlobalService;
import io.jswarm.api.HealthConfig;
import io.jswarm.api.IPAMConfig;
import io.jswarm.api.Mount;
import io.jswarm.api.NetworkAttachmentConfig;
import io.jswarm.api.NetworkSpec;
import io.jswarm.api.PlacementPreference;
import io.jswarm.api.PortConfig;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.SecretReference;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.TaskSpec;
import io.jswarm.api.UpdateConfig;
import io.jswarm.cli.Units;
import io.jswarm.manager.Durations;
import io.jswarm.manager.control.Quote;
import io.jswarm.manager.control.SpecValidator;
import io.jswarm.scheduler.Constraint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A loaded compose tree to a {@link Stack}: pure apart from reading the files the compose
 * file names (env_file, secret and config files). Every value is checked here, with the
 * file, line and key path in the message, and every service spec is checked by the
 * managers' own {@link SpecValidator} before anything is sent: a file that converts is one
 * the managers accept.
 */
public final class StackConverter {
    private final String stack;
    private final Path baseDir;
    private final Map<String, String> environment;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, Stack.Network> declaredNetworks = new LinkedHashMap<>();
    private final Map<String, Stack.Network> usedNetworks = new LinkedHashMap<>();
    private final Map<String, String> volumes = new LinkedHashMap<>();
    private final Map<String, String> secretNames = new LinkedHashMap<>();
    private final Map<String, String> configNames = new LinkedHashMap<>();

    private StackConverter(String stack, Path baseDir, Map<String, String> environment) {
        this.stack = stack;
        this.baseDir = baseDir;
        this.environment = environment;
    }

    /** Converts the whole file, or refuses it naming the first fault. */
    public static Stack convert(ComposeLoader.Loaded loaded, String stack, Map<String, String> environment) {
        try {
            SpecValidator.validateName("stack", stack);
        } catch (IllegalArgumentException e) {
            throw new ComposeException(e.getMessage());
        }
        return new StackConverter(stack, loaded.baseDir(), environment).run(loaded.root(), loaded.warnings());
    }

    private Stack run(ComposeNode root, List<String> loadWarnings) {
        warnings.addAll(loadWarnings);
        Set<String> ignored = ComposeSchema.check(root);
        if (!ignored.isEmpty()) {
            warnings.add("Ignoring unsupported options: " + String.join(", ", ignored));
        }
        ComposeNode services = root.get("services");
        if (services == null || services.isNull() || services.entries().isEmpty()) {
            throw new ComposeException(root.file + ": the file defines no services");
        }
        networks(root.get("networks"));
        volumes(root.get("volumes"));
        List<Stack.FileObject> secrets = files("secret", root.get("secrets"), secretNames);
        List<Stack.FileObject> configs = files("config", root.get("configs"), configNames);
        Map<String, ServiceSpec> out = new LinkedHashMap<>();
        for (var e : services.entries().entrySet()) {
            ServiceSpec spec = service(e.getKey(), e.getValue());
            try {
                SpecValidator.validate(spec);
            } catch (IllegalArgumentException ex) {
                throw e.getValue().error(ex.getMessage());
            }
            out.put(e.getKey(), spec);
        }
        return new Stack(stack, List.copyOf(usedNetworks.values()), secrets, configs, out, List.copyOf(warnings));
    }

    private String scoped(String key) {
        return stack + "_" + key;
    }

    private Map<String, String> labels(ComposeNode n) {
        Map<String, String> out = new TreeMap<>();
        if (n != null && !n.isNull()) {
            for (var e : ComposeLoader.pairsAsMap(n).entries().entrySet()) {
                out.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().string());
            }
        }
        return out;
    }

    private Map<String, String> stackLabels(ComposeNode n) {
        Map<String, String> out = labels(n);
        out.put(Stack.NAMESPACE_LABEL, stack);
        return out;
    }

    /** external: true, or the older external: {name: N}; the name an external object has. */
    private static String externalName(String key, ComposeNode def) {
        ComposeNode ext = def.get("external");
        if (ext == null || ext.isNull()) {
            return null;
        }
        ComposeNode name = def.get("name");
        if (ext.isMap()) {
            ComposeNode n = ext.get("name");
            return n != null ? n.string() : name != null ? name.string() : key;
        }
        return ext.bool() ? (name != null ? name.string() : key) : null;
    }

    // ------------------------------------------------------------------ top level

    private void networks(ComposeNode top) {
        if (top != null) {
            for (var e : top.entriesOrEmpty().entrySet()) {
                String key = e.getKey();
                ComposeNode def = e.getValue();
                if (!def.isNull() && !def.isMap()) {
                    throw def.error("expected a mapping (driver, external, ipam, ...), got " + Quote.of(def.string()));
                }
                String ext = def.isNull() ? null : externalName(key, def);
                if (ext != null) {
                    declaredNetworks.put(key, new Stack.Network(ext, true, null));
                    continue;
                }
                NetworkSpec.Builder spec = NetworkSpec.newBuilder();
                ComposeNode name = def.get("name");
                spec.getAnnotationsBuilder().setName(name != null ? name.string() : scoped(key)).putAllLabels(stackLabels(def.get("labels")));
                ComposeNode driver = def.get("driver");
                if (driver != null && !driver.string().equals("overlay")) {
                    throw driver.error("network driver " + Quote.of(driver.string()) + " is not supported: jswarm's networks are overlay networks");
                }
                spec.setDriver("overlay");
                if (def.get("attachable") != null && def.get("attachable").bool()) {
                    spec.setAttachable(true);
                }
                if (def.get("internal") != null) {
                    spec.setInternal(def.get("internal").bool());
                }
                ComposeNode ipam = def.get("ipam");
                ComposeNode config = ipam == null || ipam.isNull() ? null : ipam.get("config");
                if (config != null && !config.isNull()) {
                    for (ComposeNode c : config.items()) {
                        IPAMConfig.Builder b = IPAMConfig.newBuilder();
                        if (c.get("subnet") != null) {
                            b.setSubnet(c.get("subnet").string());
                        }
                        if (c.get("gateway") != null) {
                            b.setGateway(c.get("gateway").string());
                        }
                        spec.addIpam(b);
                    }
                }
                try {
                    SpecValidator.validate(spec.build());
                } catch (IllegalArgumentException ex) {
                    throw def.error(ex.getMessage());
                }
                declaredNetworks.put(key, new Stack.Network(spec.getAnnotations().getName(), false, spec.build()));
            }
        }
        if (!declaredNetworks.containsKey("default")) {
            // Docker's STACK_default, made only if a service is on it (one that names no network).
            NetworkSpec.Builder spec = NetworkSpec.newBuilder().setDriver("overlay");
            spec.getAnnotationsBuilder().setName(scoped("default")).putAllLabels(stackLabels(null));
            declaredNetworks.put("default", new Stack.Network(scoped("default"), false, spec.build()));
        }
    }

    private void volumes(ComposeNode top) {
        if (top == null) {
            return;
        }
        for (var e : top.entriesOrEmpty().entrySet()) {
            String key = e.getKey();
            ComposeNode def = e.getValue();
            if (def.isNull()) {
                volumes.put(key, scoped(key));
                continue;
            }
            ComposeNode driver = def.get("driver");
            if (driver != null && !driver.string().equals("local")) {
                throw driver.error("volume driver " + Quote.of(driver.string()) + " is not supported: volumes are local directories on each node");
            }
            String ext = externalName(key, def);
            ComposeNode name = def.get("name");
            volumes.put(key, ext != null ? ext : name != null ? name.string() : scoped(key));
        }
    }

    /** Top-level secrets or configs: data from a file (relative to the compose file), inline content, or a variable; or external. */
    private List<Stack.FileObject> files(String kind, ComposeNode top, Map<String, String> names) {
        List<Stack.FileObject> out = new ArrayList<>();
        if (top == null) {
            return out;
        }
        for (var e : top.entriesOrEmpty().entrySet()) {
            String key = e.getKey();
            ComposeNode def = e.getValue();
            if (!def.isMap()) {
                throw def.error("expected a mapping (file, external, name), got " + (def.isNull() ? "nothing" : Quote.of(def.string())));
            }
            String ext = externalName(key, def);
            if (ext != null) {
                names.put(key, ext);
                out.add(new Stack.FileObject(ext, true, null, Map.of()));
                continue;
            }
            ComposeNode name = def.get("name");
            String full = name != null ? name.string() : scoped(key);
            byte[] data;
            ComposeNode file = def.get("file");
            ComposeNode content = def.get("content");
            ComposeNode env = def.get("environment");
            if ((file != null ? 1 : 0) + (content != null ? 1 : 0) + (env != null ? 1 : 0) != 1) {
                throw def.error(kind + " " + Quote.of(key) + " needs one of file" + (kind.equals("config") ? ", content" : "")
                        + ", environment or external: true");
            }
            if (file != null) {
                Path p = baseDir.resolve(file.string()).normalize();
                try {
                    data = Files.readAllBytes(p);
                } catch (IOException ex) {
                    throw file.error(kind + " file " + Quote.of(p.toString()) + " cannot be read"
                            + (Files.exists(p) ? "" : ": it does not exist"));
                }
            } else if (content != null) {
                data = content.string().getBytes(StandardCharsets.UTF_8);
            } else {
                String v = environment.get(env.string());
                if (v == null) {
                    throw env.error("variable " + Quote.of(env.string()) + " for " + kind + " " + Quote.of(key) + " is not set");
                }
                data = v.getBytes(StandardCharsets.UTF_8);
            }
            names.put(key, full);
            out.add(new Stack.FileObject(full, false, data, stackLabels(def.get("labels"))));
        }
        return out;
    }

    // ------------------------------------------------------------------ services

    private ServiceSpec service(String key, ComposeNode svc) {
        if (!svc.isMap()) {
            throw svc.error("expected a mapping (image, deploy, ...), got " + (svc.isNull() ? "nothing" : Quote.of(svc.string())));
        }
        ServiceSpec.Builder b = ServiceSpec.newBuilder();
        b.getAnnotationsBuilder().setName(scoped(key));
        TaskSpec.Builder task = b.getTaskBuilder();
        ContainerSpec.Builder c = task.getContainerBuilder();
        ComposeNode image = svc.get("image");
        if (image == null || image.string().isEmpty()) {
            throw svc.error("service " + Quote.of(key) + " has no image" + (svc.get("build") != null
                    ? ": build is not supported (stacks deploy images from a registry; build and push it first)" : ""));
        }
        c.setImage(image.string());
        if (svc.get("entrypoint") != null) {
            c.addAllCommand(commandLine(svc.get("entrypoint")));
        }
        if (svc.get("command") != null) {
            c.addAllArgs(commandLine(svc.get("command")));
        }
        c.addAllEnv(environment(svc));
        c.putAllLabels(stackLabels(svc.get("labels")));
        str(svc, "user", c::setUser);
        str(svc, "working_dir", c::setDir);
        str(svc, "hostname", c::setHostname);
        str(svc, "stop_signal", c::setStopSignal);
        if (svc.get("stop_grace_period") != null) {
            c.setStopGracePeriod(duration(svc.get("stop_grace_period")));
        }
        if (svc.get("read_only") != null) {
            c.setReadOnly(svc.get("read_only").bool());
        }
        healthcheck(svc.get("healthcheck"), c);
        mounts(svc, c);
        fileRefs(svc, c);
        networks(key, svc.get("networks"), task);
        ports(svc.get("ports"), b.getEndpointBuilder());
        deploy(svc.get("deploy"), b);
        ComposeNode pids = svc.get("pids_limit");
        if (pids != null) {
            long v = pids.integer(0, SpecValidator.MAX_PIDS);
            var limits = task.getResourcesBuilder().getLimitsBuilder();
            if (limits.getPids() != 0 && limits.getPids() != v) {
                throw pids.error("pids_limit and deploy.resources.limits.pids give different values (" + v + ", " + limits.getPids() + ")");
            }
            limits.setPids(v);
        }
        return b.build();
    }

    /** A string key; an empty one is refused, as swarmctl refuses an empty flag: a spec would take it for "unset". */
    private static void str(ComposeNode parent, String key, java.util.function.Consumer<String> set) {
        ComposeNode n = parent.get(key);
        if (n != null && !n.isNull()) {
            if (n.string().isBlank()) {
                throw n.error("empty value; leave the key out for its default");
            }
            set.accept(n.string());
        }
    }

    private static Duration duration(ComposeNode n) {
        return Durations.ofMillis(n.durationMs());
    }

    /** A command as a list, or a string split as a shell would (quotes and backslashes, no expansion). */
    static List<String> commandLine(ComposeNode n) {
        if (n.isNull()) {
            return List.of();
        }
        if (n.isList()) {
            return n.strings();
        }
        String s = n.string();
        List<String> out = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (quote == '\'') {
                if (ch == '\'') {
                    quote = 0;
                } else {
                    word.append(ch);
                }
            } else if (quote == '"') {
                if (ch == '"') {
                    quote = 0;
                } else if (ch == '\\' && i + 1 < s.length() && "\"\\$`".indexOf(s.charAt(i + 1)) >= 0) {
                    word.append(s.charAt(++i));
                } else {
                    word.append(ch);
                }
            } else if (Character.isWhitespace(ch)) {
                if (word != null) {
                    out.add(word.toString());
                    word = null;
                }
            } else {
                if (word == null) {
                    word = new StringBuilder();
                }
                if (ch == '\'' || ch == '"') {
                    quote = ch;
                } else if (ch == '\\' && i + 1 < s.length()) {
                    word.append(s.charAt(++i));
                } else {
                    word.append(ch);
                }
            }
        }
        if (quote != 0) {
            throw n.error("unterminated " + (quote == '"' ? "double" : "single") + " quote in " + Quote.of(s));
        }
        if (word != null) {
            out.add(word.toString());
        }
        return out;
    }

    /** env_file entries, then environment over them (compose's order), as KEY=VALUE sorted by key; KEY alone takes the deploying shell's value. */
    private List<String> environment(ComposeNode svc) {
        Map<String, String> env = new TreeMap<>();
        ComposeNode files = svc.get("env_file");
        if (files != null && !files.isNull()) {
            for (ComposeNode f : files.isList() ? files.items() : List.of(files)) {
                String path = f.isMap() ? f.get("path").string() : f.string();
                boolean required = !f.isMap() || f.get("required") == null || f.get("required").bool();
                Path p = baseDir.resolve(path).normalize();
                if (!Files.isRegularFile(p)) {
                    if (required) {
                        throw f.error("env file " + Quote.of(p.toString()) + " does not exist");
                    }
                    continue;
                }
                try {
                    for (var e : Interpolation.parseEnvFile(p, Files.readString(p, StandardCharsets.UTF_8)).entrySet()) {
                        putEnv(env, e.getKey(), e.getValue());
                    }
                } catch (IOException ex) {
                    throw f.error("env file " + Quote.of(p.toString()) + " cannot be read");
                }
            }
        }
        ComposeNode vars = svc.get("environment");
        if (vars != null && !vars.isNull()) {
            if (!vars.isList() && !vars.isMap()) {
                throw vars.error("expected a list of KEY=VALUE or a mapping, got " + Quote.of(vars.string()));
            }
            for (var e : ComposeLoader.pairsAsMap(vars).entries().entrySet()) {
                if (e.getKey().isEmpty()) {
                    throw e.getValue().error("an environment variable needs a name: expected KEY=VALUE");
                }
                ComposeNode v = e.getValue();
                if (v.isMap() || v.isList()) {
                    throw v.error("the value of " + e.getKey() + " must be a string, number or boolean");
                }
                putEnv(env, e.getKey(), v.isNull() ? null : v.string());
            }
        }
        List<String> out = new ArrayList<>();
        env.forEach((k, v) -> out.add(k + "=" + v));
        return out;
    }

    private void putEnv(Map<String, String> env, String key, String value) {
        if (value == null) {
            value = environment.get(key);
            if (value == null) {
                env.remove(key);  // as compose: a variable named without a value and not set is left out
                return;
            }
        }
        env.put(key, value);
    }

    private static void healthcheck(ComposeNode h, ContainerSpec.Builder c) {
        if (h == null || h.isNull()) {
            return;
        }
        HealthConfig.Builder hc = HealthConfig.newBuilder();
        boolean disabled = h.get("disable") != null && h.get("disable").bool();
        ComposeNode test = h.get("test");
        if (disabled) {
            if (test != null) {
                throw h.error("healthcheck.disable and healthcheck.test cannot be set together");
            }
            c.setHealthcheck(hc.addTest("NONE"));
            return;
        }
        if (test != null) {
            if (test.isScalar()) {
                hc.addTest("CMD-SHELL").addTest(test.string());
            } else {
                List<String> t = test.strings();
                if (t.isEmpty() || !(t.get(0).equals("CMD") || t.get(0).equals("CMD-SHELL") || t.get(0).equals("NONE"))) {
                    throw test.error("a test list starts with CMD, CMD-SHELL or NONE");
                }
                hc.addAllTest(t);
            }
        }
        if (h.get("interval") != null) {
            hc.setInterval(duration(h.get("interval")));
        }
        if (h.get("timeout") != null) {
            hc.setTimeout(duration(h.get("timeout")));
        }
        if (h.get("start_period") != null) {
            hc.setStartPeriod(duration(h.get("start_period")));
        }
        if (h.get("retries") != null) {
            hc.setRetries((int) h.get("retries").integer(0, Integer.MAX_VALUE));
        }
        c.setHealthcheck(hc);
    }

    private void mounts(ComposeNode svc, ContainerSpec.Builder c) {
        ComposeNode vols = svc.get("volumes");
        if (vols != null && !vols.isNull()) {
            for (ComposeNode v : vols.items()) {
                c.addMounts(v.isMap() ? longVolume(v) : shortVolume(v));
            }
        }
        ComposeNode tmpfs = svc.get("tmpfs");
        if (tmpfs != null && !tmpfs.isNull()) {
            for (String t : tmpfs.strings()) {
                String[] parts = t.split(":", 2);
                Mount.Builder m = Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget(parts[0]);
                if (parts.length > 1) {
                    for (String opt : parts[1].split(",")) {
                        if (opt.startsWith("size=")) {
                            m.setTmpfsSizeBytes(tmpfsSize(tmpfs, opt.substring(5)));
                        } else {
                            throw tmpfs.error("tmpfs option " + Quote.of(opt) + " is not supported: only size=");
                        }
                    }
                }
                c.addMounts(m);
            }
        }
    }

    private static long tmpfsSize(ComposeNode where, String text) {
        try {
            return Units.parseBytes(where.path, text);
        } catch (IllegalArgumentException e) {
            throw where.error("expected a size such as 64m, got " + Quote.of(text));
        }
    }

    /** SOURCE:TARGET[:MODE] or TARGET: a path source is a bind mount, a name a volume declared in the file. */
    private Mount shortVolume(ComposeNode v) {
        String[] parts = v.string().split(":");
        Mount.Builder m = Mount.newBuilder();
        if (parts.length == 1) {
            return m.setType(Mount.Type.VOLUME).setTarget(parts[0]).build();  // anonymous: a fresh directory per node
        }
        if (parts.length > 3) {
            throw v.error("expected SOURCE:TARGET[:MODE], got " + Quote.of(v.string()));
        }
        source(v, parts[0], m);
        m.setTarget(parts[1]);
        if (parts.length == 3) {
            for (String mode : parts[2].split(",")) {
                switch (mode) {
                    case "ro" -> m.setReadOnly(true);
                    case "rw" -> m.setReadOnly(false);
                    default -> throw v.error("volume mode " + Quote.of(mode) + " is not supported: ro or rw");
                }
            }
        }
        return m.build();
    }

    private void source(ComposeNode where, String source, Mount.Builder m) {
        if (source.startsWith("/") || source.startsWith(".") || source.startsWith("~")) {
            String path = source.startsWith("~") ? System.getProperty("user.home") + source.substring(1)
                    : baseDir.resolve(source).normalize().toString();
            m.setType(Mount.Type.BIND).setSource(path);
            return;
        }
        String name = volumes.get(source);
        if (name == null) {
            throw where.error("volume " + Quote.of(source) + " is not declared in the file's top-level volumes");
        }
        m.setType(Mount.Type.VOLUME).setSource(name);
    }

    private Mount longVolume(ComposeNode v) {
        Mount.Builder m = Mount.newBuilder();
        ComposeNode target = v.get("target");
        if (target == null) {
            throw v.error("a volume needs a target");
        }
        m.setTarget(target.string());
        String type = v.get("type") == null ? "volume" : v.get("type").string();
        ComposeNode source = v.get("source");
        switch (type) {
            case "bind" -> {
                if (source == null) {
                    throw v.error("a bind mount needs a source");
                }
                source(source, source.string().startsWith("/") || source.string().startsWith(".") ? source.string()
                        : "./" + source.string(), m);
            }
            case "volume" -> {
                m.setType(Mount.Type.VOLUME);
                if (source != null) {
                    source(source, source.string(), m);
                    if (m.getType() == Mount.Type.BIND) {
                        throw source.error("a volume's source is a volume name, not a path: use type: bind");
                    }
                }
            }
            case "tmpfs" -> {
                m.setType(Mount.Type.TMPFS);
                ComposeNode t = v.get("tmpfs");
                if (t != null && t.get("size") != null) {
                    ComposeNode size = t.get("size");
                    m.setTmpfsSizeBytes(size.isScalar() && size.type() == ComposeNode.Type.INT ? size.integer(0, Long.MAX_VALUE) : size.bytes());
                }
            }
            default -> throw v.get("type").error("volume type " + Quote.of(type) + " is not supported: bind, volume or tmpfs");
        }
        if (v.get("read_only") != null) {
            m.setReadOnly(v.get("read_only").bool());
        }
        return m.build();
    }

    private void fileRefs(ComposeNode svc, ContainerSpec.Builder c) {
        ComposeNode secrets = svc.get("secrets");
        if (secrets != null && !secrets.isNull()) {
            for (ComposeNode s : secrets.items()) {
                FileRef f = fileRef("secret", s, secretNames);
                SecretReference.Builder r = SecretReference.newBuilder().setSecretName(f.name).setTarget(f.target).setUid(f.uid).setGid(f.gid);
                if (f.mode != null) {
                    r.setMode(f.mode);
                }
                c.addSecrets(r);
            }
        }
        ComposeNode configs = svc.get("configs");
        if (configs != null && !configs.isNull()) {
            for (ComposeNode s : configs.items()) {
                FileRef f = fileRef("config", s, configNames);
                ConfigReference.Builder r = ConfigReference.newBuilder().setConfigName(f.name).setTarget(f.target).setUid(f.uid).setGid(f.gid);
                if (f.mode != null) {
                    r.setMode(f.mode);
                }
                c.addConfigs(r);
            }
        }
    }

    private record FileRef(String name, String target, int uid, int gid, Integer mode) {}

    /** NAME, or source/target/uid/gid/mode; the file is named after the key (/run/secrets/KEY, /KEY), as Docker does. */
    private static FileRef fileRef(String kind, ComposeNode n, Map<String, String> names) {
        ComposeNode source = n.isMap() ? n.get("source") : n;
        if (source == null) {
            throw n.error("a " + kind + " needs a source");
        }
        String key = source.string();
        String name = names.get(key);
        if (name == null) {
            throw source.error(kind + " " + Quote.of(key) + " is not declared in the file's top-level " + kind + "s");
        }
        String target = kind.equals("secret") ? key : "/" + key;
        int uid = 0;
        int gid = 0;
        Integer mode = null;
        if (n.isMap()) {
            if (n.get("target") != null) {
                target = n.get("target").string();
            }
            if (n.get("uid") != null) {
                uid = (int) n.get("uid").integer(0, Integer.MAX_VALUE);
            }
            if (n.get("gid") != null) {
                gid = (int) n.get("gid").integer(0, Integer.MAX_VALUE);
            }
            if (n.get("mode") != null) {
                // Octal as YAML 1.1 writes it (0440), as Docker reads it; a plain 288 is the same mode.
                mode = (int) n.get("mode").integer(0, 0777);
            }
        }
        return new FileRef(name, target, uid, gid, mode);
    }

    private void networks(String key, ComposeNode n, TaskSpec.Builder task) {
        Map<String, List<String>> wanted = new LinkedHashMap<>();
        Map<String, ComposeNode> where = new LinkedHashMap<>();
        if (n == null || n.isNull()) {
            wanted.put("default", List.of());
        } else if (n.isList()) {
            for (ComposeNode item : n.items()) {
                wanted.put(item.string(), List.of());
                where.put(item.string(), item);
            }
        } else {
            for (var e : n.entries().entrySet()) {
                ComposeNode aliases = e.getValue().isNull() ? null : e.getValue().get("aliases");
                wanted.put(e.getKey(), aliases == null || aliases.isNull() ? List.of() : aliases.strings());
                where.put(e.getKey(), e.getValue());
            }
        }
        for (var e : wanted.entrySet()) {
            Stack.Network net = declaredNetworks.get(e.getKey());
            if (net == null) {
                throw where.get(e.getKey()).error("network " + Quote.of(e.getKey()) + " is not declared in the file's top-level networks");
            }
            usedNetworks.put(e.getKey(), net);
            // Every service answers to its name in the file on every network of the stack (Docker's alias).
            Set<String> aliases = new LinkedHashSet<>();
            aliases.add(key);
            aliases.addAll(e.getValue());
            task.addNetworks(NetworkAttachmentConfig.newBuilder().setTarget(net.name()).addAllAliases(aliases));
        }
    }

    private static void ports(ComposeNode ports, EndpointSpec.Builder e) {
        if (ports == null || ports.isNull()) {
            return;
        }
        for (ComposeNode p : ports.items()) {
            if (p.isMap()) {
                PortConfig.Builder b = PortConfig.newBuilder();
                ComposeNode target = p.get("target");
                if (target == null) {
                    throw p.error("a port needs a target");
                }
                b.setTargetPort((int) target.integer(1, 65535));
                ComposeNode published = p.get("published");
                if (published != null) {
                    b.setPublishedPort((int) published.integer(1, 65535));
                }
                if (p.get("protocol") != null) {
                    b.setProtocol(protocol(p.get("protocol"), p.get("protocol").string()));
                }
                if (p.get("mode") != null) {
                    b.setPublishMode(switch (p.get("mode").string()) {
                        case "ingress" -> PortConfig.PublishMode.INGRESS;
                        case "host" -> PortConfig.PublishMode.HOST;
                        default -> throw p.get("mode").error("expected ingress or host, got " + Quote.of(p.get("mode").string()));
                    });
                }
                e.addPorts(b);
            } else {
                e.addAllPorts(shortPorts(p));
            }
        }
    }

    /** [HOST_IP:][PUBLISHED[-END]:]TARGET[-END][/PROTOCOL], ranges expanded; a host IP is refused (every node answers on every address). */
    private static List<PortConfig> shortPorts(ComposeNode p) {
        String s = p.string();
        PortConfig.Protocol proto = PortConfig.Protocol.TCP;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            proto = protocol(p, s.substring(slash + 1));
            s = s.substring(0, slash);
        }
        String[] parts = s.split(":", -1);
        if (parts.length == 3) {
            throw p.error("a host address in a port (" + Quote.of(parts[0]) + ") is not supported: published ports are served on every"
                    + " address of every node (write PUBLISHED:TARGET)");
        }
        if (parts.length > 3) {
            throw p.error("expected [PUBLISHED:]TARGET[/PROTOCOL], got " + Quote.of(p.string()));
        }
        int[] target = range(p, parts[parts.length - 1]);
        int[] published = parts.length == 2 ? range(p, parts[0]) : null;
        if (published != null && published[1] - published[0] != target[1] - target[0]) {
            throw p.error("the published range and the target range of " + Quote.of(p.string()) + " differ in size");
        }
        List<PortConfig> out = new ArrayList<>();
        for (int i = 0; i <= target[1] - target[0]; i++) {
            PortConfig.Builder b = PortConfig.newBuilder().setTargetPort(target[0] + i).setProtocol(proto);
            if (published != null) {
                b.setPublishedPort(published[0] + i);
            }
            out.add(b.build());
        }
        return out;
    }

    private static int[] range(ComposeNode p, String text) {
        String[] ends = text.split("-", -1);
        try {
            int a = Integer.parseInt(ends[0].trim());
            int b = ends.length == 2 ? Integer.parseInt(ends[1].trim()) : a;
            if (ends.length > 2 || a < 1 || b > 65535 || b < a) {
                throw new NumberFormatException();
            }
            return new int[] {a, b};
        } catch (NumberFormatException e) {
            throw p.error("expected a port 1-65535 or a range such as 8000-8010, got " + Quote.of(text));
        }
    }

    private static PortConfig.Protocol protocol(ComposeNode where, String text) {
        return switch (text.toLowerCase(java.util.Locale.ROOT)) {
            case "tcp" -> PortConfig.Protocol.TCP;
            case "udp" -> PortConfig.Protocol.UDP;
            default -> throw where.error("protocol " + Quote.of(text) + " is not supported: tcp or udp");
        };
    }

    private void deploy(ComposeNode d, ServiceSpec.Builder b) {
        Map<String, String> serviceLabels = stackLabels(d == null || d.isNull() ? null : d.get("labels"));
        b.getAnnotationsBuilder().putAllLabels(serviceLabels);
        if (d == null || d.isNull()) {
            b.setReplicated(ReplicatedService.newBuilder().setReplicas(1));
            return;
        }
        if (!d.isMap()) {
            throw d.error("expected a mapping (mode, replicas, ...), got " + Quote.of(d.string()));
        }
        String mode = d.get("mode") == null ? "replicated" : d.get("mode").string();
        ComposeNode replicas = d.get("replicas");
        switch (mode) {
            case "replicated" -> b.setReplicated(ReplicatedService.newBuilder()
                    .setReplicas(replicas == null ? 1 : replicas.integer(0, SpecValidator.MAX_REPLICAS)));
            case "global" -> {
                if (replicas != null) {
                    throw replicas.error("replicas cannot be set for a global service");
                }
                b.setGlobal(GlobalService.getDefaultInstance());
            }
            default -> throw d.get("mode").error("expected replicated or global, got " + Quote.of(mode));
        }
        if (d.get("endpoint_mode") != null) {
            ComposeNode m = d.get("endpoint_mode");
            b.getEndpointBuilder().setMode(switch (m.string()) {
                case "vip" -> EndpointSpec.ResolutionMode.VIP;
                case "dnsrr" -> EndpointSpec.ResolutionMode.DNSRR;
                default -> throw m.error("expected vip or dnsrr, got " + Quote.of(m.string()));
            });
        }
        TaskSpec.Builder task = b.getTaskBuilder();
        ComposeNode placement = d.get("placement");
        if (placement != null && !placement.isNull()) {
            ComposeNode constraints = placement.get("constraints");
            if (constraints != null && !constraints.isNull()) {
                for (ComposeNode con : constraints.items()) {
                    try {
                        Constraint.parse(con.string());
                    } catch (IllegalArgumentException e) {
                        throw con.error(e.getMessage());
                    }
                    task.getPlacementBuilder().addConstraints(con.string());
                }
            }
            ComposeNode prefs = placement.get("preferences");
            if (prefs != null && !prefs.isNull()) {
                for (ComposeNode pref : prefs.items()) {
                    ComposeNode spread = pref.get("spread");
                    if (spread == null) {
                        throw pref.error("a placement preference is spread: node.labels.KEY");
                    }
                    task.getPlacementBuilder().addPreferences(PlacementPreference.newBuilder().setSpread(spread.string()));
                }
            }
            if (placement.get("max_replicas_per_node") != null) {
                task.getPlacementBuilder().setMaxReplicas(placement.get("max_replicas_per_node").integer(0, SpecValidator.MAX_REPLICAS));
            }
        }
        ComposeNode res = d.get("resources");
        if (res != null && !res.isNull()) {
            resources(res.get("limits"), task.getResourcesBuilder().getLimitsBuilder(), true);
            resources(res.get("reservations"), task.getResourcesBuilder().getReservationsBuilder(), false);
        }
        ComposeNode restart = d.get("restart_policy");
        if (restart != null && !restart.isNull()) {
            RestartPolicy.Builder r = task.getRestartBuilder();
            if (restart.get("condition") != null) {
                ComposeNode c = restart.get("condition");
                r.setCondition(switch (c.string()) {
                    case "none" -> RestartPolicy.Condition.NONE;
                    case "on-failure" -> RestartPolicy.Condition.ON_FAILURE;
                    case "any" -> RestartPolicy.Condition.ANY;
                    default -> throw c.error("expected none, on-failure or any, got " + Quote.of(c.string()));
                });
            }
            if (restart.get("delay") != null) {
                r.setDelay(duration(restart.get("delay")));
            }
            if (restart.get("max_attempts") != null) {
                r.setMaxAttempts(restart.get("max_attempts").integer(0, Long.MAX_VALUE));
            }
            if (restart.get("window") != null) {
                r.setWindow(duration(restart.get("window")));
            }
        }
        updateConfig(d.get("update_config"), b, false);
        updateConfig(d.get("rollback_config"), b, true);
    }

    private static void resources(ComposeNode n, io.jswarm.api.Resources.Builder r, boolean limits) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.get("cpus") != null) {
            String cpus = n.get("cpus").number();
            try {
                r.setNanoCpus(Units.parseNanoCpus(n.get("cpus").path, cpus));
            } catch (IllegalArgumentException e) {
                throw n.get("cpus").error("expected a CPU count such as 0.5 or 2, got " + Quote.of(cpus));
            }
        }
        if (n.get("memory") != null) {
            r.setMemoryBytes(n.get("memory").bytes());
        }
        if (limits && n.get("pids") != null) {
            r.setPids(n.get("pids").integer(0, SpecValidator.MAX_PIDS));
        }
    }

    private static void updateConfig(ComposeNode n, ServiceSpec.Builder b, boolean rollback) {
        if (n == null || n.isNull()) {
            return;
        }
        // Docker's default of one task at a time holds when the block leaves parallelism out.
        UpdateConfig.Builder u = UpdateConfig.newBuilder().setParallelism(1);
        if (n.get("parallelism") != null) {
            u.setParallelism(n.get("parallelism").integer(0, Long.MAX_VALUE));
        }
        if (n.get("delay") != null) {
            u.setDelay(duration(n.get("delay")));
        }
        if (n.get("monitor") != null) {
            u.setMonitor(duration(n.get("monitor")));
        }
        if (n.get("failure_action") != null) {
            ComposeNode f = n.get("failure_action");
            u.setFailureAction(switch (f.string()) {
                case "pause" -> UpdateConfig.FailureAction.PAUSE;
                case "continue" -> UpdateConfig.FailureAction.CONTINUE;
                case "rollback" -> {
                    if (rollback) {
                        throw f.error("a rollback's failure action is pause or continue");
                    }
                    yield UpdateConfig.FailureAction.ROLLBACK;
                }
                default -> throw f.error("expected pause, continue or rollback, got " + Quote.of(f.string()));
            });
        }
        if (n.get("max_failure_ratio") != null) {
            ComposeNode r = n.get("max_failure_ratio");
            float ratio = Float.parseFloat(r.number());
            if (ratio < 0 || ratio > 1) {
                throw r.error("expected a number from 0 to 1, got " + Quote.of(r.string()));
            }
            u.setMaxFailureRatio(ratio);
        }
        if (n.get("order") != null) {
            ComposeNode o = n.get("order");
            u.setOrder(switch (o.string()) {
                case "stop-first" -> UpdateConfig.Order.STOP_FIRST;
                case "start-first" -> UpdateConfig.Order.START_FIRST;
                default -> throw o.error("expected stop-first or start-first, got " + Quote.of(o.string()));
            });
        }
        if (rollback) {
            b.setRollback(u);
        } else {
            b.setUpdate(u);
        }
    }
}
