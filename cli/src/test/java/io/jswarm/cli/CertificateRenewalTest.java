package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.manager.ca.ClusterCa;
import io.jswarm.tls.Csr;
import io.jswarm.tls.NodeIdentity;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Whether a node's certificate names the address it advertises: what makes a node renew once at start. */
class CertificateRenewalTest {
    static X509Certificate cert(List<String> addresses) {
        return ClusterCa.create("c").issue("n1", NodeIdentity.WORKER, "c", Csr.newKeyPair().getPublic(), Duration.ofHours(1), addresses);
    }

    @Test
    void addressesAreComparedAsAddressesAndNamesAsNames() {
        X509Certificate c = cert(List.of("10.77.0.2", "fd00::2", "w1.example"));
        assertTrue(CertificateRenewal.names(c, "10.77.0.2"));
        assertTrue(CertificateRenewal.names(c, "fd00:0::2"), "another spelling of the same IPv6 address");
        assertTrue(CertificateRenewal.names(c, "W1.example"));
        assertFalse(CertificateRenewal.names(c, "10.77.0.3"));
        assertFalse(CertificateRenewal.names(c, "n2"));
        assertFalse(CertificateRenewal.names(cert(List.of()), "10.77.0.2"), "a certificate from before addresses were named");
    }
}
