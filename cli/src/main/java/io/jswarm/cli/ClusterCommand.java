package io.jswarm.cli;

import io.jswarm.api.Cluster;
import io.jswarm.api.ClusterSpec;
import io.jswarm.api.Node;
import io.jswarm.api.control.*;
import io.jswarm.manager.Durations;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "cluster", description = "Manage the cluster.", mixinStandardHelpOptions = true,
        subcommands = {ClusterCommand.Inspect.class, ClusterCommand.Update.class, ClusterCommand.JoinToken.class})
final class ClusterCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: cluster needs a subcommand: inspect, update, join-token");
        return 1;
    }

    static Cluster get(ControlClient cc) {
        return cc.stub().getCluster(GetClusterRequest.getDefaultInstance()).getCluster();
    }

    @Command(name = "inspect", description = "Display the cluster's settings.", mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer> {
        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                // Secrets stay out of the printout: tokens come from join-token only.
                System.out.println(Show.json(get(cc).toBuilder().clearRootCaKeySealed().clearJoinTokens()));
            }
            return 0;
        }
    }

    @Command(name = "update", description = "Update the cluster's settings.", mixinStandardHelpOptions = true)
    static final class Update implements Callable<Integer> {
        @Option(names = "--heartbeat-period", description = "Agent heartbeat period") String heartbeat;
        @Option(names = "--task-history-limit", description = "Task history retention limit per slot") String historyLimit;
        @Option(names = "--cert-expiry", description = "Validity of node certificates issued from now on (default 90 days;"
                + " at least 30s); nodes renew theirs when half of it is left") String certExpiry;

        @Override
        public Integer call() {
            Long hb = heartbeat == null ? null : Units.parseDurationMs("--heartbeat-period", heartbeat);
            Long expiry = certExpiry == null ? null : Units.parseDurationMs("--cert-expiry", certExpiry);
            Long limit = historyLimit == null ? null : Units.parseNonNegative("--task-history-limit", historyLimit);
            try (ControlClient cc = Swarmctl.client()) {
                Cluster c = get(cc);
                ClusterSpec.Builder spec = c.getSpec().toBuilder();
                if (hb != null) {
                    spec.getDispatcherBuilder().setHeartbeatPeriod(Durations.ofMillis(hb));
                }
                if (limit != null) {
                    spec.getOrchestrationBuilder().setTaskHistoryRetentionLimit(limit);
                }
                if (expiry != null) {
                    spec.getCaConfigBuilder().setNodeCertExpiry(Durations.ofMillis(expiry));
                }
                cc.stub().updateCluster(UpdateClusterRequest.newBuilder().setClusterVersion(c.getMeta().getVersion())
                        .setSpec(spec).build());
                System.out.println(c.getSpec().getAnnotations().getName());
            }
            return 0;
        }
    }

    @Command(name = "join-token", description = "Print or rotate a join token.", mixinStandardHelpOptions = true)
    static final class JoinToken implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display the token") boolean quiet;
        @Option(names = "--rotate", description = "Replace the token with a new one") boolean rotate;
        @Parameters(arity = "1", paramLabel = "worker|manager") String role;

        @Override
        public Integer call() {
            if (!role.equals("worker") && !role.equals("manager")) {
                throw new IllegalArgumentException("unknown role \"" + role + "\": expected worker or manager");
            }
            try (ControlClient cc = Swarmctl.client()) {
                Cluster c = get(cc);
                if (rotate) {
                    c = cc.stub().updateCluster(UpdateClusterRequest.newBuilder().setClusterVersion(c.getMeta().getVersion())
                            .setRotateWorkerToken(role.equals("worker")).setRotateManagerToken(role.equals("manager"))
                            .build()).getCluster();
                    if (!quiet) {
                        System.out.println("Successfully rotated " + role + " join token.\n");
                    }
                }
                String token = role.equals("worker") ? c.getJoinTokens().getWorker() : c.getJoinTokens().getManager();
                if (quiet) {
                    System.out.println(token);
                    return 0;
                }
                String addr = "MANAGER_ADDR:4242";
                for (Node n : cc.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList()) {
                    if (n.hasManagerStatus() && n.getManagerStatus().getLeader()) {
                        addr = n.getManagerStatus().getAddr();
                    }
                }
                System.out.println("To add a " + role + " to this cluster, run the following command:\n\n"
                        + "    swarmd --join-addr " + addr + " --join-token " + token + "\n");
            }
            return 0;
        }
    }
}
