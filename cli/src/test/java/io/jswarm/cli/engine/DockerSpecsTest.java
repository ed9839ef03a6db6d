package io.jswarm.cli.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.ServiceSpec;
import io.jswarm.api.UpdateConfig;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

/** Docker's service spec to jswarm's and back: what is read, what is refused, and that the way back is the way in. */
class DockerSpecsTest {
    /** What the docker CLI 20.10 sent for `service create` with most flags (captured from it). */
    static final String CLI_CREATE = """
            {"Name":"g","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"127.0.0.1:5000/busybox:latest","Env":["A=b"],
             "Init":false,"Mounts":[{"Type":"tmpfs","Target":"/t"}],"Healthcheck":{"Test":["CMD-SHELL","true"]},"DNSConfig":{}},
             "Resources":{"Limits":{"MemoryBytes":67108864},"Reservations":{}},"RestartPolicy":{"Condition":"on-failure",
             "Delay":5000000000,"MaxAttempts":0},"Placement":{"Constraints":["node.role==manager"]},"ForceUpdate":0},
             "Mode":{"Global":{}},"EndpointSpec":{"Mode":"vip"}}""";

    static ServiceSpec read(String json) {
        SpecReader r = SpecReader.of(Buffer.buffer(json), "service spec");
        ServiceSpec s = DockerSpecs.serviceSpec(r);
        r.done();
        return s;
    }

    @Test
    void whatTheCliSendsIsReadAndItsZeroValuesPass() {
        ServiceSpec s = read(CLI_CREATE);
        assertTrue(s.hasGlobal());
        assertEquals(67108864, s.getTask().getResources().getLimits().getMemoryBytes());
        assertEquals(5, s.getTask().getRestart().getDelay().getSeconds());
        assertEquals("/t", s.getTask().getContainer().getMounts(0).getTarget());
        assertEquals("node.role==manager", s.getTask().getPlacement().getConstraints(0));
    }

    @Test
    void theWayBackIsTheWayIn() {
        String full = """
                {"Name":"web","Labels":{"a":"b"},"TaskTemplate":{"ContainerSpec":{"Image":"r/x:1","Command":["sh"],
                 "Args":["-c","x"],"Env":["A=1"],"Dir":"/w","User":"1000","Hostname":"h","StopSignal":"SIGINT",
                 "StopGracePeriod":3000000000,"ReadOnly":true,"Labels":{"c":"d"},
                 "Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Timeout":2000000000,"Retries":3,"StartPeriod":500000000},
                 "Mounts":[{"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true}],
                 "Secrets":[{"File":{"Name":"s","UID":"1","GID":"2","Mode":256},"SecretID":"sid","SecretName":"s"}],
                 "Configs":[{"File":{"Name":"/c","UID":"0","GID":"0","Mode":292},"ConfigID":"cid","ConfigName":"c"}]},
                 "Resources":{"Limits":{"NanoCPUs":500000000,"MemoryBytes":1048576,"Pids":10},"Reservations":{"NanoCPUs":1}},
                 "RestartPolicy":{"Condition":"none","Delay":1,"MaxAttempts":2,"Window":5},
                 "Placement":{"Constraints":["node.labels.z==a"],"Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.z"}}],
                  "MaxReplicas":2,"Platforms":[{"Architecture":"amd64","OS":"linux"}]},
                 "Networks":[{"Target":"front","Aliases":["w"]}],"ForceUpdate":4},
                 "Mode":{"Replicated":{"Replicas":3}},
                 "UpdateConfig":{"Parallelism":2,"Delay":1000,"FailureAction":"rollback","Monitor":7,"MaxFailureRatio":0.5,"Order":"start-first"},
                 "RollbackConfig":{"Parallelism":1,"FailureAction":"continue","MaxFailureRatio":0,"Order":"stop-first"},
                 "EndpointSpec":{"Mode":"dnsrr","Ports":[{"Name":"http","Protocol":"udp","TargetPort":80,"PublishedPort":8080,"PublishMode":"host"}]}}""";
        ServiceSpec once = read(full);
        assertEquals(UpdateConfig.FailureAction.ROLLBACK, once.getUpdate().getFailureAction());
        assertEquals(256, once.getTask().getContainer().getSecrets(0).getMode());
        ServiceSpec twice = read(DockerSpecs.serviceSpec(once).encode());
        assertEquals(once, twice, "what GET /services shows, an update can send back unchanged");
    }

    @Test
    void fieldNamesMatchWithoutRegardToCaseAsGoDecodesThem() {
        ServiceSpec s = read("{\"name\":\"x\",\"taskTemplate\":{\"containerSpec\":{\"image\":\"r/x\"}},\"Mode\":{\"replicated\":{\"Replicas\":2}}}");
        assertEquals("x", s.getAnnotations().getName());
        assertEquals(2, s.getReplicated().getReplicas());
    }

    @Test
    void aFieldJswarmCannotHonourIsRefusedNamingIt() {
        EngineError e = assertThrows(EngineError.class, () -> read(
                "{\"Name\":\"x\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"r/x\",\"CapabilityAdd\":[\"NET_ADMIN\"]}}}"));
        assertEquals(400, e.status);
        assertTrue(e.getMessage().startsWith("TaskTemplate.ContainerSpec.CapabilityAdd is not supported by jswarm"), e.getMessage());
        e = assertThrows(EngineError.class, () -> read("{\"Name\":\"x\",\"Mode\":{\"ReplicatedJob\":{}},\"TaskTemplate\":{}}"));
        assertTrue(e.getMessage().contains("jobs"), e.getMessage());
        e = assertThrows(EngineError.class, () -> read("{\"Name\":\"x\",\"TaskTemplate\":{\"LogDriver\":{\"Name\":\"syslog\"}}}"));
        assertTrue(e.getMessage().startsWith("TaskTemplate.LogDriver is not supported"), e.getMessage());
    }

    @Test
    void wrongTypesAndValuesAreRefusedNamingTheField() {
        EngineError e = assertThrows(EngineError.class, () -> read("{\"Name\":7}"));
        assertEquals("invalid value for Name: expected a string, got a number", e.getMessage());
        e = assertThrows(EngineError.class, () -> read("{\"Name\":\"x\",\"Mode\":{\"Replicated\":{\"Replicas\":-1}}}"));
        assertTrue(e.getMessage().contains("Mode.Replicated.Replicas: -1 is negative"), e.getMessage());
        e = assertThrows(EngineError.class, () -> read("{\"Name\":\"x\",\"EndpointSpec\":{\"Ports\":[{\"Protocol\":\"icmp\"}]}}"));
        assertTrue(e.getMessage().contains("Protocol: \"icmp\""), e.getMessage());
        e = assertThrows(EngineError.class, () -> read("[1,2]"));
        assertTrue(e.getMessage().startsWith("invalid JSON in the service spec"), e.getMessage());
    }

    @Test
    void aConfigTargetThatIsABareNameGoesToTheRoot() {
        ServiceSpec s = read("{\"Name\":\"x\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"r/x\",\"Configs\":[{\"File\":"
                + "{\"Name\":\"app.conf\"},\"ConfigID\":\"c1\",\"ConfigName\":\"app.conf\"}]}}}");
        assertEquals("/app.conf", s.getTask().getContainer().getConfigs(0).getTarget());
    }

    @Test
    void timestampsAsRfc3339WithGosZeroTimeForNever() {
        assertEquals("2024-12-05T00:00:00.123Z", DockerObjects.time(1_733_356_800_123L));
        assertEquals("1999-12-31T23:59:59.007Z", DockerObjects.time(946_684_799_007L));
        assertEquals(java.time.Instant.ofEpochMilli(1_733_356_800_120L), java.time.Instant.parse(DockerObjects.time(1_733_356_800_120L)));
        assertEquals("0001-01-01T00:00:00Z", DockerObjects.time(0));
    }

    @Test
    void filtersInBothEncodings() {
        java.util.Set<String> keys = java.util.Set.of("name", "label");
        assertEquals(java.util.List.of("web"), Filters.parse("{\"name\":{\"web\":true}}", keys).get("name"));
        assertEquals(java.util.List.of("web"), Filters.parse("{\"name\":[\"web\"]}", keys).get("name"));
        EngineError e = assertThrows(EngineError.class, () -> Filters.parse("{\"nope\":[\"x\"]}", keys));
        assertEquals("invalid filter 'nope'", e.getMessage());
        Filters f = Filters.parse("{\"label\":[\"a\",\"b=c\"]}", keys);
        assertTrue(f.labelsMatch("label", java.util.Map.of("a", "1", "b", "c")));
        assertTrue(!f.labelsMatch("label", java.util.Map.of("a", "1", "b", "d")));
    }
}
