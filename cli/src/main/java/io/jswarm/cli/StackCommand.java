package io.jswarm.cli;

import io.jswarm.api.Service;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.cli.stack.ComposeLoader;
import io.jswarm.cli.stack.Stack;
import io.jswarm.cli.stack.StackConverter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code stack}: applications deployed from compose files, in Docker's words and output. */
@Command(name = "stack", description = "Manage stacks (applications deployed from compose files).", mixinStandardHelpOptions = true)
final class StackCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: stack needs a subcommand: deploy, ls, services, ps, rm, config");
        return 1;
    }

    /** Loads and converts the files: every check that needs no cluster, before any connection. */
    static Stack load(List<String> files, String name) throws java.io.IOException {
        ComposeLoader.Loaded loaded = ComposeLoader.load(files, System.getenv(), System.in);
        return StackConverter.convert(loaded, name, System.getenv());
    }

    @Command(name = "deploy", aliases = "up", description = "Deploy a new stack or update an existing stack.", mixinStandardHelpOptions = true)
    static final class Deploy implements Callable<Integer> {
        @Option(names = {"-c", "--compose-file"}, required = true, description = "Path to a compose file, or \"-\" to read from stdin")
        List<String> files = new ArrayList<>();
        @Option(names = "--prune", description = "Prune services that are no longer referenced") boolean prune;
        @Option(names = "--resolve-image", description = "Query the registry to resolve image digest: always, changed (default) or never")
        String resolveImage = "changed";
        @Option(names = {"-d", "--detach"}, description = "Exit immediately instead of waiting for the stack services to converge")
        boolean detach;
        @Option(names = {"-q", "--quiet"}, description = "Suppress progress output") boolean quiet;
        @Parameters(arity = "1", paramLabel = "STACK") String name;

        @Override
        public Integer call() throws Exception {
            StackDeployer.ResolveImage resolve = switch (resolveImage) {
                case "always" -> StackDeployer.ResolveImage.ALWAYS;
                case "changed" -> StackDeployer.ResolveImage.CHANGED;
                case "never" -> StackDeployer.ResolveImage.NEVER;
                default -> throw new IllegalArgumentException("invalid --resolve-image " + Units.quote(resolveImage)
                        + ": expected always, changed or never");
            };
            Stack stack = load(files, name);
            stack.warnings().forEach(w -> System.err.println("Warning: " + w));
            try (ControlClient cc = Swarmctl.client()) {
                new StackDeployer(cc, System.out).deploy(stack, prune, resolve, detach, quiet);
            }
            return 0;
        }
    }

    @Command(name = "config", description = "Print the merged, interpolated compose file.", mixinStandardHelpOptions = true)
    static final class Config implements Callable<Integer> {
        @Option(names = {"-c", "--compose-file"}, required = true, description = "Path to a compose file, or \"-\" to read from stdin")
        List<String> files = new ArrayList<>();
        @Option(names = "--skip-interpolation", description = "Not supported: interpolation is always done") boolean skip;

        @Override
        public Integer call() throws Exception {
            if (skip) {
                throw new IllegalArgumentException("--skip-interpolation is not supported");
            }
            ComposeLoader.Loaded loaded = ComposeLoader.load(files, System.getenv(), System.in);
            // The whole conversion runs too, so that config refuses what deploy would refuse.
            Stack stack = StackConverter.convert(loaded, "config", System.getenv());
            stack.warnings().forEach(w -> System.err.println("Warning: " + w));
            System.out.print(ComposeLoader.print(loaded.root()));
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", description = "List stacks.", mixinStandardHelpOptions = true)
    static final class Ls implements Callable<Integer> {
        @Option(names = "--format", description = "table (default) or json") String format = "table";

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                Map<String, Integer> counts = new TreeMap<>();
                for (Service s : cc.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesList()) {
                    String stack = s.getSpec().getAnnotations().getLabelsMap().get(Stack.NAMESPACE_LABEL);
                    if (stack != null) {
                        counts.merge(stack, 1, Integer::sum);
                    }
                }
                Listing out = new Listing(format, false, new String[] {"NAME", "SERVICES"}, new String[] {"Name", "Services"});
                counts.forEach((k, v) -> out.add(k, k, String.valueOf(v)));
                out.print(System.out);
            }
            return 0;
        }
    }

    @Command(name = "services", description = "List the services in the stack.", mixinStandardHelpOptions = true)
    static final class Services implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display IDs") boolean quiet;
        @Option(names = "--format", description = "table (default) or json") String format = "table";
        @Parameters(arity = "1", paramLabel = "STACK") String name;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                int n = ServiceCommand.Ls.print(cc.stub().listServices(ListServicesRequest.getDefaultInstance()),
                        s -> StackDeployer.inStack(s.getSpec().getAnnotations().getLabelsMap(), name), format, quiet);
                if (n == 0) {
                    throw new IllegalArgumentException("nothing found in stack: " + name);
                }
            }
            return 0;
        }
    }

    @Command(name = "ps", description = "List the tasks in the stack.", mixinStandardHelpOptions = true)
    static final class Ps implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display task IDs") boolean quiet;
        @Option(names = "--no-trunc", description = "Do not truncate output") boolean noTrunc;
        @Option(names = "--format", description = "table (default) or json") String format = "table";
        @Parameters(arity = "1", paramLabel = "STACK") String name;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Service> services = new StackDeployer(cc, System.out).services(name);
                if (services.isEmpty()) {
                    throw new IllegalArgumentException("nothing found in stack: " + name);
                }
                ListTasksRequest.Builder req = ListTasksRequest.newBuilder();
                services.forEach(s -> req.addServiceIds(s.getMeta().getId()));
                ServiceCommand.Ps ps = new ServiceCommand.Ps();
                ps.quiet = quiet;
                ps.noTrunc = noTrunc;
                ps.format = format;
                ps.print(cc.listedTasks(req.build()), Show.hostnames(cc), List.of(), List.of());
            }
            return 0;
        }
    }

    @Command(name = "rm", aliases = {"remove", "down"}, description = "Remove one or more stacks.", mixinStandardHelpOptions = true)
    static final class Rm implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "STACK") List<String> names;

        @Override
        public Integer call() throws Exception {
            try (ControlClient cc = Swarmctl.client()) {
                StackDeployer d = new StackDeployer(cc, System.out);
                for (String name : names) {
                    if (!d.remove(name)) {
                        System.err.println("Nothing found in stack: " + name);
                    }
                }
            }
            return 0;
        }
    }
}
