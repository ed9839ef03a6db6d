package io.jswarm.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.MessageOrBuilder;
import io.jswarm.api.Annotations;
import io.jswarm.api.Meta;
import io.jswarm.api.control.*;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code secret} and {@code config}: the same four commands over two kinds of object (one
 * base class each, a small {@link Kind} per object). A secret's data is never shown.
 */
@Command(name = "secret", description = "Manage secrets.", mixinStandardHelpOptions = true)
final class SecretCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: secret needs a subcommand: create, ls, inspect, rm");
        return 1;
    }

    /** What differs between secrets and configs. */
    interface Kind {
        String name();

        String create(ControlClient cc, Annotations a, ByteString data);

        List<Item> list(ControlClient cc);

        MessageOrBuilder inspect(ControlClient cc, String ref);

        String pretty(MessageOrBuilder inspected);

        void remove(ControlClient cc, String ref);
    }

    record Item(Meta meta, Annotations annotations) {}

    static final Kind SECRETS = new Kind() {
        public String name() {
            return "secret";
        }

        public String create(ControlClient cc, Annotations a, ByteString data) {
            return cc.stub().createSecret(CreateSecretRequest.newBuilder().setSpec(
                    io.jswarm.api.SecretSpec.newBuilder().setAnnotations(a).setData(data)).build()).getSecret().getMeta().getId();
        }

        public List<Item> list(ControlClient cc) {
            return cc.stub().listSecrets(ListSecretsRequest.getDefaultInstance()).getSecretsList().stream()
                    .map(s -> new Item(s.getMeta(), s.getSpec().getAnnotations())).toList();
        }

        public MessageOrBuilder inspect(ControlClient cc, String ref) {
            return cc.stub().getSecret(GetSecretRequest.newBuilder().setSecretId(ref).build());
        }

        public String pretty(MessageOrBuilder m) {
            GetSecretResponse r = (GetSecretResponse) m;
            return header(r.getSecret().getMeta(), r.getSecret().getSpec().getAnnotations(), r.getServicesList())
                    + "Size:\t\t" + r.getSecret().getSize() + " bytes\n";
        }

        public void remove(ControlClient cc, String ref) {
            cc.stub().removeSecret(RemoveSecretRequest.newBuilder().setSecretId(ref).build());
        }
    };

    static final Kind CONFIGS = new Kind() {
        public String name() {
            return "config";
        }

        public String create(ControlClient cc, Annotations a, ByteString data) {
            return cc.stub().createConfig(CreateConfigRequest.newBuilder().setSpec(
                    io.jswarm.api.ConfigSpec.newBuilder().setAnnotations(a).setData(data)).build()).getConfig().getMeta().getId();
        }

        public List<Item> list(ControlClient cc) {
            return cc.stub().listConfigs(ListConfigsRequest.getDefaultInstance()).getConfigsList().stream()
                    .map(c -> new Item(c.getMeta(), c.getSpec().getAnnotations())).toList();
        }

        public MessageOrBuilder inspect(ControlClient cc, String ref) {
            return cc.stub().getConfig(GetConfigRequest.newBuilder().setConfigId(ref).build());
        }

        public String pretty(MessageOrBuilder m) {
            GetConfigResponse r = (GetConfigResponse) m;
            // As docker config inspect --pretty: a config's data is not secret.
            return header(r.getConfig().getMeta(), r.getConfig().getSpec().getAnnotations(), r.getServicesList())
                    + "Data:\n" + r.getConfig().getSpec().getData().toStringUtf8() + "\n";
        }

        public void remove(ControlClient cc, String ref) {
            cc.stub().removeConfig(RemoveConfigRequest.newBuilder().setConfigId(ref).build());
        }
    };

    static String header(Meta m, Annotations a, List<String> services) {
        StringBuilder sb = new StringBuilder();
        sb.append("ID:\t\t").append(m.getId()).append('\n');
        sb.append("Name:\t\t").append(a.getName()).append('\n');
        if (!a.getLabelsMap().isEmpty()) {
            sb.append("Labels:\n");
            a.getLabelsMap().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                    .forEach(e -> sb.append(" - ").append(e.getKey()).append('=').append(e.getValue()).append('\n'));
        }
        sb.append("Created at:\t").append(java.time.Instant.ofEpochMilli(m.getCreatedAtMs())).append('\n');
        sb.append("Updated at:\t").append(java.time.Instant.ofEpochMilli(m.getUpdatedAtMs())).append('\n');
        sb.append("Used by:\t").append(services.isEmpty() ? "-" : String.join(", ", services)).append('\n');
        return sb.toString();
    }

    /** The data of FILE, or of standard input for "-"; refused when it cannot be read. */
    static ByteString read(String kind, String file) {
        try {
            if (file.equals("-")) {
                return ByteString.readFrom(System.in);
            }
            Path p = Path.of(file);
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException(kind + " data file " + file + " does not exist or is not a file");
            }
            return ByteString.copyFrom(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + kind + " data from " + file + ": " + e.getMessage());
        }
    }

    abstract static class CreateBase implements Callable<Integer> {
        @Option(names = {"-l", "--label"}, description = "Labels (KEY=VALUE)") List<String> labels = new ArrayList<>();
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "FILE|-", description = "File with the data, or - for standard input") String file;

        abstract Kind kind();

        @Override
        public Integer call() {
            Annotations.Builder a = Annotations.newBuilder().setName(name);
            ServiceCommand.putLabels("--label", labels, a.getMutableLabels());
            ByteString data = read(kind().name(), file);
            try (ControlClient cc = Swarmctl.client()) {
                System.out.println(kind().create(cc, a.build(), data));
            }
            return 0;
        }
    }

    abstract static class LsBase implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display IDs") boolean quiet;
        @Option(names = "--format", description = "table (default) or json") String format = "table";

        abstract Kind kind();

        @Override
        public Integer call() {
            Listing out = new Listing(format, quiet, new String[] {"ID", "NAME", "CREATED", "UPDATED"},
                    new String[] {"ID", "Name", "CreatedAt", "UpdatedAt"});
            try (ControlClient cc = Swarmctl.client()) {
                List<Item> items = new ArrayList<>(kind().list(cc));
                items.sort(Comparator.comparing(i -> i.annotations().getName()));
                long now = System.currentTimeMillis();
                boolean json = format.equals("json");
                for (Item i : items) {
                    Meta m = i.meta();
                    out.add(m.getId(), json ? m.getId() : Show.id(m.getId(), false), i.annotations().getName(),
                            json ? java.time.Instant.ofEpochMilli(m.getCreatedAtMs()).toString() : Units.ago(m.getCreatedAtMs(), now),
                            json ? java.time.Instant.ofEpochMilli(m.getUpdatedAtMs()).toString() : Units.ago(m.getUpdatedAtMs(), now));
                }
            }
            out.print(System.out);
            return 0;
        }
    }

    abstract static class InspectBase implements Callable<Integer> {
        @Option(names = "--pretty", description = "Human-readable output") boolean pretty;
        @Parameters(arity = "1..*", paramLabel = "NAME|ID") List<String> refs;

        abstract Kind kind();

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<MessageOrBuilder> out = new ArrayList<>();
                for (String r : refs) {
                    out.add(kind().inspect(cc, r));
                }
                Show.printInspect(out, pretty, kind()::pretty);
            }
            return 0;
        }
    }

    abstract static class RmBase implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NAME|ID") List<String> refs;

        abstract Kind kind();

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                for (String r : refs) {
                    kind().remove(cc, r);
                    System.out.println(r);
                }
            }
            return 0;
        }
    }

    @Command(name = "create", description = "Create a secret from a file or standard input.", mixinStandardHelpOptions = true)
    static final class Create extends CreateBase {
        Kind kind() {
            return SECRETS;
        }
    }

    @Command(name = "ls", aliases = "list", description = "List secrets.", mixinStandardHelpOptions = true)
    static final class Ls extends LsBase {
        Kind kind() {
            return SECRETS;
        }
    }

    @Command(name = "inspect", description = "Display a secret's metadata (never its data).", mixinStandardHelpOptions = true)
    static final class Inspect extends InspectBase {
        Kind kind() {
            return SECRETS;
        }
    }

    @Command(name = "rm", aliases = "remove", description = "Remove secrets no service uses.", mixinStandardHelpOptions = true)
    static final class Rm extends RmBase {
        Kind kind() {
            return SECRETS;
        }
    }

    @Command(name = "config", description = "Manage configs.", mixinStandardHelpOptions = true)
    static final class ConfigCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            System.err.println("Error: config needs a subcommand: create, ls, inspect, rm");
            return 1;
        }

        @Command(name = "create", description = "Create a config from a file or standard input.", mixinStandardHelpOptions = true)
        static final class Create extends CreateBase {
            Kind kind() {
                return CONFIGS;
            }
        }

        @Command(name = "ls", aliases = "list", description = "List configs.", mixinStandardHelpOptions = true)
        static final class Ls extends LsBase {
            Kind kind() {
                return CONFIGS;
            }
        }

        @Command(name = "inspect", description = "Display configs (--pretty shows the data).", mixinStandardHelpOptions = true)
        static final class Inspect extends InspectBase {
            Kind kind() {
                return CONFIGS;
            }
        }

        @Command(name = "rm", aliases = "remove", description = "Remove configs no service uses.", mixinStandardHelpOptions = true)
        static final class Rm extends RmBase {
            Kind kind() {
                return CONFIGS;
            }
        }
    }
}
