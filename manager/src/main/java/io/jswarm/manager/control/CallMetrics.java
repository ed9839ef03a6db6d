package io.jswarm.manager.control;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Control API calls counted and timed by method and status code (swarmd --metrics-addr):
 * {@code jswarm_control_request_seconds_count{method="CreateService",code="ok"}}.
 */
public final class CallMetrics implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        long t0 = System.nanoTime();
        String method = call.getMethodDescriptor().getBareMethodName();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                Timer.builder("jswarm_control_request").description("Control API calls by method and status code")
                        .tags("method", method, "code", status.getCode().name().toLowerCase(Locale.ROOT))
                        .register(Metrics.globalRegistry).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
                super.close(status, trailers);
            }
        }, headers);
    }
}
