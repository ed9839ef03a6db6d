package io.jswarm.cli;

import io.jswarm.api.Node;
import io.jswarm.api.NodeAvailability;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.control.*;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "node", description = "Manage nodes.", mixinStandardHelpOptions = true)
final class NodeCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: node needs a subcommand: ls, inspect, update, promote, demote, rm");
        return 1;
    }

    static Node get(ControlClient cc, String ref) {
        return cc.stub().getNode(GetNodeRequest.newBuilder().setNodeId(ref).build()).getNode();
    }

    static void update(ControlClient cc, Node n, NodeSpec spec) {
        cc.stub().updateNode(UpdateNodeRequest.newBuilder().setNodeId(n.getMeta().getId())
                .setNodeVersion(n.getMeta().getVersion()).setSpec(spec).build());
    }

    @Command(name = "ls", aliases = "list", description = "List nodes.", mixinStandardHelpOptions = true)
    static final class Ls implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display IDs") boolean quiet;
        @Option(names = "--format", description = "table (default) or json") String format = "table";

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Node> nodes = new ArrayList<>(cc.stub().listNodes(ListNodesRequest.getDefaultInstance()).getNodesList());
                nodes.sort(Comparator.comparing(n -> n.getDescription().getHostname()));
                Listing out = new Listing(format, quiet,
                        new String[] {"ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"},
                        new String[] {"ID", "Hostname", "Status", "Availability", "ManagerStatus", "EngineVersion"});
                for (Node n : nodes) {
                    out.add(n.getMeta().getId(), n.getMeta().getId(), n.getDescription().getHostname(), Show.nodeStatus(n),
                            Show.title(n.getSpec().getAvailability().name()), Show.managerStatus(n), n.getDescription().getVersion());
                }
                out.print(System.out);
            }
            return 0;
        }
    }

    @Command(name = "inspect", description = "Display detailed information on one or more nodes.", mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer> {
        @Option(names = "--pretty", description = "Print the information in a human friendly format") boolean pretty;
        @Parameters(arity = "1..*", paramLabel = "NODE") List<String> nodes;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Node> out = new ArrayList<>();
                for (String n : nodes) {
                    out.add(get(cc, n));
                }
                Show.printInspect(out, pretty, Pretty::node);
            }
            return 0;
        }
    }

    @Command(name = "update", description = "Update a node.", mixinStandardHelpOptions = true)
    static final class Update implements Callable<Integer> {
        @Option(names = "--availability", description = "active, pause or drain") String availability;
        @Option(names = "--role", description = "worker or manager") String role;
        @Option(names = "--label-add", description = "Add or update a node label (KEY=VALUE)") List<String> labelAdd = new ArrayList<>();
        @Option(names = "--label-rm", description = "Remove a node label if it exists") List<String> labelRm = new ArrayList<>();
        @Parameters(arity = "1", paramLabel = "NODE") String node;

        @Override
        public Integer call() {
            NodeAvailability a = null;
            if (availability != null) {
                a = switch (availability) {
                    case "active" -> NodeAvailability.ACTIVE;
                    case "pause" -> NodeAvailability.PAUSE;
                    case "drain" -> NodeAvailability.DRAIN;
                    default -> throw new IllegalArgumentException("invalid --availability \"" + availability
                            + "\": expected active, pause or drain");
                };
            }
            NodeRole r = null;
            if (role != null) {
                r = switch (role) {
                    case "worker" -> NodeRole.WORKER;
                    case "manager" -> NodeRole.MANAGER;
                    default -> throw new IllegalArgumentException("invalid --role \"" + role + "\": expected worker or manager");
                };
            }
            try (ControlClient cc = Swarmctl.client()) {
                Node n = get(cc, node);
                NodeSpec.Builder spec = n.getSpec().toBuilder();
                if (a != null) {
                    spec.setAvailability(a);
                }
                if (r != null) {
                    spec.setDesiredRole(r);
                }
                ServiceCommand.putLabels("--label-add", labelAdd, spec.getAnnotationsBuilder().getMutableLabels());
                for (String k : labelRm) {
                    spec.getAnnotationsBuilder().getMutableLabels().remove(k);
                }
                update(cc, n, spec.build());
                System.out.println(node);
            }
            return 0;
        }
    }

    @Command(name = "promote", description = "Promote one or more nodes to manager.", mixinStandardHelpOptions = true)
    static final class Promote implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NODE") List<String> nodes;

        @Override
        public Integer call() {
            return setRole(nodes, NodeRole.MANAGER, "promoted to a manager");
        }
    }

    @Command(name = "demote", description = "Demote one or more nodes from manager to worker.", mixinStandardHelpOptions = true)
    static final class Demote implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NODE") List<String> nodes;

        @Override
        public Integer call() {
            return setRole(nodes, NodeRole.WORKER, "demoted to a worker");
        }
    }

    static int setRole(List<String> refs, NodeRole role, String done) {
        try (ControlClient cc = Swarmctl.client()) {
            List<Node> found = new ArrayList<>();
            for (String ref : refs) {
                found.add(get(cc, ref));
            }
            for (int i = 0; i < found.size(); i++) {
                Node n = found.get(i);
                if (n.getSpec().getDesiredRole() == role) {
                    System.out.println("Node " + refs.get(i) + " is already " + (role == NodeRole.MANAGER ? "a manager" : "a worker") + ".");
                    continue;
                }
                update(cc, n, n.getSpec().toBuilder().setDesiredRole(role).build());
                System.out.println("Node " + refs.get(i) + " " + done + ".");
            }
        }
        return 0;
    }

    @Command(name = "rm", aliases = "remove", description = "Remove one or more nodes from the cluster.", mixinStandardHelpOptions = true)
    static final class Rm implements Callable<Integer> {
        @Option(names = {"-f", "--force"}, description = "Force remove a node that is not down") boolean force;
        @Parameters(arity = "1..*", paramLabel = "NODE") List<String> nodes;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                for (String ref : nodes) {
                    Node n = get(cc, ref);
                    cc.stub().removeNode(RemoveNodeRequest.newBuilder().setNodeId(n.getMeta().getId()).setForce(force).build());
                    System.out.println(ref);
                }
            }
            return 0;
        }
    }
}
