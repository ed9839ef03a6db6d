package io.jswarm.manager.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.Annotations;
import io.jswarm.api.Meta;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreResult;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryStoreTest {
    static Service service(String id, String name, long version) {
        return Service.newBuilder().setMeta(Meta.newBuilder().setId(id).setVersion(version))
                .setSpec(ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName(name))).build();
    }

    static StoreAction action(StoreAction.Kind k, Service s) {
        return StoreAction.newBuilder().setKind(k).setObject(StoreObjects.of(s)).build();
    }

    static StoreAction action(StoreAction.Kind k, Task t) {
        return StoreAction.newBuilder().setKind(k).setObject(StoreObjects.of(t)).build();
    }

    static StoreBatch batch(StoreAction... a) {
        return StoreBatch.newBuilder().addAllActions(List.of(a)).build();
    }

    @Test
    void versionsAreLogIndexesAndStaleUpdatesFailTheWholeBatch() {
        MemoryStore store = new MemoryStore();
        List<StoreEvent> events = new ArrayList<>();
        store.addListener(events::add);
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0))), 7).getCode());
        assertEquals(7, store.service("s1").getMeta().getVersion());
        assertEquals(1, events.size());

        Task t = Task.newBuilder().setMeta(Meta.newBuilder().setId("t1")).setServiceId("s1").setNodeId("n1").build();
        // A good create and a stale update in one entry: nothing of it applies.
        StoreResult r = store.apply(batch(action(StoreAction.Kind.CREATE, t),
                action(StoreAction.Kind.UPDATE, service("s1", "web", 3))), 8);
        assertEquals(StoreResult.Code.CONFLICT, r.getCode());
        assertTrue(r.getError().contains("changed since it was read"), r.getError());
        assertNull(store.task("t1"));
        assertEquals(1, events.size(), "a refused entry publishes nothing");
        assertEquals(8, store.appliedIndex());

        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, t),
                action(StoreAction.Kind.UPDATE, service("s1", "web2", 7))), 9).getCode());
        assertEquals(List.of("t1"), store.tasksOfService("s1").stream().map(x -> x.getMeta().getId()).toList());
        assertEquals(List.of("t1"), store.tasksOnNode("n1").stream().map(x -> x.getMeta().getId()).toList());
        assertNull(store.serviceByName("web"));
        assertEquals("s1", store.serviceByName("web2").getMeta().getId());
    }

    static StoreAction status(String taskId, String nodeId, io.jswarm.api.TaskState state, long timeMs) {
        return action(StoreAction.Kind.STATUS, Task.newBuilder().setMeta(Meta.newBuilder().setId(taskId)).setNodeId(nodeId)
                .setStatus(io.jswarm.api.TaskStatus.newBuilder().setState(state).setTimestampMs(timeMs)).build());
    }

    @Test
    void aStatusReportMergesAtApplyAndNeverConflicts() {
        MemoryStore store = new MemoryStore();
        List<StoreEvent> events = new ArrayList<>();
        store.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0)),
                action(StoreAction.Kind.CREATE, Task.newBuilder().setMeta(Meta.newBuilder().setId("t1")).setServiceId("s1")
                        .setNodeId("n1").setDesiredState(io.jswarm.api.TaskState.RUNNING).build()),
                action(StoreAction.Kind.CREATE, Task.newBuilder().setMeta(Meta.newBuilder().setId("t2")).setServiceId("s1")
                        .setNodeId("n2").build())), 1);
        // A controller changed t1 after the node read it: the report still applies, onto the new version.
        store.apply(batch(action(StoreAction.Kind.UPDATE, store.task("t1").toBuilder()
                .setDesiredState(io.jswarm.api.TaskState.SHUTDOWN).build())), 2);
        store.addListener(events::add);
        StoreResult r = store.apply(batch(status("t1", "n1", io.jswarm.api.TaskState.RUNNING, 1234),
                status("t2", "n1", io.jswarm.api.TaskState.RUNNING, 1234),   // not n1's task: skipped
                status("gone", "n1", io.jswarm.api.TaskState.RUNNING, 1234)), 3);  // removed meanwhile: skipped
        assertEquals(StoreResult.Code.OK, r.getCode());
        Task t1 = store.task("t1");
        assertEquals(io.jswarm.api.TaskState.RUNNING, t1.getStatus().getState());
        assertEquals(io.jswarm.api.TaskState.SHUTDOWN, t1.getDesiredState(), "the controller's change stays");
        assertEquals(1234, t1.getStartedAtMs());
        assertEquals(3, t1.getMeta().getVersion());
        assertEquals(io.jswarm.api.TaskState.NEW, store.task("t2").getStatus().getState());
        assertEquals(1, events.size());
        assertEquals(List.of(StoreAction.Kind.STATUS), events.get(0).actions().stream().map(StoreAction::getKind).toList(),
                "listeners see the merged task, marked as a node's report");
        // Backwards, or the same again: nothing changes, nothing is published.
        store.apply(batch(status("t1", "n1", io.jswarm.api.TaskState.STARTING, 1300)), 4);
        assertEquals(io.jswarm.api.TaskState.RUNNING, store.task("t1").getStatus().getState());
        assertEquals(3, store.task("t1").getMeta().getVersion());
        assertEquals(1, events.size());
    }

    @Test
    void namesAreUniqueAndRemovalFreesThem() {
        MemoryStore store = new MemoryStore();
        store.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0))), 1);
        StoreResult dup = store.apply(batch(action(StoreAction.Kind.CREATE, service("s2", "web", 0))), 2);
        assertEquals(StoreResult.Code.ALREADY_EXISTS, dup.getCode());
        assertEquals(StoreResult.Code.NOT_FOUND, store.apply(batch(action(StoreAction.Kind.REMOVE, service("nope", "x", 0))), 3).getCode());
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.REMOVE, service("s1", "web", 0)),
                action(StoreAction.Kind.CREATE, service("s2", "web", 0))), 4).getCode());
        assertEquals("s2", store.serviceByName("web").getMeta().getId());
    }

    @Test
    void snapshotRestoresEveryObjectAndIndex() {
        MemoryStore a = new MemoryStore();
        a.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0))), 1);
        a.apply(batch(action(StoreAction.Kind.CREATE, Task.newBuilder().setMeta(Meta.newBuilder().setId("t1"))
                .setServiceId("s1").setNodeId("n1").build())), 2);
        MemoryStore b = new MemoryStore();
        b.restore(a.snapshot());
        assertEquals(a.snapshot(), b.snapshot());
        assertEquals(2, b.appliedIndex());
        assertEquals("s1", b.serviceByName("web").getMeta().getId());
        assertEquals(1, b.tasksOnNode("n1").size());
    }

    @Test
    void aBatchRetriedWithItsRequestIdAppliesOnceAndAnswersAsTheFirstTime() {
        MemoryStore store = new MemoryStore();
        List<StoreEvent> events = new ArrayList<>();
        store.addListener(events::add);
        com.google.protobuf.ByteString id = com.google.protobuf.ByteString.copyFromUtf8("request-1");
        StoreBatch create = batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0))).toBuilder().setRequestId(id).build();
        StoreResult first = store.apply(create, 1);
        assertEquals(StoreResult.Code.OK, first.getCode());
        // The same write again (a retry after a timeout): not "already exists", and no change.
        StoreResult again = store.apply(create, 2);
        assertEquals(first, again);
        assertEquals(1, store.services().size());
        assertEquals(1, store.service("s1").getMeta().getVersion());
        assertEquals(1, events.size());
        assertEquals(2, store.appliedIndex());
        // A different request with the same content is a new write, refused on its merits.
        StoreResult other = store.apply(create.toBuilder().setRequestId(com.google.protobuf.ByteString.copyFromUtf8("r2")).build(), 3);
        assertEquals(StoreResult.Code.ALREADY_EXISTS, other.getCode());
        // The remembered ids are replicated state: a replica restored from a snapshot deduplicates alike.
        MemoryStore replica = new MemoryStore();
        replica.restore(store.snapshot());
        assertEquals(first, replica.apply(create, 4));
        assertEquals(1, replica.services().size());
    }

    static StoreAction create(io.jswarm.api.store.StoreObject o) {
        return StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(o).build();
    }

    static Task attached(String id, String net, String addr, io.jswarm.api.TaskState state) {
        return Task.newBuilder().setMeta(Meta.newBuilder().setId(id)).setServiceId("s1")
                .setStatus(io.jswarm.api.TaskStatus.newBuilder().setState(state))
                .addNetworks(io.jswarm.api.NetworkAttachment.newBuilder().setNetworkId(net).addAddresses(addr)).build();
    }

    static io.jswarm.api.Network network(String id, String name, String subnet, int vni) {
        return io.jswarm.api.Network.newBuilder().setMeta(Meta.newBuilder().setId(id))
                .setSpec(io.jswarm.api.NetworkSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName(name)))
                .addIpam(io.jswarm.api.IPAMConfig.newBuilder().setSubnet(subnet).setGateway(subnet.replace(".0/", ".1/").split("/")[0]))
                .setVxlanId(vni).build();
    }

    @Test
    void anAddressOrVxlanIdIsNeverHeldTwiceAndStoppedTasksFreeTheirs() {
        MemoryStore store = new MemoryStore();
        assertEquals(StoreResult.Code.OK, store.apply(batch(create(StoreObjects.of(network("n1", "front", "10.0.0.0/24", 4097)))), 1).getCode());
        // Another network on an overlapping subnet, or with the same VXLAN id: refused.
        StoreResult overlap = store.apply(batch(create(StoreObjects.of(network("n2", "back", "10.0.0.128/25", 4098)))), 2);
        assertEquals(StoreResult.Code.ALREADY_EXISTS, overlap.getCode());
        assertTrue(overlap.getError().contains("overlaps subnet 10.0.0.0/24 of network front"), overlap.getError());
        StoreResult vni = store.apply(batch(create(StoreObjects.of(network("n2", "back", "10.0.1.0/24", 4097)))), 3);
        assertTrue(vni.getError().contains("VXLAN id 4097 is already taken"), vni.getError());
        assertNull(store.network("n2"));

        var running = io.jswarm.api.TaskState.RUNNING;
        assertEquals(StoreResult.Code.OK, store.apply(batch(create(StoreObjects.of(attached("t1", "n1", "10.0.0.5/24", running)))), 4).getCode());
        // Two allocations racing for one address (two managers, or an old and a new leader): the second is refused whole.
        StoreResult twice = store.apply(batch(create(StoreObjects.of(attached("t3", "n1", "10.0.0.6/24", running))),
                create(StoreObjects.of(attached("t2", "n1", "10.0.0.5/24", running)))), 5);
        assertEquals(StoreResult.Code.ALREADY_EXISTS, twice.getCode());
        assertTrue(twice.getError().contains("address 10.0.0.5 on network n1 is already taken by TASK/t1"), twice.getError());
        assertNull(store.task("t3"));
        // The gateway belongs to the network.
        assertEquals(StoreResult.Code.ALREADY_EXISTS,
                store.apply(batch(create(StoreObjects.of(attached("t2", "n1", "10.0.0.1/24", running)))), 6).getCode());
        // Once t1 has stopped, its address is free for another task.
        Task stopped = store.task("t1").toBuilder().setStatus(io.jswarm.api.TaskStatus.newBuilder().setState(io.jswarm.api.TaskState.SHUTDOWN)).build();
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.UPDATE, stopped),
                create(StoreObjects.of(attached("t2", "n1", "10.0.0.5/24", running)))), 7).getCode());
        assertEquals("TASK/t2", store.claimHolder(Claims.address("n1", "10.0.0.5")));
        // Claims come back from a snapshot as they were.
        MemoryStore copy = new MemoryStore();
        copy.restore(store.snapshot());
        assertEquals(StoreResult.Code.ALREADY_EXISTS,
                copy.apply(batch(create(StoreObjects.of(attached("t4", "n1", "10.0.0.5/24", running)))), 8).getCode());
    }

    @Test
    void servicesNameOnlyExistingNetworksAndANetworkInUseStays() {
        MemoryStore store = new MemoryStore();
        store.apply(batch(create(StoreObjects.of(network("n1", "front", "10.0.0.0/24", 4097)))), 1);
        Service onMissing = service("s1", "web", 0).toBuilder().setSpec(ServiceSpec.newBuilder()
                .setAnnotations(Annotations.newBuilder().setName("web"))
                .setTask(io.jswarm.api.TaskSpec.newBuilder().addNetworks(io.jswarm.api.NetworkAttachmentConfig.newBuilder().setTarget("n9")))).build();
        StoreResult r = store.apply(batch(action(StoreAction.Kind.CREATE, onMissing)), 2);
        assertEquals(StoreResult.Code.NOT_FOUND, r.getCode());
        Service on = onMissing.toBuilder().setSpec(onMissing.getSpec().toBuilder().setTask(io.jswarm.api.TaskSpec.newBuilder()
                .addNetworks(io.jswarm.api.NetworkAttachmentConfig.newBuilder().setTarget("n1")))).build();
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, on)), 3).getCode());
        StoreResult rm = store.apply(batch(StoreAction.newBuilder().setKind(StoreAction.Kind.REMOVE)
                .setObject(StoreObjects.of(store.network("n1"))).build()), 4);
        assertEquals(StoreResult.Code.CONFLICT, rm.getCode());
        assertTrue(rm.getError().contains("in use by service web"), rm.getError());
        assertTrue(store.network("n1") != null);
    }

    @Test
    void servicesNameOnlyExistingSecretsAndConfigsAndOnesInUseStay() {
        MemoryStore store = new MemoryStore();
        io.jswarm.api.Secret secret = io.jswarm.api.Secret.newBuilder().setMeta(Meta.newBuilder().setId("x1"))
                .setSpec(io.jswarm.api.SecretSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("db_pw"))).build();
        io.jswarm.api.Config config = io.jswarm.api.Config.newBuilder().setMeta(Meta.newBuilder().setId("c1"))
                .setSpec(io.jswarm.api.ConfigSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("conf"))).build();
        store.apply(batch(create(StoreObjects.of(secret)), create(StoreObjects.of(config))), 1);
        java.util.function.BiFunction<String, String, Service> using = (secretId, configId) -> service("s1", "web", 0).toBuilder()
                .setSpec(ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("web"))
                        .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder()
                                .addSecrets(io.jswarm.api.SecretReference.newBuilder().setSecretId(secretId).setSecretName("db_pw"))
                                .addConfigs(io.jswarm.api.ConfigReference.newBuilder().setConfigId(configId).setConfigName("conf")))))
                .build();
        assertEquals(StoreResult.Code.NOT_FOUND, store.apply(batch(action(StoreAction.Kind.CREATE, using.apply("x9", "c1"))), 2).getCode());
        assertEquals(StoreResult.Code.NOT_FOUND, store.apply(batch(action(StoreAction.Kind.CREATE, using.apply("x1", "c9"))), 3).getCode());
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, using.apply("x1", "c1"))), 4).getCode());
        for (var o : List.of(StoreObjects.of(store.secret("x1")), StoreObjects.of(store.config("c1")))) {
            StoreResult rm = store.apply(batch(StoreAction.newBuilder().setKind(StoreAction.Kind.REMOVE).setObject(o).build()), 5);
            assertEquals(StoreResult.Code.CONFLICT, rm.getCode());
            assertTrue(rm.getError().contains("in use by service web"), rm.getError());
        }
        // Removing the service and the secret in one batch is fine: the batch leaves no user.
        StoreResult both = store.apply(batch(action(StoreAction.Kind.REMOVE, store.service("s1")),
                StoreAction.newBuilder().setKind(StoreAction.Kind.REMOVE).setObject(StoreObjects.of(store.secret("x1"))).build()), 6);
        assertEquals(StoreResult.Code.OK, both.getCode(), both.getError());
        assertNull(store.secret("x1"));
    }

    @Test
    void aPublishedPortBelongsToOneServiceAtATime() {
        MemoryStore store = new MemoryStore();
        java.util.function.Function<String, Service> publishing = id -> service(id, "svc-" + id, 0).toBuilder()
                .setEndpoint(io.jswarm.api.Endpoint.newBuilder().addPorts(io.jswarm.api.PortConfig.newBuilder()
                        .setTargetPort(80).setPublishedPort(8080))).build();
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, publishing.apply("s1"))), 1).getCode());
        StoreResult r = store.apply(batch(action(StoreAction.Kind.CREATE, publishing.apply("s2"))), 2);
        assertEquals(StoreResult.Code.ALREADY_EXISTS, r.getCode());
        assertEquals("published port 8080/tcp is already taken by service svc-s1", r.getError());
        // The same port in UDP, or in host mode, is another matter.
        Service udp = publishing.apply("s3").toBuilder().setEndpoint(io.jswarm.api.Endpoint.newBuilder().addPorts(io.jswarm.api.PortConfig
                .newBuilder().setTargetPort(80).setPublishedPort(8080).setProtocol(io.jswarm.api.PortConfig.Protocol.UDP))).build();
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, udp)), 3).getCode());
        // Removed, the port is free at once.
        store.apply(batch(action(StoreAction.Kind.REMOVE, store.service("s1"))), 4);
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.CREATE, publishing.apply("s2"))), 5).getCode());
    }

    /**
     * The counts and indexes the store keeps as it changes, checked against a scan of every
     * task after each of many random changes (tasks also move between nodes and lose theirs).
     */
    @Test
    void taskCountsAndIndexesMatchAScanThroughCreatesUpdatesMovesReportsRemovesAndARestore() {
        MemoryStore store = new MemoryStore();
        java.util.Random random = new java.util.Random(42);
        io.jswarm.api.TaskState[] states = {io.jswarm.api.TaskState.NEW, io.jswarm.api.TaskState.PENDING,
                io.jswarm.api.TaskState.ASSIGNED, io.jswarm.api.TaskState.RUNNING, io.jswarm.api.TaskState.FAILED,
                io.jswarm.api.TaskState.SHUTDOWN};
        String[] health = {"", "starting", "healthy", "unhealthy"};
        String[] nodes = {"", "n1", "n2"};
        store.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0)), action(StoreAction.Kind.CREATE, service("s2", "db", 0))), 1);
        long index = 2;
        for (int step = 0; step < 2_000; step++, index++) {
            String id = "t" + random.nextInt(60);
            Task current = store.task(id);
            int op = random.nextInt(4);
            Task t = Task.newBuilder().setMeta(Meta.newBuilder().setId(id).setVersion(current == null ? 0 : current.getMeta().getVersion()))
                    .setServiceId(current != null ? current.getServiceId() : random.nextBoolean() ? "s1" : "s2")
                    .setNodeId(nodes[random.nextInt(nodes.length)])
                    .setDesiredState(random.nextInt(3) == 0 ? io.jswarm.api.TaskState.SHUTDOWN : io.jswarm.api.TaskState.RUNNING)
                    .setStatus(io.jswarm.api.TaskStatus.newBuilder().setState(states[random.nextInt(states.length)])
                            .setHealth(health[random.nextInt(health.length)]).setErr(random.nextBoolean() ? "" : "no suitable node"))
                    .build();
            StoreAction a;
            if (current == null) {
                a = action(StoreAction.Kind.CREATE, t);
            } else if (op == 0) {
                a = action(StoreAction.Kind.REMOVE, current);
            } else if (op == 1) {
                a = status(id, current.getNodeId(), states[random.nextInt(states.length)], step);
            } else {
                a = action(StoreAction.Kind.UPDATE, t);
            }
            store.apply(batch(a), index);
            if (step % 500 == 499) {
                MemoryStore copy = new MemoryStore();
                copy.restore(store.snapshot());
                store = copy;  // the counts rebuilt from a snapshot are the same counts
            }
            assertCountsMatchAScan(store);
        }
    }

    /** A task removed by its id and version alone (what the controllers write) leaves every index; listeners get the task as held. */
    @Test
    void aRemovalNamingTheTaskOnlyPublishesTheTaskHeld() {
        MemoryStore store = new MemoryStore();
        store.apply(batch(action(StoreAction.Kind.CREATE, service("s1", "web", 0)),
                action(StoreAction.Kind.CREATE, Task.newBuilder().setMeta(Meta.newBuilder().setId("t1")).setServiceId("s1").setNodeId("n1")
                        .setDesiredState(io.jswarm.api.TaskState.RUNNING).build())), 1);
        List<StoreEvent> events = new ArrayList<>();
        store.addListener(events::add);
        Task stale = Task.newBuilder().setMeta(Meta.newBuilder().setId("t1").setVersion(0)).build();
        assertEquals(StoreResult.Code.CONFLICT, store.apply(batch(action(StoreAction.Kind.REMOVE, stale.toBuilder()
                .setMeta(Meta.newBuilder().setId("t1").setVersion(7)).build())), 2).getCode(), "the version read still counts");
        Task named = Task.newBuilder().setMeta(store.task("t1").getMeta()).build();
        assertEquals(StoreResult.Code.OK, store.apply(batch(action(StoreAction.Kind.REMOVE, named)), 3).getCode());
        assertNull(store.task("t1"));
        assertEquals(List.of(), store.tasksOfService("s1"));
        assertEquals(List.of(), store.tasksOnNode("n1"));
        Task published = events.get(0).actions().get(0).getObject().getTask();
        assertEquals("n1", published.getNodeId(), "the node it ran on is told");
        assertEquals("s1", published.getServiceId());
        assertCountsMatchAScan(store);
    }

    /** Tasks parsed from their own entries hold their service's spec, endpoint and ids, not copies. */
    @Test
    void tasksShareWhatTheirServiceHoldsAfterAWriteAndARestore() throws Exception {
        MemoryStore store = new MemoryStore();
        Service svc = Service.newBuilder().setMeta(Meta.newBuilder().setId("s1"))
                .setSpec(ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("web"))
                        .setTask(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder().setImage("127.0.0.1:5000/busybox:1"))))
                .setEndpoint(io.jswarm.api.Endpoint.newBuilder().setSpec(io.jswarm.api.EndpointSpec.newBuilder()
                        .setMode(io.jswarm.api.EndpointSpec.ResolutionMode.DNSRR))).build();
        store.apply(batch(action(StoreAction.Kind.CREATE, svc)), 1);
        Service stored = store.service("s1");
        // As a follower gets it: parsed from bytes, so equal but not the same objects.
        Task t = Task.parseFrom(Task.newBuilder().setMeta(Meta.newBuilder().setId("t1")).setServiceId("s1")
                .setSpec(svc.getSpec().getTask()).setEndpoint(svc.getEndpoint()).build().toByteArray());
        store.apply(batch(action(StoreAction.Kind.CREATE, t)), 2);
        Task held = store.task("t1");
        assertEquals(t.getSpec(), held.getSpec());
        assertTrue(held.getSpec() == stored.getSpec().getTask(), "the service's task spec itself");
        assertTrue(held.getEndpoint() == stored.getEndpoint(), "the service's endpoint itself");
        assertTrue(held.getServiceId() == stored.getMeta().getId(), "the service's id string itself");
        // A task whose spec differs (from before an update) keeps its own.
        Task older = t.toBuilder().setMeta(Meta.newBuilder().setId("t2"))
                .setSpec(io.jswarm.api.TaskSpec.newBuilder().setContainer(io.jswarm.api.ContainerSpec.newBuilder().setImage("127.0.0.1:5000/busybox:0"))).build();
        store.apply(batch(action(StoreAction.Kind.CREATE, older)), 3);
        assertEquals("127.0.0.1:5000/busybox:0", store.task("t2").getSpec().getContainer().getImage());

        MemoryStore replica = new MemoryStore();
        replica.restore(io.jswarm.api.store.StoreSnapshot.parseFrom(store.snapshot().toByteArray()));
        assertEquals(store.snapshot(), replica.snapshot());
        assertTrue(replica.task("t1").getSpec() == replica.service("s1").getSpec().getTask(), "shared after a restore too");
    }

    private static void assertCountsMatchAScan(MemoryStore store) {
        long[] byState = new long[16];
        long[] byDesired = new long[16];
        java.util.Map<String, Long> pending = new java.util.HashMap<>();
        java.util.Map<String, long[]> replicas = new java.util.HashMap<>(java.util.Map.of("s1", new long[2], "s2", new long[2]));
        for (Task t : store.tasks()) {
            byState[t.getStatus().getStateValue()]++;
            byDesired[t.getDesiredStateValue()]++;
            if (t.getStatus().getState() == io.jswarm.api.TaskState.PENDING && t.getDesiredState() == io.jswarm.api.TaskState.RUNNING
                    && !t.getStatus().getErr().isEmpty()) {
                pending.merge(t.getStatus().getErr(), 1L, Long::sum);
            }
            if (t.getDesiredState() == io.jswarm.api.TaskState.RUNNING) {
                replicas.get(t.getServiceId())[0]++;
                if (MemoryStore.up(t)) {
                    replicas.get(t.getServiceId())[1]++;
                }
            }
        }
        for (String s : List.of("s1", "s2")) {
            assertEquals(store.tasks().stream().filter(t -> t.getServiceId().equals(s)).map(t -> t.getMeta().getId()).sorted().toList(),
                    store.tasksOfService(s).stream().map(t -> t.getMeta().getId()).sorted().toList(), "tasks of " + s);
        }
        for (String n : List.of("n1", "n2")) {
            assertEquals(store.tasks().stream().filter(t -> t.getNodeId().equals(n)).map(t -> t.getMeta().getId()).sorted().toList(),
                    store.tasksOnNode(n).stream().map(t -> t.getMeta().getId()).sorted().toList(), "tasks on " + n);
        }
        MemoryStore.TaskCounts c = store.taskCounts();
        assertEquals(store.tasks().size(), c.total());
        assertEquals(java.util.Arrays.toString(byState), java.util.Arrays.toString(c.byState()));
        assertEquals(java.util.Arrays.toString(byDesired), java.util.Arrays.toString(c.byDesired()));
        assertEquals(pending, c.pendingErrors());
        for (String s : List.of("s1", "s2")) {
            assertEquals(java.util.Arrays.toString(replicas.get(s)), java.util.Arrays.toString(store.replicaCounts(s)), s);
        }
    }
}
