package io.jswarm.cli;

import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** swarmctl: drives a cluster through a manager's Control API. */
@Command(name = "swarmctl", mixinStandardHelpOptions = true, version = "swarmctl " + LocalNode.VERSION,
        description = "Manage a jswarm cluster.",
        subcommands = {ServiceCommand.class, TaskCommand.class, NodeCommand.class, ClusterCommand.class, EventsCommand.class})
public final class Swarmctl implements Callable<Integer> {
    static final String DEFAULT_SOCKET = "/var/lib/jswarm/swarmd.sock";

    @Option(names = "--socket", scope = ScopeType.INHERIT,
            description = "Manager control socket (default: $SWARM_SOCKET or " + DEFAULT_SOCKET + ")")
    static String socket;

    static ControlClient client() {
        String s = socket;
        if (s == null) {
            s = System.getenv("SWARM_SOCKET");
        }
        return new ControlClient(Path.of(s == null || s.isEmpty() ? DEFAULT_SOCKET : s));
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line: 0 on success, 1 with one line on stderr on any error. */
    public static int run(String[] args) {
        CommandLine cl = new CommandLine(new Swarmctl());
        // As docker service create: everything after IMAGE is the command and its arguments.
        cl.getSubcommands().get("service").getSubcommands().get("create").setStopAtPositional(true);
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("Error: " + ex.getMessage());
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            System.err.println("Error: " + describe(ex));
            return 1;
        });
        return cl.execute(args);
    }

    static String describe(Exception ex) {
        if (ex instanceof StatusRuntimeException s) {
            String d = s.getStatus().getDescription();
            if (s.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE && (d == null || d.startsWith("io exception"))) {
                return "cannot reach the manager: " + (d == null ? s.getStatus().getCode() : d);
            }
            return d != null ? d : s.getStatus().getCode().toString();
        }
        if (ex instanceof IllegalArgumentException) {
            return ex.getMessage();
        }
        return ex.toString();
    }
}
