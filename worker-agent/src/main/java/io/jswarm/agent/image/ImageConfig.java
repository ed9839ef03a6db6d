package io.jswarm.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The parts of an image's config that decide how its containers run. */
public record ImageConfig(List<String> env, List<String> entrypoint, List<String> cmd, String workingDir, String user,
        List<String> healthcheck, String stopSignal) {

    static ImageConfig parse(JsonNode root) {
        JsonNode c = root.path("config");
        return new ImageConfig(strings(c.path("Env")), strings(c.path("Entrypoint")), strings(c.path("Cmd")),
                c.path("WorkingDir").asText(""), c.path("User").asText(""), strings(c.path("Healthcheck").path("Test")),
                c.path("StopSignal").asText(""));
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode x : n) {
                out.add(x.asText());
            }
        }
        return out;
    }
}
