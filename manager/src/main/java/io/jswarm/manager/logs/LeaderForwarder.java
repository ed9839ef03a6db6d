package io.jswarm.manager.logs;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.logs.LogMessages;
import io.jswarm.api.logs.LogsGrpc;
import io.jswarm.api.logs.SubscribeLogsRequest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a follower manager: passes a service logs request on to the leader and streams its
 * answer back, with flow control across the hop. The leader's end of the stream, or the
 * leader's death, ends the subscriber's stream with a message that says so.
 */
final class LeaderForwarder {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderForwarder.class);

    private final Supplier<String> leaderAddr;
    private final io.grpc.ChannelCredentials credentials;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /** @param credentials this manager's mutual-TLS credentials: the leader serves logs only to managers */
    LeaderForwarder(Supplier<String> leaderAddr, io.grpc.ChannelCredentials credentials) {
        this.leaderAddr = leaderAddr;
        this.credentials = credentials;
    }

    void forward(SubscribeLogsRequest req, StreamObserver<LogMessages> out) {
        String leader = leaderAddr.get();
        if (leader.isEmpty()) {
            out.onError(Status.UNAVAILABLE.withDescription("no leader elected yet; try again").asRuntimeException());
            return;
        }
        ManagedChannel ch = channels.computeIfAbsent(leader, a -> io.grpc.Grpc.newChannelBuilder(a, credentials)
                .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(5, TimeUnit.SECONDS)
                .maxInboundMessageSize(64 << 20).build());
        Context.CancellableContext ctx = Context.current().fork().withCancellation();
        ServerCallStreamObserver<LogMessages> down = (ServerCallStreamObserver<LogMessages>) out;
        down.setOnCancelHandler(() -> ctx.cancel(null));
        // Flow control across the hop: the next message from the leader is asked for only
        // once the subscriber can take more.
        AtomicReference<ClientCallStreamObserver<SubscribeLogsRequest>> up = new AtomicReference<>();
        AtomicBoolean waiting = new AtomicBoolean();
        down.setOnReadyHandler(() -> {
            if (waiting.compareAndSet(true, false)) {
                up.get().request(1);
            }
        });
        ctx.run(() -> LogsGrpc.newStub(ch).subscribeLogs(req, new ClientResponseObserver<SubscribeLogsRequest, LogMessages>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SubscribeLogsRequest> requestStream) {
                up.set(requestStream);
                requestStream.disableAutoRequestWithInitial(1);
            }

            @Override
            public void onNext(LogMessages value) {
                out.onNext(value);
                if (down.isReady()) {
                    up.get().request(1);
                } else {
                    waiting.set(true);
                    if (down.isReady() && waiting.compareAndSet(true, false)) {
                        up.get().request(1);
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                String d = s.getDescription();
                if (s.getCode() == Status.Code.UNAVAILABLE && (d == null || !(d.startsWith(LogBroker.ENDED) || d.startsWith("incomplete")))) {
                    s = Status.UNAVAILABLE.withDescription(LogBroker.ENDED + "lost the leader manager at " + leader
                            + " (failover); run the command again");
                }
                LOG.debug("forwarded log stream ended: {}", s);
                try {
                    out.onError(s.asRuntimeException());
                } catch (StatusRuntimeException | IllegalStateException ignored) {
                    // the subscriber left
                }
            }

            @Override
            public void onCompleted() {
                out.onCompleted();
            }
        }));
    }

    void close() {
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
        }
    }
}
