package io.jswarm.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.jswarm.api.HealthConfig;
import java.util.ArrayList;
import java.util.List;

/** The parts of an image's config that decide how its containers run. */
public record ImageConfig(List<String> env, List<String> entrypoint, List<String> cmd, String workingDir, String user,
        HealthConfig healthcheck, String stopSignal) {

    static ImageConfig parse(JsonNode root) {
        JsonNode c = root.path("config");
        return new ImageConfig(strings(c.path("Env")), strings(c.path("Entrypoint")), strings(c.path("Cmd")),
                c.path("WorkingDir").asText(""), c.path("User").asText(""), health(c.path("Healthcheck")),
                c.path("StopSignal").asText(""));
    }

    /** Docker's HEALTHCHECK: durations in nanoseconds. */
    static HealthConfig health(JsonNode h) {
        HealthConfig.Builder b = HealthConfig.newBuilder().addAllTest(strings(h.path("Test")));
        if (h.path("Interval").asLong(0) > 0) {
            b.setInterval(nanos(h.path("Interval").asLong()));
        }
        if (h.path("Timeout").asLong(0) > 0) {
            b.setTimeout(nanos(h.path("Timeout").asLong()));
        }
        if (h.path("StartPeriod").asLong(0) > 0) {
            b.setStartPeriod(nanos(h.path("StartPeriod").asLong()));
        }
        b.setRetries(h.path("Retries").asInt(0));
        return b.build();
    }

    private static com.google.protobuf.Duration nanos(long n) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(n / 1_000_000_000L).setNanos((int) (n % 1_000_000_000L)).build();
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
