package io.jswarm.cli;

import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.jswarm.api.Node;
import io.jswarm.api.NodeState;
import io.jswarm.api.PortConfig;
import io.jswarm.api.Service;
import io.jswarm.api.TaskState;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How objects read in tables: Docker's words and short ids. */
final class Show {
    private Show() {}

    static String id(String id, boolean noTrunc) {
        return noTrunc || id.length() <= 12 ? id : id.substring(0, 12);
    }

    static String title(String enumName) {
        String s = enumName.toLowerCase(Locale.ROOT).replace('_', ' ');
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    static String state(TaskState s) {
        return title(s.name());
    }

    static String nodeStatus(Node n) {
        NodeState s = n.getStatus().getState();
        return switch (s) {
            case NODE_READY -> "Ready";
            case NODE_DOWN -> "Down";
            case NODE_DISCONNECTED -> "Disconnected";
            default -> "Unknown";
        };
    }

    static String managerStatus(Node n) {
        if (!n.hasManagerStatus()) {
            return "";
        }
        if (n.getManagerStatus().getLeader()) {
            return "Leader";
        }
        return switch (n.getManagerStatus().getReachability()) {
            case REACHABLE -> "Reachable";
            case UNREACHABLE -> "Unreachable";
            default -> "Unknown";
        };
    }

    static String image(String image, boolean noTrunc) {
        int at = image.indexOf('@');
        return noTrunc || at < 0 ? image : image.substring(0, at);
    }

    static String ports(Service s) {
        List<String> out = new ArrayList<>();
        // As published: a port left to the cluster shows the one it chose.
        List<PortConfig> ports = s.getEndpoint().getPortsCount() > 0 ? s.getEndpoint().getPortsList() : s.getSpec().getEndpoint().getPortsList();
        for (PortConfig p : ports) {
            // As Docker: host-mode ports show on the tasks (service ps), not on the service.
            if (p.getPublishMode() != PortConfig.PublishMode.HOST) {
                out.add("*:" + io.jswarm.api.PublishedPorts.show(p) + (p.getPreserveClientIp() ? " (client ip kept)" : ""));
            }
        }
        return String.join(",", out);
    }

    /** A task's host-mode ports, on the node it runs on ("*:8080->80/tcp"), while it may run. */
    static String hostPorts(io.jswarm.api.Task t) {
        List<String> out = new ArrayList<>();
        if (!t.getNodeId().isEmpty() && t.getStatus().getState().getNumber() <= io.jswarm.api.TaskState.RUNNING_VALUE) {
            for (PortConfig p : t.getEndpoint().getPortsList()) {
                if (p.getPublishMode() == PortConfig.PublishMode.HOST) {
                    out.add("*:" + io.jswarm.api.PublishedPorts.show(p));
                }
            }
        }
        return String.join(",", out);
    }

    /** A task's addresses: "NETWORK=10.0.0.5/24,..." */
    static String addresses(io.jswarm.api.Task t) {
        List<String> out = new ArrayList<>();
        for (var a : t.getNetworksList()) {
            for (String addr : a.getAddressesList()) {
                out.add((a.getNetworkName().isEmpty() ? a.getNetworkId() : a.getNetworkName()) + "=" + addr);
            }
        }
        return String.join(",", out);
    }

    /** Node id to hostname, for tables that name nodes. */
    static java.util.Map<String, String> hostnames(ControlClient cc) {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        for (Node n : cc.stub().listNodes(io.jswarm.api.control.ListNodesRequest.getDefaultInstance()).getNodesList()) {
            out.put(n.getMeta().getId(), n.getDescription().getHostname());
        }
        return out;
    }

    static String json(MessageOrBuilder m) {
        try {
            // JsonFormat escapes = < > & ' for HTML; none of them needs escaping in JSON.
            return JsonFormat.printer().print(m).replace("\\u003d", "=").replace("\\u003c", "<").replace("\\u003e", ">")
                    .replace("\\u0026", "&").replace("\\u0027", "'");
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    /** inspect output: JSON by default, the human form with --pretty. */
    static <T extends MessageOrBuilder> void printInspect(List<T> items, boolean pretty, java.util.function.Function<T, String> human) {
        if (pretty) {
            System.out.print(String.join("\n", items.stream().map(human).toList()));
        } else {
            printJsonArray(items);
        }
    }

    static void printJsonArray(List<? extends MessageOrBuilder> items) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            sb.append(i == 0 ? "\n" : ",\n").append(json(items.get(i)).indent(4).stripTrailing());
        }
        System.out.println(sb.append(items.isEmpty() ? "]" : "\n]"));
    }
}
