package io.jswarm.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading compose files: YAML with its lines, anchors and merge keys, interpolation, .env, several files merged. */
class ComposeLoaderTest {
    @TempDir Path dir;

    ComposeLoader.Loaded load(Map<String, String> env, String... texts) throws Exception {
        List<String> files = new java.util.ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            Path p = dir.resolve("f" + i + ".yml");
            Files.writeString(p, texts[i]);
            files.add(p.toString());
        }
        return ComposeLoader.load(files, env, new ByteArrayInputStream(new byte[0]));
    }

    String image(ComposeLoader.Loaded l, String service) {
        return l.root().get("services").get(service).get("image").string();
    }

    ComposeException refused(Map<String, String> env, String... texts) {
        return assertThrows(ComposeException.class, () -> load(env, texts));
    }

    @Test
    void interpolationInAllItsForms() throws Exception {
        Map<String, String> env = Map.of("SET", "s", "EMPTY", "");
        String[][] cases = {
            {"$SET", "s"}, {"${SET}", "s"}, {"a${SET}b", "asb"}, {"$$SET", "$SET"}, {"$${SET}", "${SET}"},
            {"${UNSET:-d}", "d"}, {"${EMPTY:-d}", "d"}, {"${EMPTY-d}", ""}, {"${UNSET-d}", "d"}, {"${SET:-d}", "s"},
            {"${UNSET:-${SET}x}", "sx"}, {"${SET:+alt}", "alt"}, {"${UNSET:+alt}", ""}, {"${EMPTY+alt}", "alt"},
            {"${SET:?msg}", "s"}, {"${EMPTY?msg}", ""}, {"price: $$5", "price: $5"},
        };
        for (String[] c : cases) {
            var l = load(env, "services:\n  web:\n    image: \"" + c[0] + "\"\n");
            assertEquals(c[1], image(l, "web"), c[0]);
        }
    }

    @Test
    void anUnsetVariableBecomesEmptyWithOneWarning() throws Exception {
        var l = load(Map.of(), "services:\n  web:\n    image: reg/app:${TAG}\n    hostname: ${TAG}\n");
        assertEquals("reg/app:", image(l, "web"));
        assertEquals(List.of("The TAG variable is not set. Defaulting to a blank string."), l.warnings());
    }

    @Test
    void requiredVariablesAndBadFormatsAreRefusedWithTheirLine() {
        assertEquals(dir.resolve("f0.yml") + ":3: services.web.image: required variable IMG is missing a value: give IMG",
                refused(Map.of(), "services:\n  web:\n    image: ${IMG:?give IMG}\n").getMessage());
        assertTrue(refused(Map.of("IMG", ""), "services:\n  web:\n    image: ${IMG:?}\n").getMessage()
                .endsWith(":3: services.web.image: required variable IMG is empty"));
        for (String bad : List.of("${", "${1A}", "$ x", "${A:}", "${A!x}", "${A")) {
            assertTrue(refused(Map.of(), "services:\n  web:\n    image: \"" + bad + "\"\n").getMessage()
                    .contains(":3: services.web.image: invalid interpolation format"), bad);
        }
    }

    @Test
    void dotEnvBesideTheFirstFileAndTheEnvironmentWins() throws Exception {
        Files.writeString(dir.resolve(".env"), "# comment\nexport REG=from-dotenv:5000\nTAG='1.0'\nQUOTED=\"a b\" \nX=y # note\n");
        var l = load(Map.of("TAG", "2.0"), "services:\n  web:\n    image: $REG/app:$TAG\n    hostname: \"${QUOTED}-${X}\"\n");
        assertEquals("from-dotenv:5000/app:2.0", image(l, "web"));
        assertEquals("a b-y", l.root().get("services").get("web").get("hostname").string());
    }

    @Test
    void anchorsAliasesAndMergeKeysKeepTheirLinesAndExtensionsAreIgnored() throws Exception {
        var l = load(Map.of(), """
                x-common: &common
                  image: reg/app:1
                  deploy:
                    replicas: 2
                x-env: &env
                  A: "1"
                services:
                  web:
                    <<: *common
                    environment: *env
                  api:
                    <<: [*common]
                    image: reg/api:1
                """);
        var web = l.root().get("services").get("web");
        assertEquals("reg/app:1", web.get("image").string());
        assertEquals(2, web.get("deploy").get("replicas").integer(0, 10));
        assertEquals("services.web.deploy.replicas", web.get("deploy").get("replicas").path, "a merged value is named where it lands");
        assertEquals(4, web.get("deploy").get("replicas").line, "and keeps the line it was written on");
        assertEquals("1", web.get("environment").get("A").string());
        assertEquals("reg/api:1", image(l, "api"), "a key written beside the merge wins");
        assertTrue(ComposeSchema.check(l.root()).isEmpty(), "x- keys are not warned about");
    }

    @Test
    void severalFilesMergeAsComposeMergesThem() throws Exception {
        var l = load(Map.of(), """
                version: "3.8"
                services:
                  web:
                    image: reg/web:1
                    command: ["a", "b"]
                    environment: [A=1, B=2]
                    ports: ["80:80"]
                    deploy: {replicas: 1, labels: {x: "1"}}
                """, """
                services:
                  web:
                    image: reg/web:2
                    command: ["c"]
                    environment: {B: "3", C: "4"}
                    ports: ["443:443"]
                    deploy: {replicas: 3}
                  db:
                    image: reg/db:1
                """);
        var web = l.root().get("services").get("web");
        assertEquals("reg/web:2", web.get("image").string());
        assertEquals(List.of("c"), web.get("command").strings(), "lists like command are replaced");
        var env = web.get("environment").entries();
        assertEquals("1", env.get("A").string());
        assertEquals("3", env.get("B").string());
        assertEquals("4", env.get("C").string());
        assertEquals(List.of("80:80", "443:443"), web.get("ports").strings(), "ports are added to");
        assertEquals(3, web.get("deploy").get("replicas").integer(0, 9));
        assertEquals("1", web.get("deploy").get("labels").get("x").string(), "mappings merge key by key");
        assertEquals("reg/db:1", image(l, "db"));
        assertTrue(web.get("image").file.endsWith("f1.yml"), "a value names the file it came from");
    }

    @Test
    void standardInput() throws Exception {
        var l = ComposeLoader.load(List.of("-"), Map.of(), new ByteArrayInputStream(
                "services:\n  web:\n    image: reg/web:1\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("reg/web:1", image(l, "web"));
        assertEquals("(stdin)", l.root().file);
    }

    @Test
    void versionsDuplicatesAndBrokenYamlAreRefused() {
        for (String ok : List.of("3", "3.0", "3.9")) {
            org.junit.jupiter.api.Assertions.assertDoesNotThrow(() -> load(Map.of(), "version: \"" + ok + "\"\nservices:\n  web:\n    image: x\n"));
        }
        assertTrue(refused(Map.of(), "version: \"2.4\"\nservices: {}\n").getMessage()
                .endsWith(":1: version: unsupported compose file version \"2.4\": jswarm reads versions 3 to 3.9, and files without a version (the compose specification)"));
        assertTrue(refused(Map.of(), "services:\n  web:\n    image: x\n    image: y\n").getMessage()
                .endsWith(":4: services.web.image: duplicate key (first at line 3)"));
        assertTrue(refused(Map.of(), "services:\n  web:\n    image: x\n   bad: [\n").getMessage().contains("f0.yml:4: invalid YAML"));
        assertTrue(refused(Map.of(), "").getMessage().endsWith(": the file is empty: a compose file needs at least services"));
        assertTrue(refused(Map.of(), "- a\n- b\n").getMessage().endsWith(":1: a compose file is a mapping (services:, networks:, ...)"));
        assertTrue(refused(Map.of(), "services: &a\n  web: *a\n").getMessage().contains("nested too deeply (a recursive alias?)"));
        assertEquals("compose file \"" + dir.resolve("nope.yml") + "\" does not exist", assertThrows(ComposeException.class,
                () -> ComposeLoader.load(List.of(dir.resolve("nope.yml").toString()), Map.of(), System.in)).getMessage());
    }

    @Test
    void stackConfigPrintsTheMergedInterpolatedFile() throws Exception {
        var l = load(Map.of("TAG", "7"), "services:\n  web:\n    image: reg/web:${TAG}\n    ports: [\"8080:80\"]\n");
        assertEquals("services:\n  web:\n    image: reg/web:7\n    ports:\n    - 8080:80\n", ComposeLoader.print(l.root()));
    }
}
