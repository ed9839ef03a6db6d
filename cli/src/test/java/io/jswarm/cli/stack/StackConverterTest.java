package io.jswarm.cli.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jswarm.api.ContainerSpec;
import io.jswarm.api.EndpointSpec;
import io.jswarm.api.Mount;
import io.jswarm.api.PortConfig;
import io.jswarm.api.RestartPolicy;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.UpdateConfig;
import io.jswarm.manager.Durations;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Conversion of compose files to jswarm's specs: every supported key, the warnings, and refusals with their lines. */
class StackConverterTest {
    @TempDir Path dir;

    Stack convert(String yaml, Map<String, String> env) throws Exception {
        Path f = dir.resolve("app.yml");
        Files.writeString(f, yaml);
        return StackConverter.convert(ComposeLoader.load(List.of(f.toString()), env, new ByteArrayInputStream(new byte[0])), "app", env);
    }

    Stack convert(String yaml) throws Exception {
        return convert(yaml, Map.of());
    }

    String refused(String yaml) {
        String msg = assertThrows(ComposeException.class, () -> convert(yaml)).getMessage();
        String prefix = dir.resolve("app.yml").toString();
        return msg.startsWith(prefix) ? "app.yml" + msg.substring(prefix.length()) : msg;
    }

    static long ms(com.google.protobuf.Duration d) {
        return Durations.millis(d);
    }

    /** The book's example: a database, an application server and a web server on one network with a named volume. */
    @Test
    void theBooksExample() throws Exception {
        Stack s = convert("""
                version: "3.7"
                services:
                  local-database:
                    image: registry.local:5000/postgres:13
                    volumes:
                      - db-data:/var/lib/postgresql/data
                    networks:
                      - service_network
                  application-server:
                    image: registry.local:5000/app:1
                    depends_on:
                      - local-database
                    networks:
                      - service_network
                    deploy:
                      replicas: 2
                  web-server:
                    image: registry.local:5000/nginx:1
                    ports:
                      - "80:80"
                    depends_on:
                      - application-server
                    networks:
                      - service_network
                networks:
                  service_network:
                volumes:
                  db-data:
                """);
        assertEquals(List.of("local-database", "application-server", "web-server"), List.copyOf(s.services().keySet()));
        assertEquals(List.of("Ignoring unsupported options: depends_on"), s.warnings());
        assertEquals(1, s.networks().size());
        Stack.Network net = s.networks().get(0);
        assertEquals("app_service_network", net.name());
        assertEquals("overlay", net.spec().getDriver());
        assertEquals("app", net.spec().getAnnotations().getLabelsMap().get("com.docker.stack.namespace"));
        ServiceSpec db = s.services().get("local-database");
        assertEquals("app_local-database", db.getAnnotations().getName());
        assertEquals("app", db.getAnnotations().getLabelsMap().get("com.docker.stack.namespace"));
        assertEquals(Mount.newBuilder().setType(Mount.Type.VOLUME).setSource("app_db-data").setTarget("/var/lib/postgresql/data").build(),
                db.getTask().getContainer().getMounts(0));
        assertEquals("app_service_network", db.getTask().getNetworks(0).getTarget());
        assertEquals(List.of("local-database"), db.getTask().getNetworks(0).getAliasesList(), "reachable by its name in the file");
        assertEquals(1, db.getReplicated().getReplicas());
        assertEquals(2, s.services().get("application-server").getReplicated().getReplicas());
        PortConfig p = s.services().get("web-server").getEndpoint().getPorts(0);
        assertEquals(80, p.getPublishedPort());
        assertEquals(80, p.getTargetPort());
        assertEquals(PortConfig.PublishMode.INGRESS, p.getPublishMode());
    }

    @Test
    void everyServiceKey() throws Exception {
        Files.writeString(dir.resolve("common.env"), "FROM_FILE=1\nOVERRIDDEN=file\n");
        Stack s = convert("""
                services:
                  web:
                    image: reg/web:1
                    entrypoint: /bin/sh -c
                    command: "echo 'hello world' \\"x y\\" z\\\\ w"
                    environment:
                      - OVERRIDDEN=env
                      - FROM_SHELL
                      - NOT_IN_SHELL
                    env_file: common.env
                    labels:
                      tier: front
                    user: "1000:1000"
                    working_dir: /srv
                    hostname: web-host
                    stop_grace_period: 1m30s
                    stop_signal: SIGINT
                    read_only: true
                    tmpfs: ["/run", "/tmp:size=64m"]
                    healthcheck:
                      test: ["CMD", "wget", "-q", "http://127.0.0.1/"]
                      interval: 10s
                      timeout: 2s
                      retries: 3
                      start_period: 500ms
                    deploy:
                      mode: replicated
                      replicas: 3
                      endpoint_mode: dnsrr
                      labels: [team=web]
                      placement:
                        constraints: ["node.role==worker", "node.labels.zone==a"]
                        preferences:
                          - spread: node.labels.zone
                        max_replicas_per_node: 2
                      resources:
                        limits: {cpus: "0.5", memory: 512M, pids: 50}
                        reservations: {cpus: 0.25, memory: 64m}
                      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
                      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.3, order: start-first}
                      rollback_config: {delay: 1s, failure_action: continue, order: stop-first}
                """, Map.of("FROM_SHELL", "shell"));
        ServiceSpec w = s.services().get("web");
        ContainerSpec c = w.getTask().getContainer();
        assertEquals("reg/web:1", c.getImage());
        assertEquals(List.of("/bin/sh", "-c"), c.getCommandList());
        assertEquals(List.of("echo", "hello world", "x y", "z w"), c.getArgsList());
        assertEquals(List.of("FROM_FILE=1", "FROM_SHELL=shell", "OVERRIDDEN=env"), c.getEnvList(),
                "env_file under environment, KEY alone from the shell (or left out), sorted");
        assertEquals(Map.of("tier", "front", "com.docker.stack.namespace", "app"), c.getLabelsMap());
        assertEquals("1000:1000", c.getUser());
        assertEquals("/srv", c.getDir());
        assertEquals("web-host", c.getHostname());
        assertEquals(90_000, ms(c.getStopGracePeriod()));
        assertEquals("SIGINT", c.getStopSignal());
        assertTrue(c.getReadOnly());
        assertEquals(List.of(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/run").build(),
                Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/tmp").setTmpfsSizeBytes(64 << 20).build()), c.getMountsList());
        assertEquals(List.of("CMD", "wget", "-q", "http://127.0.0.1/"), c.getHealthcheck().getTestList());
        assertEquals(10_000, ms(c.getHealthcheck().getInterval()));
        assertEquals(2_000, ms(c.getHealthcheck().getTimeout()));
        assertEquals(500, ms(c.getHealthcheck().getStartPeriod()));
        assertEquals(3, c.getHealthcheck().getRetries());
        assertEquals(3, w.getReplicated().getReplicas());
        assertEquals(EndpointSpec.ResolutionMode.DNSRR, w.getEndpoint().getMode());
        assertEquals(Map.of("team", "web", "com.docker.stack.namespace", "app"), w.getAnnotations().getLabelsMap());
        var pl = w.getTask().getPlacement();
        assertEquals(List.of("node.role==worker", "node.labels.zone==a"), pl.getConstraintsList());
        assertEquals("node.labels.zone", pl.getPreferences(0).getSpread());
        assertEquals(2, pl.getMaxReplicas());
        var res = w.getTask().getResources();
        assertEquals(500_000_000L, res.getLimits().getNanoCpus());
        assertEquals(512L << 20, res.getLimits().getMemoryBytes());
        assertEquals(50, res.getLimits().getPids());
        assertEquals(250_000_000L, res.getReservations().getNanoCpus());
        assertEquals(64L << 20, res.getReservations().getMemoryBytes());
        RestartPolicy r = w.getTask().getRestart();
        assertEquals(RestartPolicy.Condition.ON_FAILURE, r.getCondition());
        assertEquals(5_000, ms(r.getDelay()));
        assertEquals(3, r.getMaxAttempts());
        assertEquals(120_000, ms(r.getWindow()));
        UpdateConfig u = w.getUpdate();
        assertEquals(2, u.getParallelism());
        assertEquals(10_000, ms(u.getDelay()));
        assertEquals(UpdateConfig.FailureAction.ROLLBACK, u.getFailureAction());
        assertEquals(30_000, ms(u.getMonitor()));
        assertEquals(0.3f, u.getMaxFailureRatio());
        assertEquals(UpdateConfig.Order.START_FIRST, u.getOrder());
        UpdateConfig rb = w.getRollback();
        assertEquals(1, rb.getParallelism(), "Docker's default of 1 when the block leaves it out");
        assertEquals(UpdateConfig.FailureAction.CONTINUE, rb.getFailureAction());
        assertEquals(1_000, ms(rb.getDelay()));
    }

    @Test
    void healthcheckFormsAndDefaults() throws Exception {
        Stack s = convert("""
                services:
                  shell: {image: x, healthcheck: {test: "curl -f http://localhost"}}
                  shelllist: {image: x, healthcheck: {test: ["CMD-SHELL", "true"]}}
                  none: {image: x, healthcheck: {test: ["NONE"]}}
                  off: {image: x, healthcheck: {disable: true}}
                  global: {image: x, deploy: {mode: global}}
                  plain: {image: x}
                """);
        assertEquals(List.of("CMD-SHELL", "curl -f http://localhost"), s.services().get("shell").getTask().getContainer().getHealthcheck().getTestList());
        assertEquals(List.of("CMD-SHELL", "true"), s.services().get("shelllist").getTask().getContainer().getHealthcheck().getTestList());
        assertEquals(List.of("NONE"), s.services().get("none").getTask().getContainer().getHealthcheck().getTestList());
        assertEquals(List.of("NONE"), s.services().get("off").getTask().getContainer().getHealthcheck().getTestList());
        assertTrue(s.services().get("global").hasGlobal());
        ServiceSpec plain = s.services().get("plain");
        assertEquals(1, plain.getReplicated().getReplicas());
        assertFalse(plain.hasUpdate(), "no update_config: the managers' default (parallelism 1) applies");
        assertEquals(List.of("app_default"), plain.getTask().getNetworksList().stream().map(n -> n.getTarget()).toList(),
                "a service naming no network is on STACK_default");
        assertEquals("app_default", s.networks().get(0).name());
    }

    @Test
    void portsShortLongAndRanges() throws Exception {
        Stack s = convert("""
                services:
                  web:
                    image: x
                    ports:
                      - "8080:80"
                      - "53:53/udp"
                      - "9000-9001:9100-9101"
                      - "3000"
                      - target: 443
                        published: 8443
                        protocol: tcp
                        mode: host
                      - {target: 22}
                """);
        List<PortConfig> p = s.services().get("web").getEndpoint().getPortsList();
        assertEquals(List.of(
                PortConfig.newBuilder().setPublishedPort(8080).setTargetPort(80).build(),
                PortConfig.newBuilder().setPublishedPort(53).setTargetPort(53).setProtocol(PortConfig.Protocol.UDP).build(),
                PortConfig.newBuilder().setPublishedPort(9000).setTargetPort(9100).build(),
                PortConfig.newBuilder().setPublishedPort(9001).setTargetPort(9101).build(),
                PortConfig.newBuilder().setTargetPort(3000).build(),
                PortConfig.newBuilder().setPublishedPort(8443).setTargetPort(443).setPublishMode(PortConfig.PublishMode.HOST).build(),
                PortConfig.newBuilder().setTargetPort(22).build()), p);
    }

    @Test
    void networksVolumesSecretsAndConfigs() throws Exception {
        Files.writeString(dir.resolve("pw.txt"), "secret-bytes");
        Files.writeString(dir.resolve("app.conf"), "conf-bytes");
        Stack s = convert("""
                services:
                  web:
                    image: x
                    networks:
                      front:
                        aliases: [www, site]
                      back:
                      shared:
                    volumes:
                      - data:/data:ro
                      - ./html:/www
                      - /etc/ssl:/etc/ssl:ro
                      - /scratch
                      - type: volume
                        source: ext
                        target: /ext
                        read_only: true
                      - type: tmpfs
                        target: /cache
                        tmpfs: {size: 1048576}
                      - type: bind
                        source: ./logs
                        target: /logs
                    secrets:
                      - pw
                      - source: token
                        target: /etc/token
                        uid: "1000"
                        gid: "1000"
                        mode: 0400
                    configs:
                      - conf
                      - {source: inline, target: /etc/inline.conf, mode: 0444}
                networks:
                  front:
                    labels: {zone: dmz}
                    internal: true
                    attachable: true
                    ipam:
                      config:
                        - subnet: 10.99.0.0/24
                          gateway: 10.99.0.1
                  back:
                    name: custom-back
                  shared:
                    external: true
                    name: the-shared-net
                  unused:
                volumes:
                  data:
                  ext:
                    external: true
                secrets:
                  pw:
                    file: ./pw.txt
                  token:
                    external: true
                configs:
                  conf:
                    file: app.conf
                    labels: [kind=conf]
                  inline:
                    content: "inline-bytes"
                """);
        ServiceSpec w = s.services().get("web");
        var nets = w.getTask().getNetworksList();
        assertEquals("app_front", nets.get(0).getTarget());
        assertEquals(List.of("web", "www", "site"), nets.get(0).getAliasesList());
        assertEquals("custom-back", nets.get(1).getTarget(), "name: is used as it is");
        assertEquals("the-shared-net", nets.get(2).getTarget());
        assertEquals(3, s.networks().size(), "only the networks services use");
        Stack.Network front = s.networks().get(0);
        assertTrue(front.spec().getInternal() && front.spec().getAttachable());
        assertEquals("10.99.0.0/24", front.spec().getIpam(0).getSubnet());
        assertEquals("10.99.0.1", front.spec().getIpam(0).getGateway());
        assertEquals(Map.of("zone", "dmz", "com.docker.stack.namespace", "app"), front.spec().getAnnotations().getLabelsMap());
        assertTrue(s.networks().get(2).external());

        List<Mount> m = w.getTask().getContainer().getMountsList();
        assertEquals(Mount.newBuilder().setType(Mount.Type.VOLUME).setSource("app_data").setTarget("/data").setReadOnly(true).build(), m.get(0));
        assertEquals(Mount.newBuilder().setType(Mount.Type.BIND).setSource(dir.resolve("html").toString()).setTarget("/www").build(), m.get(1),
                "a relative bind source is taken from the compose file's directory");
        assertEquals(Mount.newBuilder().setType(Mount.Type.BIND).setSource("/etc/ssl").setTarget("/etc/ssl").setReadOnly(true).build(), m.get(2));
        assertEquals(Mount.newBuilder().setType(Mount.Type.VOLUME).setTarget("/scratch").build(), m.get(3));
        assertEquals(Mount.newBuilder().setType(Mount.Type.VOLUME).setSource("ext").setTarget("/ext").setReadOnly(true).build(), m.get(4),
                "an external volume keeps its name");
        assertEquals(Mount.newBuilder().setType(Mount.Type.TMPFS).setTarget("/cache").setTmpfsSizeBytes(1 << 20).build(), m.get(5));
        assertEquals(Mount.newBuilder().setType(Mount.Type.BIND).setSource(dir.resolve("logs").toString()).setTarget("/logs").build(), m.get(6));

        var sec = w.getTask().getContainer().getSecretsList();
        assertEquals("app_pw", sec.get(0).getSecretName());
        assertEquals("pw", sec.get(0).getTarget(), "the file is /run/secrets/KEY, as Docker names it");
        assertFalse(sec.get(0).hasMode());
        assertEquals("token", sec.get(1).getSecretName(), "an external secret keeps its name");
        assertEquals("/etc/token", sec.get(1).getTarget());
        assertEquals(1000, sec.get(1).getUid());
        assertEquals(1000, sec.get(1).getGid());
        assertEquals(0400, sec.get(1).getMode());
        var conf = w.getTask().getContainer().getConfigsList();
        assertEquals("app_conf", conf.get(0).getConfigName());
        assertEquals("/conf", conf.get(0).getTarget());
        assertEquals(0444, conf.get(1).getMode());

        assertEquals(2, s.secrets().size());
        assertArrayEquals("secret-bytes".getBytes(StandardCharsets.UTF_8), s.secrets().get(0).data());
        assertEquals("app_pw", s.secrets().get(0).name());
        assertTrue(s.secrets().get(1).external());
        assertArrayEquals("conf-bytes".getBytes(StandardCharsets.UTF_8), s.configs().get(0).data());
        assertEquals(Map.of("kind", "conf", "com.docker.stack.namespace", "app"), s.configs().get(0).labels());
        assertArrayEquals("inline-bytes".getBytes(StandardCharsets.UTF_8), s.configs().get(1).data());
    }

    @Test
    void unsupportedComposeKeysAreWarnedInOneLine() throws Exception {
        Stack s = convert("""
                services:
                  web:
                    image: x
                    build: .
                    restart: always
                    container_name: web
                    privileged: true
                    ports: [{target: 80, host_ip: 127.0.0.1}]
                    deploy:
                      resources:
                        reservations:
                          devices: [{capabilities: [gpu]}]
                  db:
                    image: y
                    restart: always
                    depends_on: [web]
                networks:
                  default:
                    driver_opts: {a: b}
                """);
        assertEquals(List.of("Ignoring unsupported options: build, restart, container_name, privileged, ports.host_ip,"
                + " deploy.resources.reservations.devices, depends_on, networks.driver_opts"), s.warnings());
    }

    @Test
    void refusalsNameTheFileLineAndKey() {
        String svc = "services:\n  web:\n    image: x\n";
        assertEquals("app.yml:4: services.web.enviroment: unknown key \"enviroment\" (no compose version defines it; did you mean \"environment\"?)",
                refused(svc + "    enviroment: [A=1]\n"));
        assertEquals("app.yml:5: services.web.deploy.replica: unknown key \"replica\" (no compose version defines it; did you mean \"replicas\"?)",
                refused(svc + "    deploy:\n      replica: 2\n"));
        assertEquals("app.yml:1: servics: unknown key \"servics\" (no compose version defines it; did you mean \"services\"?)",
                refused("servics:\n  web:\n    image: x\n"));
        assertEquals("app.yml:4: services.web.user: empty value; leave the key out for its default",
                refused(svc + "    user: \"\"\n"));
        assertEquals("app.yml:4: services.web.hostname: empty value; leave the key out for its default",
                refused(svc + "    hostname: ' '\n"));
        assertEquals("app.yml:5: services.web.deploy.replicas: expected a whole number, got \"three\"",
                refused(svc + "    deploy:\n      replicas: three\n"));
        assertEquals("app.yml:5: services.web.deploy.replicas: \"-1\" is out of range: expected 0 to 1000000",
                refused(svc + "    deploy:\n      replicas: -1\n"));
        assertEquals("app.yml:4: services.web.read_only: expected true or false, got \"maybe\"", refused(svc + "    read_only: maybe\n"));
        assertEquals("app.yml:4: services.web.stop_grace_period: expected a duration such as 10s, 1m30s or 500ms, got \"soon\"",
                refused(svc + "    stop_grace_period: soon\n"));
        assertEquals("app.yml:4: services.web.ports: expected a list, got \"80\"", refused(svc + "    ports: 80\n"));
        assertEquals("app.yml:4: services.web.ports[0]: expected a port 1-65535 or a range such as 8000-8010, got \"99999\"",
                refused(svc + "    ports: [\"99999\"]\n"));
        assertEquals("app.yml:4: services.web.ports[0]: a host address in a port (\"127.0.0.1\") is not supported: published ports are"
                + " served on every address of every node (write PUBLISHED:TARGET)", refused(svc + "    ports: [\"127.0.0.1:80:80\"]\n"));
        assertEquals("app.yml:4: services.web.networks[0]: network \"nope\" is not declared in the file's top-level networks",
                refused(svc + "    networks: [nope]\n"));
        assertEquals("app.yml:4: services.web.volumes[0]: volume \"data\" is not declared in the file's top-level volumes",
                refused(svc + "    volumes: [\"data:/data\"]\n"));
        assertEquals("app.yml:4: services.web.secrets[0]: secret \"pw\" is not declared in the file's top-level secrets",
                refused(svc + "    secrets: [pw]\n"));
        assertTrue(refused(svc + "    secrets: [pw]\nsecrets:\n  pw:\n    file: ./missing\n")
                .matches("app.yml:7: secrets.pw.file: secret file \".*/missing\" cannot be read: it does not exist"));
        assertEquals("app.yml:5: services.web.deploy.replicas: replicas cannot be set for a global service",
                refused(svc + "    deploy:\n      replicas: 2\n      mode: global\n"));
        assertEquals("app.yml:2: services.web: service \"web\" has no image: build is not supported (stacks deploy images from a"
                + " registry; build and push it first)", refused("services:\n  web:\n    build: .\n"));
        assertEquals("app.yml:6: services.web.deploy.placement.constraints[0]: invalid constraint \"zone\": expected KEY==VALUE or KEY!=VALUE, e.g. node.labels.zone==a",
                refused(svc + "    deploy:\n      placement:\n        constraints: [zone]\n"));
        assertEquals("app.yml:4: services.web.command: unterminated single quote in \"echo 'hi\"", refused(svc + "    command: echo 'hi\n"));
        assertEquals("app.yml:6: networks.n.driver: network driver \"bridge\" is not supported: jswarm's networks are overlay networks",
                refused(svc + "networks:\n  n:\n    driver: bridge\n"));
        // What the managers' own validator refuses is refused here, before anything is sent.
        assertTrue(refused(svc + "    stop_signal: SIGFOO\n").startsWith("app.yml:2: services.web: "));
        assertTrue(refused(svc + "    deploy:\n      resources:\n        limits:\n          memory: 1k\n").startsWith("app.yml:2: services.web: "));
        assertEquals("stack name \"bad name\" is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit",
                assertThrows(ComposeException.class, () -> StackConverter.convert(
                        ComposeLoader.load(List.of(write(svc).toString()), Map.of(), System.in), "bad name", Map.of())).getMessage());
    }

    Path write(String yaml) throws Exception {
        Path f = dir.resolve("w.yml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void pidsLimitAtEitherPlace() throws Exception {
        assertEquals(7, convert("services:\n  web:\n    image: x\n    pids_limit: 7\n").services().get("web").getTask().getResources()
                .getLimits().getPids());
        assertEquals("app.yml:4: services.web.pids_limit: pids_limit and deploy.resources.limits.pids give different values (7, 9)",
                refused("services:\n  web:\n    image: x\n    pids_limit: 7\n    deploy: {resources: {limits: {pids: 9}}}\n"));
    }

    @Test
    void unsetDataSourcesAndConflictsAreRefused() {
        assertEquals("app.yml:7: secrets.pw.environment: variable \"PW\" for secret \"pw\" is not set",
                refused("services:\n  web:\n    image: x\n    secrets: [pw]\nsecrets:\n  pw:\n    environment: PW\n"));
        assertEquals("app.yml:5: secrets.pw: secret \"pw\" needs one of file, environment or external: true",
                refused("services:\n  web:\n    image: x\nsecrets:\n  pw:\n    labels: {a: b}\n"));
        assertEquals("app.yml:4: services.web.healthcheck: healthcheck.disable and healthcheck.test cannot be set together",
                refused("services:\n  web:\n    image: x\n    healthcheck:\n      disable: true\n      test: [\"CMD\", \"true\"]\n"));
    }
}
