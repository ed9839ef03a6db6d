package io.jswarm.manager.raft;

import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreException;
import io.jswarm.manager.store.StoreStateMachine;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
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
 * This manager's member of the Raft group: the Ratis server holding the store, a Ratis
 * client that sends writes to whoever leads, and a watcher that reports when this member
 * becomes or stops being a leader that has applied the whole log.
 */
public final class RaftNode implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
    /** Upper bound of one log entry; callers split larger writes. */
    public static final int MAX_ENTRY_BYTES = 4 << 20;

    private final String nodeId;
    private final MemoryStore store;
    private final RaftGroup initialGroup;
    private final boolean joining;
    private final RaftProperties props;
    private final RaftServer server;
    private final RaftClient client;
    private final Thread watcher;
    private volatile boolean leader;
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
     */
    public RaftNode(String nodeId, String raftHost, int raftPort, File storageDir, String groupUuid,
            List<RaftPeer> peers, boolean joining, MemoryStore store) throws IOException {
        this.nodeId = nodeId;
        this.store = store;
        this.initialGroup = RaftGroup.valueOf(groupId(groupUuid), peers);
        this.joining = joining;
        this.props = new RaftProperties();
        GrpcConfigKeys.Server.setHost(props, raftHost);
        GrpcConfigKeys.Server.setPort(props, raftPort);
        RaftServerConfigKeys.setStorageDir(props, List.of(storageDir));
        // Election timeouts well under Docker's 10 s so that failover takes about 2 s.
        RaftServerConfigKeys.Rpc.setTimeoutMin(props, TimeDuration.valueOf(800, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(props, TimeDuration.valueOf(1600, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(props, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(props, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        // Entries hold batches of up to MAX_ENTRY_BYTES: buffers must take them whole.
        SizeInBytes big = SizeInBytes.valueOf(2 * MAX_ENTRY_BYTES + (1 << 20));
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(props, big);
        RaftServerConfigKeys.Log.setWriteBufferSize(props, SizeInBytes.valueOf(big.getSize() + (1 << 20)));
        RaftServerConfigKeys.Log.setSegmentSizeMax(props, SizeInBytes.valueOf("64MB"));
        GrpcConfigKeys.setMessageSizeMax(props, SizeInBytes.valueOf(4 * MAX_ENTRY_BYTES));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, 20_000);
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(props, 2);
        RaftClientConfigKeys.Rpc.setRequestTimeout(props, TimeDuration.valueOf(3, TimeUnit.SECONDS));

        boolean existing = new File(storageDir, groupId(groupUuid).getUuid().toString()).isDirectory();
        this.server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(nodeId))
                .setGroup(joining && !existing ? RaftGroup.valueOf(initialGroup.getGroupId()) : initialGroup)
                .setProperties(props)
                .setStateMachine(new StoreStateMachine(store))
                .setOption(existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
        this.client = newClient(initialGroup);
        this.watcher = new Thread(this::watchLeadership, "raft-leadership");
        this.watcher.setDaemon(true);
    }

    private RaftClient newClient(RaftGroup group) {
        return RaftClient.newBuilder()
                .setProperties(props)
                .setRaftGroup(group)
                .setClientRpc(new GrpcFactory(new Parameters()).newRaftClientRpc(ClientId.randomId(), props))
                // Keep trying across an election: about 10 s in all.
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
        return server.getDivision(initialGroup.getGroupId());
    }

    /** Polls the division: simpler and safer than reacting to notifications on Ratis threads. */
    private void watchLeadership() {
        while (!closed) {
            try {
                var info = division().getInfo();
                boolean now = info.isLeader() && info.isLeaderReady();
                if (now && !leader) {
                    // Start leading only once the whole log is applied: the controllers'
                    // first pass must see everything. Later lags under load are normal.
                    now = store.appliedIndex() >= division().getRaftLog().getLastCommittedIndex();
                }
                if (now != leader) {
                    leader = now;
                    LOG.info("{} {} the leader", nodeId, now ? "is now" : "is no longer");
                    leadershipListener.accept(now);
                }
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (!closed) {
                    LOG.debug("leadership check failed", e);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    public boolean isLeader() {
        return leader;
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

    public String nodeId() {
        return nodeId;
    }

    public String groupUuid() {
        return initialGroup.getGroupId().getUuid().toString();
    }

    public Collection<RaftPeer> peers() {
        try {
            return division().getRaftConf().getCurrentPeers();
        } catch (IOException e) {
            return initialGroup.getPeers();
        }
    }

    /**
     * Commits one batch through the leader and waits until this replica has applied it,
     * so that a read on this manager right after sees the write.
     *
     * @throws StoreException when the store refused the batch
     * @throws RaftUnavailableException when no leader accepted it in time
     */
    public StoreResult propose(StoreBatch batch) {
        if (batch.getSerializedSize() > MAX_ENTRY_BYTES) {
            throw new StoreException(StoreResult.Code.INVALID, "write too large: " + batch.getSerializedSize() + " bytes");
        }
        RaftClientReply reply;
        try {
            reply = client.async().send(Message.valueOf(ByteString.copyFrom(batch.toByteArray()))).get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RaftUnavailableException("interrupted while writing to the cluster store");
        } catch (ExecutionException | TimeoutException e) {
            throw new RaftUnavailableException("the cluster store did not accept the write (no leader?): " + rootMessage(e));
        }
        if (!reply.isSuccess()) {
            throw new RaftUnavailableException("the cluster store did not accept the write: " + reply.getException());
        }
        StoreResult result;
        try {
            result = StoreResult.parseFrom(reply.getMessage().getContent().toByteArray());
            store.awaitApplied(result.getIndex(), 10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RaftUnavailableException("interrupted while waiting for the write to apply");
        } catch (IOException e) {
            throw new RaftUnavailableException("unreadable reply from the cluster store: " + e);
        }
        if (result.getCode() != StoreResult.Code.OK) {
            throw new StoreException(result.getCode(), result.getError());
        }
        return result;
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

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    @Override
    public void close() throws IOException {
        closed = true;
        watcher.interrupt();
        try {
            client.close();
        } finally {
            server.close();
        }
    }
}
