package io.jswarm.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A node's TLS credentials: its key, its certificate from the cluster CA and the roots it
 * trusts, kept in STATE_DIR/certificates and swapped in place when the certificate is
 * renewed (new connections use the new one; open ones go on). Every node-to-node
 * connection is mutual TLS built from here.
 *
 * <p>Peers are checked by the cluster, not by host name (as SwarmKit checks the role as
 * the server name): the chain must lead to a trusted root, the certificate's O must be
 * this node's cluster and its OU a role the connection accepts.
 */
public final class NodeTls {
    public static final String DIR = "certificates";
    public static final String ROOT_FILE = "swarm-root-ca.crt";
    public static final String CERT_FILE = "swarm-node.crt";
    public static final String KEY_FILE = "swarm-node.key";
    private static final String ALIAS = "node";
    /** How far before its issue a certificate's validity starts: clocks of nodes differ a little. */
    public static final long BACKDATE_MS = 5 * 60_000;

    /**
     * One consistent set, swapped whole: the key, the certificate chain (the node's own
     * first; during a CA rotation the cross-signed new root after it) and the roots trusted.
     */
    private record Material(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> roots) {
        X509Certificate cert() {
            return chain.get(0);
        }
    }

    private volatile Material material;
    /** swarmd --tls=false, for benchmarks' plaintext baseline only: no TLS, no identities. */
    private volatile boolean plaintext;
    /** Autolock: the unlock key the key file is sealed under, or null (the key file is plain PEM). */
    private volatile byte[] lockKey;
    private static final String LOCKED_BEGIN = "-----BEGIN JSWARM LOCKED PRIVATE KEY-----";
    private static final String LOCKED_END = "-----END JSWARM LOCKED PRIVATE KEY-----";
    private static final String LOCK_SEAL_ID = "node TLS key";

    public NodeTls(PrivateKey key, X509Certificate cert, List<X509Certificate> roots) {
        this(key, List.of(cert), roots);
    }

    public NodeTls(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> roots) {
        this.material = new Material(key, List.copyOf(chain), List.copyOf(roots));
    }

    public NodeIdentity identity() {
        return NodeIdentity.of(material.cert());
    }

    public X509Certificate certificate() {
        return material.cert();
    }

    public List<X509Certificate> roots() {
        return material.roots;
    }

    /** A renewed certificate (and key), or new roots: used by every connection opened from now on. */
    public void update(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> roots) {
        material = new Material(key, List.copyOf(chain), List.copyOf(roots));
    }

    // ------------------------------------------------------------------ files

    public static boolean present(Path stateDir) {
        return Files.exists(stateDir.resolve(DIR).resolve(CERT_FILE));
    }

    /** Whether the key file is sealed under an unlock key (autolock): the node must be unlocked first. */
    public static boolean locked(Path stateDir) throws IOException {
        return Files.readString(stateDir.resolve(DIR).resolve(KEY_FILE)).startsWith(LOCKED_BEGIN);
    }

    public static NodeTls load(Path stateDir) throws IOException {
        return load(stateDir, null);
    }

    /**
     * The node's credentials; a key file sealed under an unlock key needs that key, and
     * IllegalArgumentException says when it is not the one.
     */
    public static NodeTls load(Path stateDir, byte[] unlockKey) throws IOException {
        Path d = stateDir.resolve(DIR);
        String keyText = Files.readString(d.resolve(KEY_FILE));
        if (keyText.startsWith(LOCKED_BEGIN)) {
            if (unlockKey == null) {
                throw new IOException(d + " holds a locked key: unlock the node first");
            }
            String b64 = keyText.substring(LOCKED_BEGIN.length(), keyText.indexOf(LOCKED_END)).replaceAll("\\s", "");
            try {
                keyText = new String(SecretSeal.open(unlockKey, LOCK_SEAL_ID, java.util.Base64.getDecoder().decode(b64)),
                        java.nio.charset.StandardCharsets.UTF_8);
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException("invalid unlock key: it does not open this manager's key");
            }
        }
        try {
            NodeTls t = new NodeTls(Pem.privateKey(keyText),
                    Pem.certificates(Files.readString(d.resolve(CERT_FILE))), Pem.certificates(Files.readString(d.resolve(ROOT_FILE))));
            t.lockKey = keyText.equals(Files.readString(d.resolve(KEY_FILE))) ? null : unlockKey;
            return t;
        } catch (IllegalArgumentException e) {
            throw new IOException(d + " holds no usable node certificate: " + e.getMessage());
        }
    }

    /** Autolock: from now on the key file is sealed under this key (null: plain again); save to apply. */
    public void lockWith(byte[] unlockKey) {
        this.lockKey = unlockKey;
    }

    /** The unlock key the key file is sealed under, or null. */
    public byte[] lockKey() {
        return lockKey;
    }

    /** Writes the key (mode 0600; sealed under the unlock key with autolock), certificate and roots, each file replaced whole. */
    public void save(Path stateDir) throws IOException {
        Material m = material;
        byte[] lock = lockKey;
        Path d = stateDir.resolve(DIR);
        Files.createDirectories(d);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        String keyPem = Pem.of(m.key);
        if (lock != null) {
            keyPem = LOCKED_BEGIN + "\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(
                    SecretSeal.seal(lock, LOCK_SEAL_ID, keyPem.getBytes(java.nio.charset.StandardCharsets.UTF_8))) + "\n" + LOCKED_END + "\n";
        }
        write(d.resolve(KEY_FILE), keyPem);
        write(d.resolve(ROOT_FILE), Pem.of(m.roots));
        write(d.resolve(CERT_FILE), Pem.of(m.chain));
    }

    private static void write(Path f, String text) throws IOException {
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, text);
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    // ------------------------------------------------------------------ credentials

    /**
     * Turns TLS off on every connection this node makes or serves, for the plaintext
     * baseline of the TLS benchmarks (swarmd --tls=false, which warns): callers are then
     * who their requests say, as before TLS.
     */
    public void plaintextForBenchmarks() {
        plaintext = true;
    }

    public boolean plaintext() {
        return plaintext;
    }

    /** For dialing managers: this node's certificate, and the server must be a manager of the cluster. */
    public ChannelCredentials channelCredentials() {
        if (plaintext) {
            return io.grpc.InsecureChannelCredentials.create();
        }
        return TlsChannelCredentials.newBuilder().keyManager(keyManager())
                .trustManager(trustManager(Set.of(NodeIdentity.MANAGER), n -> false)).build();
    }

    /**
     * For a manager's remote API: a client certificate is asked for but not required (a
     * joining node has none yet); the calls that need one check the caller's identity.
     */
    public ServerCredentials serverCredentials(Set<String> clientRoles, Predicate<NodeIdentity> denied) {
        if (plaintext) {
            return io.grpc.InsecureServerCredentials.create();
        }
        return TlsServerCredentials.newBuilder().keyManager(keyManager()).trustManager(trustManager(clientRoles, denied))
                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL).build();
    }

    /** Before a joining node knows the cluster's root: a trust-nothing-yet channel to fetch it. */
    public static ChannelCredentials unverified() {
        return TlsChannelCredentials.newBuilder().trustManager(new Verifier(null, Set.of(), n -> false) {
            @Override
            void verify(X509Certificate[] chain, Set<String> roles) {
                // The caller checks the root it is shown against its join token's digest.
            }
        }).build();
    }

    /** A joining node that has checked the root: the server must be a manager under it. */
    public static ChannelCredentials trusting(X509Certificate root) {
        return TlsChannelCredentials.newBuilder()
                .trustManager(new Verifier(() -> List.of(root), Set.of(NodeIdentity.MANAGER), n -> false)).build();
    }

    public X509ExtendedKeyManager keyManager() {
        return new X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {ALIAS};
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return ALIAS;
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                return ALIAS;
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return new String[] {ALIAS};
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return ALIAS;
            }

            @Override
            public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
                return ALIAS;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return material.chain.toArray(new X509Certificate[0]);
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return material.key;
            }
        };
    }

    /**
     * Accepts peers whose certificate chains to one of this node's roots, names this
     * node's cluster and one of the roles; {@code denied} refuses removed nodes.
     */
    public X509ExtendedTrustManager trustManager(Set<String> roles, Predicate<NodeIdentity> denied) {
        return new Verifier(() -> material.roots, roles, denied) {
            @Override
            String clusterId() {
                return identity().clusterId();
            }
        };
    }

    /** The one check of a peer's chain, for both ends of a connection. */
    private static class Verifier extends X509ExtendedTrustManager {
        private final java.util.function.Supplier<List<X509Certificate>> roots;
        private final Set<String> roles;
        private final Predicate<NodeIdentity> denied;

        Verifier(java.util.function.Supplier<List<X509Certificate>> roots, Set<String> roles, Predicate<NodeIdentity> denied) {
            this.roots = roots;
            this.roles = roles;
            this.denied = denied;
        }

        /** The cluster a peer must belong to; null: the root's own (a joining node's view). */
        String clusterId() {
            return null;
        }

        void verify(X509Certificate[] chain, Set<String> roles) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("no certificate");
            }
            List<X509Certificate> anchors = roots.get();
            // The leaf alone, or through the certificates the peer sent after it: during a CA
            // rotation a new leaf validates under the new root directly, or under the old one
            // through the cross-signed new root.
            GeneralSecurityException failed = null;
            List<X509Certificate> path = new ArrayList<>();
            for (X509Certificate c : chain) {
                if (anchors.contains(c)) {
                    break;
                }
                path.add(c);
                try {
                    validate(path, anchors);
                    failed = null;
                    break;
                } catch (GeneralSecurityException e) {
                    failed = e;
                }
            }
            if (failed != null || path.isEmpty()) {
                throw new CertificateException("the peer's certificate is not from this cluster's CA"
                        + (failed == null ? "" : ": " + failed.getMessage()));
            }
            NodeIdentity id = NodeIdentity.of(chain[0]);
            String cluster = clusterId();
            if (cluster != null && !cluster.equals(id.clusterId())) {
                throw new CertificateException("the peer belongs to cluster " + id.clusterId() + ", not " + cluster);
            }
            if (!roles.contains(id.role())) {
                throw new CertificateException("the peer's role " + id.role() + " may not make this connection");
            }
            if (denied.test(id)) {
                throw new CertificateException("node " + id.nodeId() + " has been removed from the cluster");
            }
        }

        private static void validate(List<X509Certificate> path, List<X509Certificate> anchors) throws GeneralSecurityException {
            Set<TrustAnchor> trust = new HashSet<>();
            for (X509Certificate r : anchors) {
                trust.add(new TrustAnchor(r, null));
            }
            PKIXParameters p = new PKIXParameters(trust);
            p.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), p);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            verify(chain, roles);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return roots == null ? new X509Certificate[0] : roots.get().toArray(new X509Certificate[0]);
        }
    }
}
