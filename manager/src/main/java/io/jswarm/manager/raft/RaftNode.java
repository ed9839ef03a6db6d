package io.jswarm.manager.raft;

import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreException;
import io.jswarm.manager.store.StoreStateMachine;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.client.RaftClientRpc;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This manager's member of the Raft group: the Ratis server holding the store, the write
 * path to whoever leads, linearizable reads, and a watcher that reports when this member
 * becomes or stops being a leader that has applied the whole log, and restarts the member
 * in place after its log failed (a full disk) once there is room again.
 *
 * <p>Writes keep no client state that a failure could leave broken: each attempt is one
 * request, submitted to the local server when this member leads and over Ratis' gRPC
 * transport to the leader this member knows otherwise (it learns a new leader from the
 * leader's first heartbeat, well before a client would find it by trying). Every batch
 * carries a request id, so an attempt repeated after a timeout or a leader change is
 * applied once.
 */
public final class RaftNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
    /** Upper bound of one log entry; callers split larger writes. */
    public static final int MAX_ENTRY_BYTES = 4 << 20;
    /** How long one write may keep trying (elections take 1 to 2 s) before it is reported. */
    static final long WRITE_TIMEOUT_MS = 10_000;
    /**
     * One attempt at the leader: a commit needs one round trip to a majority. Another
     * attempt carries the same call id, so the leader answers it with the first one's
     * outcome when it holds it (Ratis' retry cache): trying again soon costs nothing.
     */
    static final long ATTEMPT_MS = 1_000;
    /** A linearizable read needs the leader to confirm its leadership: one round trip. */
    static final long READ_TIMEOUT_MS = 3_000;

    private final String nodeId;
    private final RaftPeerId selfId;
    private final MemoryStore store;
    private final RaftGroup initialGroup;
    private final File storageDir;
    private final RaftProperties props;
    private final Parameters parameters = new Parameters();
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    private final SecureRandom random = new SecureRandom();
    private final RaftClientRpc rpc;
    private final LogHealth health;
    /**
     * Work that blocks for up to seconds off the caller's thread (closing a channel to a
     * dead peer, probing peers' ports), in threads of its own rather than the common pool.
     */
    private final java.util.concurrent.ExecutorService blockingWork = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "raft-blocking-work");
        t.setDaemon(true);
        return t;
    });
    private final Thread watcher;
    private final LeaderCrashCheck crashCheck;
    private volatile StoreStateMachine stateMachine;
    private volatile RaftServer server;   // null while stopped after a log failure
    /** The members as this one last knew them (kept for a restart after a log failure). */
    private volatile Collection<RaftPeer> peersKnown = List.of();
    private volatile boolean leader;
    /** Whether, and since when, Ratis says this member leads with its first entry committed. */
    private volatile boolean raftLeaderReady;
    private volatile long raftLeaderSince;
    /** How this member came to lead, for the log (watcher thread). */
    private String leadingSince = "";
    private volatile boolean closed;
    private volatile Consumer<Boolean> leadershipListener = b -> {};

    public static RaftPeer peer(String nodeId, String raftAddr) {
        return RaftPeer.newBuilder().setId(nodeId).setAddress(raftAddr).build();
    }

    public static RaftGroupId groupId(String uuid) {
        return RaftGroupId.valueOf(UUID.fromString(uuid));
    }

    /**
     * @param peers   the Raft members known to this node (itself included once it is one)
     * @param joining true the first time a manager that joins an existing group starts: it
     *                starts with no configuration and learns it from the leader, which adds
     *                it with {@link #addPeer}; starting it with the members would let it hold
     *                elections in a group that does not count it yet
     * @param tls     this manager's key and certificate, and the check of its peers'
     */
    public RaftNode(String nodeId, String raftHost, int raftPort, File storageDir, String groupUuid,
            List<RaftPeer> peers, boolean joining, MemoryStore store, long snapshotInterval,
            org.apache.ratis.grpc.GrpcTlsConfig tls) throws IOException {
        this.nodeId = nodeId;
        this.selfId = RaftPeerId.valueOf(nodeId);
        this.store = store;
        this.storageDir = storageDir;
        this.initialGroup = RaftGroup.valueOf(groupId(groupUuid), peers);
        this.health = new LogHealth(storageDir);
        this.props = new RaftProperties();
        // Mutual TLS between the members (server and client ends): a peer must hold a
        // manager certificate of the cluster.
        if (tls != null) {  // null: the TLS benchmarks' plaintext baseline (swarmd --tls=false)
            GrpcConfigKeys.TLS.setConf(parameters, tls);
        }
        GrpcConfigKeys.Server.setHost(props, raftHost);
        GrpcConfigKeys.Server.setPort(props, raftPort);
        RaftServerConfigKeys.setStorageDir(props, List.of(storageDir));
        // Election timeouts well under Docker's 10 s so that failover takes about 2 s.
        RaftServerConfigKeys.Rpc.setTimeoutMin(props, TimeDuration.valueOf(800, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(props, TimeDuration.valueOf(1600, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(props, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(props, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        // Pre-vote (Ratis' default, stated): a member that was cut off cannot depose a
        // working leader with the terms it counted up alone.
        RaftServerConfigKeys.LeaderElection.setPreVote(props, true);
        // Reads are linearizable: a follower asks the leader for its commit index first; the
        // leader answers from its lease while a majority has acknowledged it recently.
        RaftServerConfigKeys.Read.setOption(props, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(props, true);
        RaftServerConfigKeys.Read.setTimeout(props, TimeDuration.valueOf(READ_TIMEOUT_MS, TimeUnit.MILLISECONDS));
        // A log tail cut short by a failed write (a full disk) is dropped on restart, not fatal:
        // those entries were never acknowledged and come again from the leader.
        RaftServerConfigKeys.Log.setCorruptionPolicy(props, RaftServerConfigKeys.Log.CorruptionPolicy.WARN_AND_RETURN);
        // Entries hold batches of up to MAX_ENTRY_BYTES: buffers must take them whole.
        SizeInBytes big = SizeInBytes.valueOf(2 * MAX_ENTRY_BYTES + (1 << 20));
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(props, big);
        RaftServerConfigKeys.Log.setWriteBufferSize(props, SizeInBytes.valueOf(big.getSize() + (1 << 20)));
        // Ratis keeps recent log segments in the heap for appenders to lagging followers: by
        // default up to 6 segments or 200 MB, a third of a small manager's heap under load.
        // Three segments of 16 MB (an entry is at most 4 MB); a follower further behind is
        // served from disk, or a snapshot.
        RaftServerConfigKeys.Log.setSegmentSizeMax(props, SizeInBytes.valueOf("16MB"));
        RaftServerConfigKeys.Log.setSegmentCacheNumMax(props, 3);
        RaftServerConfigKeys.Log.setSegmentCacheSizeMax(props, SizeInBytes.valueOf("48MB"));
        GrpcConfigKeys.setMessageSizeMax(props, SizeInBytes.valueOf(4 * MAX_ENTRY_BYTES));
        // After a partition a leader's appender has counted many errors; Ratis' default then
        // waits 5 s between attempts, so a healed follower would idle that long before
        // catching up. Retry soon, at a bounded rate.
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(props, "1ms,10, 100ms,20, 300ms,100000000");
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, snapshotInterval);
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(props, 2);
        RaftClientConfigKeys.Rpc.setRequestTimeout(props, TimeDuration.valueOf(ATTEMPT_MS, TimeUnit.MILLISECONDS));

        boolean existing = new File(storageDir, groupId(groupUuid).getUuid().toString()).isDirectory();
        this.stateMachine = new StoreStateMachine(store);
        this.server = newServer(joining && !existing ? RaftGroup.valueOf(initialGroup.getGroupId()) : initialGroup,
                existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT);
        this.rpc = new GrpcFactory(parameters).newRaftClientRpc(clientId, props);
        this.crashCheck = new LeaderCrashCheck(selfId, blockingWork, this::candidate);
        this.watcher = new Thread(this::watch, "raft-watcher");
        this.watcher.setDaemon(true);
    }

    private RaftServer newServer(RaftGroup group, RaftStorage.StartupOption option) throws IOException {
        return RaftServer.newBuilder()
                .setServerId(selfId)
                .setGroup(group)
                .setProperties(props)
                .setStateMachine(stateMachine)
                .setOption(option)
                .setParameters(parameters)
                .build();
    }

    /** A client for membership changes only, built per change and closed after it. */
    private RaftClient newClient(RaftGroup group) {
        return RaftClient.newBuilder()
                .setProperties(props)
                .setRaftGroup(group)
                .setClientRpc(new GrpcFactory(parameters).newRaftClientRpc(ClientId.randomId(), props))
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(100,
                        TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                .build();
    }

    public void start() throws IOException {
        server.start();
        watcher.start();
    }

    public void onLeadershipChange(Consumer<Boolean> listener) {
        this.leadershipListener = listener;
    }

    private RaftServer.Division division() throws IOException {
        RaftServer s = server;
        if (s == null) {
            throw new IOException("the Raft member is stopped");
        }
        return s.getDivision(initialGroup.getGroupId());
    }

    /**
     * Polls the division (simpler and safer than reacting to notifications on Ratis
     * threads): leadership, and the health of the log.
     */
    private void watch() {
        while (!closed) {
            try {
                boolean now = false;
                RaftServer s = server;
                if (s != null) {
                    var d = division();
                    crashCheck.check(s, d);
                    var info = d.getInfo();
                    now = info.isLeader() && info.isLeaderReady();
                    if (now && !raftLeaderReady) {
                        raftLeaderSince = System.currentTimeMillis();
                    }
                    raftLeaderReady = now;
                    if (now && !leader) {
                        // Start leading only once the whole log is applied: the controllers'
                        // first pass must see everything. Later lags under load are normal.
                        now = store.appliedIndex() >= d.getRaftLog().getLastCommittedIndex();
                        if (now) {
                            // Where a failover's time went: the election, the leader's first
                            // entry committed (ready), the log applied here.
                            leadingSince = String.format(" (elected %d ms ago, ready %d ms ago)",
                                    info.getRoleInfoProto().getRoleElapsedTimeMs(), System.currentTimeMillis() - raftLeaderSince);
                        }
                    }
                    peers();  // remembered for a restart
                    var log = d.getRaftLog();
                    health.observe(log.getFlushIndex(), log.getLastEntryTermIndex() == null ? 0
                            : log.getLastEntryTermIndex().getIndex(), System.currentTimeMillis());
                }
                setLeader(now);
                if (health.failed()) {
                    recoverFromLogFailure();
                }
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (!closed) {
                    LOG.debug("Raft check failed", e);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /**
     * A connection to the leader's process closed (this node's agent lost its session):
     * if the process died, its Raft port refuses connections now, and the crash check
     * need not wait for the leader's silence to find out.
     */
    public void leaderConnectionLost() {
        crashCheck.lookNow(System.currentTimeMillis());
    }

    /** A peer as it reports itself in Ratis' group info, or null when it does not answer within 500 ms. */
    private LeaderCrashCheck.Candidate candidate(RaftPeer p) {
        var req = new org.apache.ratis.protocol.GroupInfoRequest(clientId, p.getId(), initialGroup.getGroupId(), callIds.incrementAndGet());
        try {
            rpc.addRaftPeers(List.of(p));
            var reply = (org.apache.ratis.protocol.GroupInfoReply) CompletableFuture.supplyAsync(() -> {
                try {
                    return rpc.sendRequest(req);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, blockingWork).get(500, TimeUnit.MILLISECONDS);
            var log = reply.getLogInfoProto();
            return log.hasLastEntry() ? new LeaderCrashCheck.Candidate(p.getId(),
                    org.apache.ratis.server.protocol.TermIndex.valueOf(log.getLastEntry()), reply.getRoleInfoProto().getRoleElapsedTimeMs(),
                    reply.getRoleInfoProto().getRole() != org.apache.ratis.proto.RaftProtos.RaftPeerRole.FOLLOWER)
                    : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            return null;
        }
    }

    private void setLeader(boolean now) {
        if (now != leader) {
            leader = now;
            LOG.info("{} {} the leader{}", nodeId, now ? "is now" : "is no longer", now ? leadingSince : "");
            leadershipListener.accept(now);
        }
    }

    /**
     * The log cannot be written (Ratis' log worker does not recover from an I/O error):
     * stop the member at once, so that the others elect a leader if it was this one, and
     * start a new one on the same storage once the disk has room again. The store in
     * memory stays; the new member goes on from the last entry it applied.
     */
    private void recoverFromLogFailure() throws IOException {
        if (server != null) {
            LOG.warn("{}: the Raft log in {} cannot be written (its flushes stopped; {} KiB free); stopping this Raft member until it can",
                    nodeId, storageDir, health.freeBytes() >> 10);
            setLeader(false);
            RaftServer s = server;
            server = null;
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("closing the failed Raft member", e);
            }
        }
        if (health.freeBytes() < LogHealth.RESTART_FREE_BYTES) {
            return;
        }
        RaftGroup group = RaftGroup.valueOf(initialGroup.getGroupId(),
                peersKnown.isEmpty() ? initialGroup.getPeers() : peersKnown);
        stateMachine = new StoreStateMachine(store, stateMachine.getLastAppliedTermIndex());
        RaftServer s = newServer(group, RaftStorage.StartupOption.RECOVER);
        s.start();
        health.reset();
        server = s;
        LOG.info("{}: the Raft member is running again on {}", nodeId, storageDir);
    }

    public boolean isLeader() {
        return leader;
    }

    /** This member's current term, or -1 while it has no Raft server (a failed log). */
    public long term() {
        try {
            return division().getInfo().getCurrentTerm();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The highest log index this member knows committed, or -1 while it has no Raft server. */
    public long commitIndex() {
        try {
            return division().getRaftLog().getLastCommittedIndex();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The current leader's node id, or null during an election. */
    public String leaderId() {
        try {
            RaftPeerId id = division().getInfo().getLeaderId();
            return id == null ? null : id.toString();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The leader's node id if this member has heard from it lately (or is it), else null:
     * for sending agents on, where a leader that has just been cut off would hold them.
     */
    public String currentLeaderId() {
        try {
            var info = division().getInfo();
            RaftPeerId id = info.getLeaderId();
            if (id == null) {
                return null;
            }
            if (id.equals(selfId)) {
                return info.isLeader() ? nodeId : null;
            }
            var role = info.getRoleInfoProto();
            if (role.hasFollowerInfo() && role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs() > 1_000) {
                return null;
            }
            return id.toString();
        } catch (IOException e) {
            return null;
        }
    }

    public String nodeId() {
        return nodeId;
    }

    public String groupUuid() {
        return initialGroup.getGroupId().getUuid().toString();
    }

    public Collection<RaftPeer> peers() {
        try {
            Collection<RaftPeer> p = division().getRaftConf().getCurrentPeers();
            if (!p.isEmpty()) {
                peersKnown = p;
            }
            return p;
        } catch (IOException e) {
            return peersKnown.isEmpty() ? initialGroup.getPeers() : peersKnown;
        }
    }

    /** This manager as users know it: its hostname once the store has it. */
    private String name() {
        var n = store.node(nodeId);
        return n != null && !n.getDescription().getHostname().isEmpty() ? n.getDescription().getHostname() : nodeId;
    }

    /** Why nothing can be written or read through this member now; null when it could be. */
    private String unavailable() {
        if (closed) {
            return "manager " + name() + " is shutting down";
        }
        String disk = health.problem(this::name);
        if (disk != null) {
            return disk;
        }
        return server == null ? "manager " + name() + ": its Raft member is restarting" : null;
    }

    private String quorumProblem() {
        org.apache.ratis.proto.RaftProtos.RoleInfoProto role = null;
        try {
            role = division().getInfo().getRoleInfoProto();
        } catch (IOException | RuntimeException e) {
            // stopped: probe instead
        }
        return QuorumReport.describe(name(), selfId, peers(), role, blockingWork);
    }

    /** The leader to send a write to now: this member only while it hears from a majority. */
    private RaftPeerId writeTarget() throws IOException {
        var info = division().getInfo();
        RaftPeerId id = info.getLeaderId();
        if (id == null) {
            return null;
        }
        if (id.equals(selfId)) {
            // Not before it is ready (its first entry committed), and not while cut off from
            // the others, where it would only pile up entries. A leader elected moments ago
            // has just heard from a majority, though its view of its followers may lag.
            boolean fresh = System.currentTimeMillis() - raftLeaderSince < 3_000;
            if (!info.isLeader() || !info.isLeaderReady()
                    || (!fresh && !QuorumReport.leaderHasQuorum(info.getRoleInfoProto(), peers().size()))) {
                return null;
            }
        }
        return id;
    }

    private RaftClientRequest request(RaftPeerId target, long callId, Message m, RaftClientRequest.Type type) {
        return RaftClientRequest.newBuilder().setClientId(clientId).setServerId(target)
                .setGroupId(initialGroup.getGroupId()).setCallId(callId).setMessage(m).setType(type).build();
    }

    /** Histogram buckets of a write's latency: milliseconds when healthy, seconds across a failover. */
    private static final java.time.Duration[] PROPOSAL_BUCKETS = java.util.stream.Stream.of(5, 10, 25, 50, 100, 250, 500, 1_000, 2_500,
            5_000, 10_000).map(java.time.Duration::ofMillis).toArray(java.time.Duration[]::new);

    /**
     * Commits one batch through the leader and waits until this replica has applied it,
     * so that a read on this manager right after sees the write.
     *
     * @throws StoreException when the store refused the batch
     * @throws RaftUnavailableException when it certainly did not commit (no leader or no
     *         quorum reachable, this manager's disk full), with the cause in words
     * @throws WriteOutcomeUnknownException when it may have committed
     */
    public StoreResult propose(StoreBatch batch) {
        long t0 = System.nanoTime();
        String outcome = "failed";
        try {
            StoreResult r = commit(batch);
            outcome = "applied";
            return r;
        } catch (StoreException e) {
            outcome = "refused";
            throw e;
        } finally {
            io.micrometer.core.instrument.Timer.builder("jswarm_raft_proposal").tag("outcome", outcome)
                    .description("writes proposed through this manager until applied here (applied), refused by the store, or failed")
                    .serviceLevelObjectives(PROPOSAL_BUCKETS).register(io.micrometer.core.instrument.Metrics.globalRegistry)
                    .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
    }

    /** {@link #propose}, unmeasured. */
    private StoreResult commit(StoreBatch batch) {
        if (batch.getSerializedSize() > MAX_ENTRY_BYTES) {
            throw new StoreException(StoreResult.Code.INVALID, "write too large: " + batch.getSerializedSize() + " bytes");
        }
        byte[] id = new byte[16];
        random.nextBytes(id);
        Message message = Message.valueOf(ByteString.copyFrom(
                batch.toBuilder().setRequestId(com.google.protobuf.ByteString.copyFrom(id)).build().toByteArray()));
        // One call id for every attempt: a leader that already holds the request answers
        // the attempt with the first one's outcome (Ratis' retry cache).
        long callId = callIds.incrementAndGet();
        long deadline = System.currentTimeMillis() + WRITE_TIMEOUT_MS;
        boolean mayHaveCommitted = false;
        String problem = null;
        while (true) {
            String down = unavailable();
            if (down != null) {
                throw failure(down, mayHaveCommitted);
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw failure(problem != null ? problem : quorumProblem(), mayHaveCommitted);
            }
            RaftPeerId target;
            try {
                target = writeTarget();
            } catch (IOException e) {
                target = null;
            }
            if (target == null) {
                problem = null;
                pause(50);
                continue;
            }
            boolean local = target.equals(selfId);
            long sent = System.currentTimeMillis();
            CompletableFuture<RaftClientReply> f;
            RaftClientRequest req = request(target, callId, message, RaftClientRequest.writeRequestType());
            try {
                if (local) {
                    f = server.submitClientRequestAsync(req);
                } else {
                    rpc.addRaftPeers(peers());
                    f = rpc.sendRequestAsyncUnordered(req);
                }
            } catch (IOException | RuntimeException e) {
                pause(50);
                continue;
            }
            RaftClientReply reply;
            try {
                reply = awaitReply(f, Math.min(left, ATTEMPT_MS), target);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure("interrupted while writing to the cluster store", true);
            } catch (TimeoutException e) {
                f.cancel(true);
                mayHaveCommitted = true;
                problem = null;
                if (!local) {
                    reconnect(target, e);
                }
                continue;
            } catch (ExecutionException e) {
                Throwable cause = rootCause(e);
                // A connection that never opened carried nothing; anything else may have.
                if (!(cause instanceof ConnectException || cause instanceof NoRouteToHostException)) {
                    mayHaveCommitted = true;
                }
                if (!local) {
                    reconnect(target, cause);
                }
                problem = null;
                pause(100);
                continue;
            }
            if (reply.isSuccess()) {
                return applied(reply);
            }
            RaftException ex = reply.getException();
            if (ex instanceof NotLeaderException || ex instanceof LeaderNotReadyException) {
                // Refused at once by a member that does not lead (yet): nothing was appended. A
                // refusal that comes late is a leader stepping down with the entry in its log.
                if (System.currentTimeMillis() - sent > 500) {
                    mayHaveCommitted = true;
                }
                pause(50);
                continue;
            }
            mayHaveCommitted = true;
            problem = "the cluster store did not take the write: " + (ex == null ? "no reason given" : ex.getMessage());
            pause(100);
        }
    }

    /**
     * A fresh connection to a peer for the next attempt. Off the writer's thread: closing
     * the old channel waits for its graceful shutdown, seconds when the peer is gone.
     */
    private void reconnect(RaftPeerId target, Throwable cause) {
        CompletableFuture.runAsync(() -> rpc.handleException(target, cause, true), blockingWork);
    }

    /**
     * Waits for an attempt's reply, but gives up on it as soon as this member learns of
     * another leader: an attempt sent to a leader that has just died would otherwise hold
     * the write for the whole attempt time, though the new leader is known within the
     * election. (Sending again is safe: the request id makes it count once.)
     */
    private RaftClientReply awaitReply(CompletableFuture<RaftClientReply> f, long timeoutMs, RaftPeerId target)
            throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            long left = deadline - System.currentTimeMillis();
            try {
                return f.get(Math.max(1, Math.min(left, 50)), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (left <= 50) {
                    throw e;
                }
                RaftPeerId now;
                try {
                    now = writeTarget();
                } catch (IOException io) {
                    now = null;
                }
                if (now != null && !now.equals(target)) {
                    throw e;
                }
            }
        }
    }

    private StoreResult applied(RaftClientReply reply) {
        StoreResult result;
        try {
            result = StoreResult.parseFrom(reply.getMessage().getContent().toByteArray());
        } catch (IOException e) {
            throw new WriteOutcomeUnknownException("the cluster store's answer could not be read; the request may have been applied");
        }
        try {
            if (!store.awaitApplied(result.getIndex(), WRITE_TIMEOUT_MS)) {
                String why = unavailable();
                throw new WriteOutcomeUnknownException("the write was committed by the cluster (log index " + result.getIndex()
                        + "), but manager " + name() + " has not applied it yet" + (why == null ? "" : " (" + why + ")")
                        + "; check with `swarmctl service ls`");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WriteOutcomeUnknownException("interrupted while waiting for a committed write to apply");
        }
        if (result.getCode() != StoreResult.Code.OK) {
            throw new StoreException(result.getCode(), result.getError());
        }
        return result;
    }

    private static RuntimeException failure(String why, boolean mayHaveCommitted) {
        if (mayHaveCommitted) {
            return new WriteOutcomeUnknownException(why + "; the request may have been applied: check with `swarmctl service ls`"
                    + " (running it again is safe)");
        }
        return new RaftUnavailableException(why);
    }

    /**
     * Returns once this replica has applied everything the cluster had committed when the
     * call began (Ratis' read index, answered from the leader's lease when it holds one),
     * so that a read from the local store after it is current.
     *
     * @throws RaftUnavailableException when no quorum confirms it in time
     */
    public void readBarrier() {
        long deadline = System.currentTimeMillis() + READ_TIMEOUT_MS;
        while (true) {
            String down = unavailable();
            if (down != null) {
                throw new RaftUnavailableException(down + "; its copy of the cluster state may be out of date");
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                break;
            }
            String leaderBefore = leaderId();
            if (leaderBefore == null) {
                pause(50);
                continue;
            }
            CompletableFuture<RaftClientReply> f;
            try {
                f = server.submitClientRequestAsync(request(selfId, callIds.incrementAndGet(), Message.EMPTY,
                        RaftClientRequest.readRequestType()));
            } catch (IOException | RuntimeException e) {
                pause(50);
                continue;
            }
            try {
                // As a write: an election while the read waits on a dead leader sends it anew.
                RaftClientReply r = awaitReply(f, left, leaderBefore.equals(nodeId) ? selfId : RaftPeerId.valueOf(leaderBefore));
                if (r.isSuccess()) {
                    return;
                }
                pause(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException e) {
                f.cancel(true);
            }
        }
        throw new RaftUnavailableException(quorumProblem() + "; its copy of the cluster state may be out of date");
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RaftUnavailableException("interrupted while writing to the cluster store");
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * Adds a manager to the Raft group. The leader computes the new configuration (mode
     * ADD), so concurrent joins cannot drop each other; a change still in progress is
     * waited out.
     */
    public synchronized void addPeer(String peerId, String raftAddr) throws IOException {
        changeMembership(SetConfigurationRequest.Arguments.newBuilder()
                .setServersInNewConf(List.of(peer(peerId, raftAddr)))
                .setMode(SetConfigurationRequest.Mode.ADD).build());
    }

    /** Removes a manager from the Raft group (compare-and-set against the current members). */
    public synchronized void removePeer(String peerId) throws IOException {
        List<RaftPeer> current = new ArrayList<>(peers());
        List<RaftPeer> next = new ArrayList<>();
        for (RaftPeer p : current) {
            if (!p.getId().toString().equals(peerId)) {
                next.add(p);
            }
        }
        if (next.size() == current.size()) {
            return;
        }
        changeMembership(SetConfigurationRequest.Arguments.newBuilder()
                .setServersInCurrentConf(current).setServersInNewConf(next)
                .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET).build());
    }

    private void changeMembership(SetConfigurationRequest.Arguments args) throws IOException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            Exception failure;
            try (RaftClient admin = newClient(RaftGroup.valueOf(initialGroup.getGroupId(), peers()))) {
                RaftClientReply r = admin.admin().setConfiguration(args);
                if (r.isSuccess()) {
                    return;
                }
                failure = r.getException();
            } catch (IOException e) {
                failure = e;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IOException("Raft membership change failed: " + failure);
            }
            LOG.debug("membership change not done yet ({}); retrying", String.valueOf(failure));
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted during a membership change");
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        watcher.interrupt();
        blockingWork.shutdownNow();
        try {
            rpc.close();
        } finally {
            RaftServer s = server;
            if (s != null) {
                s.close();
            }
        }
    }
}
