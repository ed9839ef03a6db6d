package io.jswarm.cli;

import io.jswarm.api.Annotations;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.GlobalService;
import io.jswarm.api.NetworkAttachmentConfig;
import io.jswarm.api.Node;
import io.jswarm.api.ReplicatedService;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.*;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "service", description = "Manage services.", mixinStandardHelpOptions = true)
final class ServiceCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: service needs a subcommand: create, ls, ps, inspect, update, rollback, scale, rm, logs");
        return 1;
    }

    @Command(name = "create", description = "Create a new service.", mixinStandardHelpOptions = true)
    static final class Create implements Callable<Integer> {
        @Mixin ServiceOptions options;
        @Option(names = "--name", description = "Service name") String name;
        @Option(names = "--image", description = "Image (instead of the first argument)") String image;
        @Option(names = "--mode", description = "replicated or global (default: replicated)") String mode;
        @Option(names = {"-e", "--env"}, description = "Set environment variables") List<String> env = new ArrayList<>();
        @Option(names = "--label", description = "Service labels") List<String> labels = new ArrayList<>();
        @Option(names = "--container-label", description = "Container labels") List<String> containerLabels = new ArrayList<>();
        @Option(names = "--constraint", description = "Placement constraints") List<String> constraints = new ArrayList<>();
        @Option(names = {"-p", "--publish"}, description = "Publish a port") List<String> publish = new ArrayList<>();
        @Option(names = "--network", description = "Network attachments") List<String> networks = new ArrayList<>();
        @Option(names = "--mount", description = "Attach a filesystem mount") List<String> mounts = new ArrayList<>();
        @Option(names = "--secret", description = "Give the service a secret: NAME or source=NAME,target=PATH,uid=U,gid=G,mode=0400")
        List<String> secrets = new ArrayList<>();
        @Option(names = "--config", description = "Give the service a config: NAME or source=NAME,target=PATH,uid=U,gid=G,mode=0444")
        List<String> configs = new ArrayList<>();
        @Option(names = {"-q", "--quiet"}, description = "Suppress progress output") boolean quiet;
        @Option(names = {"-d", "--detach"}, description = "Exit immediately instead of waiting for the service to converge") boolean detach;
        @Parameters(arity = "0..*", paramLabel = "IMAGE [COMMAND] [ARG...]") List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            List<String> rest = new ArrayList<>(args);
            String img = image;
            if (img != null && !rest.isEmpty()) {
                throw new IllegalArgumentException("--image and a positional IMAGE (" + Units.quote(rest.get(0))
                        + ") given together: give the image once");
            }
            if (img == null) {
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException("service create needs an image: swarmctl service create [OPTIONS] IMAGE [COMMAND] [ARG...]");
                }
                img = rest.remove(0);
            }
            ServiceSpec.Builder b = ServiceSpec.newBuilder();
            if (mode == null || mode.equals("replicated")) {
                b.setReplicated(ReplicatedService.newBuilder().setReplicas(1));
            } else if (mode.equals("global")) {
                b.setGlobal(GlobalService.getDefaultInstance());
            } else {
                throw new IllegalArgumentException("invalid --mode \"" + mode + "\": expected replicated or global");
            }
            Annotations.Builder a = b.getAnnotationsBuilder().setName(name == null ? "" : name);
            putLabels("--label", labels, a.getMutableLabels());
            ContainerSpec.Builder c = b.getTaskBuilder().getContainerBuilder().setImage(img);
            if (!rest.isEmpty()) {
                // Like docker service create: COMMAND replaces the image's cmd, arguments follow it.
                c.addAllArgs(rest);
            }
            putLabels("--container-label", containerLabels, c.getMutableLabels());
            for (String e : env) {
                ServiceOptions.checkEnv(e);
                c.addEnv(e);
            }
            for (String m : mounts) {
                c.addMounts(ServiceOptions.parseMount(m));
            }
            for (String con : constraints) {
                ServiceOptions.checkConstraint(con);
                b.getTaskBuilder().getPlacementBuilder().addConstraints(con);
            }
            for (String p : publish) {
                b.getEndpointBuilder().addPorts(ServiceOptions.parsePort(p));
            }
            for (String n : networks) {
                b.getTaskBuilder().addNetworks(ServiceOptions.parseNetwork("--network", n));
            }
            for (String f : secrets) {
                c.addSecrets(ServiceOptions.parseSecret("--secret", f));
            }
            for (String f : configs) {
                c.addConfigs(ServiceOptions.parseConfig("--config", f));
            }
            // Docker's defaults: one task at a time (0 would mean all at once).
            b.getUpdateBuilder().setParallelism(1);
            b.getRollbackBuilder().setParallelism(1);
            options.applyTo(b);
            try (ControlClient cc = Swarmctl.client()) {
                long since = System.currentTimeMillis();
                CreateServiceResponse r = cc.stub().createService(CreateServiceRequest.newBuilder().setSpec(b).build());
                for (String w : r.getWarningsList()) {
                    System.err.println("Warning: " + w);
                }
                System.out.println(r.getService().getMeta().getId());
                waitFor(cc, r.getService().getMeta().getId(), since, Convergence.Mode.CREATE, detach, quiet);
            }
            return 0;
        }
    }

    /** The update status in a word or two (service ls): "updating", "paused", "rollback completed"; empty before any update. */
    static String updateStatus(Service s) {
        var st = s.getUpdateStatus().getState();
        return st == io.jswarm.api.UpdateStatus.State.UNKNOWN ? "" : st.name().toLowerCase().replace('_', ' ');
    }

    /** Unless detached, waits for convergence; a failing task makes the command fail. */
    static void waitFor(ControlClient cc, String serviceId, long since, Convergence.Mode mode, boolean detach, boolean quiet) {
        if (detach) {
            return;
        }
        try {
            Convergence.await(cc, serviceId, since, mode,
                    quiet ? new java.io.PrintStream(java.io.OutputStream.nullOutputStream()) : System.out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("service did not converge: " + e.getMessage());
        }
    }

    static void putLabels(String flag, List<String> labels, Map<String, String> into) {
        for (String l : labels) {
            int eq = l.indexOf('=');
            String key = eq < 0 ? l : l.substring(0, eq);
            if (key.isEmpty()) {
                throw new IllegalArgumentException("invalid " + flag + " \"" + l + "\": expected KEY=VALUE");
            }
            into.put(key, eq < 0 ? "" : l.substring(eq + 1));
        }
    }

    @Command(name = "ls", aliases = "list", description = "List services.", mixinStandardHelpOptions = true)
    static final class Ls implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display IDs") boolean quiet;
        @Option(names = "--format", description = "table (default) or json") String format = "table";

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                print(cc.stub().listServices(ListServicesRequest.getDefaultInstance()), s -> true, format, quiet);
            }
            return 0;
        }

        /** The table (or JSON lines, or ids) of the services that {@code which} keeps; how many there were. */
        static int print(ListServicesResponse r, java.util.function.Predicate<Service> which, String format, boolean quiet) {
            Map<String, ServiceReplicaStatus> st = new HashMap<>();
            for (ServiceReplicaStatus s : r.getStatusesList()) {
                st.put(s.getServiceId(), s);
            }
            List<Service> services = new ArrayList<>(r.getServicesList().stream().filter(which).toList());
            services.sort(Comparator.comparing(s -> s.getSpec().getAnnotations().getName()));
            Listing out = new Listing(format, quiet, new String[] {"ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS", "UPDATE"},
                    new String[] {"ID", "Name", "Mode", "Replicas", "Image", "Ports", "UpdateStatus"});
            for (Service s : services) {
                ServiceReplicaStatus rs = st.get(s.getMeta().getId());
                out.add(s.getMeta().getId(), Show.id(s.getMeta().getId(), false), s.getSpec().getAnnotations().getName(),
                        s.getSpec().hasGlobal() ? "global" : "replicated",
                        rs.getRunningTasks() + "/" + rs.getDesiredTasks(),
                        Show.image(s.getSpec().getTask().getContainer().getImage(), false), Show.ports(s), updateStatus(s));
            }
            out.print(System.out);
            return services.size();
        }
    }

    @Command(name = "ps", description = "List the tasks of one or more services.", mixinStandardHelpOptions = true)
    static final class Ps implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Only display task IDs") boolean quiet;
        @Option(names = "--no-trunc", description = "Do not truncate output") boolean noTrunc;
        @Option(names = {"-f", "--filter"}, description = "Filter: desired-state=running|shutdown|accepted, node=NODE, id=ID, name=NAME")
        List<String> filters = new ArrayList<>();
        @Option(names = "--format", description = "table (default) or json") String format = "table";
        @Parameters(arity = "1..*", paramLabel = "SERVICE") List<String> services;

        @Override
        public Integer call() {
            ListTasksRequest.Builder req = ListTasksRequest.newBuilder().addAllServiceIds(services);
            List<String> names = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (String f : filters) {
                int eq = f.indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException("invalid --filter \"" + f + "\": expected KEY=VALUE");
                }
                String k = f.substring(0, eq);
                String v = f.substring(eq + 1);
                switch (k) {
                    case "desired-state" -> {
                        switch (v) {
                            case "running" -> req.addDesiredStates(TaskState.RUNNING);
                            case "shutdown" -> req.addDesiredStates(TaskState.SHUTDOWN).addDesiredStates(TaskState.REMOVE);
                            case "accepted" -> req.addDesiredStates(TaskState.ACCEPTED);
                            default -> throw new IllegalArgumentException("invalid --filter desired-state \"" + v
                                    + "\": expected running, shutdown or accepted");
                        }
                    }
                    case "node" -> req.addNodeIds(v);
                    case "name" -> names.add(v);
                    case "id" -> ids.add(v);
                    default -> throw new IllegalArgumentException("invalid --filter key \"" + k + "\": expected desired-state, node, id or name");
                }
            }
            try (ControlClient cc = Swarmctl.client()) {
                List<Task> tasks = cc.listedTasks(req.build());
                print(tasks, Show.hostnames(cc), names, ids);
            }
            return 0;
        }

        void print(List<Task> tasks, Map<String, String> hostnames, List<String> names, List<String> ids) {
            // Group by service and slot; the current task first, then its predecessors, newest first.
            Map<String, List<Task>> slots = new LinkedHashMap<>();
            List<Task> sorted = new ArrayList<>(tasks);
            sorted.sort(Comparator.comparing(Task::getServiceName).thenComparingLong(Task::getSlot)
                    .thenComparing(Task::getNodeId)
                    .thenComparing((Task t) -> t.getDesiredState() == TaskState.RUNNING ? 0 : 1)
                    .thenComparing(Comparator.comparingLong((Task t) -> t.getMeta().getCreatedAtMs()).reversed()));
            for (Task t : sorted) {
                slots.computeIfAbsent(t.getServiceId() + "/" + (t.getSlot() > 0 ? t.getSlot() : t.getNodeId()), k -> new ArrayList<>()).add(t);
            }
            long now = System.currentTimeMillis();
            // --no-trunc adds each task's network addresses (NETWORK=ADDRESS).
            Listing out = noTrunc
                    ? new Listing(format, quiet,
                            new String[] {"ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS", "ADDRESSES"},
                            new String[] {"ID", "Name", "Image", "Node", "DesiredState", "CurrentState", "Error", "Ports", "Addresses"})
                    : new Listing(format, quiet,
                            new String[] {"ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"},
                            new String[] {"ID", "Name", "Image", "Node", "DesiredState", "CurrentState", "Error", "Ports"});
            for (List<Task> slot : slots.values()) {
                boolean first = true;
                for (Task t : slot) {
                    String name = t.getSlot() > 0 ? t.getServiceName() + "." + t.getSlot()
                            : t.getServiceName() + "." + Show.id(t.getNodeId(), noTrunc);
                    if (!names.isEmpty() && !names.contains(name)) {
                        continue;
                    }
                    if (!ids.isEmpty() && ids.stream().noneMatch(p -> t.getMeta().getId().startsWith(p))) {
                        continue;
                    }
                    String display = first ? name : " \\_ " + name;
                    first = false;
                    String current = Show.state(t.getStatus().getState()) + " " + Units.ago(t.getStatus().getTimestampMs(), now);
                    if (!t.getStatus().getHealth().isEmpty() && t.getStatus().getState() == TaskState.RUNNING) {
                        current = "Running (" + t.getStatus().getHealth() + ") " + Units.ago(t.getStatus().getTimestampMs(), now);
                    }
                    out.add(t.getMeta().getId(), Show.id(t.getMeta().getId(), noTrunc),
                            format.equals("json") ? name : display, Show.image(t.getSpec().getContainer().getImage(), noTrunc),
                            hostnames.getOrDefault(t.getNodeId(), ""), Show.state(t.getDesiredState()), current,
                            t.getStatus().getErr(), Show.hostPorts(t), Show.addresses(t));
                }
            }
            out.print(System.out);
        }
    }

    @Command(name = "inspect", description = "Display detailed information on one or more services.", mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer> {
        @Option(names = "--pretty", description = "Print the information in a human friendly format") boolean pretty;
        @Parameters(arity = "1..*", paramLabel = "SERVICE") List<String> services;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Service> out = new ArrayList<>();
                for (String s : services) {
                    out.add(cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(s).build()).getService());
                }
                Show.printInspect(out, pretty, Pretty::service);
            }
            return 0;
        }
    }

    @Command(name = "update", description = "Update a service.", mixinStandardHelpOptions = true)
    static final class Update implements Callable<Integer> {
        @Mixin ServiceOptions options;
        @Option(names = "--image", description = "Service image tag") String image;
        @Option(names = "--args", description = "Service command args (space separated)") String args;
        @Option(names = "--env-add", description = "Add or update an environment variable") List<String> envAdd = new ArrayList<>();
        @Option(names = "--env-rm", description = "Remove an environment variable") List<String> envRm = new ArrayList<>();
        @Option(names = "--constraint-add", description = "Add or update a placement constraint") List<String> constraintAdd = new ArrayList<>();
        @Option(names = "--constraint-rm", description = "Remove a constraint") List<String> constraintRm = new ArrayList<>();
        @Option(names = "--label-add", description = "Add or update a service label") List<String> labelAdd = new ArrayList<>();
        @Option(names = "--label-rm", description = "Remove a label by its key") List<String> labelRm = new ArrayList<>();
        @Option(names = "--publish-add", description = "Add or update a published port") List<String> publishAdd = new ArrayList<>();
        @Option(names = "--publish-rm", description = "Remove a published port by its target port") List<String> publishRm = new ArrayList<>();
        @Option(names = "--network-add", description = "Add a network") List<String> networkAdd = new ArrayList<>();
        @Option(names = "--network-rm", description = "Remove a network") List<String> networkRm = new ArrayList<>();
        @Option(names = "--secret-add", description = "Add a secret (as --secret)") List<String> secretAdd = new ArrayList<>();
        @Option(names = "--secret-rm", description = "Remove a secret by its name") List<String> secretRm = new ArrayList<>();
        @Option(names = "--config-add", description = "Add a config (as --config)") List<String> configAdd = new ArrayList<>();
        @Option(names = "--config-rm", description = "Remove a config by its name") List<String> configRm = new ArrayList<>();
        @Option(names = "--mount-add", description = "Add or update a mount on a service") List<String> mountAdd = new ArrayList<>();
        @Option(names = "--mount-rm", description = "Remove a mount by its target path") List<String> mountRm = new ArrayList<>();
        @Option(names = "--force", description = "Force update even if no changes require it") boolean force;
        @Option(names = "--rollback", description = "Roll back to the previous specification") boolean rollback;
        @Option(names = {"-q", "--quiet"}, description = "Suppress progress output") boolean quiet;
        @Option(names = {"-d", "--detach"}, description = "Exit immediately instead of waiting for the service to converge") boolean detach;
        @Parameters(arity = "1", paramLabel = "SERVICE") String service;

        @Override
        public Integer call() {
            return send(service, rollback ? null : this::apply, detach, quiet);
        }

        /**
         * One update as the CLI makes it: the spec read (its version carried), changed, or
         * the previous one when change is null (rollback); then the wait for convergence.
         */
        static int send(String service, java.util.function.UnaryOperator<ServiceSpec> change, boolean detach, boolean quiet) {
            try (ControlClient cc = Swarmctl.client()) {
                Service cur = cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(service).build()).getService();
                UpdateServiceRequest.Builder req = UpdateServiceRequest.newBuilder().setServiceId(cur.getMeta().getId())
                        .setServiceVersion(cur.getMeta().getVersion());
                if (change == null) {
                    req.setRollback(true);
                } else {
                    req.setSpec(change.apply(cur.getSpec()));
                }
                long since = System.currentTimeMillis();
                UpdateServiceResponse r = cc.stub().updateService(req.build());
                for (String w : r.getWarningsList()) {
                    System.err.println("Warning: " + w);
                }
                System.out.println(r.getService().getSpec().getAnnotations().getName());
                waitFor(cc, r.getService().getMeta().getId(), since, change == null ? Convergence.Mode.ROLLBACK
                        : Convergence.Mode.UPDATE, detach, quiet);
            }
            return 0;
        }

        ServiceSpec apply(ServiceSpec spec) {
            ServiceSpec.Builder b = spec.toBuilder();
            ContainerSpec.Builder c = b.getTaskBuilder().getContainerBuilder();
            if (image != null) {
                c.setImage(image);
            }
            if (args != null) {
                c.clearArgs().addAllArgs(List.of(args.trim().split("\\s+")));
            }
            List<String> env = new ArrayList<>(c.getEnvList());
            for (String k : envRm) {
                env.removeIf(e -> e.equals(k) || e.startsWith(k + "="));
            }
            for (String e : envAdd) {
                ServiceOptions.checkEnv(e);
                String key = e.contains("=") ? e.substring(0, e.indexOf('=')) : e;
                env.removeIf(x -> x.equals(key) || x.startsWith(key + "="));
                env.add(e);
            }
            c.clearEnv().addAllEnv(env);
            var placement = b.getTaskBuilder().getPlacementBuilder();
            List<String> constraints = new ArrayList<>(placement.getConstraintsList());
            constraints.removeAll(constraintRm);
            for (String con : constraintAdd) {
                ServiceOptions.checkConstraint(con);
                if (!constraints.contains(con)) {
                    constraints.add(con);
                }
            }
            placement.clearConstraints().addAllConstraints(constraints);
            putLabels("--label-add", labelAdd, b.getAnnotationsBuilder().getMutableLabels());
            for (String k : labelRm) {
                b.getAnnotationsBuilder().getMutableLabels().remove(k);
            }
            var endpoint = b.getEndpointBuilder();
            for (String p : publishRm) {
                int target;
                try {
                    target = Integer.parseInt(p.contains(":") ? p.substring(p.indexOf(':') + 1).replaceAll("/.*", "") : p.replaceAll("/.*", ""));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("invalid --publish-rm \"" + p + "\": expected a target port");
                }
                var ports = new ArrayList<>(endpoint.getPortsList());
                ports.removeIf(x -> x.getTargetPort() == target);
                endpoint.clearPorts().addAllPorts(ports);
            }
            for (String p : publishAdd) {
                var port = ServiceOptions.parsePort(p);
                var ports = new ArrayList<>(endpoint.getPortsList());
                ports.removeIf(x -> x.getPublishedPort() != 0 && x.getPublishedPort() == port.getPublishedPort()
                        && x.getProtocol() == port.getProtocol());
                ports.add(port);
                endpoint.clearPorts().addAllPorts(ports);
            }
            var task = b.getTaskBuilder();
            for (String n : networkRm) {
                // The service names its networks by id: find the one meant by name, id or prefix.
                String id;
                try (ControlClient cc = Swarmctl.client()) {
                    id = cc.stub().getNetwork(io.jswarm.api.control.GetNetworkRequest.newBuilder().setNetworkId(n).build())
                            .getNetwork().getMeta().getId();
                }
                var nets = new ArrayList<>(task.getNetworksList());
                if (!nets.removeIf(x -> x.getTarget().equals(id) || x.getTarget().equals(n))) {
                    throw new IllegalArgumentException("--network-rm " + Units.quote(n) + ": the service is not on that network");
                }
                task.clearNetworks().addAllNetworks(nets);
            }
            for (String n : networkAdd) {
                task.addNetworks(ServiceOptions.parseNetwork("--network-add", n));
            }
            for (String n : secretRm) {
                var refs = new ArrayList<>(c.getSecretsList());
                if (!refs.removeIf(r -> r.getSecretName().equals(n) || r.getSecretId().equals(n))) {
                    throw new IllegalArgumentException("--secret-rm " + Units.quote(n) + ": the service has no such secret");
                }
                c.clearSecrets().addAllSecrets(refs);
            }
            for (String f : secretAdd) {
                c.addSecrets(ServiceOptions.parseSecret("--secret-add", f));
            }
            for (String n : configRm) {
                var refs = new ArrayList<>(c.getConfigsList());
                if (!refs.removeIf(r -> r.getConfigName().equals(n) || r.getConfigId().equals(n))) {
                    throw new IllegalArgumentException("--config-rm " + Units.quote(n) + ": the service has no such config");
                }
                c.clearConfigs().addAllConfigs(refs);
            }
            for (String f : configAdd) {
                c.addConfigs(ServiceOptions.parseConfig("--config-add", f));
            }
            for (String target : mountRm) {
                var mounts = new ArrayList<>(c.getMountsList());
                mounts.removeIf(m -> m.getTarget().equals(target));
                c.clearMounts().addAllMounts(mounts);
            }
            for (String m : mountAdd) {
                var mount = ServiceOptions.parseMount(m);
                var mounts = new ArrayList<>(c.getMountsList());
                mounts.removeIf(x -> x.getTarget().equals(mount.getTarget()));
                mounts.add(mount);
                c.clearMounts().addAllMounts(mounts);
            }
            options.applyTo(b);
            if (force) {
                task.setForceUpdate(task.getForceUpdate() + 1);
            }
            return b.build();
        }
    }

    @Command(name = "rollback", description = "Revert changes to a service's configuration.", mixinStandardHelpOptions = true)
    static final class Rollback implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Suppress progress output") boolean quiet;
        @Option(names = {"-d", "--detach"}, description = "Exit immediately instead of waiting for the service to converge") boolean detach;
        @Parameters(arity = "1", paramLabel = "SERVICE") String service;

        @Override
        public Integer call() {
            return Update.send(service, null, detach, quiet);  // the same as service update --rollback
        }
    }

    @Command(name = "scale", description = "Scale one or more replicated services.", mixinStandardHelpOptions = true)
    static final class Scale implements Callable<Integer> {
        @Option(names = {"-d", "--detach"}, description = "Exit immediately instead of waiting for the services to converge") boolean detach;
        @Parameters(arity = "1..*", paramLabel = "SERVICE=REPLICAS") List<String> pairs;

        @Override
        public Integer call() {
            // Check every argument before changing anything.
            Map<String, Long> wanted = new LinkedHashMap<>();
            for (String p : pairs) {
                int eq = p.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("invalid scale specifier \"" + p + "\": expected SERVICE=REPLICAS");
                }
                wanted.put(p.substring(0, eq), Units.parseNonNegative("replicas of " + p.substring(0, eq), p.substring(eq + 1)));
            }
            try (ControlClient cc = Swarmctl.client()) {
                Map<String, Service> found = new LinkedHashMap<>();
                for (String name : wanted.keySet()) {
                    Service s = cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(name).build()).getService();
                    if (s.getSpec().hasGlobal()) {
                        throw new IllegalArgumentException("scale can only be used with replicated mode: " + name + " is global");
                    }
                    found.put(name, s);
                }
                long since = System.currentTimeMillis();
                for (Map.Entry<String, Service> e : found.entrySet()) {
                    Service s = e.getValue();
                    ServiceSpec spec = s.getSpec().toBuilder()
                            .setReplicated(ReplicatedService.newBuilder().setReplicas(wanted.get(e.getKey()))).build();
                    cc.stub().updateService(UpdateServiceRequest.newBuilder().setServiceId(s.getMeta().getId())
                            .setServiceVersion(s.getMeta().getVersion()).setSpec(spec).setScale(true).build());
                    System.out.println(e.getKey() + " scaled to " + wanted.get(e.getKey()));
                }
                for (Service s : found.values()) {
                    waitFor(cc, s.getMeta().getId(), since, Convergence.Mode.CREATE, detach, false);
                }
            }
            return 0;
        }
    }

    @Command(name = "rm", aliases = "remove", description = "Remove one or more services.", mixinStandardHelpOptions = true)
    static final class Rm implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "SERVICE") List<String> services;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Service> found = new ArrayList<>();
                for (String s : services) {
                    found.add(cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(s).build()).getService());
                }
                for (int i = 0; i < found.size(); i++) {
                    cc.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(found.get(i).getMeta().getId()).build());
                    System.out.println(services.get(i));
                }
            }
            return 0;
        }
    }
}
