package io.jswarm.cli;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.control.ControlGrpc;
import io.jswarm.api.control.UnlockRequest;
import io.jswarm.api.control.UnlockResponse;
import io.jswarm.manager.secrets.DataKey;
import io.jswarm.tls.NodeTls;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A manager restarted with autolock on: its TLS key is sealed under the unlock key, so
 * it starts nothing (no Raft, no remote port, no containers) and serves only
 * {@code cluster unlock} on its control socket, refusing everything else until it is
 * given the key that opens its key file.
 */
final class LockedNode {
    private LockedNode() {}

    /** Waits for the right unlock key; returns the credentials it opened (the key: their lockKey()). */
    static NodeTls awaitUnlock(Path stateDir, Path socket) throws Exception {
        CompletableFuture<NodeTls> unlocked = new CompletableFuture<>();
        ControlGrpc.ControlImplBase unlocker = new ControlGrpc.ControlImplBase() {
            @Override
            public void unlock(UnlockRequest req, StreamObserver<UnlockResponse> out) {
                try {
                    byte[] key = DataKey.parse(req.getUnlockKey());
                    NodeTls tls = NodeTls.load(stateDir, key);
                    out.onNext(UnlockResponse.getDefaultInstance());
                    out.onCompleted();
                    unlocked.complete(tls);  // its key file was sealed under this key: tls.lockKey()
                } catch (IllegalArgumentException e) {
                    out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                } catch (IOException e) {
                    out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
                }
            }
        };
        ServerInterceptor onlyUnlock = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                if (!call.getMethodDescriptor().getBareMethodName().equals("Unlock")) {
                    call.close(Status.FAILED_PRECONDITION.withDescription("this manager is locked (autolock): run swarmctl cluster unlock"
                            + " (or docker swarm unlock) and give it the unlock key"), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return next.startCall(call, headers);
            }
        };
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        Files.deleteIfExists(socket);
        Server server = NettyServerBuilder.forAddress(UnixDomainSocketAddress.of(socket))
                .channelType(NioServerDomainSocketChannel.class).bossEventLoopGroup(group).workerEventLoopGroup(group)
                .addService(ServerInterceptors.intercept(unlocker, onlyUnlock)).build().start();
        System.err.println("swarmd: this manager is locked (autolock): it serves nothing until `swarmctl cluster unlock`"
                + " is given the unlock key (control socket " + socket + ")");
        try {
            return unlocked.get();
        } finally {
            server.shutdown();
            server.awaitTermination(2, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            Files.deleteIfExists(socket);
        }
    }
}
