package io.jswarm.manager.raft;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.apache.ratis.client.impl.ClientProtoUtils;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;

/**
 * Notices when the leader's process has died while its host stays up (a crash, an
 * out-of-memory kill, {@code kill -9}) and has this follower stand for election at once,
 * the way a leadership transfer starts one, instead of waiting out the election timeout:
 * 0.8 to 1.6 s after the last heartbeat, and up to twice that as Ratis' follower timer
 * checks it.
 *
 * <p>The port is looked at when the leader has been silent for {@link #SILENT_MS}, and at
 * once when this manager's agent loses its session with the leader ({@link #lookNow}): a
 * process that dies closes its connections the moment it does, while its last heartbeat
 * may be a moment older.
 *
 * <p>The sign is the leader's Raft port refusing connections (nothing listens there any
 * more) while enough of the other members answer for this one to win, and this one has
 * the longest log among them. A leader that is only
 * slow (a GC pause, a loaded machine) still accepts connections, and one cut off by the
 * network does not answer at all: both are left to the election timeout and pre-vote as
 * before, so a member that was cut off cannot depose a working leader this way.
 */
final class LeaderCrashCheck {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LeaderCrashCheck.class);
    /** The leader heartbeats every 400 ms (half the shortest election timeout): longer silence is worth a look. */
    static final long SILENT_MS = 500;
    /** At most one look per this long while the leader stays silent but alive. */
    private static final long PROBE_EVERY_MS = 200;
    /** For this long after a connection to the leader's process closed, it is looked at without waiting for silence. */
    static final long LOOK_NOW_MS = 1_000;

    /** Once per leader and then this often, the other followers are asked how they stand (see {@link #warm}). */
    private static final long WARM_EVERY_MS = 60_000;

    private final RaftPeerId self;
    private final Executor probes;
    /** A peer as it reports itself, or null when it does not answer in time. */
    private final Function<RaftPeer, Candidate> candidates;
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile long lastProbe;
    private volatile RaftPeerId warmedFor;
    private volatile long lastWarm;
    private volatile long lookNowAt = Long.MIN_VALUE / 2;

    /**
     * A survivor's claim to lead: its last log entry, then how long it has been following;
     * {@code standing} when it is no longer a follower (it stood already, or leads).
     */
    record Candidate(RaftPeerId id, TermIndex last, long followingMs, boolean standing) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            int c = last.compareTo(o.last);
            if (c == 0) {
                c = Long.compare(followingMs, o.followingMs);
            }
            return c != 0 ? c : o.id.toString().compareTo(id.toString());  // then the lower id
        }
    }

    LeaderCrashCheck(RaftPeerId self, Executor probes, Function<RaftPeer, Candidate> candidates) {
        this.self = self;
        this.probes = probes;
        this.candidates = candidates;
    }

    /** Called often (the Raft watcher's 50 ms): cheap unless the leader has gone silent. */
    void check(RaftServer server, RaftServer.Division d) {
        var info = d.getInfo();
        RaftPeerId leader = info.getLeaderId();
        if (!info.isFollower() || leader == null || leader.equals(self)) {
            return;
        }
        long now = System.currentTimeMillis();
        if (silentMs(d) < SILENT_MS && now - lookNowAt > LOOK_NOW_MS) {
            warm(d, leader, now);
            return;
        }
        if (now - lastProbe < PROBE_EVERY_MS || !probing.compareAndSet(false, true)) {
            return;
        }
        lastProbe = now;
        probes.execute(() -> {
            try {
                standIfCrashed(server, d, leader);
            } catch (IOException | RuntimeException e) {
                LOG.debug("the check of a silent leader failed", e);
            } finally {
                probing.set(false);
            }
        });
    }

    /**
     * A connection to the leader's process has just closed (this node's agent lost its
     * session with it): the leader is looked at on the next check, and for a second after,
     * without waiting for {@link #SILENT_MS} of silence. A process that dies closes its
     * connections at once, while its last heartbeat may be a moment old: this saves most
     * of the half second. A false alarm costs a few connections to a port that answers.
     */
    void lookNow(long now) {
        lookNowAt = now;
    }

    /**
     * Asks the other followers how they stand once per leader and then once a
     * minute, while nothing is wrong: the connection to each is then open (a first one takes
     * a TLS handshake, up to a second on a loaded machine) when a crash needs the answer fast.
     */
    private void warm(RaftServer.Division d, RaftPeerId leader, long now) {
        if (leader.equals(warmedFor) && now - lastWarm < WARM_EVERY_MS || !probing.compareAndSet(false, true)) {
            return;
        }
        warmedFor = leader;
        lastWarm = now;
        probes.execute(() -> {
            try {
                for (RaftPeer p : d.getRaftConf().getCurrentPeers()) {
                    if (!p.getId().equals(self) && !p.getId().equals(leader)) {
                        candidates.apply(p);
                    }
                }
            } catch (RuntimeException e) {
                LOG.debug("asking the other followers for their last entries failed", e);
            } finally {
                probing.set(false);
            }
        });
    }

    private static long silentMs(RaftServer.Division d) {
        var role = d.getInfo().getRoleInfoProto();
        return role.hasFollowerInfo() ? role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs() : 0;
    }

    private void standIfCrashed(RaftServer server, RaftServer.Division d, RaftPeerId leader) throws IOException {
        List<RaftPeer> voters = new ArrayList<>(d.getRaftConf().getCurrentPeers());
        RaftPeer dead = voters.stream().filter(p -> p.getId().equals(leader)).findFirst().orElse(null);
        if (dead == null || QuorumReport.port(dead.getAddress()) != QuorumReport.Port.REFUSED) {
            return;
        }
        // Only the survivor with the longest log can win (the others refuse to vote for a
        // shorter one, and a refused candidate costs everyone a full election timeout): each
        // survivor asks the others for their last entries and only the best stands. Between
        // equal logs, the one that has followed longest: a manager that has just restarted
        // is the worst leader for a loaded cluster (its JIT is cold). The dead leader sends
        // nothing more, so every survivor reaches the same answer.
        Candidate best = null;
        int answering = 0;
        List<Candidate> seen = new ArrayList<>();
        for (RaftPeer p : voters) {
            if (p == dead) {
                continue;
            }
            Candidate c = p.getId().equals(self)
                    ? new Candidate(self, d.getRaftLog().getLastEntryTermIndex(), d.getInfo().getRoleInfoProto().getRoleElapsedTimeMs(),
                            false)
                    : candidates.apply(p);
            if (c == null || c.last() == null) {
                continue;
            }
            if (c.standing()) {
                return;  // another survivor stood already (its time in its role starts again): no second candidate
            }
            answering++;
            seen.add(c);
            if (best == null || c.compareTo(best) > 0) {
                best = c;
            }
        }
        if (best == null || !self.equals(best.id()) || answering <= voters.size() / 2) {
            return;  // another survivor stands, or too few answer to win: the election timeout decides
        }
        long silent = silentMs(d);
        // The request a leader sends to hand over leadership, made here on its behalf: Ratis
        // checks that it names the current leader and that this log is as long as the one given.
        StartLeaderElectionRequestProto request = StartLeaderElectionRequestProto.newBuilder()
                .setServerRequest(ClientProtoUtils.toRaftRpcRequestProtoBuilder(
                        RaftGroupMemberId.valueOf(leader, d.getGroup().getGroupId()), self))
                .setLeaderLastEntry(best.last().toProto()).build();
        boolean standing = server.startLeaderElection(request).getServerReply().getSuccess();
        LOG.info("the leader {} is gone (its Raft port {} refuses connections, {} ms after its last message): {} (survivors: {})",
                leader, dead.getAddress(), silent, standing ? self + " stands for election now" : "the election timeout decides", seen);
    }
}
