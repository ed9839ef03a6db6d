package io.jswarm.cli;

import io.jswarm.api.local.LeaveNodeRequest;
import io.jswarm.api.local.LeaveNodeResponse;
import io.jswarm.api.Cluster;
import io.jswarm.api.ClusterSpec;
import io.jswarm.api.Node;
import io.jswarm.api.control.*;
import io.jswarm.manager.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "cluster", description = "Manage the cluster.", mixinStandardHelpOptions = true)
final class ClusterCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: cluster needs a subcommand: inspect, update, join-token, client-cert, rotate-ca, unlock-key, unlock");
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
        @Option(names = "--autolock", arity = "1", paramLabel = "true|false", description = "Managers keep their keys sealed under"
                + " an unlock key, printed once when turned on; a restarted manager waits for cluster unlock") String autolock;
        @Option(names = "--cert-expiry", description = "Validity of node certificates issued from now on (default 90 days;"
                + " at least 30s); nodes renew theirs when half of it is left") String certExpiry;

        @Override
        public Integer call() {
            Long hb = heartbeat == null ? null : Units.parseDurationMs("--heartbeat-period", heartbeat);
            Long expiry = certExpiry == null ? null : Units.parseDurationMs("--cert-expiry", certExpiry);
            if (autolock != null && !autolock.equals("true") && !autolock.equals("false")) {
                throw new IllegalArgumentException("--autolock " + Units.quote(autolock) + ": expected true or false");
            }
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
                if (autolock != null) {
                    spec.setAutolock(Boolean.parseBoolean(autolock));
                }
                UpdateClusterResponse r = cc.stub().updateCluster(UpdateClusterRequest.newBuilder()
                        .setClusterVersion(c.getMeta().getVersion()).setSpec(spec).build());
                System.out.println(c.getSpec().getAnnotations().getName());
                if (!r.getUnlockKey().isEmpty()) {
                    System.out.println("Autolock is on. To unlock a manager after it restarts, run `swarmctl cluster unlock`"
                            + " and give it this key (`swarmctl cluster unlock-key` shows it again on a running manager):\n\n    "
                            + r.getUnlockKey() + "\n");
                }
            }
            return 0;
        }
    }

    @Command(name = "client-cert", description = "Issue a certificate for a remote swarmctl (--host with --tls* flags):"
            + " it may call the control API only. Writes ca.pem, cert.pem and key.pem (mode 0600) to a new directory.",
            mixinStandardHelpOptions = true)
    static final class ClientCert implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "The certificate's name (its CN)") String name;
        @Option(names = "--out", description = "Directory to create for the files (default: ./NAME)") Path out;
        @Option(names = "--expiry", description = "Validity (default: the cluster's certificate expiry)") String expiry;

        @Override
        public Integer call() throws Exception {
            Path dir = out != null ? out : Path.of(name);
            if (Files.exists(dir) && (!Files.isDirectory(dir) || Files.list(dir).findAny().isPresent())) {
                throw new IllegalArgumentException(dir + " exists and is not an empty directory: not overwriting anything in it");
            }
            Long ms = expiry == null ? null : Units.parseDurationMs("--expiry", expiry);
            java.security.KeyPair key = io.jswarm.tls.Csr.newKeyPair();
            IssueClientCertificateRequest.Builder req = IssueClientCertificateRequest.newBuilder().setName(name)
                    .setCsr(com.google.protobuf.ByteString.copyFrom(io.jswarm.tls.Csr.create(key)));
            if (ms != null) {
                req.setExpiry(Durations.ofMillis(ms));
            }
            IssueClientCertificateResponse r;
            try (ControlClient cc = Swarmctl.client()) {
                r = cc.stub().issueClientCertificate(req.build());
            }
            Files.createDirectories(dir);
            var owner = java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            Files.writeString(Files.createFile(dir.resolve("key.pem"), owner), io.jswarm.tls.Pem.of(key.getPrivate()));
            Files.writeString(dir.resolve("cert.pem"), r.getCertPem());
            Files.writeString(dir.resolve("ca.pem"), r.getRootCaPem());
            System.out.println(dir.resolve("cert.pem") + " until "
                    + io.jswarm.tls.Pem.certificate(r.getCertPem()).getNotAfter().toInstant());
            return 0;
        }
    }

    @Command(name = "rotate-ca", description = "Replace the cluster's root CA without downtime (as docker swarm ca --rotate):"
            + " every node gets a certificate from the new root, then the old root is no longer trusted and the join tokens"
            + " change. Waits until done unless -d.", mixinStandardHelpOptions = true)
    static final class RotateCa implements Callable<Integer> {
        @Option(names = {"-d", "--detach"}, description = "Start the rotation and exit") boolean detach;
        @Option(names = "--timeout", defaultValue = "10m", description = "How long to wait (default: ${DEFAULT-VALUE})") String timeout;

        @Override
        public Integer call() throws Exception {
            long waitMs = Units.parseDurationMs("--timeout", timeout);
            try (ControlClient cc = Swarmctl.client()) {
                Cluster before = get(cc);
                cc.stub().updateCluster(UpdateClusterRequest.newBuilder().setClusterVersion(before.getMeta().getVersion())
                        .setRotateCa(true).build());
                if (detach) {
                    System.out.println("root CA rotation started; cluster inspect shows its progress");
                    return 0;
                }
                long deadline = System.currentTimeMillis() + waitMs;
                String last = "";
                while (System.currentTimeMillis() < deadline) {
                    Cluster c = get(cc);
                    if (!c.hasCaRotation()) {
                        System.out.println("root CA rotated: " + io.jswarm.tls.Pem.certificate(c.getRootCaPem()).getSubjectX500Principal()
                                + "; new join tokens: swarmctl cluster join-token worker|manager");
                        return 0;
                    }
                    String now = "rotating: " + io.jswarm.manager.ca.CaRotations.progress(c,
                            cc.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList());
                    if (!now.equals(last)) {
                        System.out.println(now);
                        last = now;
                    }
                    Thread.sleep(500);
                }
                throw new IllegalArgumentException("the rotation goes on but did not finish within " + timeout + " (" + last
                        + "; a node that is down holds it up: bring it back or remove it)");
            }
        }
    }

    @Command(name = "unlock-key", description = "Print the unlock key of an autolocked cluster (on a manager's control socket).",
            mixinStandardHelpOptions = true)
    static final class UnlockKey implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display the key") boolean quiet;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                String key = cc.stub().getUnlockKey(GetUnlockKeyRequest.getDefaultInstance()).getUnlockKey();
                System.out.println(quiet ? key : "To unlock a manager after it restarts, run `swarmctl cluster unlock` and give it:\n\n    "
                        + key + "\n");
            }
            return 0;
        }
    }

    @Command(name = "unlock", description = "Unlock a manager restarted with autolock on: reads the unlock key from"
            + " standard input.", mixinStandardHelpOptions = true)
    static final class Unlock implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            if (System.console() != null) {
                System.err.print("Unlock key: ");
            }
            String key = System.console() != null ? new String(System.console().readPassword())
                    : new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8)).readLine();
            io.jswarm.manager.secrets.DataKey.parse(key);  // the format, before anything is sent
            try (ControlClient cc = Swarmctl.client()) {
                cc.stub().unlock(UnlockRequest.newBuilder().setUnlockKey(key.strip()).build());
            }
            System.out.println("unlocked: the manager starts");
            return 0;
        }
    }

    @Command(name = "leave", description = "Make the node whose socket is used leave the cluster (as docker swarm leave):"
            + " a manager leaves the Raft group first, the managers replace the node's tasks elsewhere, then its containers,"
            + " networks, images and state are removed and its swarmd exits.", mixinStandardHelpOptions = true)
    static final class Leave implements Callable<Integer> {
        @Option(names = {"-f", "--force"}, description = "Leave although this is the cluster's last manager (the cluster ends"
                + " with it) or the managers cannot take the change") boolean force;
        @Option(names = "--keep-images", description = "Keep the node's pulled images") boolean keepImages;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.localClient("cluster leave")) {
                LeaveNodeResponse r = cc.local().leave(LeaveNodeRequest.newBuilder().setForce(force).setKeepImages(keepImages).build());
                System.out.println("Node " + r.getNodeId() + " left the cluster; removed: " + String.join(", ", r.getRemovedList()));
                for (String w : r.getWarningsList()) {
                    System.err.println("Warning: " + w);
                }
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
