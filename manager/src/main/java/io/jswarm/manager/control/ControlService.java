package io.jswarm.manager.control;

import io.grpc.stub.StreamObserver;
import io.jswarm.api.Cluster;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.NodeRole;
import io.jswarm.api.NodeState;
import io.jswarm.api.Reachability;
import io.jswarm.api.Service;
import io.jswarm.api.UpdateStatus;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.control.*;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.manager.Ids;
import io.jswarm.manager.JoinTokens;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The user API. Reads come from this manager's replica once it is current (linearizable:
 * see {@link #answer}); writes are validated here, then committed through Raft, where the
 * store checks versions and names again atomically.
 */
public final class ControlService extends ControlGrpc.ControlImplBase {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ControlService.class);
    private final io.jswarm.manager.secrets.DataKey keys;
    private final MemoryStore store;
    private final RaftNode raft;
    private final io.jswarm.manager.Manager.ImageResolver images;
    private final EventLog events;
    private final SecretsAndConfigs files;

    public ControlService(MemoryStore store, RaftNode raft, io.jswarm.manager.Manager.ImageResolver images, EventLog events,
            io.jswarm.manager.secrets.DataKey keys) {
        this.store = store;
        this.keys = keys;
        this.raft = raft;
        this.images = images;
        this.events = events;
        this.files = new SecretsAndConfigs(store, raft, keys);
    }

    @Override
    public void events(EventsRequest req, StreamObserver<Event> out) {
        var so = (io.grpc.stub.ServerCallStreamObserver<Event>) out;
        Object lock = new Object();
        Runnable stop = events.subscribe(req.getSinceMs(), ev -> {
            if (!req.getTypesList().isEmpty() && !req.getTypesList().contains(ev.getType())) {
                return;
            }
            synchronized (lock) {
                if (!so.isCancelled()) {
                    try {
                        so.onNext(ev);
                    } catch (RuntimeException e) {
                        // the client went away; the cancel handler unsubscribes
                    }
                }
            }
        });
        so.setOnCancelHandler(stop);
    }

    /**
     * Pins the image to the digest its tag names now, so every node runs the same bits. A
     * registry that cannot be reached leaves the tag, with a warning, as Docker does.
     */
    private ServiceSpec pinImage(ServiceSpec spec, List<String> warnings) {
        String image = spec.getTask().getContainer().getImage();
        if (image.contains("@")) {
            return spec;
        }
        try {
            String pinned = images.resolve(image);
            ServiceSpec.Builder b = spec.toBuilder();
            b.getTaskBuilder().getContainerBuilder().setImage(pinned);
            return b.build();
        } catch (java.io.IOException | RuntimeException e) {
            warnings.add("image " + image + " could not be accessed on a registry to record its digest ("
                    + e.getMessage() + "). Each node will access " + image
                    + " independently, possibly leading to different nodes running different versions of the image.");
            return spec;
        }
    }

    /**
     * Answers a read. It first waits until this replica holds everything the cluster had
     * committed when the read arrived (a read index from the leader), so that what it
     * returns is current and a manager cut off from the others says so instead of
     * answering from an old copy.
     */
    private <T> void read(StreamObserver<T> out, Supplier<T> body) {
        answer(out, () -> {
            raft.readBarrier();
            return body.get();
        });
    }

    /**
     * Answers a write, or runs a read. Writes need no read barrier: what they read is
     * checked again where it counts, by the store, against the versions they carry.
     */
    private static <T> void answer(StreamObserver<T> out, Supplier<T> body) {
        T result;
        try {
            result = body.get();
        } catch (Exception e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    private void write(StoreAction.Kind kind, io.jswarm.api.store.StoreObject o) {
        raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder().setKind(kind).setObject(o)).build());
    }

    private static Meta newMeta() {
        long now = System.currentTimeMillis();
        return Meta.newBuilder().setId(Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now).build();
    }

    // ------------------------------------------------------------------ services

    /** Finds a service by id, name or unique id prefix. */
    public static Service resolveService(MemoryStore store, String ref) {
        return References.find("service", ref, store::service, store::serviceByName, store.services(), c -> c.getMeta().getId());
    }

    private static ServiceSpec withDefaults(ServiceSpec spec) {
        ServiceSpec.Builder b = spec.toBuilder();
        if (!spec.hasReplicated() && !spec.hasGlobal()) {
            b.setReplicated(io.jswarm.api.ReplicatedService.newBuilder().setReplicas(1));
        }
        // Without an update or rollback config, one task at a time, as Docker (parallelism 0 means all at once).
        if (!spec.hasUpdate()) {
            b.setUpdate(io.jswarm.api.UpdateConfig.newBuilder().setParallelism(1));
        }
        if (!spec.hasRollback()) {
            b.setRollback(io.jswarm.api.UpdateConfig.newBuilder().setParallelism(1));
        }
        return b.build();
    }

    @Override
    public void createService(CreateServiceRequest req, StreamObserver<CreateServiceResponse> out) {
        answer(out, () -> {
            ServiceSpec spec = withDefaults(req.getSpec());
            if (spec.getAnnotations().getName().isEmpty()) {
                spec = spec.toBuilder().setAnnotations(spec.getAnnotations().toBuilder().setName("service-" + Ids.random(6))).build();
            }
            SpecValidator.validate(spec);
            if (store.serviceByName(spec.getAnnotations().getName()) != null) {
                throw new io.jswarm.manager.store.StoreException(io.jswarm.api.store.StoreResult.Code.ALREADY_EXISTS,
                        "service name \"" + spec.getAnnotations().getName() + "\" is already in use");
            }
            spec = resolveNetworks(spec);
            spec = files.resolve(spec);
            List<String> warnings = new ArrayList<>();
            if (!req.getKeepImageTag()) {
                spec = pinImage(spec, warnings);
            }
            warnUnrouted(spec, warnings);
            Meta meta = newMeta();
            for (int attempt = 0; ; attempt++) {
                Service s = Service.newBuilder().setMeta(meta).setSpec(spec).setSpecVersion(1)
                        .setEndpoint(endpoint(spec, null)).build();
                try {
                    write(StoreAction.Kind.CREATE, StoreObjects.of(s));
                    return CreateServiceResponse.newBuilder().setService(store.service(meta.getId())).addAllWarnings(warnings).build();
                } catch (io.jswarm.manager.store.StoreException e) {
                    if (!addressRace(e, attempt)) {
                        throw e;
                    }
                }
            }
        });
    }

    @Override
    public void getService(GetServiceRequest req, StreamObserver<GetServiceResponse> out) {
        read(out, () -> GetServiceResponse.newBuilder().setService(resolveService(store, req.getServiceId())).build());
    }

    @Override
    public void listServices(ListServicesRequest req, StreamObserver<ListServicesResponse> out) {
        read(out, () -> {
            ListServicesResponse.Builder b = ListServicesResponse.newBuilder();
            for (Service s : store.services()) {
                String name = s.getSpec().getAnnotations().getName();
                if (!req.getNamesList().isEmpty() && !req.getNamesList().contains(name)) {
                    continue;
                }
                if (!req.getIdPrefixesList().isEmpty()
                        && req.getIdPrefixesList().stream().noneMatch(p -> s.getMeta().getId().startsWith(p))) {
                    continue;
                }
                b.addServices(s);
                long[] replicas = io.jswarm.manager.orchestrator.Tasks.replicas(s, store);
                b.addStatuses(ServiceReplicaStatus.newBuilder().setServiceId(s.getMeta().getId())
                        .setRunningTasks(replicas[1]).setDesiredTasks(replicas[0]));
            }
            return b.build();
        });
    }

    @Override
    public void updateService(UpdateServiceRequest req, StreamObserver<UpdateServiceResponse> out) {
        answer(out, () -> {
            Service cur = resolveService(store, req.getServiceId());
            ServiceSpec next;
            if (req.getRollback()) {
                if (!cur.hasPreviousSpec()) {
                    throw GrpcErrors.precondition("service " + cur.getSpec().getAnnotations().getName()
                            + " has no previous spec to roll back to");
                }
                next = cur.getPreviousSpec();
            } else {
                next = withDefaults(req.getSpec());
                SpecValidator.validate(next);
                next = resolveNetworks(next);
                next = files.resolve(next);
            }
            List<String> warnings = new ArrayList<>();
            if (!req.getRollback() && !req.getKeepImageTag()
                    && !next.getTask().getContainer().getImage().equals(cur.getSpec().getTask().getContainer().getImage())) {
                next = pinImage(next, warnings);
            }
            warnUnrouted(next, warnings);
            if (!next.getAnnotations().getName().equals(cur.getSpec().getAnnotations().getName())) {
                throw GrpcErrors.invalid("renaming services is not supported");
            }
            if (next.hasGlobal() != cur.getSpec().hasGlobal()) {
                throw GrpcErrors.invalid("service mode change (replicated/global) is not supported; remove and create the service");
            }
            if (req.getServiceVersion() != 0 && req.getServiceVersion() != cur.getMeta().getVersion()) {
                throw GrpcErrors.precondition("update out of sequence: service " + cur.getSpec().getAnnotations().getName()
                        + " changed since it was read (read version " + req.getServiceVersion() + ", now "
                        + cur.getMeta().getVersion() + ")");
            }
            UpdateStatus.State was = cur.getUpdateStatus().getState();
            boolean paused = was == UpdateStatus.State.PAUSED || was == UpdateStatus.State.ROLLBACK_PAUSED;
            if (!req.getRollback() && next.equals(cur.getSpec()) && !paused) {
                // Nothing to change (a stack deployed again): no write, no new version, and the
                // previous spec stays the one a rollback returns to.
                return UpdateServiceResponse.newBuilder().setService(cur).addAllWarnings(warnings).setUnchanged(true).build();
            }
            long version = req.getServiceVersion() != 0 ? req.getServiceVersion() : cur.getMeta().getVersion();
            Service.Builder b = cur.toBuilder().setSpec(next).setPreviousSpec(cur.getSpec());
            long now = System.currentTimeMillis();
            if (!cur.getSpec().getTask().equals(next.getTask())) {
                // The task template changed: the rolling updater replaces the tasks.
                b.setSpecVersion(cur.getSpecVersion() + 1);
                b.setUpdateStatus(UpdateStatus.newBuilder().setStartedAtMs(now)
                        .setState(req.getRollback() ? UpdateStatus.State.ROLLBACK_STARTED : UpdateStatus.State.UPDATING)
                        .setMessage(req.getRollback() ? "manually requested rollback" : "update in progress"));
            } else if (paused && !req.getScale()) {
                // A paused update resumes on the next update; its earlier failures no longer count.
                b.setUpdateStatus(UpdateStatus.newBuilder().setStartedAtMs(now)
                        .setState(was == UpdateStatus.State.PAUSED ? UpdateStatus.State.UPDATING : UpdateStatus.State.ROLLBACK_STARTED)
                        .setMessage(was == UpdateStatus.State.PAUSED ? "update resumed" : "rollback resumed"));
                if (!req.getRollback()) {
                    b.setPreviousSpec(cur.getPreviousSpec());  // resuming is not a new change to roll back to
                }
            }
            b.setMeta(cur.getMeta().toBuilder().setVersion(version).setUpdatedAtMs(System.currentTimeMillis()));
            for (int attempt = 0; ; attempt++) {
                b.setEndpoint(endpoint(next, cur));
                try {
                    write(StoreAction.Kind.UPDATE, StoreObjects.of(b.build()));
                    break;
                } catch (io.jswarm.manager.store.StoreException e) {
                    if (!addressRace(e, attempt)) {
                        throw e;
                    }
                }
            }
            return UpdateServiceResponse.newBuilder().setService(store.service(cur.getMeta().getId())).addAllWarnings(warnings).build();
        });
    }

    @Override
    public void removeService(RemoveServiceRequest req, StreamObserver<RemoveServiceResponse> out) {
        answer(out, () -> {
            Service cur = resolveService(store, req.getServiceId());
            // The orchestrator sees the service gone and shuts its tasks down.
            write(StoreAction.Kind.REMOVE, StoreObjects.of(cur));
            return RemoveServiceResponse.getDefaultInstance();
        });
    }

    /** Published ports are served by every node whose swarmd runs the routing mesh: name the ones that do not. */
    private void warnUnrouted(ServiceSpec spec, List<String> warnings) {
        if (spec.getEndpoint().getPortsCount() == 0) {
            return;
        }
        List<String> off = new ArrayList<>();
        for (io.jswarm.api.Node n : store.nodes()) {
            String mesh = n.getDescription().getRoutingMesh();
            if (!mesh.isEmpty() && !mesh.equals("on")) {
                off.add(n.getDescription().getHostname());
            }
        }
        if (!off.isEmpty()) {
            java.util.Collections.sort(off);
            warnings.add("published ports are not served on node" + (off.size() > 1 ? "s " : " ") + String.join(", ", off)
                    + ": their swarmd runs without the routing mesh (--routing-mesh off)");
        }
    }

    /** An address picked here was taken meanwhile by a write from elsewhere: pick again (a few times). */
    private static boolean addressRace(io.jswarm.manager.store.StoreException e, int attempt) {
        return attempt < 5 && e.code() == io.jswarm.api.store.StoreResult.Code.ALREADY_EXISTS && e.getMessage().contains(" is already taken by ");
    }

    /** Network attachments name networks by id in the store: names and id prefixes are resolved here. */
    private ServiceSpec resolveNetworks(ServiceSpec spec) {
        if (spec.getTask().getNetworksCount() == 0) {
            return spec;
        }
        ServiceSpec.Builder b = spec.toBuilder();
        b.getTaskBuilder().clearNetworks();
        Set<String> seen = new HashSet<>();
        for (io.jswarm.api.NetworkAttachmentConfig a : spec.getTask().getNetworksList()) {
            io.jswarm.api.Network n = resolveNetwork(store, a.getTarget());
            if (n.getSpec().getIngress()) {
                throw GrpcErrors.invalid("a service cannot be attached to the ingress network by name: it joins it by publishing a port");
            }
            if (!seen.add(n.getMeta().getId())) {
                throw GrpcErrors.invalid("network " + Quote.of(n.getSpec().getAnnotations().getName()) + " is given twice");
            }
            for (String alias : a.getAliasesList()) {
                SpecValidator.validateName("network alias", alias);
            }
            b.getTaskBuilder().addNetworks(a.toBuilder().setTarget(n.getMeta().getId()));
        }
        return b.build();
    }

    /**
     * The service's endpoint: its spec, and in VIP mode a virtual IP on each of its
     * networks, the ones it had kept (a VIP never changes while the service stays on the network).
     */
    private io.jswarm.api.Endpoint endpoint(ServiceSpec spec, Service cur) {
        io.jswarm.api.Endpoint.Builder e = io.jswarm.api.Endpoint.newBuilder().setSpec(spec.getEndpoint())
                .addAllPorts(publishedPorts(spec, cur));
        if (spec.getEndpoint().getMode() == io.jswarm.api.EndpointSpec.ResolutionMode.DNSRR) {
            return e.build();
        }
        java.util.Map<String, String> had = new java.util.HashMap<>();
        if (cur != null) {
            for (io.jswarm.api.VirtualIP v : cur.getEndpoint().getVirtualIpsList()) {
                had.put(v.getNetworkId(), v.getAddr());
            }
        }
        var addresses = new io.jswarm.manager.network.NetworkAllocator.Addresses(c -> store.claimHolder(c) != null);
        for (io.jswarm.api.NetworkAttachmentConfig a : spec.getTask().getNetworksList()) {
            String vip = had.get(a.getTarget());
            if (vip == null) {
                io.jswarm.api.Network n = store.network(a.getTarget());
                vip = n == null ? null : addresses.next(n);
                if (vip == null) {
                    throw GrpcErrors.precondition("network " + (n == null ? a.getTarget() : Quote.of(n.getSpec().getAnnotations().getName()))
                            + " has no free address left for the service's virtual IP");
                }
            }
            e.addVirtualIps(io.jswarm.api.VirtualIP.newBuilder().setNetworkId(a.getTarget()).setAddr(vip));
        }
        return e.build();
    }

    /** Docker's range for published ports left to the cluster to choose. */
    public static final int FIRST_DYNAMIC_PORT = 30000;
    public static final int LAST_DYNAMIC_PORT = 32767;

    /**
     * The service's ports as published: those given, checked against the other services
     * (one service per ingress port and protocol in the cluster), and those left out
     * (published 0) allocated from 30000-32767, keeping the one the service had for the
     * same target. The store's claims refuse a port taken meanwhile by another write.
     */
    private List<io.jswarm.api.PortConfig> publishedPorts(ServiceSpec spec, Service cur) {
        String self = cur == null ? "" : "SERVICE/" + cur.getMeta().getId();
        Set<String> taken = new HashSet<>();
        for (io.jswarm.api.PortConfig p : spec.getEndpoint().getPortsList()) {
            if (p.getPublishMode() == io.jswarm.api.PortConfig.PublishMode.INGRESS && p.getPublishedPort() != 0) {
                String claim = io.jswarm.manager.store.Claims.port(p.getProtocol(), p.getPublishedPort());
                String holder = store.claimHolder(claim);
                if (holder != null && !holder.equals(self)) {
                    Service other = holder.startsWith("SERVICE/") ? store.service(holder.substring(8)) : null;
                    throw GrpcErrors.precondition("port " + p.getPublishedPort() + "/" + p.getProtocol().name().toLowerCase()
                            + " is already published by service " + (other == null ? holder : other.getSpec().getAnnotations().getName()));
                }
                taken.add(claim);
            }
        }
        List<io.jswarm.api.PortConfig> had = cur == null ? List.of() : cur.getEndpoint().getPortsList();
        List<io.jswarm.api.PortConfig> out = new ArrayList<>();
        for (io.jswarm.api.PortConfig p : spec.getEndpoint().getPortsList()) {
            int next = FIRST_DYNAMIC_PORT;
            if (p.getPublishMode() != io.jswarm.api.PortConfig.PublishMode.INGRESS || p.getPublishedPort() != 0) {
                out.add(p);
                continue;
            }
            long keep = 0;
            for (io.jswarm.api.PortConfig h : had) {
                String claim = io.jswarm.manager.store.Claims.port(h.getProtocol(), h.getPublishedPort());
                if (h.getTargetPort() == p.getTargetPort() && h.getProtocol() == p.getProtocol() && h.getPublishedPort() != 0
                        && !taken.contains(claim)) {
                    keep = h.getPublishedPort();
                }
            }
            while (keep == 0 && next <= LAST_DYNAMIC_PORT) {
                String claim = io.jswarm.manager.store.Claims.port(p.getProtocol(), next);
                if (store.claimHolder(claim) == null && !taken.contains(claim)) {
                    keep = next;
                }
                next++;
            }
            if (keep == 0) {
                throw GrpcErrors.precondition("no free port left in " + FIRST_DYNAMIC_PORT + "-" + LAST_DYNAMIC_PORT
                        + " to publish target port " + p.getTargetPort());
            }
            taken.add(io.jswarm.manager.store.Claims.port(p.getProtocol(), keep));
            out.add(p.toBuilder().setPublishedPort((int) keep).build());
        }
        return out;
    }

    // ------------------------------------------------------------------ networks

    /** Finds a network by id, name or unique id prefix. */
    public static io.jswarm.api.Network resolveNetwork(MemoryStore store, String ref) {
        return References.find("network", ref, store::network, store::networkByName, store.networks(), c -> c.getMeta().getId());
    }

    @Override
    public void createNetwork(CreateNetworkRequest req, StreamObserver<CreateNetworkResponse> out) {
        answer(out, () -> {
            io.jswarm.api.NetworkSpec spec = req.getSpec();
            SpecValidator.validate(spec);
            if (spec.getDriver().isEmpty()) {
                spec = spec.toBuilder().setDriver(io.jswarm.manager.network.NetworkAllocator.DRIVER).build();
            }
            String name = spec.getAnnotations().getName();
            Meta meta = newMeta();
            for (int attempt = 0; ; attempt++) {
                if (store.networkByName(name) != null) {
                    throw new io.jswarm.manager.store.StoreException(io.jswarm.api.store.StoreResult.Code.ALREADY_EXISTS,
                            "network name " + Quote.of(name) + " is already in use");
                }
                io.jswarm.api.Network n;
                try {
                    n = io.jswarm.manager.network.NetworkAllocator.allocate(io.jswarm.api.Network.newBuilder().setMeta(meta).setSpec(spec),
                            cluster().getAddressPool(), store.networks(), store.nodes());
                } catch (IllegalArgumentException e) {
                    throw GrpcErrors.invalid(e.getMessage());
                }
                try {
                    write(StoreAction.Kind.CREATE, StoreObjects.of(n));
                    return CreateNetworkResponse.newBuilder().setNetwork(store.network(meta.getId()))
                            .addAllWarnings(networkWarnings(spec)).build();
                } catch (io.jswarm.manager.store.StoreException e) {
                    // Another network took the same subnet or VXLAN id meanwhile: choose again, unless the user chose it.
                    boolean chosenHere = spec.getIpamCount() == 0 || spec.getIpam(0).getSubnet().isEmpty();
                    if (attempt >= 5 || !chosenHere || e.code() != io.jswarm.api.store.StoreResult.Code.ALREADY_EXISTS
                            || e.getMessage().startsWith("network name")) {
                        throw e;
                    }
                }
            }
        });
    }

    /** What a network's spec asks for that is recorded but not built yet. */
    static List<String> networkWarnings(io.jswarm.api.NetworkSpec spec) {
        List<String> out = new ArrayList<>();
        if (spec.getAttachable()) {
            out.add("--attachable is recorded but has no effect: jswarm runs no standalone containers");
        }
        return out;
    }

    private List<Task> attachedTasks(String networkId) {
        List<Task> out = new ArrayList<>();
        for (Task t : store.tasks()) {
            if (t.getNetworksList().stream().anyMatch(a -> a.getNetworkId().equals(networkId) && a.getAddressesCount() > 0)) {
                out.add(t);
            }
        }
        return out;
    }

    private List<Service> attachedServices(String networkId) {
        List<Service> out = new ArrayList<>();
        io.jswarm.api.Network ingress = store.ingressNetwork();
        boolean isIngress = ingress != null && ingress.getMeta().getId().equals(networkId);
        for (Service s : store.services()) {
            if (isIngress ? !io.jswarm.api.PublishedPorts.mesh(s.getEndpoint()).isEmpty()
                    : s.getSpec().getTask().getNetworksList().stream().anyMatch(a -> a.getTarget().equals(networkId))) {
                out.add(s);
            }
        }
        return out;
    }

    @Override
    public void getNetwork(GetNetworkRequest req, StreamObserver<GetNetworkResponse> out) {
        read(out, () -> {
            io.jswarm.api.Network n = resolveNetwork(store, req.getNetworkId());
            String id = n.getMeta().getId();
            List<Task> tasks = new ArrayList<>();
            for (Task t : attachedTasks(id)) {
                if (!io.jswarm.manager.orchestrator.Tasks.terminal(t.getStatus().getState())) {
                    tasks.add(t);
                }
            }
            return GetNetworkResponse.newBuilder().setNetwork(n).addAllTasks(tasks).addAllServices(attachedServices(id)).build();
        });
    }

    @Override
    public void listNetworks(ListNetworksRequest req, StreamObserver<ListNetworksResponse> out) {
        read(out, () -> ListNetworksResponse.newBuilder().addAllNetworks(store.networks()).build());
    }

    @Override
    public void removeNetwork(RemoveNetworkRequest req, StreamObserver<RemoveNetworkResponse> out) {
        answer(out, () -> {
            io.jswarm.api.Network n = resolveNetwork(store, req.getNetworkId());
            String name = n.getSpec().getAnnotations().getName();
            if (n.getSpec().getIngress()) {
                throw GrpcErrors.precondition("network " + Quote.of(name) + " is the routing mesh's network: the cluster keeps it");
            }
            List<String> users = attachedServices(n.getMeta().getId()).stream().map(s -> s.getSpec().getAnnotations().getName()).toList();
            if (!users.isEmpty()) {
                throw GrpcErrors.precondition("network " + Quote.of(name) + " is in use by service" + (users.size() > 1 ? "s " : " ")
                        + String.join(", ", users));
            }
            long stopping = attachedTasks(n.getMeta().getId()).stream()
                    .filter(t -> !io.jswarm.manager.orchestrator.Tasks.terminal(t.getStatus().getState())).count();
            if (stopping > 0) {
                throw GrpcErrors.precondition("network " + Quote.of(name) + " still has " + stopping + " task"
                        + (stopping > 1 ? "s" : "") + " attached that " + (stopping > 1 ? "are" : "is") + " shutting down; try again shortly");
            }
            write(StoreAction.Kind.REMOVE, StoreObjects.of(n));
            return RemoveNetworkResponse.getDefaultInstance();
        });
    }

    // ------------------------------------------------------------------ tasks

    @Override
    public void getTask(GetTaskRequest req, StreamObserver<GetTaskResponse> out) {
        read(out, () -> {
            Task t = store.task(req.getTaskId());
            if (t == null) {
                List<Task> matches = new ArrayList<>();
                for (Task c : store.tasks()) {
                    if (c.getMeta().getId().startsWith(req.getTaskId())) {
                        matches.add(c);
                    }
                }
                if (matches.size() > 1) {
                    throw GrpcErrors.invalid("task id prefix " + Quote.of(req.getTaskId()) + " is ambiguous");
                }
                t = matches.isEmpty() || req.getTaskId().isEmpty() ? null : matches.get(0);
            }
            if (t == null) {
                throw GrpcErrors.notFound("task " + Quote.of(req.getTaskId()) + " not found");
            }
            return GetTaskResponse.newBuilder().setTask(t).build();
        });
    }

    @Override
    public void listTasks(ListTasksRequest req, StreamObserver<ListTasksResponse> out) {
        read(out, () -> page(selectTasks(req), req.getSummary()));
    }

    /** Tasks per page of {@link #streamTasks}: about 300 KB of plain tasks. */
    static final int TASK_PAGE = 1_000;

    /**
     * The tasks of {@link #listTasks} in pages, each sent when the client has read the one
     * before (gRPC's flow control): the manager never builds the whole answer, and the
     * client parses one page while the next is made. The tasks are those of one moment (the
     * store's objects are immutable: the list of them is the snapshot).
     */
    @Override
    public void streamTasks(ListTasksRequest req, StreamObserver<ListTasksResponse> out) {
        List<Task> tasks;
        try {
            raft.readBarrier();
            tasks = selectTasks(req);
        } catch (Exception e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        var call = (io.grpc.stub.ServerCallStreamObserver<ListTasksResponse>) out;
        int[] next = {0};
        boolean[] done = {false};
        // Both run on the call's own serialized executor, never at once.
        Runnable send = () -> {
            while (!done[0] && call.isReady() && !call.isCancelled()) {
                int to = Math.min(tasks.size(), next[0] + TASK_PAGE);
                call.onNext(page(tasks.subList(next[0], to), req.getSummary()));  // no tasks: one empty page
                next[0] = to;
                if (next[0] >= tasks.size()) {
                    done[0] = true;
                    call.onCompleted();
                }
            }
        };
        call.setOnReadyHandler(send);
        send.run();
    }

    /** The tasks a listing asks for. */
    private List<Task> selectTasks(ListTasksRequest req) {
        List<Task> tasks;
        if (!req.getServiceIdsList().isEmpty()) {
            tasks = new ArrayList<>();
            for (String ref : req.getServiceIdsList()) {
                tasks.addAll(store.tasksOfService(resolveService(store, ref).getMeta().getId()));
            }
        } else {
            tasks = store.tasks();
        }
        Set<String> nodeIds = new HashSet<>();
        for (String ref : req.getNodeIdsList()) {
            nodeIds.add(resolveNode(store, ref).getMeta().getId());
        }
        List<Task> out = new ArrayList<>();
        for (Task t : tasks) {
            if (!nodeIds.isEmpty() && !nodeIds.contains(t.getNodeId())) {
                continue;
            }
            if (!req.getDesiredStatesList().isEmpty() && !req.getDesiredStatesList().contains(t.getDesiredState())) {
                continue;
            }
            out.add(t);
        }
        return out;
    }

    private static ListTasksResponse page(List<Task> tasks, boolean summary) {
        ListTasksResponse.Builder b = ListTasksResponse.newBuilder();
        for (Task t : tasks) {
            b.addTasks(summary ? summary(t) : t);
        }
        return b.build();
    }

    /** A task as a listing shows it: its image, not its whole spec; its ports, not its endpoint's spec or VIPs. */
    static Task summary(Task t) {
        return t.toBuilder()
                .setSpec(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                        .setImage(t.getSpec().getContainer().getImage())))
                .setEndpoint(io.jswarm.api.Endpoint.newBuilder().addAllPorts(t.getEndpoint().getPortsList()))
                .clearRestartHistoryMs()
                .build();
    }

    // ------------------------------------------------------------------ nodes

    /** Finds a node by id, hostname or unique id prefix. */
    public static Node resolveNode(MemoryStore store, String ref) {
        if (ref.isEmpty()) {
            throw GrpcErrors.invalid("node name or id is required");
        }
        Node n = store.node(ref);
        if (n != null) {
            return n;
        }
        List<Node> byName = new ArrayList<>();
        List<Node> byPrefix = new ArrayList<>();
        for (Node c : store.nodes()) {
            if (c.getDescription().getHostname().equals(ref)) {
                byName.add(c);
            }
            if (c.getMeta().getId().startsWith(ref)) {
                byPrefix.add(c);
            }
        }
        List<Node> matches = byName.isEmpty() ? byPrefix : byName;
        if (matches.size() > 1) {
            throw GrpcErrors.invalid("node " + Quote.of(ref) + " is ambiguous: " + matches.size() + " nodes match; use the node id");
        }
        if (matches.isEmpty()) {
            throw GrpcErrors.notFound("node " + Quote.of(ref) + " not found");
        }
        return matches.get(0);
    }

    /** Adds what is known only at read time: who leads, which managers are reachable. */
    private Node decorate(Node n) {
        if (n.getRole() != NodeRole.MANAGER) {
            return n;
        }
        boolean leader = n.getMeta().getId().equals(raft.leaderId());
        boolean reachable = leader || n.getStatus().getState() == NodeState.NODE_READY;
        return n.toBuilder().setManagerStatus(n.getManagerStatus().toBuilder().setLeader(leader)
                .setReachability(reachable ? Reachability.REACHABLE : Reachability.UNREACHABLE)).build();
    }

    @Override
    public void getNode(GetNodeRequest req, StreamObserver<GetNodeResponse> out) {
        read(out, () -> GetNodeResponse.newBuilder().setNode(decorate(resolveNode(store, req.getNodeId()))).build());
    }

    @Override
    public void listNodes(ListNodesRequest req, StreamObserver<ListNodesResponse> out) {
        read(out, () -> {
            ListNodesResponse.Builder b = ListNodesResponse.newBuilder();
            for (Node n : store.nodes()) {
                b.addNodes(decorate(n));
            }
            return b.build();
        });
    }

    @Override
    public void updateNode(UpdateNodeRequest req, StreamObserver<UpdateNodeResponse> out) {
        answer(out, () -> {
            Node cur = resolveNode(store, req.getNodeId());
            SpecValidator.validate(req.getSpec());
            if (req.getNodeVersion() != 0 && req.getNodeVersion() != cur.getMeta().getVersion()) {
                throw GrpcErrors.precondition("update out of sequence: node " + cur.getDescription().getHostname()
                        + " changed since it was read");
            }
            if (req.getSpec().getDesiredRole() == NodeRole.WORKER && cur.getRole() == NodeRole.MANAGER) {
                long managers = store.nodes().stream().filter(n -> n.getRole() == NodeRole.MANAGER
                        && n.getSpec().getDesiredRole() == NodeRole.MANAGER).count();
                if (managers <= 1) {
                    throw GrpcErrors.precondition("node " + cur.getDescription().getHostname()
                            + " is the last manager of the cluster and cannot be demoted");
                }
            }
            long version = req.getNodeVersion() != 0 ? req.getNodeVersion() : cur.getMeta().getVersion();
            Node next = cur.toBuilder().setSpec(req.getSpec())
                    .setMeta(cur.getMeta().toBuilder().setVersion(version).setUpdatedAtMs(System.currentTimeMillis())).build();
            write(StoreAction.Kind.UPDATE, StoreObjects.of(next));
            return UpdateNodeResponse.newBuilder().setNode(decorate(store.node(cur.getMeta().getId()))).build();
        });
    }

    @Override
    public void removeNode(RemoveNodeRequest req, StreamObserver<RemoveNodeResponse> out) {
        answer(out, () -> {
            Node cur = resolveNode(store, req.getNodeId());
            String name = cur.getDescription().getHostname();
            if (cur.getRole() == NodeRole.MANAGER) {
                throw GrpcErrors.precondition("node " + name + " is a manager; demote it before removing it");
            }
            if (cur.getStatus().getState() == NodeState.NODE_READY && !req.getForce()) {
                throw GrpcErrors.precondition("node " + name + " is not down and can't be removed (use --force)");
            }
            write(StoreAction.Kind.REMOVE, StoreObjects.of(cur));
            return RemoveNodeResponse.getDefaultInstance();
        });
    }

    // ------------------------------------------------------------------ secrets and configs

    @Override
    public void createSecret(CreateSecretRequest req, StreamObserver<CreateSecretResponse> out) {
        answer(out, () -> {
            var c = files.createSecret(req.getSpec(), req.getReuseIdentical());
            return CreateSecretResponse.newBuilder().setSecret(c.object()).setExisted(c.existed()).build();
        });
    }

    @Override
    public void getSecret(GetSecretRequest req, StreamObserver<GetSecretResponse> out) {
        read(out, () -> {
            io.jswarm.api.Secret s = files.secret(req.getSecretId());
            return GetSecretResponse.newBuilder().setSecret(SecretsAndConfigs.withoutData(s))
                    .addAllServices(files.users(s.getMeta().getId())).build();
        });
    }

    @Override
    public void listSecrets(ListSecretsRequest req, StreamObserver<ListSecretsResponse> out) {
        read(out, () -> ListSecretsResponse.newBuilder()
                .addAllSecrets(store.secrets().stream().map(SecretsAndConfigs::withoutData).toList()).build());
    }

    @Override
    public void removeSecret(RemoveSecretRequest req, StreamObserver<RemoveSecretResponse> out) {
        answer(out, () -> {
            files.removeSecret(req.getSecretId());
            return RemoveSecretResponse.getDefaultInstance();
        });
    }

    @Override
    public void updateSecretLabels(io.jswarm.api.control.UpdateLabelsRequest req,
            StreamObserver<io.jswarm.api.control.UpdateLabelsResponse> out) {
        answer(out, () -> {
            files.updateLabels(io.jswarm.api.store.StoreObject.ObjectCase.SECRET, req.getId(), req.getVersion(), req.getLabelsMap());
            return io.jswarm.api.control.UpdateLabelsResponse.getDefaultInstance();
        });
    }

    @Override
    public void updateConfigLabels(io.jswarm.api.control.UpdateLabelsRequest req,
            StreamObserver<io.jswarm.api.control.UpdateLabelsResponse> out) {
        answer(out, () -> {
            files.updateLabels(io.jswarm.api.store.StoreObject.ObjectCase.CONFIG, req.getId(), req.getVersion(), req.getLabelsMap());
            return io.jswarm.api.control.UpdateLabelsResponse.getDefaultInstance();
        });
    }

    @Override
    public void createConfig(CreateConfigRequest req, StreamObserver<CreateConfigResponse> out) {
        answer(out, () -> {
            var c = files.createConfig(req.getSpec(), req.getReuseIdentical());
            return CreateConfigResponse.newBuilder().setConfig(c.object()).setExisted(c.existed()).build();
        });
    }

    @Override
    public void getConfig(GetConfigRequest req, StreamObserver<GetConfigResponse> out) {
        read(out, () -> {
            io.jswarm.api.Config c = files.config(req.getConfigId());
            return GetConfigResponse.newBuilder().setConfig(c).addAllServices(files.users(c.getMeta().getId())).build();
        });
    }

    @Override
    public void listConfigs(ListConfigsRequest req, StreamObserver<ListConfigsResponse> out) {
        read(out, () -> {
            ListConfigsResponse.Builder b = ListConfigsResponse.newBuilder();
            for (io.jswarm.api.Config c : store.configs()) {
                io.jswarm.api.Config.Builder cb = c.toBuilder();
                cb.getSpecBuilder().clearData();
                b.addConfigs(cb);
            }
            return b.build();
        });
    }

    @Override
    public void removeConfig(RemoveConfigRequest req, StreamObserver<RemoveConfigResponse> out) {
        answer(out, () -> {
            files.removeConfig(req.getConfigId());
            return RemoveConfigResponse.getDefaultInstance();
        });
    }

    // ------------------------------------------------------------------ cluster

    private Cluster cluster() {
        Cluster c = store.cluster();
        if (c == null) {
            throw GrpcErrors.precondition("the cluster is not initialized yet");
        }
        return c;
    }

    @Override
    public void issueClientCertificate(IssueClientCertificateRequest req, StreamObserver<IssueClientCertificateResponse> out) {
        // Signs with the cluster's current CA: read it as the leader has it, not as it was.
        read(out, () -> {
            io.jswarm.tls.NodeIdentity caller = io.jswarm.manager.ca.Callers.current();
            if (caller != null && !caller.manager()) {
                throw GrpcErrors.permissionDenied("a " + caller.role() + " certificate cannot issue client certificates;"
                        + " run this on a manager (its control socket)");
            }
            if (!req.getName().matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
                throw GrpcErrors.invalid("client certificate name " + Quote.of(req.getName())
                        + ": 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            SpecValidator.duration("certificate expiry", req.hasExpiry(), req.getExpiry(), 0);
            Cluster c = cluster();
            java.time.Duration expiry = req.hasExpiry() && io.jswarm.manager.Durations.millis(req.getExpiry()) > 0
                    ? java.time.Duration.ofMillis(io.jswarm.manager.Durations.millis(req.getExpiry()))
                    : io.jswarm.manager.dispatcher.MembershipService.certExpiry(c);
            if (expiry.toMillis() < 30_000) {
                throw GrpcErrors.invalid("certificate expiry must be at least 30s");
            }
            java.security.PublicKey key;
            try {
                key = io.jswarm.tls.Csr.publicKey(req.getCsr().toByteArray());
            } catch (IllegalArgumentException e) {
                throw GrpcErrors.invalid(e.getMessage());
            }
            var cert = io.jswarm.manager.ca.ClusterCa.of(c, keys.of(c)).issue(req.getName(), io.jswarm.tls.NodeIdentity.CLIENT,
                    c.getMeta().getId(), key, expiry);
            LOG.info("issued client certificate {} until {}", req.getName(), cert.getNotAfter().toInstant());
            return IssueClientCertificateResponse.newBuilder().setCertPem(io.jswarm.tls.Pem.of(cert))
                    .setRootCaPem(c.getRootCaPem()).build();
        });
    }

    @Override
    public void getUnlockKey(GetUnlockKeyRequest req, StreamObserver<GetUnlockKeyResponse> out) {
        // A read: a manager that has just joined may not have applied the cluster object yet.
        read(out, () -> {
            if (!cluster().getSpec().getAutolock()) {
                throw GrpcErrors.precondition("autolock is off: there is no unlock key (cluster update --autolock=true)");
            }
            io.jswarm.tls.NodeIdentity caller = io.jswarm.manager.ca.Callers.current();
            if (caller != null) {
                throw GrpcErrors.permissionDenied("the unlock key is shown on a manager's control socket only");
            }
            byte[] k = keys.unlockKey(cluster());
            if (k == null) {
                throw GrpcErrors.precondition("this manager does not hold the unlock key yet; ask another manager");
            }
            return GetUnlockKeyResponse.newBuilder().setUnlockKey(io.jswarm.manager.secrets.DataKey.format(k)).build();
        });
    }

    @Override
    public void unlock(UnlockRequest req, StreamObserver<UnlockResponse> out) {
        answer(out, () -> {
            throw GrpcErrors.precondition("this manager is not locked");
        });
    }

    /** The cluster as the API shows it: never a key. */
    private static Cluster publicView(Cluster c) {
        Cluster.Builder b = c.toBuilder().clearDataKey().clearRootCaKeySealed().clearDataKeyLocked().clearUnlockKeySealed();
        if (c.hasCaRotation()) {
            b.getCaRotationBuilder().clearNewKeySealed();
        }
        return b.build();
    }

    @Override
    public void getCluster(GetClusterRequest req, StreamObserver<GetClusterResponse> out) {
        read(out, () -> GetClusterResponse.newBuilder().setCluster(publicView(cluster())).build());
    }

    @Override
    public void updateCluster(UpdateClusterRequest req, StreamObserver<UpdateClusterResponse> out) {
        answer(out, () -> {
            Cluster cur = cluster();
            if (req.getClusterVersion() != 0 && req.getClusterVersion() != cur.getMeta().getVersion()) {
                throw GrpcErrors.precondition("update out of sequence: the cluster changed since it was read");
            }
            var spec = req.hasSpec() ? req.getSpec() : cur.getSpec();
            if (spec.getOrchestration().getTaskHistoryRetentionLimit() < 0) {
                throw GrpcErrors.invalid("task history retention limit must not be negative");
            }
            SpecValidator.duration("heartbeat period", spec.getDispatcher().hasHeartbeatPeriod(),
                    spec.getDispatcher().getHeartbeatPeriod(), 0);
            if (spec.getDispatcher().hasHeartbeatPeriod()
                    && io.jswarm.manager.Durations.millis(spec.getDispatcher().getHeartbeatPeriod()) < 100) {
                throw GrpcErrors.invalid("heartbeat period must be at least 100ms");
            }
            SpecValidator.duration("certificate expiry", spec.getCaConfig().hasNodeCertExpiry(),
                    spec.getCaConfig().getNodeCertExpiry(), 0);
            if (spec.getCaConfig().hasNodeCertExpiry()) {
                long ms = io.jswarm.manager.Durations.millis(spec.getCaConfig().getNodeCertExpiry());
                // Docker's minimum is an hour; 30 s lets a test watch certificates renew.
                if (ms < 30_000 || ms > 20L * 365 * 86_400_000) {
                    throw GrpcErrors.invalid("certificate expiry must be between 30s and 20 years");
                }
            }
            if (req.getRotateCa()) {
                if (req.hasSpec() || req.getRotateWorkerToken() || req.getRotateManagerToken()) {
                    throw GrpcErrors.invalid("rotate the CA on its own, not with other cluster changes");
                }
                try {
                    raft.propose(StoreBatch.newBuilder().addAllActions(io.jswarm.manager.ca.CaRotations.start(cur, store.nodes(), keys.of(cur))).build());
                } catch (IllegalStateException e) {
                    throw GrpcErrors.precondition(e.getMessage());
                }
                LOG.info("root CA rotation started");
                return UpdateClusterResponse.newBuilder().setCluster(publicView(cluster())).build();
            }
            Cluster.Builder b = cur.toBuilder().setSpec(spec);
            byte[] newUnlockKey = null;
            if (spec.getAutolock() != cur.getSpec().getAutolock()) {
                // The data key moves between the clear and the sealed field; the unlock key
                // itself is never written: it lives in the managers' memory only.
                byte[] dataKey;
                try {
                    dataKey = keys.of(cur);
                } catch (IllegalStateException e) {
                    throw GrpcErrors.precondition(e.getMessage());
                }
                newUnlockKey = spec.getAutolock() ? io.jswarm.tls.SecretSeal.newKey() : null;
                io.jswarm.manager.secrets.DataKey.lock(b, dataKey, newUnlockKey);
                keys.unlockWith(newUnlockKey);
            }
            java.security.cert.X509Certificate root = io.jswarm.tls.Pem.certificate(cur.getRootCaPem());
            if (req.getRotateWorkerToken()) {
                b.getJoinTokensBuilder().setWorker(JoinTokens.newToken(root));
            }
            if (req.getRotateManagerToken()) {
                b.getJoinTokensBuilder().setManager(JoinTokens.newToken(root));
            }
            long version = req.getClusterVersion() != 0 ? req.getClusterVersion() : cur.getMeta().getVersion();
            b.setMeta(cur.getMeta().toBuilder().setVersion(version).setUpdatedAtMs(System.currentTimeMillis()));
            write(StoreAction.Kind.UPDATE, StoreObjects.of(b.build()));
            if (newUnlockKey != null) {
                LOG.info("autolock turned on: managers keep their keys sealed under the unlock key");
                return UpdateClusterResponse.newBuilder().setCluster(publicView(cluster()))
                        .setUnlockKey(io.jswarm.manager.secrets.DataKey.format(newUnlockKey)).build();
            }
            return UpdateClusterResponse.newBuilder().setCluster(publicView(cluster())).build();
        });
    }
}
