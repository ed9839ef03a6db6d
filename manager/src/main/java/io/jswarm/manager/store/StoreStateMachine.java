package io.jswarm.manager.store;

import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import io.jswarm.api.store.StoreSnapshot;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine: each log entry is a {@link StoreBatch} applied to the
 * {@link MemoryStore}; snapshots are the whole store as one protobuf file.
 */
public final class StoreStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(StoreStateMachine.class);
    private final MemoryStore store;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

    /** Where a restarted member resumes: the last entry the store applied (null: from the snapshot). */
    private final TermIndex resumeFrom;

    public StoreStateMachine(MemoryStore store) {
        this(store, null);
    }

    /**
     * A state machine for a member restarted in the same process (after its log failed):
     * the store in memory is already current up to {@code resumeFrom}, so it is kept and
     * Ratis replays only what comes after.
     */
    public StoreStateMachine(MemoryStore store, TermIndex resumeFrom) {
        this.store = store;
        this.resumeFrom = resumeFrom;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        loadSnapshot();
    }

    @Override
    public void reinitialize() throws IOException {
        loadSnapshot();
    }

    private void loadSnapshot() throws IOException {
        SingleFileSnapshotInfo snap = storage.getLatestSnapshot();
        if (resumeFrom != null && (snap == null || resumeFrom.getIndex() >= snap.getIndex())) {
            setLastAppliedTermIndex(resumeFrom);
            LOG.info("resuming the store in memory at index {}", resumeFrom.getIndex());
            return;
        }
        if (snap == null) {
            return;
        }
        File f = snap.getFile().getPath().toFile();
        if (snap.hasMd5()) {
            MD5FileUtil.verifySavedMD5(f, snap.getFile().getFileDigest());
        }
        try (InputStream in = Files.newInputStream(f.toPath())) {
            StoreSnapshot s = StoreSnapshot.parseFrom(in);
            store.restore(s.toBuilder().setIndex(snap.getIndex()).build());
        }
        setLastAppliedTermIndex(snap.getTermIndex());
        LOG.info("restored store snapshot at index {} ({} objects)", snap.getIndex(), store.snapshot().getObjectsCount());
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    /** An entry a restarted member replays that the store in memory already holds. */
    private boolean alreadyApplied(long index) {
        return resumeFrom != null && index <= resumeFrom.getIndex();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        var entry = trx.getLogEntry();
        long index = entry.getIndex();
        if (alreadyApplied(index)) {
            // Ratis replays a restarted member's log from its start (or last snapshot); no
            // client waits for these answers.
            return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(
                    StoreResult.newBuilder().setCode(StoreResult.Code.OK).setIndex(index).build().toByteArray())));
        }
        StoreResult result;
        try {
            StoreBatch batch = StoreBatch.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
            result = store.apply(batch, index);
        } catch (Exception e) {
            // A malformed entry must not stop the replica: it fails like a refused batch.
            LOG.error("cannot apply log entry {}", index, e);
            store.markApplied(index);
            result = StoreResult.newBuilder().setCode(StoreResult.Code.INVALID).setError("malformed entry: " + e).setIndex(index).build();
        }
        updateLastAppliedTermIndex(entry.getTerm(), index);
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(result.toByteArray())));
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        if (alreadyApplied(index)) {
            return;
        }
        super.notifyTermIndexUpdated(term, index);
        store.markApplied(index);
    }

    /** The size of the latest snapshot this process wrote (swarmd --metrics-addr), or 0. */
    private static volatile long lastSnapshotBytes;

    public static long lastSnapshotBytes() {
        return lastSnapshotBytes;
    }

    private static final io.micrometer.core.instrument.Timer SNAPSHOTS = io.micrometer.core.instrument.Timer
            .builder("jswarm_raft_snapshot").description("snapshots of the store this manager wrote, and how long each took")
            .register(io.micrometer.core.instrument.Metrics.globalRegistry);

    @Override
    public long takeSnapshot() throws IOException {
        long t0 = System.nanoTime();
        long index = writeSnapshot();
        if (index > 0) {
            SNAPSHOTS.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
        return index;
    }

    private long writeSnapshot() throws IOException {
        // Called on the apply thread, so the store does not change underneath.
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() <= 0) {
            return -1;
        }
        StoreSnapshot s = store.snapshot();
        File f = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        File tmp = new File(f.getPath() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp.toPath())) {
            s.writeTo(out);
        }
        Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        lastSnapshotBytes = f.length();
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(f);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(f.toPath(), md5), last));
        return last.getIndex();
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        // Reads are served from the local store; a read request is only the barrier that
        // makes Ratis wait until this replica has applied the leader's commit index.
        return CompletableFuture.completedFuture(Message.EMPTY);
    }
}
