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
        description = "Manage a jswarm cluster.")
public final class Swarmctl implements Callable<Integer> {
    static final String DEFAULT_SOCKET = "/var/lib/jswarm/swarmd.sock";

    @Option(names = "--socket", scope = ScopeType.INHERIT,
            description = "Manager control socket (default: $SWARM_SOCKET or " + DEFAULT_SOCKET + ")")
    static String socket;

    @Option(names = {"-H", "--host"}, scope = ScopeType.INHERIT,
            description = "A manager's remote API (HOST:PORT), reached with mutual TLS instead of the socket"
                    + " (default: $SWARM_HOST); needs --tlscacert, --tlscert and --tlskey")
    static String host;

    @Option(names = "--tlscacert", scope = ScopeType.INHERIT, description = "The cluster's root CA certificate (ca.pem)")
    static Path tlsCa;

    @Option(names = "--tlscert", scope = ScopeType.INHERIT, description = "Client certificate (cert.pem, from swarmctl cluster client-cert)")
    static Path tlsCert;

    @Option(names = "--tlskey", scope = ScopeType.INHERIT, description = "The client certificate's key (key.pem)")
    static Path tlsKey;

    static ControlClient client() {
        String h = remoteHost();
        if (h != null) {
            HostPort.parse("--host", h);
            if (tlsCa == null || tlsCert == null || tlsKey == null) {
                throw new IllegalArgumentException("--host " + h + " needs --tlscacert, --tlscert and --tlskey"
                        + " (swarmctl cluster client-cert NAME on a manager writes them)");
            }
            return new ControlClient(h, tlsCa, tlsCert, tlsKey);
        }
        return socketClient();
    }

    /** The node's own socket, for what acts on that node (cluster leave): never a remote manager. */
    static ControlClient localClient(String command) {
        if (remoteHost() != null) {
            throw new IllegalArgumentException(command + " acts on the node whose socket swarmctl uses: run it on that node,"
                    + " without --host (or SWARM_HOST)");
        }
        return socketClient();
    }

    /** --host, else $SWARM_HOST; null when neither is set. */
    private static String remoteHost() {
        String h = host != null ? host : System.getenv("SWARM_HOST");
        return h == null || h.isEmpty() ? null : h;
    }

    private static ControlClient socketClient() {
        String s = socket != null ? socket : System.getenv("SWARM_SOCKET");
        return new ControlClient(Path.of(s == null || s.isEmpty() ? DEFAULT_SOCKET : s));
    }

    @Override
    public Integer call() {
        CommandTree.whole(this).usage(System.out);
        return 0;
    }

    /** Held: java.util.logging keeps only weak references to its loggers, and with them their levels. */
    private static final java.util.logging.Logger NETTY_LOG = java.util.logging.Logger.getLogger("io.netty");

    public static void main(String[] args) {
        // Netty would log through SLF4J (slf4j-simple is on the classpath for swarmd), whose
        // set-up alone (a date format, time zones, locale data) was 20 ms of every swarmctl;
        // gRPC's java.util.logging, loaded anyway, serves Netty too.
        // Errors only, as swarmd's own settings have it (not a warning that a unix socket
        // has no TCP keep-alive).
        NETTY_LOG.setLevel(java.util.logging.Level.SEVERE);
        io.netty.util.internal.logging.InternalLoggerFactory.setDefaultFactory(
                io.netty.util.internal.logging.JdkLoggerFactory.INSTANCE);
        System.exit(run(args));
    }

    /**
     * Exit status of a write whose outcome is unknown: it may have been applied (the
     * manager's answer did not come in time, or it committed but that manager has not
     * applied it yet). Running the command again is safe; it is not a failure.
     */
    public static final int EXIT_UNKNOWN_OUTCOME = 3;

    /**
     * Runs one command line: 0 on success, 1 with one line on stderr on any error, 3 when
     * a write may or may not have been applied.
     */
    public static int run(String[] args) {
        CommandLine cl = CommandTree.forLine(new Swarmctl(), args);
        // As docker service create: everything after IMAGE is the command and its arguments.
        CommandLine service = cl.getSubcommands().get("service");
        CommandLine create = service == null ? null : service.getSubcommands().get("create");
        if (create != null) {
            create.setStopAtPositional(true);
        }
        // Messages may carry what the user typed: never write its control characters back.
        cl.setExecutionStrategy(EmptyValues.checkedFirst());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("Error: " + io.jswarm.manager.control.Quote.escape(String.valueOf(ex.getMessage())));
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            System.err.println("Error: " + io.jswarm.manager.control.Quote.escape(describe(ex)));
            return outcomeUnknown(ex) ? EXIT_UNKNOWN_OUTCOME : 1;
        });
        return cl.execute(args);
    }

    static boolean outcomeUnknown(Exception ex) {
        return ex instanceof StatusRuntimeException s && s.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED;
    }

    /** One line a person can act on; never an exception's class name. */
    static String describe(Exception ex) {
        if (ex instanceof StatusRuntimeException s) {
            String d = s.getStatus().getDescription();
            io.grpc.Status.Code code = s.getStatus().getCode();
            if (code == io.grpc.Status.Code.UNAVAILABLE && (d == null || d.startsWith("io exception"))) {
                return "cannot reach the manager" + (d == null ? "" : ": " + d.replace("io exception", "connection failed"));
            }
            if (code == io.grpc.Status.Code.UNIMPLEMENTED && d != null
                    && (d.startsWith("Method not found: jswarm.Control/") || d.startsWith("Method not found: jswarm.Logs/"))) {
                // A worker's socket serves only what acts on the node itself.
                return "this node is not a manager: a worker cannot view or change the cluster; run swarmctl on a manager"
                        + " (or with --host and a client certificate), or promote this node";
            }
            if (code == io.grpc.Status.Code.DEADLINE_EXCEEDED && (d == null || d.startsWith("deadline exceeded after")
                    || d.startsWith("ClientCall started after"))) {
                return "the manager did not answer in time; the request may have been applied: check with `swarmctl service ls`"
                        + " (running it again is safe)";
            }
            return d != null ? d : code.toString().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        }
        if (ex instanceof IllegalArgumentException && ex.getMessage() != null) {
            return ex.getMessage();
        }
        return ex.getMessage() != null ? ex.getMessage() : "unexpected failure in swarmctl";
    }
}
