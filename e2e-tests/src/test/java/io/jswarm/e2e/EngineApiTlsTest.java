package io.jswarm.e2e;

import static io.jswarm.e2e.LocalCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.e2e.LocalCluster.Member;
import io.jswarm.e2e.LocalCluster.Result;
import io.jswarm.tls.NodeTls;
import io.jswarm.tls.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The Engine API on a TCP address off loopback, as a remote docker CLI uses it: HTTPS that
 * the CLI's --tlsverify accepts (the node's certificate chains to the cluster CA of a
 * `swarmctl cluster client-cert` bundle and names the address dialled), and that refuses a
 * caller without a client certificate of the cluster. The docker CLI runs in the test's
 * root namespace and dials the simulated hosts' addresses on the test bridge.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class EngineApiTlsTest {
    static final int PORT = 2376;
    static SimulatedCluster sim;
    static Member m1;
    static Member w1;
    static Path dir;
    static Path bundle;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isExecutable(EngineApiTest.DOCKER), "the docker CLI is missing at " + EngineApiTest.DOCKER + ": run bin/setup");
        // Every node serves it on all of its (namespace's) addresses.
        sim = new SimulatedCluster(1, "1s", "--engine-api", "tcp://0.0.0.0:" + PORT);
        m1 = sim.m1;
        w1 = sim.cluster.member("w1");
        dir = Files.createTempDirectory("jswarm-engine-tls-");
        bundle = dir.resolve("admin");
        sim.cluster.swarmctl(m1, "cluster", "client-cert", "admin", "--out", bundle.toString()).ok();
    }

    @AfterAll
    static void stop() throws Exception {
        if (sim != null) {
            sim.close();
        }
        if (dir != null) {
            LocalCluster.deleteTree(dir);
        }
    }

    /** The docker CLI against a node's TCP address, with the given TLS flags. */
    static Result docker(Member at, List<String> tls, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("-H", "tcp://" + at.ip() + ":" + PORT));
        cmd.addAll(tls);
        cmd.addAll(List.of(args));
        return DockerCli.run(dir, Map.of(), cmd);
    }

    static List<String> verified() {
        return List.of("--tlsverify", "--tlscacert", bundle.resolve("ca.pem").toString(),
                "--tlscert", bundle.resolve("cert.pem").toString(), "--tlskey", bundle.resolve("key.pem").toString());
    }

    static X509Certificate nodeCertificate(Member m) throws Exception {
        try (var files = Files.walk(m.stateDir)) {
            Path f = files.filter(p -> p.getFileName().toString().equals(NodeTls.CERT_FILE)).findFirst().orElseThrow();
            return Pem.certificates(Files.readString(f)).get(0);
        }
    }

    static boolean names(X509Certificate c, String ip) throws Exception {
        return c.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(0).equals(7) && n.get(1).equals(ip));
    }

    static Result nodeLs(Member at) {
        try {
            return docker(at, verified(), "node", "ls");
        } catch (Exception e) {
            return new Result(-1, "", e.toString());
        }
    }

    @Test
    @Order(1)
    void aClientCertificateOfTheClusterGetsInAndTheServerIsVerified() throws Exception {
        // The first manager's certificate (made at init) and the worker's (made at join) name their addresses.
        assertTrue(names(nodeCertificate(m1), m1.ip()), "m1's certificate names " + m1.ip());
        assertTrue(names(nodeCertificate(w1), w1.ip()), "w1's certificate names " + w1.ip());

        Result ls = docker(m1, verified(), "node", "ls");
        assertEquals(0, ls.exit(), ls.err());
        assertEquals(2, EngineApiTest.rows(ls.out()).size(), ls.out());
        Result created = docker(m1, verified(), "service", "create", "--detach", "--name", "remote", "--replicas", "1", sim.image);
        assertEquals(0, created.exit(), created.err());
        assertTrue(docker(m1, verified(), "service", "ls").out().contains("remote"));
        // A worker serves HTTPS too, and says where the managers are, as a Docker worker does.
        Result fromWorker = docker(w1, verified(), "service", "ls");
        assertNotEquals(0, fromWorker.exit());
        assertTrue(fromWorker.err().contains("This node is not a swarm manager"), fromWorker.err());
    }

    @Test
    @Order(2)
    void withoutAClientCertificateNothingIsServed() throws Exception {
        // The server is verified but the client shows no certificate: the handshake is refused.
        Result noCert = docker(m1, List.of("--tlsverify", "--tlscacert", bundle.resolve("ca.pem").toString()), "service", "ls");
        assertNotEquals(0, noCert.exit());
        assertTrue(noCert.err().contains("bad certificate") || noCert.err().contains("certificate required"), noCert.err());
        assertTrue(noCert.out().isEmpty(), noCert.out());
        // Plain HTTP is not served on the port.
        Result plain = docker(m1, List.of(), "service", "ls");
        assertNotEquals(0, plain.exit());
        assertTrue(plain.out().isEmpty(), plain.out());
        // A CA that is not the cluster's does not vouch for the server.
        Path other = dir.resolve("other-ca.pem");
        Files.writeString(other, Pem.of(io.jswarm.manager.ca.ClusterCa.create("other").certificate()));
        Result wrongCa = docker(m1, List.of("--tlsverify", "--tlscacert", other.toString(), "--tlscert",
                bundle.resolve("cert.pem").toString(), "--tlskey", bundle.resolve("key.pem").toString()), "service", "ls");
        assertNotEquals(0, wrongCa.exit());
        assertTrue(wrongCa.err().contains("certificate signed by unknown authority"), wrongCa.err());
        // The unlock key is for the node's own socket only, as the Engine API says at the socket.
        Result key = docker(m1, verified(), "swarm", "unlock-key");
        assertNotEquals(0, key.exit());
        assertTrue(key.err().contains("on a manager's own socket only"), key.err());
    }

    @Test
    @Order(3)
    void aRenewedCertificateStillNamesTheAddress() throws Exception {
        // Promotion renews w1's certificate (its role changes): the manager certificate it gets
        // names the address it advertises, so the CLI accepts w1 as a manager's Engine API at once.
        sim.cluster.swarmctl(m1, "node", "promote", "w1").ok();
        await(Duration.ofSeconds(60), () -> nodeLs(w1).exit() == 0, "w1 answers node ls as a manager", () -> nodeLs(w1).err());
        X509Certificate c = nodeCertificate(w1);
        assertTrue(io.jswarm.tls.NodeIdentity.of(c).manager() && names(c, w1.ip()), c.toString());
    }
}
