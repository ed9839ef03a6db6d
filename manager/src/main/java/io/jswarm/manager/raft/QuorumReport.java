package io.jswarm.manager.raft;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;

/**
 * Says, in words a user can act on, why this manager cannot get a write or a current read
 * through: how many of the other managers it cannot reach. A leader knows from its
 * followers' last answers; any other member tries a TCP connection to each peer's Raft
 * port (only when it has to explain a failure, so the probes cost nothing normally).
 */
final class QuorumReport {
    /** A follower that has not answered the leader for this long counts as unreachable. */
    static final long SILENT_MS = 2_000;
    private static final int PROBE_MS = 500;

    private QuorumReport() {}

    /** True when this leader has heard from enough followers lately to commit anything. */
    static boolean leaderHasQuorum(RoleInfoProto role, int members) {
        if (!role.hasLeaderInfo()) {
            return false;
        }
        int heard = 1;  // itself
        for (ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
            if (f.getLastRpcElapsedTimeMs() < SILENT_MS) {
                heard++;
            }
        }
        return heard > members / 2;
    }

    static String describe(String manager, RaftPeerId self, Collection<RaftPeer> peers, RoleInfoProto role,
            java.util.concurrent.Executor probes) {
        List<RaftPeer> others = new ArrayList<>();
        for (RaftPeer p : peers) {
            if (!p.getId().equals(self)) {
                others.add(p);
            }
        }
        int members = others.size() + 1;
        int unreachable = role != null && role.hasLeaderInfo() ? silentFollowers(role) : probe(others, probes);
        if (members - unreachable > members / 2) {
            return "no leader is elected yet among the " + members + " managers (election in progress); try again";
        }
        return "manager " + manager + " cannot reach a quorum of managers (" + unreachable + " of " + members
                + " unreachable)";
    }

    private static int silentFollowers(RoleInfoProto role) {
        int n = 0;
        for (ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
            if (f.getLastRpcElapsedTimeMs() >= SILENT_MS) {
                n++;
            }
        }
        return n;
    }

    /** Number of peers whose Raft port does not accept a connection within the probe time. */
    private static int probe(List<RaftPeer> others, java.util.concurrent.Executor executor) {
        List<CompletableFuture<Boolean>> probes = new ArrayList<>();
        for (RaftPeer p : others) {
            probes.add(CompletableFuture.supplyAsync(() -> reachable(p.getAddress()), executor));
        }
        int n = 0;
        for (CompletableFuture<Boolean> f : probes) {
            try {
                if (!f.get(PROBE_MS * 2L, TimeUnit.MILLISECONDS)) {
                    n++;
                }
            } catch (Exception e) {
                n++;
            }
        }
        return n;
    }

    /** Whether a TCP connection to HOST:PORT opens within the probe time. */
    static boolean reachable(String hostPort) {
        return port(hostPort) == Port.OPEN;
    }

    /** What a TCP connection to a peer's Raft port finds. */
    enum Port {
        /** Something listens there. */
        OPEN,
        /** The host answered that nothing listens there: the process is gone, the host is up. */
        REFUSED,
        /** No answer in time, no route, or an address that cannot be used. */
        SILENT
    }

    static Port port(String hostPort) {
        int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
        if (colon < 0) {
            return Port.SILENT;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))),
                    PROBE_MS);
            return Port.OPEN;
        } catch (java.net.ConnectException e) {
            // ECONNREFUSED only: "Network is unreachable" is a ConnectException too.
            return String.valueOf(e.getMessage()).contains("refused") ? Port.REFUSED : Port.SILENT;
        } catch (IOException | RuntimeException e) {
            return Port.SILENT;
        }
    }
}
