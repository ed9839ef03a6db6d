package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static io.jswarm.e2e.LocalCluster.nodes;
import static io.jswarm.e2e.LocalCluster.tasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.NodeRole;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.ControlGrpc;
import io.jswarm.api.dispatcher.AddRaftMemberRequest;
import io.jswarm.api.dispatcher.DispatcherGrpc;
import io.jswarm.api.dispatcher.HeartbeatRequest;
import io.jswarm.api.dispatcher.JoinRequest;
import io.jswarm.api.dispatcher.JoinResponse;
import io.jswarm.api.dispatcher.MembershipGrpc;
import io.jswarm.api.dispatcher.RootCaRequest;
import io.jswarm.api.dispatcher.RootCaResponse;
import io.jswarm.api.dispatcher.SessionRequest;
import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.manager.ca.ClusterCa;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.NodeTls;
import io.jswarm.tls.Pem;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS under the cluster CA, against real swarmd processes: three managers and two
 * workers on 127.0.0.1 joined with tokens, node certificates of 30 s (so they renew every
 * 15 s throughout), m1's remote API advertised through a relay that records what crosses
 * it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SecurityTest {
    /** Files the tests write (certificates, secrets): removed with the class. */
    @TempDir
    static Path tmp;
    static LocalCluster cluster;
    static TestRegistry registry;
    static RecordingProxy relay;
    static Member m1;
    static String image;
    static String workerToken;
    static String managerToken;

    @BeforeAll
    static void startCluster() throws Exception {
        registry = new TestRegistry("127.0.0.1", LocalCluster.freePort());
        image = TestImages.busybox(registry.addr);
        cluster = new LocalCluster().insecureRegistry(registry.addr);
        // Every node reaches m1 (the leader) through the relay: m1 advertises the relay's address.
        int relayPort = LocalCluster.freePort();
        Member first = cluster.prepare("m1");
        relay = new RecordingProxy(relayPort, new InetSocketAddress("127.0.0.1", first.remotePort));
        m1 = cluster.init("m1", "--heartbeat-period", "1s", "--cert-expiry", "30s", "--advertise-remote-api", relay.addr());
        managerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "manager").ok().out().trim();
        workerToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        cluster.joinAll(m1, 3, 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (registry != null) {
            registry.close();
        }
    }


    static String nodeId(String hostname) {
        return nodes(m1).stream().filter(n -> n.getDescription().getHostname().equals(hostname)).findFirst().orElseThrow()
                .getMeta().getId();
    }

    static NodeTls credentialsOf(String member) throws Exception {
        return NodeTls.load(cluster.member(member).stateDir);
    }

    static X509Certificate certificateOf(String member) throws Exception {
        return credentialsOf(member).certificate();
    }

    static ManagedChannel channel(Member to, ChannelCredentials creds) {
        return Grpc.newChannelBuilder(to.addr(), creds).build();
    }

    static Status.Code code(Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        return e.getStatus().getCode();
    }

    /** A client that presents {@code tls}'s certificate but trusts any server: to see what the server refuses. */
    static ChannelCredentials presenting(NodeTls tls) {
        return TlsChannelCredentials.newBuilder().keyManager(tls.keyManager())
                .trustManager(InsecureTrustManagerFactory.INSTANCE.getTrustManagers()).build();
    }

    @Test
    @Order(1)
    void aJoinTokenPinsTheClustersRootCa() throws Exception {
        // A second cluster's manager as the target: the joining node sees another CA and stops.
        LocalCluster other = new LocalCluster();
        try {
            Member o1 = other.init("o1");
            Member x = other.join("x1", o1, workerToken);
            assertTrue(x.process.waitFor(60, TimeUnit.SECONDS), "the joining node gives up");
            assertEquals(1, x.process.exitValue());
            assertTrue(x.logText().contains("has a root CA whose digest") && x.logText().contains("the token was not sent"),
                    x.logText());
            assertEquals(1, nodes(o1).size(), "the other cluster gained no node");
            assertFalse(o1.logText().contains("joined as"), o1.logText());
        } finally {
            other.close();
        }
        // A man in the middle with a CA of its own: it never receives the token.
        ClusterCa mitmCa = ClusterCa.create("mitm");
        KeyPair k = Csr.newKeyPair();
        NodeTls mitm = new NodeTls(k.getPrivate(), mitmCa.issue("m", NodeIdentity.MANAGER, "mitm", k.getPublic(), Duration.ofHours(1)),
                List.of(mitmCa.certificate()));
        List<String> tokensSeen = new CopyOnWriteArrayList<>();
        Server fake = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        mitm.serverCredentials(Set.of(NodeIdentity.WORKER), id -> false))
                .addService(new MembershipGrpc.MembershipImplBase() {
                    @Override
                    public void rootCa(RootCaRequest req, StreamObserver<RootCaResponse> out) {
                        out.onNext(RootCaResponse.newBuilder().setRootCaPem(Pem.of(mitmCa.certificate())).build());
                        out.onCompleted();
                    }

                    @Override
                    public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
                        tokensSeen.add(req.getToken());
                        out.onError(Status.UNAVAILABLE.asRuntimeException());
                    }
                }).build().start();
        try {
            Path dir = Files.createDirectories(tmp.resolve("mitm"));
            LocalCluster.Result r = LocalCluster.run(List.of(LocalCluster.ROOT.resolve("bin/swarmd").toString(), "--state-dir",
                    dir.resolve("s").toString(), "--join-addr", "127.0.0.1:" + fake.getPort(), "--join-token", workerToken,
                    "--listen-remote-api", "127.0.0.1:" + LocalCluster.freePort(), "--runtime-root", dir.resolve("runc").toString(),
                    "--cgroup-parent", "/jswarm-mitm", "--dns-upstream", "none", "--routing-mesh", "off"));
            assertEquals(1, r.exit(), r.err());
            assertTrue(r.err().contains("has a root CA whose digest") && r.err().contains("the token was not sent"), r.err());
            assertEquals(List.of(), tokensSeen, "the token never reached the impostor");
            assertFalse(Files.exists(dir.resolve("s").resolve("node.properties")), "nothing was written");
        } finally {
            fake.shutdownNow();
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.runtimeRootLock(tmp.resolve("mitm").resolve("runc").toString()));
            Files.deleteIfExists(io.jswarm.cli.DaemonLocks.cgroupParentLock("/jswarm-mitm"));
        }
    }

    @Test
    @Order(2)
    void aWorkerCertificateSpeaksOnlyForItsNode() throws Exception {
        NodeTls w1 = credentialsOf("w1");
        assertEquals(NodeIdentity.WORKER, w1.identity().role());
        String w2Id = nodeId("w2");
        ManagedChannel ch = channel(m1, w1.channelCredentials());
        try {
            // A session or heartbeat in another node's name.
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> DispatcherGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .session(SessionRequest.newBuilder().setNodeId(w2Id).build()).hasNext()));
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> DispatcherGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .heartbeat(HeartbeatRequest.newBuilder().setNodeId(w2Id).setSessionId("x").build())));
            // Joining the Raft group.
            StatusRuntimeException raft = assertThrows(StatusRuntimeException.class, () -> MembershipGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).addRaftMember(AddRaftMemberRequest.newBuilder()
                            .setNodeId(w1.identity().nodeId()).setRaftAddr("127.0.0.1:1").build()));
            assertEquals(Status.Code.PERMISSION_DENIED, raft.getStatus().getCode());
            assertTrue(raft.getStatus().getDescription().contains("only managers"), raft.getStatus().getDescription());
            // The control API over TCP takes client and manager certificates only.
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> ControlGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .listNodes(ListNodesRequest.getDefaultInstance())));
        } finally {
            ch.shutdownNow();
        }
        // The Raft port takes managers' certificates only: the handshake with a worker's fails.
        assertTrue(raftHandshakeRefused(w1, m1), "a worker certificate is refused by the Raft transport");
        assertFalse(raftHandshakeRefused(credentialsOf("m2"), m1), "a manager certificate is accepted by the Raft transport");
    }

    /** Whether a manager's Raft port ends a TLS connection made with these credentials. */
    static boolean raftHandshakeRefused(NodeTls tls, Member to) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(new javax.net.ssl.KeyManager[] {tls.keyManager()}, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", to.raftPort)) {
            s.setSoTimeout(3_000);
            s.startHandshake();
            // HTTP/2's preface; a server that accepted the certificate waits for more, one that
            // did not sends an alert (TLS 1.3 checks the client after the handshake).
            s.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.getInputStream().read();
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SSLException | java.net.SocketException e) {
            return true;
        }
    }

    @Test
    @Order(8)
    void aClientCertificateDrivesTheClusterFromAfarAndNothingElse() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("client"));
        Member m2 = cluster.member("m2");
        LocalCluster.Result issued = cluster.swarmctl(m1, "cluster", "client-cert", "admin", "--out", dir.resolve("admin").toString()).ok();
        assertTrue(issued.out().contains("cert.pem until"), issued.out());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("admin/key.pem"))));
        List<String> remote = List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--host", m2.addr(),
                "--tlscacert", dir.resolve("admin/ca.pem").toString(), "--tlscert", dir.resolve("admin/cert.pem").toString(),
                "--tlskey", dir.resolve("admin/key.pem").toString());
        LocalCluster.Result ls = LocalCluster.run(concat(remote, "node", "ls"));
        assertEquals(0, ls.exit(), ls.err());
        assertTrue(ls.out().contains("m1") && ls.out().contains("w1"), ls.out());
        LocalCluster.Result create = LocalCluster.run(concat(remote, "service", "create", "-d", "--name", "fromafar", "--replicas", "0", image));
        assertEquals(0, create.exit(), create.err());
        assertTrue(LocalCluster.services(m1).stream().anyMatch(sv -> sv.getSpec().getAnnotations().getName().equals("fromafar")));
        // It may not issue more certificates, nor act as a node.
        LocalCluster.Result more = LocalCluster.run(concat(remote, "cluster", "client-cert", "more", "--out", dir.resolve("more").toString()));
        assertEquals(1, more.exit());
        assertTrue(more.err().contains("cannot issue client certificates"), more.err());
        NodeTls client = new NodeTls(Pem.privateKey(Files.readString(dir.resolve("admin/key.pem"))),
                Pem.certificate(Files.readString(dir.resolve("admin/cert.pem"))), List.of(Pem.certificate(Files.readString(dir.resolve("admin/ca.pem")))));
        assertEquals(NodeIdentity.CLIENT, client.identity().role());
        ManagedChannel ch = channel(m2, client.channelCredentials());
        try {
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> DispatcherGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .session(SessionRequest.newBuilder().setNodeId("admin").build()).hasNext()));
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .addRaftMember(AddRaftMemberRequest.newBuilder().setNodeId("admin").setRaftAddr("127.0.0.1:1").build())));
        } finally {
            ch.shutdownNow();
        }
        assertTrue(raftHandshakeRefused(client, m2), "a client certificate is refused by the Raft transport");
        // Named after a node, a client certificate still speaks for no node: no session, no node certificate.
        String w1Id = nodeId("w1");
        cluster.swarmctl(m1, "cluster", "client-cert", w1Id, "--out", dir.resolve("impostor").toString()).ok();
        NodeTls impostor = new NodeTls(Pem.privateKey(Files.readString(dir.resolve("impostor/key.pem"))),
                Pem.certificate(Files.readString(dir.resolve("impostor/cert.pem"))), List.of(client.roots().get(0)));
        ManagedChannel ich = channel(m2, impostor.channelCredentials());
        try {
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> DispatcherGrpc.newBlockingStub(ich).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .session(SessionRequest.newBuilder().setNodeId(w1Id).build()).hasNext()));
            assertEquals(Status.Code.PERMISSION_DENIED, code(() -> MembershipGrpc.newBlockingStub(ich).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .renewCertificate(io.jswarm.api.dispatcher.RenewCertificateRequest.newBuilder()
                            .setCsr(com.google.protobuf.ByteString.copyFrom(Csr.create(Csr.newKeyPair()))).build())));
        } finally {
            ich.shutdownNow();
        }
        // A worker's files in place of the client's: refused with one line.
        Path w1 = cluster.member("w1").stateDir.resolve(NodeTls.DIR);
        LocalCluster.Result asWorker = LocalCluster.run(List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--host", m2.addr(),
                "--tlscacert", w1.resolve(NodeTls.ROOT_FILE).toString(), "--tlscert", w1.resolve(NodeTls.CERT_FILE).toString(),
                "--tlskey", w1.resolve(NodeTls.KEY_FILE).toString(), "service", "ls"));
        assertEquals(1, asWorker.exit());
        assertTrue(asWorker.err().contains("swarm-worker certificate may not call"), asWorker.err());
        // Without the files: told what is missing.
        LocalCluster.Result bare = LocalCluster.run(List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--host", m2.addr(), "node", "ls"));
        assertEquals(1, bare.exit());
        assertTrue(bare.err().contains("needs --tlscacert, --tlscert and --tlskey"), bare.err());
        cluster.swarmctl(m1, "service", "rm", "fromafar").ok();
    }

    @Test
    @Order(9)
    void rotatingTheRootCaRestartsNothingAndRetiresTheOldRoot() throws Exception {
        List<String> names = List.of("m1", "m2", "m3", "w1");  // w2 was removed
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "calm", "--replicas", "3", image, "sleep", "1000").ok();
        await(Duration.ofSeconds(90), () -> running("calm").size() == 3, "calm runs");
        Set<String> tasksBefore = running("calm");
        X509Certificate oldRoot = credentialsOf("m1").roots().get(0);
        String oldToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        Path dir = Files.createDirectories(tmp.resolve("rotate"));
        cluster.swarmctl(m1, "cluster", "client-cert", "before", "--expiry", "1h", "--out", dir.resolve("before").toString()).ok();
        List<String> before = List.of(LocalCluster.ROOT.resolve("bin/swarmctl").toString(), "--host", m1.addr(),
                "--tlscacert", dir.resolve("before/ca.pem").toString(), "--tlscert", dir.resolve("before/cert.pem").toString(),
                "--tlskey", dir.resolve("before/key.pem").toString());
        assertEquals(0, LocalCluster.run(concat(before, "node", "ls")).exit(), "a client certificate of the old root works before");

        LocalCluster.Result rotated = cluster.swarmctl(m1, "cluster", "rotate-ca").ok();
        assertTrue(rotated.out().contains("root CA rotated"), rotated.out());
        io.jswarm.api.Cluster.Builder inspected = io.jswarm.api.Cluster.newBuilder();
        com.google.protobuf.util.JsonFormat.parser().ignoringUnknownFields()
                .merge(cluster.swarmctl(m1, "cluster", "inspect").ok().out(), inspected);
        assertFalse(inspected.hasCaRotation(), "the rotation is over");
        X509Certificate newRoot = Pem.certificate(inspected.getRootCaPem());
        assertFalse(newRoot.equals(oldRoot), "the root changed");
        // Every node ends on the new root alone, its certificate signed by the new key.
        await(Duration.ofSeconds(60), () -> names.stream().allMatch(n -> onlyUnder(n, newRoot)), "every node trusts the new root only",
                () -> names.stream().map(n -> n + "=" + onlyUnder(n, newRoot)).toList().toString());
        assertEquals(tasksBefore, running("calm"), "no task was restarted");
        assertEquals(4, LocalCluster.readyNodes(m1), "every node is ready");
        // The old root is refused now: its client certificate, and join tokens with its digest.
        LocalCluster.Result old = LocalCluster.run(concat(before, "node", "ls"));
        assertEquals(1, old.exit(), old.out());
        assertTrue(!old.err().isBlank() && old.err().strip().lines().count() == 1, old.err());
        String newToken = cluster.swarmctl(m1, "cluster", "join-token", "-q", "worker").ok().out().trim();
        assertFalse(newToken.equals(oldToken));
        Member late = cluster.join("late", m1, oldToken);
        assertTrue(late.process.waitFor(60, TimeUnit.SECONDS), "a node with the old token gives up");
        assertTrue(late.logText().contains("has a root CA whose digest"), late.logText());
        cluster.swarmctl(m1, "service", "rm", "calm").ok();
    }

    /** Whether a node trusts only {@code root} and holds a certificate signed by its key. */
    static boolean onlyUnder(String member, X509Certificate root) {
        try {
            NodeTls tls = credentialsOf(member);
            tls.certificate().verify(root.getPublicKey());
            return tls.roots().equals(List.of(root));
        } catch (Exception e) {
            return false;
        }
    }

    static List<String> concat(List<String> head, String... tail) {
        List<String> out = new ArrayList<>(head);
        out.addAll(List.of(tail));
        return out;
    }

    @Test
    @Order(3)
    void callersWithoutACertificateOrFromAnotherClusterAreRefused() throws Exception {
        X509Certificate root = Pem.certificate(Files.readString(m1.stateDir.resolve(NodeTls.DIR).resolve(NodeTls.ROOT_FILE)));
        String w1Id = nodeId("w1");
        ManagedChannel anonymous = channel(m1, NodeTls.trusting(root));
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DispatcherGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).session(SessionRequest.newBuilder().setNodeId(w1Id).build()).hasNext());
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
            // Fetching the root needs nothing: that is how a joining node starts.
            assertEquals(Pem.of(root), MembershipGrpc.newBlockingStub(anonymous).rootCa(RootCaRequest.getDefaultInstance()).getRootCaPem());
        } finally {
            anonymous.shutdownNow();
        }
        // A certificate of another cluster's CA does not get past the handshake.
        ClusterCa otherCa = ClusterCa.create("other");
        KeyPair k = Csr.newKeyPair();
        NodeTls stranger = new NodeTls(k.getPrivate(), otherCa.issue(w1Id, NodeIdentity.MANAGER, nodes(m1).get(0).getMeta().getId(),
                k.getPublic(), Duration.ofHours(1)), List.of(otherCa.certificate()));
        ManagedChannel ch = channel(m1, presenting(stranger));
        try {
            assertEquals(Status.Code.UNAVAILABLE, code(() -> DispatcherGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .session(SessionRequest.newBuilder().setNodeId(w1Id).build()).hasNext()));
        } finally {
            ch.shutdownNow();
        }
        assertTrue(raftHandshakeRefused(stranger, m1), "another cluster's certificate is refused by the Raft transport");
    }

    @Test
    @Order(4)
    void noSecretOrProtobufCrossesTheWireInTheClear() throws Exception {
        Path files = Files.createDirectories(tmp.resolve("sec"));
        String secret = "s3cret-" + Long.toHexString(new java.security.SecureRandom().nextLong()) + "-value";
        Files.writeString(files.resolve("pw"), secret);
        cluster.swarmctl(m1, "secret", "create", "wire_pw", files.resolve("pw").toString()).ok();
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "wiresvc", "--replicas", "2", "--constraint", "node.role==worker",
                "--secret", "wire_pw", image, "sleep", "1000").ok();
        await(Duration.ofSeconds(90), () -> tasks(m1, "wiresvc").stream()
                .filter(t -> t.getStatus().getState() == TaskState.RUNNING).count() == 2, "wiresvc runs on the workers");
        byte[] seen = relay.captured();
        assertTrue(seen.length > 10_000, "the relay carried the nodes' traffic: " + seen.length + " bytes");
        String text = new String(seen, StandardCharsets.ISO_8859_1);
        for (String plain : List.of(secret, "wire_pw", "wiresvc", image, "node.role", "sleep")) {
            assertFalse(text.contains(plain), "\"" + plain + "\" crossed the wire in the clear");
        }
        cluster.swarmctl(m1, "service", "rm", "wiresvc").ok();
    }

    @Test
    @Order(5)
    void certificatesRenewEvery15sAndNothingBreaksFor2Minutes() throws Exception {
        cluster.swarmctl(m1, "service", "create", "-d", "--name", "steady", "--replicas", "3", image, "sleep", "1000").ok();
        await(Duration.ofSeconds(90), () -> running("steady").size() == 3, "steady runs");
        Set<String> tasksBefore = running("steady");
        List<String> names = List.of("m1", "m2", "m3", "w1", "w2");
        Map<String, Set<java.math.BigInteger>> serials = new HashMap<>();
        List<String> problems = new ArrayList<>();
        long end = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < end) {
            for (String n : names) {
                X509Certificate c = certificateOf(n);
                serials.computeIfAbsent(n, x -> new HashSet<>()).add(c.getSerialNumber());
                if (c.getNotAfter().getTime() < System.currentTimeMillis()) {
                    problems.add(n + "'s certificate expired at " + c.getNotAfter());
                }
            }
            if (LocalCluster.readyNodes(m1) != 5) {
                problems.add("nodes not ready at " + java.time.Instant.now() + ": " + nodes(m1).stream()
                        .map(n -> n.getDescription().getHostname() + "=" + n.getStatus().getState()).toList());
            }
            if (!running("steady").equals(tasksBefore)) {
                problems.add("steady's tasks changed: " + running("steady") + " instead of " + tasksBefore);
            }
            Thread.sleep(2_000);
        }
        assertEquals(List.of(), problems);
        for (String n : names) {
            // Half of 30 s: about 8 renewals in 2 minutes; at least 5 certificates seen each.
            assertTrue(serials.get(n).size() >= 5, n + " renewed its certificate " + (serials.get(n).size() - 1) + " times");
        }
        cluster.swarmctl(m1, "service", "rm", "steady").ok();
    }

    static Set<String> running(String service) {
        Set<String> out = new HashSet<>();
        tasks(m1, service).stream().filter(t -> t.getStatus().getState() == TaskState.RUNNING).forEach(t -> out.add(t.getMeta().getId()));
        return out;
    }

    @Test
    @Order(6)
    void promotionAndDemotionChangeTheRoleInTheCertificate() throws Exception {
        cluster.swarmctl(m1, "node", "promote", "w2").ok();
        await(Duration.ofSeconds(60), () -> role("w2").equals(NodeIdentity.MANAGER) && isManager("w2"),
                "w2 holds a manager certificate and is a manager", () -> role("w2"));
        cluster.swarmctl(m1, "node", "demote", "w2").ok();
        await(Duration.ofSeconds(60), () -> role("w2").equals(NodeIdentity.WORKER) && !isManager("w2"),
                "w2 holds a worker certificate again", () -> role("w2"));
        await(Duration.ofSeconds(60), () -> LocalCluster.readyNodes(m1) == 5, "all five nodes are ready");
    }

    static String role(String member) {
        try {
            return NodeIdentity.of(certificateOf(member)).role();
        } catch (Exception e) {
            return "unreadable: " + e.getMessage();
        }
    }

    static boolean isManager(String hostname) {
        return nodes(m1).stream().anyMatch(n -> n.getDescription().getHostname().equals(hostname) && n.getRole() == NodeRole.MANAGER);
    }

    @Test
    @Order(7)
    void aRemovedNodesCertificateStopsWorkingAtOnce() throws Exception {
        NodeTls w2 = credentialsOf("w2");
        String w2Id = w2.identity().nodeId();
        cluster.swarmctl(m1, "node", "rm", "--force", "w2").ok();
        ManagedChannel ch = channel(m1, w2.channelCredentials());
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DispatcherGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).session(SessionRequest.newBuilder().setNodeId(w2Id).build()).hasNext());
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("removed"), e.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
        }
        await(Duration.ofSeconds(30), () -> nodes(m1).stream().noneMatch(n -> n.getMeta().getId().equals(w2Id)), "w2 stays removed");
    }
}
