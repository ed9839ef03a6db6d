package io.jswarm.cli;

import io.jswarm.manager.Manager;
import io.jswarm.tls.NodeIdentity;
import io.jswarm.tls.NodeTls;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.util.Set;
import java.util.function.Supplier;

/**
 * HTTPS for the node's HTTP endpoints off loopback (the dashboard, the Engine API): mutual
 * TLS as on the Control API, the caller presenting a manager's certificate or a client
 * certificate of this cluster (swarmctl cluster client-cert) that was not removed.
 */
public final class ClusterHttps {
    private ClusterHttps() {}

    public static HttpServerOptions options(NodeTls tls, Supplier<Manager> managers) {
        return new HttpServerOptions().setSsl(true).setKeyCertOptions(KeyCertOptions.wrap(tls.keyManager()))
                .setTrustOptions(TrustOptions.wrap(tls.trustManager(Set.of(NodeIdentity.MANAGER, NodeIdentity.CLIENT),
                        id -> id.node() && managers.get() != null && managers.get().removed(id.nodeId()))))
                .setClientAuth(ClientAuth.REQUIRED);
    }
}
