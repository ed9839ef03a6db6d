package io.jswarm.cli;

import io.jswarm.api.NodeDescription;
import io.jswarm.api.NodeRole;
import io.jswarm.api.dispatcher.JoinRequest;
import io.jswarm.api.dispatcher.JoinResponse;
import io.jswarm.api.dispatcher.RaftMember;
import io.jswarm.manager.Ids;
import io.jswarm.manager.Manager;
import io.jswarm.manager.ca.ClusterCa;
import io.jswarm.tls.NodeTls;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import io.jswarm.agent.exec.OciRuntime;
import io.jswarm.agent.image.RegistryClient;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import io.jswarm.agent.exec.LogWriter;
import picocli.CommandLine.Option;

/** swarmd: the node daemon. Initializes a cluster, joins one, or restarts from its state directory. */
@Command(name = "swarmd", mixinStandardHelpOptions = true, version = "swarmd " + LocalNode.VERSION,
        description = "jswarm node daemon: runs an agent, and a manager on manager nodes.")
public final class Swarmd implements Callable<Integer> {
    @Option(names = "--state-dir", description = "State directory (default: ${DEFAULT-VALUE})", defaultValue = "/var/lib/jswarm")
    Path stateDir;

    @Option(names = "--hostname", description = "Node hostname (default: this machine's)")
    String hostname;

    @Option(names = "--listen-remote-api", defaultValue = "0.0.0.0:4242",
            description = "Address for agents and joining nodes (default: ${DEFAULT-VALUE})")
    String listenRemote;

    @Option(names = "--advertise-remote-api", description = "Address other nodes reach this node's remote API at")
    String advertiseRemote;

    @Option(names = "--listen-raft-api", description = "Raft transport address of a manager (default: remote API host, port + 1)")
    String listenRaft;

    @Option(names = "--advertise-raft-api", description = "Raft address other managers reach this one at")
    String advertiseRaft;

    @Option(names = "--listen-control-api", description = "Control API unix socket (default: STATE_DIR/swarmd.sock)")
    Path controlSocket;

    @Option(names = "--join-addr", description = "Remote API address (HOST:PORT) of a manager of the cluster to join")
    String joinAddr;

    @Option(names = "--join-token", description = "Join token (from swarmctl cluster join-token)")
    String joinToken;

    @Option(names = "--cert-expiry", defaultValue = "2160h",
            description = "When initializing a cluster: validity of node certificates, at least 30s (default: ${DEFAULT-VALUE}, 90 days)")
    String certExpiry;

    @Option(names = "--autolock", description = "When initializing a cluster: turn autolock on (a restarted manager waits for"
            + " swarmctl cluster unlock); the unlock key is printed once")
    boolean autolock;

    /** Hidden: the plaintext baseline of the TLS benchmarks. Every node of the cluster must have it. */
    @Option(names = "--tls", hidden = true, defaultValue = "true", arity = "1")
    boolean tlsOn;

    @Option(names = "--external-ca-cert", description = "When initializing a cluster: its root CA certificate (PEM) instead of a new one")
    Path externalCaCert;

    @Option(names = "--external-ca-key", description = "When initializing a cluster: the private key (PEM) of --external-ca-cert")
    Path externalCaKey;

    @Option(names = "--insecure-registry", description = "Registry (HOST:PORT) reached over plain HTTP; repeatable")
    List<String> insecureRegistries = new ArrayList<>();

    @Option(names = "--runtime", description = "OCI runtime binary (default: runc, or crun where it works)")
    String runtime;

    @Option(names = "--runtime-root", defaultValue = "/run/jswarm/runc", description = "OCI runtime state directory (default: ${DEFAULT-VALUE})")
    String runtimeRoot;

    @Option(names = "--cgroup-parent", defaultValue = "/jswarm", description = "Parent cgroup of the containers (default: ${DEFAULT-VALUE})")
    String cgroupParent;

    @Option(names = "--log-max-size", defaultValue = "10m",
            description = "Size at which a task's log file is rotated; 0: never (default: ${DEFAULT-VALUE})")
    String logMaxSize;

    @Option(names = "--log-max-files", defaultValue = "3",
            description = "Log files kept per task, the current one included (default: ${DEFAULT-VALUE})")
    String logMaxFiles;

    @Option(names = "--snapshot-interval", description = "Raft log entries between snapshots of the managers' state (default: "
            + io.jswarm.manager.Manager.Config.DEFAULT_SNAPSHOT_INTERVAL + ")")
    String snapshotInterval;

    private long snapshotInterval() {
        if (snapshotInterval == null) {
            return io.jswarm.manager.Manager.Config.DEFAULT_SNAPSHOT_INTERVAL;
        }
        long n = Units.parseNonNegative("--snapshot-interval", snapshotInterval);
        if (n < 1) {
            throw new IllegalArgumentException("--snapshot-interval must be at least 1 entry");
        }
        return n;
    }

    @Option(names = "--metrics-addr", description = "Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)")
    String metricsAddr;

    @Option(names = "--dashboard-addr", description = "Serve the dashboard, a live read-only page of the cluster, at HOST:PORT"
            + " on a manager (default: off). Plain HTTP on a loopback address; elsewhere HTTPS that requires a client"
            + " certificate of the cluster (swarmctl cluster client-cert)")
    String dashboardAddr;

    @Option(names = "--dashboard-insecure", description = "Serve the dashboard on a non-loopback --dashboard-addr over plain"
            + " HTTP to anyone who reaches it")
    boolean dashboardInsecure;

    @Option(names = "--engine-api", description = "Serve the swarm part of Docker's Engine API (version 1.41: the docker"
            + " CLI, docker-py) at unix:///PATH or tcp://HOST:PORT (default: unix://STATE_DIR/docker.sock; off: not at all)."
            + " Plain HTTP on a loopback address; elsewhere HTTPS that requires a client certificate of the cluster"
            + " (swarmctl cluster client-cert; docker --tlsverify), the server's certificate naming the node's advertise address")
    String engineApi;

    @Option(names = "--inactive", description = "Start in no swarm, as dockerd does, and wait for docker swarm init or docker"
            + " swarm join on the Engine API (its unix socket, or a loopback address) to say what to make or join; a state"
            + " directory that holds a node starts it as usual")
    boolean inactive;

    @Option(names = "--engine-api-insecure", description = "Serve the Engine API on a non-loopback --engine-api TCP address"
            + " over plain HTTP to anyone who reaches it")
    boolean engineApiInsecure;

    /** Where the Engine API listens, and whether over HTTPS with client certificates; null when off. Checked before anything runs. */
    private record EngineAccess(String listen, boolean https) {}

    private EngineAccess engineAccess() {
        if (engineApi == null || engineApi.startsWith("unix://")) {
            if (engineApiInsecure) {
                throw new IllegalArgumentException("--engine-api-insecure goes with a tcp:// --engine-api");
            }
            if (engineApi != null && !Path.of(engineApi.substring("unix://".length())).isAbsolute()) {
                throw new IllegalArgumentException("--engine-api " + engineApi + ": the socket's path must be absolute"
                        + " (unix:///var/run/jswarm.sock)");
            }
            return new EngineAccess(engineApi != null ? engineApi : "unix://" + stateDir.toAbsolutePath().resolve("docker.sock"), false);
        }
        if (engineApi.equals("off")) {
            return null;
        }
        if (!engineApi.startsWith("tcp://")) {
            throw new IllegalArgumentException("--engine-api " + engineApi + ": expected unix:///PATH, tcp://HOST:PORT or off");
        }
        HostPort addr = HostPort.parse("--engine-api", engineApi.substring("tcp://".length()));
        if (io.jswarm.cli.dashboard.Dashboard.loopback(addr.host()) || engineApiInsecure) {
            return new EngineAccess(engineApi, false);
        }
        if (!tlsOn) {
            throw new IllegalArgumentException("--engine-api " + engineApi + " is not a loopback address: the Engine API then"
                    + " requires client certificates, which a node started with --tls=false has none of; use the unix socket"
                    + " (the default), a loopback address, or --engine-api-insecure (plain HTTP to anyone who reaches it)");
        }
        return new EngineAccess(engineApi, true);
    }

    /** Where the dashboard listens, and whether it needs client certificates; null when off. Checked before anything runs. */
    private record DashboardAccess(HostPort addr, boolean https) {}

    private DashboardAccess dashboardAccess() {
        if (dashboardAddr == null) {
            if (dashboardInsecure) {
                throw new IllegalArgumentException("--dashboard-insecure goes with --dashboard-addr");
            }
            return null;
        }
        HostPort addr = HostPort.parse("--dashboard-addr", dashboardAddr);
        if (io.jswarm.cli.dashboard.Dashboard.loopback(addr.host()) || dashboardInsecure) {
            return new DashboardAccess(addr, false);
        }
        if (!tlsOn) {
            throw new IllegalArgumentException("--dashboard-addr " + addr + " is not a loopback address: the dashboard then"
                    + " requires client certificates, which a node started with --tls=false has none of; give --dashboard-insecure"
                    + " to serve it to anyone who reaches it, or listen on 127.0.0.1");
        }
        return new DashboardAccess(addr, true);
    }

    @Option(names = "--heartbeat-period", defaultValue = "5s",
            description = "Agent heartbeat period, when initializing a cluster (default: ${DEFAULT-VALUE})")
    String heartbeatPeriod;

    @Option(names = "--default-addr-pool", description = "Address pool (CIDR) overlay subnets come from, when initializing a cluster;"
            + " repeatable (default: 10.0.0.0/8)")
    List<String> addrPools = new ArrayList<>();

    @Option(names = "--default-addr-pool-mask-length", defaultValue = "24",
            description = "Prefix length of each overlay subnet taken from the pool (default: ${DEFAULT-VALUE})")
    String addrPoolMaskLength;

    @Option(names = "--dns-upstream", description = "Resolver (HOST[:PORT]) the containers' DNS asks for names outside the cluster;"
            + " repeatable; \"none\" for none (default: the nameservers of this host's /etc/resolv.conf)")
    List<String> dnsUpstreams = new ArrayList<>();

    @Option(names = "--gateway-subnet", defaultValue = io.jswarm.overlay.GatewayBridge.DEFAULT_SUBNET,
            description = "Node-local subnet of the gateway bridge that gives containers on non-internal networks egress"
                    + " (default: ${DEFAULT-VALUE})")
    String gatewaySubnet;

    @Option(names = "--routing-mesh", defaultValue = "on",
            description = "on: this node serves every port published in ingress mode and the host-mode ports of its tasks"
                    + " (nftables rules in its namespace); off: it serves none, and says so in node inspect (default: ${DEFAULT-VALUE})")
    String routingMesh;

    /** Null when the mesh runs here, or why it does not: turned off, or nftables cannot hold its rules. */
    String routingMesh() {
        return switch (routingMesh) {
            case "off" -> "off (swarmd --routing-mesh off)";
            case "on" -> {
                String why = io.jswarm.overlay.IngressRules.probe();
                yield why == null ? null : "off: " + why;
            }
            default -> throw new IllegalArgumentException("--routing-mesh " + Units.quote(routingMesh) + ": expected on or off");
        };
    }

    /** The upstream resolvers: as given, none, or this host's. */
    static List<java.net.InetSocketAddress> upstreams(List<String> given) throws java.io.IOException {
        List<java.net.InetSocketAddress> out = new ArrayList<>();
        if (given.equals(List.of("none"))) {
            return out;
        }
        List<String> hosts = new ArrayList<>(given);
        if (hosts.isEmpty()) {
            java.nio.file.Path rc = java.nio.file.Path.of("/etc/resolv.conf");
            if (java.nio.file.Files.isReadable(rc)) {
                for (String line : java.nio.file.Files.readAllLines(rc)) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length >= 2 && f[0].equals("nameserver") && f[1].matches("[0-9.]+")) {
                        hosts.add(f[1]);
                    }
                }
            }
        }
        for (String h : hosts) {
            HostPort hp = h.contains(":") ? HostPort.parse("--dns-upstream", h) : new HostPort(h, 53);
            if (!hp.host().matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                throw new IllegalArgumentException("--dns-upstream " + Units.quote(h) + ": expected an IPv4 address, optionally with :PORT, or none");
            }
            out.add(new java.net.InetSocketAddress(hp.host(), hp.port()));
        }
        return out;
    }

    public static void main(String[] args) {
        // Libraries that log through java.util.logging (Ratis' bundled gRPC) would print
        // in another format; keep only their warnings.
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        System.exit(run(args));
    }

    static int run(String[] args) {
        CommandLine cl = new CommandLine(new Swarmd());
        cl.setExecutionStrategy(EmptyValues.checkedFirst());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("swarmd: " + ex.getMessage());
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            System.err.println("swarmd: " + (ex instanceof IllegalArgumentException || ex instanceof java.io.IOException
                    ? ex.getMessage() : ex.toString()));
            return 1;
        });
        return cl.execute(args);
    }

    /** The node's addresses and the new cluster's settings, from the flags (or a docker swarm init/join request). */
    private record Settings(HostPort listen, HostPort advertise, HostPort raftListen, HostPort raftAdvertise, long heartbeatMs,
            io.jswarm.api.AddressPool pool, long certExpiryMs) {}

    /** Checks the flags that say where the node listens and what it makes or joins. */
    private Settings settings() throws Exception {
        HostPort listen = HostPort.parse("--listen-remote-api", listenRemote);
        HostPort advertise = advertiseRemote != null ? HostPort.parse("--advertise-remote-api", advertiseRemote)
                : new HostPort(isWildcard(listen.host()) ? defaultAddress() : listen.host(), listen.port());
        HostPort raftListen = listenRaft != null ? HostPort.parse("--listen-raft-api", listenRaft)
                : new HostPort(listen.host(), listen.port() + 1);
        HostPort raftAdvertise = advertiseRaft != null ? HostPort.parse("--advertise-raft-api", advertiseRaft)
                : new HostPort(advertise.host(), raftListen.port());
        long heartbeatMs = Units.parseDurationMs("--heartbeat-period", heartbeatPeriod);
        if (heartbeatMs < 100) {
            throw new IllegalArgumentException("--heartbeat-period must be at least 100ms");
        }
        if (!addrPoolMaskLength.matches("\\d{1,2}")) {
            throw new IllegalArgumentException("--default-addr-pool-mask-length " + Units.quote(addrPoolMaskLength) + " is not a number 8-29");
        }
        io.jswarm.api.AddressPool pool = io.jswarm.api.AddressPool.newBuilder().addAllPools(addrPools)
                .setSubnetSize(Integer.parseInt(addrPoolMaskLength)).build();
        try {
            io.jswarm.manager.network.NetworkAllocator.validatePool(addrPools, Integer.parseInt(addrPoolMaskLength));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--default-addr-pool: " + e.getMessage());
        }
        try {
            var gw = io.jswarm.manager.network.Subnet.parse(gatewaySubnet);
            if (gw.prefix() > 28) {
                throw new IllegalArgumentException("at most /28");
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--gateway-subnet " + Units.quote(gatewaySubnet) + ": " + e.getMessage());
        }
        if (joinAddr != null) {
            HostPort.parse("--join-addr", joinAddr);
            if (joinToken == null) {
                throw new IllegalArgumentException("--join-addr needs --join-token");
            }
            io.jswarm.manager.JoinTokens.caDigest(joinToken);
            if (externalCaCert != null || externalCaKey != null) {
                throw new IllegalArgumentException("--external-ca-cert/--external-ca-key are for initializing a cluster,"
                        + " not joining one (the cluster's CA issues this node's certificate)");
            }
        }
        long certExpiryMs = Units.parseDurationMs("--cert-expiry", certExpiry);
        if (certExpiryMs < 30_000) {
            throw new IllegalArgumentException("--cert-expiry must be at least 30s");
        }
        if ((externalCaCert == null) != (externalCaKey == null)) {
            throw new IllegalArgumentException("--external-ca-cert and --external-ca-key go together");
        }
        return new Settings(listen, advertise, raftListen, raftAdvertise, heartbeatMs, pool, certExpiryMs);
    }

    /** What a node new to a swarm starts with: its state, its certificate, and what it makes (init) or how it joined. */
    private record Identity(LocalState state, NodeTls tls, Manager.Bootstrap bootstrap, boolean joiningManager) {}

    /**
     * A new node: the first manager of a new cluster (its CA issues this node's certificate
     * before anything listens), or a node joining one with a token. Written to the state
     * directory only once it succeeded.
     */
    private Identity newNode(Settings st, NodeDescription description, io.jswarm.manager.secrets.DataKey keys) throws Exception {
        HostPort advertise = st.advertise();
        HostPort raftAdvertise = st.raftAdvertise();
        long certExpiryMs = st.certExpiryMs();
        long heartbeatMs = st.heartbeatMs();
        io.jswarm.api.AddressPool pool = st.pool();
        LocalState state = new LocalState();
        Manager.Bootstrap bootstrap = null;
        boolean joiningManager = false;
        NodeTls tls;
        if (joinAddr == null) {
            // A new cluster: this node is its first manager, and its CA issues this node's
            // certificate before anything listens.
            ClusterCa ca = externalCaCert != null ? externalCa() : null;
            state.nodeId = Ids.newId();
            state.clusterId = Ids.newId();
            if (ca == null) {
                ca = ClusterCa.create(state.clusterId);
            }
            state.role = "manager";
            state.raftGroup = UUID.randomUUID().toString();
            state.raftMembers = List.of(state.nodeId + "=" + raftAdvertise);
            java.security.KeyPair key = io.jswarm.tls.Csr.newKeyPair();
            tls = new NodeTls(key.getPrivate(), ca.issue(state.nodeId, io.jswarm.tls.NodeIdentity.MANAGER, state.clusterId,
                    key.getPublic(), java.time.Duration.ofMillis(certExpiryMs), List.of(advertise.host())), List.of(ca.certificate()));
            byte[] unlockKey = autolock ? io.jswarm.tls.SecretSeal.newKey() : null;
            bootstrap = new Manager.Bootstrap(description, heartbeatMs, pool, state.clusterId, ca, certExpiryMs, unlockKey);
            if (unlockKey != null) {
                tls.lockWith(unlockKey);
                keys.unlockWith(unlockKey);
                System.err.println("swarmd: autolock is on. To unlock a manager after it restarts, run `swarmctl cluster unlock`"
                        + " and give it this key (shown this once; `swarmctl cluster unlock-key` on a running manager shows"
                        + " it again):\n    " + io.jswarm.manager.secrets.DataKey.format(unlockKey));
            }
        } else {
            Joining.Joined joined = Joining.join(joinAddr, joinToken, JoinRequest.newBuilder().setDescription(description)
                    .setAddr(advertise.toString()).setRaftAddr(raftAdvertise.toString()), !tlsOn);
            JoinResponse r = joined.response();
            tls = joined.tls();
            state.nodeId = r.getNodeId();
            state.role = r.getRole() == NodeRole.MANAGER ? "manager" : "worker";
            state.clusterId = r.getClusterId();
            state.raftGroup = r.getRaftGroupId();
            List<String> members = new ArrayList<>();
            List<String> managers = new ArrayList<>();
            for (RaftMember m : r.getMembersList()) {
                managers.add(m.getAddr());
                if (!m.getNodeId().equals(r.getNodeId())) {
                    members.add(m.getNodeId() + "=" + m.getRaftAddr());
                }
            }
            if (r.getRole() == NodeRole.MANAGER) {
                members.add(r.getNodeId() + "=" + raftAdvertise);
                joiningManager = true;
            }
            state.raftMembers = members;
            state.managers = managers;
        }
        tls.save(stateDir);
        state.save(stateDir);
        return new Identity(state, tls, bootstrap, joiningManager);
    }

    @Override
    public Integer call() throws Exception {
        Settings st = settings();
        if (hostname == null) {
            hostname = InetAddress.getLocalHost().getHostName();
        }
        for (String r : insecureRegistries) {
            HostPort.parse("--insecure-registry", r);
        }
        if (!cgroupParent.startsWith("/")) {
            throw new IllegalArgumentException("--cgroup-parent must be an absolute cgroup path such as /jswarm");
        }
        long maxFiles = Units.parseNonNegative("--log-max-files", logMaxFiles);
        if (maxFiles < 1 || maxFiles > 1000) {
            throw new IllegalArgumentException("invalid value \"" + logMaxFiles + "\" for --log-max-files: expected 1 to 1000");
        }
        LogWriter.Limits logLimits = new LogWriter.Limits(Units.parseBytes("--log-max-size", logMaxSize), (int) maxFiles);
        HostPort metrics = metricsAddr == null ? null : HostPort.parse("--metrics-addr", metricsAddr);
        DashboardAccess dashboard = dashboardAccess();
        EngineAccess engine = engineAccess();
        if (inactive) {
            if (joinAddr != null || externalCaCert != null || autolock) {
                throw new IllegalArgumentException("--inactive waits for docker swarm init or join to say what to make or join:"
                        + " not with --join-addr, --external-ca-cert or --autolock (docker swarm init --autolock)");
            }
            if (engine == null) {
                throw new IllegalArgumentException("--inactive waits for docker swarm init or join on the Engine API: not with"
                        + " --engine-api off");
            }
            if (engine.https()) {
                throw new IllegalArgumentException("--inactive waits for docker swarm init or join on the Engine API, on its unix"
                        + " socket or a loopback address: a node in no swarm has no certificate to serve HTTPS with");
            }
        }
        // Every flag is checked before anything is written.
        String meshOff = routingMesh();
        long snapshots = snapshotInterval();
        Files.createDirectories(stateDir);
        DaemonLocks.take(stateDir, runtimeRoot, cgroupParent);
        OciRuntime oci = OciRuntime.probe(runtime, runtimeRoot);
        System.err.println("swarmd: OCI runtime " + oci.description());
        Path socket = controlSocket != null ? controlSocket : stateDir.resolve("swarmd.sock");
        NodeDescription description = LocalNode.describe(hostname);

        RegistryClient registry = new RegistryClient(Set.copyOf(insecureRegistries));
        // What the Engine API tells of this node; its id is set once the node is in a swarm.
        EngineNode engineNode = new EngineNode(hostname);
        CountDownLatch stopped = new CountDownLatch(1);
        // The Engine API's socket lives in the state directory: closed (and removed) first.
        java.util.concurrent.atomic.AtomicReference<io.jswarm.cli.engine.EngineApi> engineApi =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<SwarmNode> running = new java.util.concurrent.atomic.AtomicReference<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                if (engineApi.get() != null) {
                    engineApi.get().close();
                }
                SwarmNode n = running.get();
                if (n != null) {
                    n.close();
                    if (n.hasLeft()) {
                        DaemonLocks.releaseAndRemove();  // nothing of the node is left to guard
                        Files.deleteIfExists(stateDir);  // unless it keeps volumes or images
                    }
                }
            } catch (Exception ignored) {
                // exiting anyway
            }
            stopped.countDown();
        }));

        LocalState state = LocalState.load(stateDir);
        Manager.Bootstrap bootstrap = null;
        boolean joiningManager = false;
        NodeTls tls;
        io.jswarm.manager.secrets.DataKey keys = new io.jswarm.manager.secrets.DataKey();
        io.jswarm.cli.engine.WaitingNode.Pending pending = null;
        if (state == null) {
            Identity id;
            if (inactive) {
                // As dockerd: in no swarm until docker swarm init or join says which; a request
                // that cannot be carried out is refused and the node waits for the next.
                io.jswarm.cli.engine.WaitingNode waiting = new io.jswarm.cli.engine.WaitingNode();
                engineApi.set(new io.jswarm.cli.engine.EngineApi(engine.listen(), socket, engineNode, registry,
                        new io.vertx.core.http.HttpServerOptions(), waiting));
                System.err.println("swarmd: in no swarm: waiting for docker swarm init or docker swarm join at " + engine.listen());
                while (true) {
                    pending = waiting.await();
                    Runnable restore = flagsBefore();
                    try {
                        take(pending.request());
                        st = settings();
                        id = newNode(st, description, keys);
                        break;
                    } catch (IllegalArgumentException e) {
                        restore.run();  // as started: the next request begins from the flags again
                        pending.refuse(true, e.getMessage());
                    }
                }
            } else {
                id = newNode(st, description, keys);
            }
            state = id.state();
            tls = id.tls();
            bootstrap = id.bootstrap();
            joiningManager = id.joiningManager();
        } else {
            if (inactive) {
                System.err.println("swarmd: " + stateDir + " already holds node " + state.nodeId + "; ignoring --inactive");
            }
            if (joinAddr != null) {
                System.err.println("swarmd: " + stateDir + " already holds node " + state.nodeId + "; ignoring --join-addr");
            }
            if (externalCaCert != null) {
                System.err.println("swarmd: " + stateDir + " already holds node " + state.nodeId + "; ignoring --external-ca-cert");
            }
            if (!NodeTls.present(stateDir)) {
                throw new IllegalArgumentException(stateDir + " holds node " + state.nodeId + " but no certificates (it was made"
                        + " by a jswarm without TLS): remove the state directory and join the node again");
            }
            if (NodeTls.locked(stateDir)) {
                if (engine != null && !engine.https()) {
                    // docker swarm unlock works as on dockerd: the Engine API serves /info ("locked")
                    // and the unlock, which reaches the locked node through its socket. (HTTPS
                    // waits: the certificate's key is what is locked.)
                    engineNode.locked(state.nodeId, st.advertise().host());
                    engineApi.set(new io.jswarm.cli.engine.EngineApi(engine.listen(), socket, engineNode, registry,
                            new io.vertx.core.http.HttpServerOptions(), null));
                }
                tls = LockedNode.awaitUnlock(stateDir, socket);
                keys.unlockWith(tls.lockKey());
            } else {
                tls = NodeTls.load(stateDir);
            }
        }

        SwarmNode node;
        HostPort advertise = st.advertise();
        try {
            if (!tlsOn) {
                System.err.println("swarmd: WARNING: --tls=false: every connection of this node is PLAINTEXT and any caller may act"
                        + " as any node. It exists only for the benchmarks' baseline; never run a real cluster like this.");
                tls.plaintextForBenchmarks();
            }
            node = new SwarmNode(stateDir, state, tls, keys,
                    description, new SwarmNode.Addresses(st.listen(), advertise, st.raftListen(), st.raftAdvertise(), socket),
                    new SwarmNode.Containers(oci, registry, cgroupParent,
                            logLimits, upstreams(dnsUpstreams), gatewaySubnet, meshOff), snapshots);
            running.set(node);
            node.onLeft(() -> {
                System.err.println("swarmd: node " + node.nodeId() + " left the cluster");
                stopped.countDown();
            });
            if (metrics != null) {
                // Before the node starts, so that every meter it makes is in the endpoint's registry.
                MetricsEndpoint endpoint = new MetricsEndpoint(metrics, node::refreshMetrics);
                System.err.println("swarmd: metrics at http://" + metrics.host() + ":" + endpoint.port() + "/metrics");
            }
            node.start(bootstrap, joiningManager);
            if (joiningManager) {
                SwarmNode.addRaftMember(List.of(joinAddr), tls, state.nodeId, st.raftAdvertise());
            }
            if (dashboard != null) {
                var page = new io.jswarm.cli.dashboard.Dashboard(dashboard.addr().host(), dashboard.addr().port(), node::manager,
                        socket, dashboard.https() ? tls : null);
                System.err.println("swarmd: dashboard at " + page.url(dashboard.addr().host())
                        + (dashboard.https() ? " (client certificate of the cluster required)" : ""));
            }
            engineNode.inSwarm(state.nodeId, advertise.host(), node);
            if (engine != null && engineApi.get() == null) {
                engineApi.set(new io.jswarm.cli.engine.EngineApi(engine.listen(), socket, engineNode, registry,
                        engine.https() ? ClusterHttps.options(tls, node::manager) : new io.vertx.core.http.HttpServerOptions(), null));
                System.err.println("swarmd: Docker Engine API (swarm) at " + engine.listen() + (engine.https()
                        ? " over HTTPS (a client certificate of the cluster required: docker --tlsverify -H tcp://" + advertise.host()
                        + ":" + HostPort.parse("--engine-api", engine.listen().substring("tcp://".length())).port() + ")" : ""));
            }
        } catch (Exception | Error e) {
            if (pending != null) {
                // the node is made (its state written) but did not start: say so to the waiting CLI
                pending.refuse(false, "the node was made but did not start: " + e.getMessage());
            }
            throw e;
        }
        if (pending != null) {
            // docker swarm init or join: answered once the node runs (a manager once its Control API answers)
            if (state.role.equals("manager")) {
                awaitControl(socket);
            }
            pending.accept(state.nodeId);
        }
        System.err.println("swarmd: node " + state.nodeId + " (" + hostname + ") running as " + state.role
                + (state.role.equals("manager") ? ", control socket " + socket : ""));
        stopped.await();
        return 0;
    }

    /**
     * A docker swarm init or join request, as the flags it stands for (swarmd --inactive);
     * settings() checks them as it checks flags.
     */
    private void take(io.jswarm.cli.engine.WaitingNode.Request request) {
        String listenAddr;
        String advertiseAddr;
        if (request instanceof io.jswarm.cli.engine.WaitingNode.Init init) {
            listenAddr = init.listenAddr();
            advertiseAddr = init.advertiseAddr();
            autolock = init.autolock();
            if (!init.addrPools().isEmpty()) {
                addrPools = init.addrPools();
            }
            if (init.subnetSize() > 0) {
                addrPoolMaskLength = String.valueOf(init.subnetSize());
            }
            if (init.heartbeatNanos() > 0) {
                heartbeatPeriod = init.heartbeatNanos() / 1_000_000 + "ms";
            }
            if (init.certExpiryNanos() > 0) {
                certExpiry = init.certExpiryNanos() / 1_000_000 + "ms";
            }
        } else {
            var join = (io.jswarm.cli.engine.WaitingNode.Join) request;
            listenAddr = join.listenAddr();
            advertiseAddr = join.advertiseAddr();
            // The first manager named: a jswarm node learns the others from it.
            joinAddr = withPort(join.remoteAddrs().get(0), DOCKER_SWARM_PORT, "RemoteAddrs");
            joinToken = join.token();
        }
        if (!listenAddr.isEmpty()) {
            listenRemote = withPort(listenAddr, DOCKER_SWARM_PORT, "ListenAddr");
        }
        if (!advertiseAddr.isEmpty()) {
            advertiseRemote = withPort(advertiseAddr, HostPort.parse("ListenAddr", listenRemote).port(), "AdvertiseAddr");
        }
    }

    /** What puts back the flags an init or join request sets (take), as they are now. */
    private Runnable flagsBefore() {
        String listen = listenRemote;
        String advertise = advertiseRemote;
        String join = joinAddr;
        String token = joinToken;
        String expiry = certExpiry;
        String heartbeat = heartbeatPeriod;
        String mask = addrPoolMaskLength;
        List<String> pools = new ArrayList<>(addrPools);
        boolean lock = autolock;
        return () -> {
            listenRemote = listen;
            advertiseRemote = advertise;
            joinAddr = join;
            joinToken = token;
            certExpiry = expiry;
            heartbeatPeriod = heartbeat;
            addrPoolMaskLength = mask;
            addrPools = pools;
            autolock = lock;
        };
    }

    /** Docker's swarm port: what an address in an init or join request without one means. */
    private static final int DOCKER_SWARM_PORT = 2377;

    /** An IP address, with a port or the one given; interface names (eth0:2377), which dockerd takes, are refused. */
    private static String withPort(String addr, int port, String field) {
        String bare = addr.startsWith("[") && addr.endsWith("]") ? addr.substring(1, addr.length() - 1) : addr;
        HostPort hp = org.bouncycastle.util.IPAddress.isValid(bare) ? new HostPort(bare, port) : HostPort.parse(field, addr);
        if (!org.bouncycastle.util.IPAddress.isValid(hp.host())) {
            throw new IllegalArgumentException(field + " " + addr + ": give an IP address, optionally with :PORT (jswarm takes"
                    + " no interface or host names here)");
        }
        return hp.toString();
    }

    /** Waits until the Control API on the node's socket answers (a new manager: its Raft group has a leader). */
    private static void awaitControl(Path socket) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        try (ControlClient c = new ControlClient(socket, false)) {
            while (true) {
                try {
                    c.stub().getCluster(io.jswarm.api.control.GetClusterRequest.getDefaultInstance());
                    return;
                } catch (io.grpc.StatusRuntimeException e) {
                    if (System.currentTimeMillis() > deadline) {
                        return;  // answered anyway: the CLI's next request says what is wrong
                    }
                    Thread.sleep(100);
                }
            }
        }
    }

    /** What the Engine API tells of this node: its id once it is in a swarm (null before: swarmd --inactive). */
    private static final class EngineNode implements io.jswarm.cli.engine.SwarmEndpoints.LocalNode {
        private final String hostname;
        private volatile String nodeId;
        private volatile String addr = "";
        private volatile SwarmNode node;
        private volatile boolean locked;

        EngineNode(String hostname) {
            this.hostname = hostname;
        }

        /** A manager restarted with autolock on, before its unlock key is given. */
        void locked(String nodeId, String addr) {
            this.addr = addr;
            this.locked = true;
            this.nodeId = nodeId;
        }

        void inSwarm(String nodeId, String addr, SwarmNode node) {
            this.addr = addr;
            this.node = node;
            this.nodeId = nodeId;
            this.locked = false;
        }

        @Override
        public boolean locked() {
            return locked;
        }

        @Override
        public String nodeId() {
            return nodeId;
        }

        @Override
        public String hostname() {
            return hostname;
        }

        @Override
        public String addr() {
            return addr;
        }

        @Override
        public List<io.jswarm.api.dispatcher.ManagerPeer> managers() {
            SwarmNode n = node;
            return n == null ? List.of() : n.managerPeers();
        }
    }

    /** The CA of --external-ca-cert/--external-ca-key, checked before anything is written. */
    private ClusterCa externalCa() throws java.io.IOException {
        try {
            return ClusterCa.fromPem(Files.readString(externalCaCert), Files.readString(externalCaKey));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--external-ca-cert " + externalCaCert + ", --external-ca-key " + externalCaKey
                    + ": " + e.getMessage());
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("no such file: " + e.getFile());
        }
    }

    private static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.isEmpty();
    }

    /** The first non-loopback IPv4 address of this machine, else loopback. */
    static String defaultAddress() throws Exception {
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) {
                continue;
            }
            for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return a.getHostAddress();
                }
            }
        }
        return "127.0.0.1";
    }
}
