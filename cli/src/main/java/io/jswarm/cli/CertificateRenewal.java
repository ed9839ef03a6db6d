package io.jswarm.cli;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.dispatcher.MembershipGrpc;
import io.jswarm.api.dispatcher.RenewCertificateRequest;
import io.jswarm.api.dispatcher.RenewCertificateResponse;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.NodeTls;
import io.jswarm.tls.Pem;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's certificate current: a new key and certificate from the managers when
 * half of the certificate's life is gone (as SwarmKit), and at once when the cluster
 * changed the node's role, so that the role in the certificate is always the node's; and
 * once after a start when the certificate does not name the address the node advertises
 * (a node that moved, or one certified before certificates named addresses), which the
 * Engine API's HTTPS needs. Connections opened from then on use the new one.
 */
final class CertificateRenewal implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateRenewal.class);
    private static final long CHECK_MS = 1_000;

    private final Path stateDir;
    private final NodeTls tls;
    private final Supplier<List<String>> managers;
    /** HOST:PORT this node advertises, sent with every renewal; the manager names HOST when the call comes from it. */
    private final String advertised;
    private final String advertisedHost;
    /** Whether the renewal for a missing address was made (once: the manager may not vouch for it). */
    private volatile boolean addressAsked;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "certificate-renewal");
        t.setDaemon(true);
        return t;
    });
    /** The role the cluster wants this node in, as its session last said; null until then. */
    private volatile String wantedRole;
    /** Renewals the cluster asked for (a root CA rotation asks twice), and how many of them are done. */
    private final java.util.concurrent.atomic.AtomicLong asked = new java.util.concurrent.atomic.AtomicLong();
    private volatile long answered;
    private long retryAt;

    CertificateRenewal(Path stateDir, NodeTls tls, Supplier<List<String>> managers, String addr) {
        this.stateDir = stateDir;
        this.tls = tls;
        this.managers = managers;
        this.advertised = addr;
        this.advertisedHost = HostPort.parse("advertise address", addr).host();
    }

    void start() {
        timer.scheduleWithFixedDelay(this::check, CHECK_MS, CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** The cluster's view of this node's role (swarm-manager or swarm-worker). */
    void wantRole(String role) {
        wantedRole = role;
    }

    /** The cluster asks this node to renew now; done on the next check. */
    void renewSoon() {
        asked.incrementAndGet();
    }

    private void check() {
        try {
            String want = wantedRole;
            boolean roleChanged = want != null && !want.equals(tls.identity().role());
            long ask = asked.get();
            boolean addressMissing = !addressAsked && !names(tls.certificate(), advertisedHost);
            if ((roleChanged || ask > answered || addressMissing || System.currentTimeMillis() >= renewAt(tls.certificate()))
                    && System.currentTimeMillis() >= retryAt) {
                renew();
                answered = ask;  // a request that came while renewing is answered by the next check
                addressAsked = true;
            }
        } catch (IOException | RuntimeException e) {
            retryAt = System.currentTimeMillis() + 5_000;
            LOG.warn("certificate renewal failed (trying again in 5 s): {}", e.getMessage());
        }
    }

    /** Half-way through the certificate's life, counted from when it was issued (not its backdated start). */
    static long renewAt(X509Certificate c) {
        long issued = c.getNotBefore().getTime() + NodeTls.BACKDATE_MS;
        return issued + (c.getNotAfter().getTime() - issued) / 2;
    }

    /** Whether the certificate names {@code host} among its subject alternative names (an IP address or a DNS name). */
    static boolean names(X509Certificate c, String host) {
        try {
            if (c.getSubjectAlternativeNames() == null) {
                return false;
            }
            boolean literal = org.bouncycastle.util.IPAddress.isValid(host);
            for (List<?> n : c.getSubjectAlternativeNames()) {
                int type = (Integer) n.get(0);
                if (type == 2 && !literal && host.equalsIgnoreCase((String) n.get(1))) {
                    return true;
                }
                // Literals compared as addresses: the JDK writes IPv6 in its long form
                if (type == 7 && literal && java.net.InetAddress.getByName((String) n.get(1)).equals(java.net.InetAddress.getByName(host))) {
                    return true;
                }
            }
            return false;
        } catch (java.security.cert.CertificateParsingException | java.net.UnknownHostException e) {
            return false;
        }
    }

    /** A new key and certificate from the first manager that answers; saved before it is used. */
    synchronized void renew() throws IOException {
        KeyPair key = Csr.newKeyPair();
        String last = "no manager address known";
        for (String addr : managers.get()) {
            ManagedChannel ch = Grpc.newChannelBuilder(addr, tls.channelCredentials()).build();
            try {
                RenewCertificateResponse r = MembershipGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .renewCertificate(RenewCertificateRequest.newBuilder()
                                .setCsr(com.google.protobuf.ByteString.copyFrom(Csr.create(key))).setAddr(advertised).build());
                List<X509Certificate> chain = Pem.certificates(r.getCertPem());
                X509Certificate cert = chain.get(0);
                NodeIdentity before = tls.identity();
                if (!NodeIdentity.of(cert).nodeId().equals(before.nodeId()) || !cert.getPublicKey().equals(key.getPublic())) {
                    throw new IOException("the manager at " + addr + " answered with a certificate for another node or key");
                }
                tls.update(key.getPrivate(), chain, Pem.certificates(r.getRootCaPem()));
                tls.save(stateDir);
                LOG.info("certificate renewed: {} until {}", NodeIdentity.of(cert).role(), cert.getNotAfter().toInstant());
                if (!names(cert, advertisedHost)) {
                    LOG.warn("the certificate does not name this node's advertise address {} (the manager saw the call come"
                            + " from another): a client that checks it (docker --tlsverify) refuses the Engine API's HTTPS",
                            advertisedHost);
                }
                return;
            } catch (StatusRuntimeException e) {
                last = addr + ": " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
            } finally {
                ch.shutdownNow();
            }
        }
        throw new IOException("no manager renewed the certificate (" + last + ")");
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
