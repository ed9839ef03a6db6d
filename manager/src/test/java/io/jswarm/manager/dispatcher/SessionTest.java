package io.jswarm.manager.dispatcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.stub.StreamObserver;
import io.jswarm.api.dispatcher.SessionMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionTest {
    @Test
    void whatIsSentBeforeTheFirstMessageFollowsIt() {
        List<SessionMessage> got = new ArrayList<>();
        Dispatcher.Session s = new Dispatcher.Session("s1", "n1", new StreamObserver<>() {
            @Override
            public void onNext(SessionMessage m) {
                got.add(m);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        // Another thread's change reaches the session between its registration and its first message.
        s.send(SessionMessage.newBuilder().setSessionId("s1").build());
        assertEquals(List.of(), got, "held: the node would take its session, without a heartbeat period, from it");
        s.sendFirst(SessionMessage.newBuilder().setSessionId("s1").setHeartbeatPeriodMs(5_000).build());
        s.send(SessionMessage.newBuilder().setSessionId("s1").addLogSubscriptions(io.jswarm.api.logs.LogSubscription.getDefaultInstance()).build());
        assertEquals(List.of(5_000L, 0L, 0L), got.stream().map(SessionMessage::getHeartbeatPeriodMs).toList());
        assertEquals(1, got.get(2).getLogSubscriptionsCount());
    }
}
