package io.jswarm.cli;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jswarm.api.Annotations;
import io.jswarm.api.ConfigSpec;
import io.jswarm.api.Network;
import io.jswarm.api.SecretSpec;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.control.*;
import io.jswarm.cli.stack.Stack;
import io.jswarm.manager.control.Quote;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Deploys a converted {@link Stack} through the Control API, as {@code docker stack deploy}
 * does: everything checked that can be before the first write (external objects exist,
 * names are not held by objects outside the stack, no mode change), then secrets and
 * configs (kept when identical), networks, and services created or updated in file order.
 * An update the managers find changes nothing writes nothing. A failure part-way says what
 * was deployed and what was not; deploying again finishes the job.
 */
final class StackDeployer {
    /** --resolve-image: when the managers pin a tag to the digest it names. */
    enum ResolveImage { ALWAYS, CHANGED, NEVER }

    private final ControlClient cc;
    private final PrintStream out;

    StackDeployer(ControlClient cc, PrintStream out) {
        this.cc = cc;
        this.out = out;
    }

    static boolean inStack(Map<String, String> labels, String stack) {
        return stack.equals(labels.get(Stack.NAMESPACE_LABEL));
    }

    List<Service> services(String stack) {
        return cc.stub().listServices(ListServicesRequest.getDefaultInstance()).getServicesList().stream()
                .filter(s -> inStack(s.getSpec().getAnnotations().getLabelsMap(), stack)).toList();
    }

    private List<Network> networks(String stack) {
        return cc.stub().listNetworks(ListNetworksRequest.getDefaultInstance()).getNetworksList().stream()
                .filter(n -> inStack(n.getSpec().getAnnotations().getLabelsMap(), stack)).toList();
    }

    private static <T> T orNull(Supplier<T> get) {
        try {
            return get.get();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    private Network network(String name) {
        return orNull(() -> cc.stub().getNetwork(GetNetworkRequest.newBuilder().setNetworkId(name).build()).getNetwork());
    }

    /** A service by exact name (not an id prefix that happens to match). */
    private Service service(String name) {
        Service s = orNull(() -> cc.stub().getService(GetServiceRequest.newBuilder().setServiceId(name).build()).getService());
        return s != null && s.getSpec().getAnnotations().getName().equals(name) ? s : null;
    }

    /** A service the deploy created or changed, to wait for. */
    private record Wait(String id, String name, Convergence.Mode mode) {}

    /** What one deploy did, for the message when it stops part-way. */
    private final List<String> done = new ArrayList<>();

    void deploy(Stack stack, boolean prune, ResolveImage resolve, boolean detach, boolean quiet) throws InterruptedException {
        Map<String, Service> current = new LinkedHashMap<>();
        check(stack, current);
        List<Wait> waits = new ArrayList<>();
        long since = System.currentTimeMillis();
        List<String> pending = new ArrayList<>(stack.services().keySet());
        String step = "";
        try {
            for (Stack.FileObject f : stack.secrets()) {
                step = "secret " + f.name();
                createFile("secret", f, (a, data) -> cc.stub().createSecret(CreateSecretRequest.newBuilder().setReuseIdentical(true)
                        .setSpec(SecretSpec.newBuilder().setAnnotations(a).setData(data)).build()).getExisted());
            }
            for (Stack.FileObject f : stack.configs()) {
                step = "config " + f.name();
                createFile("config", f, (a, data) -> cc.stub().createConfig(CreateConfigRequest.newBuilder().setReuseIdentical(true)
                        .setSpec(ConfigSpec.newBuilder().setAnnotations(a).setData(data)).build()).getExisted());
            }
            for (Stack.Network n : stack.networks()) {
                if (!n.external() && network(n.name()) == null) {
                    step = "network " + n.name();
                    var r = cc.stub().createNetwork(CreateNetworkRequest.newBuilder().setSpec(n.spec()).build());
                    r.getWarningsList().forEach(w -> System.err.println("Warning: " + w));
                    made(false, "network", n.name());
                }
            }
            for (Map.Entry<String, ServiceSpec> e : stack.services().entrySet()) {
                ServiceSpec spec = e.getValue();
                String name = spec.getAnnotations().getName();
                step = "service " + name;
                Service cur = current.get(name);
                if (cur == null) {
                    out.println("Creating service " + name);
                    var r = cc.stub().createService(CreateServiceRequest.newBuilder().setSpec(spec)
                            .setKeepImageTag(resolve == ResolveImage.NEVER).build());
                    r.getWarningsList().forEach(w -> System.err.println("Warning: " + w));
                    waits.add(new Wait(r.getService().getMeta().getId(), name, Convergence.Mode.CREATE));
                } else {
                    ServiceSpec next = resolve == ResolveImage.CHANGED ? keepPinned(spec, cur) : spec;
                    var r = cc.stub().updateService(UpdateServiceRequest.newBuilder().setServiceId(cur.getMeta().getId())
                            .setServiceVersion(cur.getMeta().getVersion()).setSpec(next)
                            .setKeepImageTag(resolve == ResolveImage.NEVER).build());
                    r.getWarningsList().forEach(w -> System.err.println("Warning: " + w));
                    if (r.getUnchanged()) {
                        out.println("Service " + name + " is unchanged");
                    } else {
                        out.println("Updating service " + name + " (id: " + cur.getMeta().getId() + ")");
                        waits.add(new Wait(r.getService().getMeta().getId(), name, Convergence.Mode.UPDATE));
                    }
                }
                done.add("service " + name);
                pending.remove(e.getKey());
            }
        } catch (RuntimeException ex) {
            List<String> left = pending.stream().map(k -> "service " + stack.services().get(k).getAnnotations().getName()).toList();
            if (done.isEmpty()) {
                throw new IllegalArgumentException("stack " + stack.name() + " was not deployed: " + step + ": " + Swarmctl.describe(ex)
                        + "; nothing was changed", ex);
            }
            throw new IllegalArgumentException("stack " + stack.name() + " was deployed in part: " + step + ": "
                    + Swarmctl.describe(ex) + "; deployed: " + String.join(", ", done)
                    + (left.isEmpty() ? "" : "; not deployed: " + String.join(", ", left))
                    + "; run stack deploy again to finish", ex);
        }
        if (prune) {
            prune(stack);
        }
        if (!detach) {
            for (Wait w : waits) {
                if (!quiet) {
                    out.println(w.name() + ":");
                }
                try {
                    Convergence.await(cc, w.id(), since, w.mode(), quiet ? new PrintStream(java.io.OutputStream.nullOutputStream()) : out);
                } catch (IllegalStateException | IllegalArgumentException e) {
                    throw new IllegalArgumentException("stack " + stack.name() + " did not converge: service " + w.name() + ": " + e.getMessage());
                }
            }
        }
    }

    /** Creates a secret or config of the stack (the call says whether an identical one was there already). */
    private void createFile(String kind, Stack.FileObject f, java.util.function.BiPredicate<Annotations, ByteString> create) {
        if (!f.external()) {
            boolean existed = create.test(Annotations.newBuilder().setName(f.name()).putAllLabels(f.labels()).build(),
                    ByteString.copyFrom(f.data()));
            made(existed, kind, f.name());
        }
    }

    private void made(boolean existed, String kind, String name) {
        if (!existed) {
            out.println("Creating " + kind + " " + name);
            done.add(kind + " " + name);
        }
    }

    /**
     * --resolve-image changed: a tag the service already runs keeps the digest it was pinned
     * to (no registry query, no update); another tag is pinned anew by the managers.
     */
    static ServiceSpec keepPinned(ServiceSpec spec, Service cur) {
        String running = cur.getSpec().getTask().getContainer().getImage();
        int at = running.indexOf('@');
        String wanted = spec.getTask().getContainer().getImage();
        if (at > 0 && running.substring(0, at).equals(wanted)) {
            ServiceSpec.Builder b = spec.toBuilder();
            b.getTaskBuilder().getContainerBuilder().setImage(running);
            return b.build();
        }
        return spec;
    }

    /** Everything that would stop the deploy part-way and can be known before it starts. */
    private void check(Stack stack, Map<String, Service> current) {
        for (Stack.Network n : stack.networks()) {
            Network had = network(n.name());
            if (n.external() && had == null) {
                throw new IllegalArgumentException("network " + Quote.of(n.name()) + " is declared as external, but could not be found;"
                        + " create it with swarmctl network create first");
            }
            if (!n.external() && had != null && !inStack(had.getSpec().getAnnotations().getLabelsMap(), stack.name())) {
                throw new IllegalArgumentException("network " + Quote.of(n.name()) + " already exists and is not part of stack "
                        + stack.name());
            }
        }
        for (Stack.FileObject f : stack.secrets()) {
            if (f.external() && orNull(() -> cc.stub().getSecret(GetSecretRequest.newBuilder().setSecretId(f.name()).build())) == null) {
                throw new IllegalArgumentException("secret " + Quote.of(f.name()) + " is declared as external, but could not be found");
            }
        }
        for (Stack.FileObject f : stack.configs()) {
            if (f.external() && orNull(() -> cc.stub().getConfig(GetConfigRequest.newBuilder().setConfigId(f.name()).build())) == null) {
                throw new IllegalArgumentException("config " + Quote.of(f.name()) + " is declared as external, but could not be found");
            }
        }
        for (ServiceSpec spec : stack.services().values()) {
            String name = spec.getAnnotations().getName();
            Service had = service(name);
            if (had == null) {
                continue;
            }
            if (!inStack(had.getSpec().getAnnotations().getLabelsMap(), stack.name())) {
                throw new IllegalArgumentException("service " + Quote.of(name) + " already exists and is not part of stack " + stack.name());
            }
            if (had.getSpec().hasGlobal() != spec.hasGlobal()) {
                throw new IllegalArgumentException("service " + name + " cannot change between replicated and global mode:"
                        + " remove it first (swarmctl service rm " + name + ")");
            }
            current.put(name, had);
        }
    }

    /** --prune: the stack's services that the file no longer names, then its networks, secrets and configs likewise. */
    private void prune(Stack stack) throws InterruptedException {
        Set<String> services = new HashSet<>();
        stack.services().values().forEach(s -> services.add(s.getAnnotations().getName()));
        for (Service s : services(stack.name())) {
            if (!services.contains(s.getSpec().getAnnotations().getName())) {
                out.println("Removing service " + s.getSpec().getAnnotations().getName());
                cc.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(s.getMeta().getId()).build());
            }
        }
        Set<String> keep = new HashSet<>();
        stack.networks().forEach(n -> keep.add(n.name()));
        stack.secrets().forEach(f -> keep.add("secret/" + f.name()));
        stack.configs().forEach(f -> keep.add("config/" + f.name()));
        removeObjects(stack.name(), keep);
    }

    /** Removes the stack's services, then its networks, secrets and configs; false if there was nothing. */
    boolean remove(String stack) throws InterruptedException {
        List<Service> services = services(stack);
        for (Service s : services) {
            out.println("Removing service " + s.getSpec().getAnnotations().getName());
            cc.stub().removeService(RemoveServiceRequest.newBuilder().setServiceId(s.getMeta().getId()).build());
        }
        return removeObjects(stack, Set.of()) + services.size() > 0;
    }

    /** The stack's secrets, configs and networks not in {@code keep}; how many were removed. */
    private int removeObjects(String stack, Set<String> keep) throws InterruptedException {
        int n = 0;
        for (var s : cc.stub().listSecrets(ListSecretsRequest.getDefaultInstance()).getSecretsList()) {
            String name = s.getSpec().getAnnotations().getName();
            if (inStack(s.getSpec().getAnnotations().getLabelsMap(), stack) && !keep.contains("secret/" + name)) {
                out.println("Removing secret " + name);
                cc.stub().removeSecret(RemoveSecretRequest.newBuilder().setSecretId(s.getMeta().getId()).build());
                n++;
            }
        }
        for (var c : cc.stub().listConfigs(ListConfigsRequest.getDefaultInstance()).getConfigsList()) {
            String name = c.getSpec().getAnnotations().getName();
            if (inStack(c.getSpec().getAnnotations().getLabelsMap(), stack) && !keep.contains("config/" + name)) {
                out.println("Removing config " + name);
                cc.stub().removeConfig(RemoveConfigRequest.newBuilder().setConfigId(c.getMeta().getId()).build());
                n++;
            }
        }
        for (Network net : networks(stack)) {
            String name = net.getSpec().getAnnotations().getName();
            if (!keep.contains(name)) {
                out.println("Removing network " + name);
                removeNetwork(net);
                n++;
            }
        }
        return n;
    }

    /** The managers refuse while the removed services' tasks are still stopping (their grace period): wait for them, bounded. */
    private void removeNetwork(Network net) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            try {
                cc.stub().removeNetwork(RemoveNetworkRequest.newBuilder().setNetworkId(net.getMeta().getId()).build());
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.FAILED_PRECONDITION || System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }
}
