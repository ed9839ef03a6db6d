package io.jswarm.cli;

import io.jswarm.api.Annotations;
import io.jswarm.api.IPAMConfig;
import io.jswarm.api.Network;
import io.jswarm.api.NetworkSpec;
import io.jswarm.api.control.*;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "network", description = "Manage overlay networks.", mixinStandardHelpOptions = true)
final class NetworkCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: network needs a subcommand: create, ls, inspect, rm");
        return 1;
    }

    @Command(name = "create", description = "Create an overlay network.", mixinStandardHelpOptions = true)
    static final class Create implements Callable<Integer> {
        @Option(names = {"-d", "--driver"}, description = "Driver: overlay (the only one)") String driver = "overlay";
        @Option(names = "--subnet", description = "Subnet in CIDR form (default: the next free one of the cluster's pool)") String subnet;
        @Option(names = "--gateway", description = "Gateway address in the subnet (default: its first address)") String gateway;
        @Option(names = "--attachable", description = "Recorded only: jswarm runs no standalone containers") boolean attachable;
        @Option(names = "--internal", description = "No egress from the network to the outside") boolean internal;
        @Option(names = "--label", description = "Network labels (KEY=VALUE)") List<String> labels = new ArrayList<>();
        @Parameters(arity = "1", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            NetworkSpec.Builder spec = NetworkSpec.newBuilder().setDriver(driver).setAttachable(attachable).setInternal(internal);
            Annotations.Builder a = spec.getAnnotationsBuilder().setName(name);
            ServiceCommand.putLabels("--label", labels, a.getMutableLabels());
            if (subnet != null || gateway != null) {
                spec.addIpam(IPAMConfig.newBuilder().setSubnet(subnet == null ? "" : subnet).setGateway(gateway == null ? "" : gateway));
            }
            try (ControlClient cc = Swarmctl.client()) {
                CreateNetworkResponse r = cc.stub().createNetwork(CreateNetworkRequest.newBuilder().setSpec(spec).build());
                for (String w : r.getWarningsList()) {
                    System.err.println("Warning: " + w);
                }
                System.out.println(r.getNetwork().getMeta().getId());
            }
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", description = "List networks.", mixinStandardHelpOptions = true)
    static final class Ls implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display IDs") boolean quiet;
        @Option(names = "--format", description = "table (default) or json") String format = "table";

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Network> nets = new ArrayList<>(cc.stub().listNetworks(ListNetworksRequest.getDefaultInstance()).getNetworksList());
                nets.sort(Comparator.comparing(n -> n.getSpec().getAnnotations().getName()));
                Listing out = new Listing(format, quiet, new String[] {"NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET"},
                        new String[] {"ID", "Name", "Driver", "Scope", "Subnet"});
                for (Network n : nets) {
                    out.add(n.getMeta().getId(), Show.id(n.getMeta().getId(), format.equals("json")), n.getSpec().getAnnotations().getName(),
                            n.getSpec().getDriver(), "swarm", n.getIpamCount() == 0 ? "" : n.getIpam(0).getSubnet());
                }
                out.print(System.out);
            }
            return 0;
        }
    }

    @Command(name = "inspect", description = "Display detailed information on one or more networks.", mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NETWORK") List<String> networks;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<GetNetworkResponse> out = new ArrayList<>();
                for (String n : networks) {
                    out.add(cc.stub().getNetwork(GetNetworkRequest.newBuilder().setNetworkId(n).build()));
                }
                Show.printJsonArray(out.stream().map(NetworkCommand::inspectView).toList());
            }
            return 0;
        }
    }

    /** What inspect shows: the network, and the tasks attached with their addresses (not whole tasks). */
    static io.jswarm.api.control.NetworkInspect inspectView(GetNetworkResponse r) {
        var b = io.jswarm.api.control.NetworkInspect.newBuilder().setNetwork(r.getNetwork());
        String id = r.getNetwork().getMeta().getId();
        for (var t : r.getTasksList()) {
            for (var a : t.getNetworksList()) {
                if (a.getNetworkId().equals(id)) {
                    b.addTasks(io.jswarm.api.control.NetworkInspect.AttachedTask.newBuilder().setTaskId(t.getMeta().getId())
                            .setName(t.getAnnotations().getName()).setNodeId(t.getNodeId()).setState(t.getStatus().getState().name())
                            .addAllAddresses(a.getAddressesList()));
                }
            }
        }
        for (var s : r.getServicesList()) {
            var sb = io.jswarm.api.control.NetworkInspect.AttachedService.newBuilder().setServiceId(s.getMeta().getId())
                    .setName(s.getSpec().getAnnotations().getName());
            for (var v : s.getEndpoint().getVirtualIpsList()) {
                if (v.getNetworkId().equals(id)) {
                    sb.setVirtualIp(v.getAddr());
                }
            }
            b.addServices(sb);
        }
        return b.build();
    }

    @Command(name = "rm", aliases = "remove", description = "Remove one or more networks.", mixinStandardHelpOptions = true)
    static final class Rm implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NETWORK") List<String> networks;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                for (String ref : networks) {
                    cc.stub().removeNetwork(RemoveNetworkRequest.newBuilder().setNetworkId(ref).build());
                    System.out.println(ref);
                }
            }
            return 0;
        }
    }
}
