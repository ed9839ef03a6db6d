package io.jswarm.cli;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jswarm.api.control.ControlGrpc;
import io.jswarm.api.control.ListNodesRequest;
import io.jswarm.api.control.ListNodesResponse;
import io.jswarm.api.control.ListServicesRequest;
import io.jswarm.api.control.ListServicesResponse;
import io.jswarm.api.control.ListTasksRequest;
import io.jswarm.api.control.ListTasksResponse;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Not a command: the run bin/swarmctl records a class-data sharing archive from (once per
 * build), so that every later swarmctl starts with its classes already parsed and
 * verified. It runs the commonest commands against a throwaway server on a temporary
 * socket that answers listings with nothing, so that the client's whole path (picocli,
 * gRPC over a unix socket, protobuf, the table printer) is loaded and archived. Nothing
 * of a cluster is involved, and its output is discarded.
 */
public final class SwarmctlTraining {
    private SwarmctlTraining() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("swarmctl-training");
        Path socket = dir.resolve("training.sock");
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        Server server = NettyServerBuilder.forAddress(UnixDomainSocketAddress.of(socket))
                .channelType(NioServerDomainSocketChannel.class).bossEventLoopGroup(group).workerEventLoopGroup(group)
                .addService(new ControlGrpc.ControlImplBase() {
                    @Override
                    public void listServices(ListServicesRequest r, StreamObserver<ListServicesResponse> out) {
                        out.onNext(ListServicesResponse.getDefaultInstance());
                        out.onCompleted();
                    }

                    @Override
                    public void listNodes(ListNodesRequest r, StreamObserver<ListNodesResponse> out) {
                        out.onNext(ListNodesResponse.getDefaultInstance());
                        out.onCompleted();
                    }

                    @Override
                    public void streamTasks(ListTasksRequest r, StreamObserver<ListTasksResponse> out) {
                        out.onNext(ListTasksResponse.getDefaultInstance());
                        out.onCompleted();
                    }
                }).build().start();
        PrintStream out = System.out;
        PrintStream err = System.err;
        try {
            System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
            System.setErr(new PrintStream(java.io.OutputStream.nullOutputStream()));
            String s = socket.toString();
            for (String[] cmd : new String[][] {
                {"--socket", s, "service", "ls"},
                {"--socket", s, "node", "ls"},
                {"--socket", s, "service", "ps", "web"},
                {"--socket", s, "service", "inspect", "web"},
                {"--socket", s, "service", "create", "--name", "x", "127.0.0.1:5000/img:1"},
                {"--help"},
            }) {
                Swarmctl.run(cmd);
            }
        } finally {
            System.setOut(out);
            System.setErr(err);
            server.shutdownNow();
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }
}
