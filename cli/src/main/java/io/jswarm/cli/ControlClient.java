package io.jswarm.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.jswarm.api.control.ControlGrpc;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import java.io.Closeable;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A connection to a manager's Control API: over its unix socket, or over its remote port
 * with mutual TLS and a client certificate (swarmctl --host).
 */
public final class ControlClient implements Closeable {
    private final ManagedChannel channel;
    private final NioEventLoopGroup group = new NioEventLoopGroup(1);

    /** Over TLS to HOST:PORT, with the files swarmctl cluster client-cert wrote. */
    public ControlClient(String hostPort, Path ca, Path cert, Path key) {
        io.jswarm.tls.NodeTls tls;
        try {
            tls = new io.jswarm.tls.NodeTls(io.jswarm.tls.Pem.privateKey(read("--tlskey", key)),
                    io.jswarm.tls.Pem.certificate(read("--tlscert", cert)), io.jswarm.tls.Pem.certificates(read("--tlscacert", ca)));
        } catch (IllegalArgumentException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        channel = io.grpc.Grpc.newChannelBuilder(hostPort, tls.channelCredentials()).maxInboundMessageSize(256 << 20).build();
    }

    private String read(String flag, Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalArgumentException(flag + " " + f + ": cannot read it (" + e.getMessage() + ")");
        }
    }

    public ControlClient(Path socket) {
        this(socket, true);
    }

    /**
     * @param mustExist false for a node's own Engine API, which may start before the node
     *        makes its socket (swarmd --inactive): the channel connects when first used
     */
    public ControlClient(Path socket, boolean mustExist) {
        if (mustExist && !Files.exists(socket)) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalArgumentException("cannot reach a manager: no control socket at " + socket
                    + " (is swarmd running on a manager? set --socket or SWARM_SOCKET)");
        }
        channel = NettyChannelBuilder.forAddress(UnixDomainSocketAddress.of(socket))
                .channelType(NioDomainSocketChannel.class).eventLoopGroup(group).usePlaintext()
                .maxInboundMessageSize(256 << 20).build();
    }

    public ControlGrpc.ControlBlockingStub stub() {
        return ControlGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /**
     * The tasks a listing shows (each cut to what listings print: the manager's summary),
     * read page by page from the manager's stream.
     */
    public java.util.List<io.jswarm.api.Task> listedTasks(io.jswarm.api.control.ListTasksRequest req) {
        java.util.List<io.jswarm.api.Task> out = new java.util.ArrayList<>();
        stub().streamTasks(req.toBuilder().setSummary(true).build()).forEachRemaining(p -> out.addAll(p.getTasksList()));
        return out;
    }

    /** For streams that last as long as the user wants (events). */
    public ControlGrpc.ControlBlockingStub streamingStub() {
        return ControlGrpc.newBlockingStub(channel);
    }

    /** The node's own Local API (its socket only): leave. A leave waits for grace periods and a demotion. */
    public io.jswarm.api.local.LocalGrpc.LocalBlockingStub local() {
        return io.jswarm.api.local.LocalGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
    }

    /** Task logs (service logs): a stream as long as the user wants. */
    public io.jswarm.api.logs.LogsGrpc.LogsBlockingStub logs() {
        return io.jswarm.api.logs.LogsGrpc.newBlockingStub(channel);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }
}
