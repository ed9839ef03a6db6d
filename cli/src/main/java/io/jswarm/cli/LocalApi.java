package io.jswarm.cli;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.util.MutableHandlerRegistry;
import io.jswarm.api.local.LeaveNodeRequest;
import io.jswarm.api.local.LeaveNodeResponse;
import io.jswarm.api.local.LocalGrpc;
import io.jswarm.manager.control.GrpcErrors;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import java.io.Closeable;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The node's unix socket (STATE_DIR/swarmd.sock, mode 0600: root only, no TLS), on every
 * node: the Local API (leave) always, and the manager's Control and Logs APIs while the
 * node is a manager. On a worker those answer UNIMPLEMENTED, which swarmctl puts in words.
 */
final class LocalApi implements Closeable {
    /** What the node does when asked over the socket. */
    interface Node {
        LeaveNodeResponse leave(LeaveNodeRequest req) throws IOException;
    }

    private final Path socket;
    private final MutableHandlerRegistry managerServices = new MutableHandlerRegistry();
    private final NioEventLoopGroup group = new NioEventLoopGroup(1);
    private Server server;

    LocalApi(Path socket) {
        this.socket = socket;
    }

    void start(Node node) throws IOException {
        LocalGrpc.LocalImplBase local = new LocalGrpc.LocalImplBase() {
            @Override
            public void leave(LeaveNodeRequest req, StreamObserver<LeaveNodeResponse> out) {
                try {
                    out.onNext(node.leave(req));
                    out.onCompleted();
                } catch (IOException e) {
                    out.onError(io.grpc.Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
                } catch (RuntimeException e) {
                    out.onError(GrpcErrors.toStatus(e));
                }
            }
        };
        Files.createDirectories(socket.toAbsolutePath().getParent());
        Files.deleteIfExists(socket);
        server = NettyServerBuilder.forAddress(UnixDomainSocketAddress.of(socket))
                .channelType(NioServerDomainSocketChannel.class).bossEventLoopGroup(group).workerEventLoopGroup(group)
                .addService(local)
                .fallbackHandlerRegistry(managerServices)
                .maxInboundMessageSize(64 << 20)
                .build().start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    }

    /** While the node is a manager: its Control and Logs APIs on the socket. */
    void serveManager(List<ServerServiceDefinition> services) {
        services.forEach(managerServices::addService);
    }

    /** The node stopped being a manager (demoted, or leaving). */
    void stopServingManager() {
        managerServices.getServices().forEach(managerServices::removeService);
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.shutdownNow();
            try {
                server.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        Files.deleteIfExists(socket);
    }
}
