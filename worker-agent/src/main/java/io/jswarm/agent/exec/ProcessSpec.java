package io.jswarm.agent.exec;

import io.jswarm.agent.image.ImageConfig;
import io.jswarm.api.ContainerSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the container's process runs, merged from the image and the service as Docker
 * merges them: the service's command replaces the image's entrypoint (and drops the
 * image's cmd); the service's args replace the image's cmd; env is the image's, then the
 * service's, by key.
 */
public record ProcessSpec(List<String> args, List<String> env, String cwd, String user) {
    static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static ProcessSpec of(ContainerSpec c, ImageConfig image, String hostname) {
        List<String> args = new ArrayList<>();
        if (!c.getCommandList().isEmpty()) {
            args.addAll(c.getCommandList());
            args.addAll(c.getArgsList());
        } else {
            args.addAll(image.entrypoint());
            args.addAll(!c.getArgsList().isEmpty() ? c.getArgsList() : image.cmd());
        }
        if (args.isEmpty()) {
            throw new IllegalArgumentException("no command: the image has no entrypoint or cmd and the service gives none");
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", DEFAULT_PATH.substring(5));
        for (String e : image.env()) {
            put(env, e);
        }
        env.put("HOSTNAME", hostname);
        for (String e : c.getEnvList()) {
            put(env, e);
        }
        List<String> envList = new ArrayList<>();
        env.forEach((k, v) -> envList.add(v == null ? k : k + "=" + v));
        String cwd = !c.getDir().isEmpty() ? c.getDir() : !image.workingDir().isEmpty() ? image.workingDir() : "/";
        String user = !c.getUser().isEmpty() ? c.getUser() : image.user();
        return new ProcessSpec(args, envList, cwd, user);
    }

    private static void put(Map<String, String> env, String e) {
        int eq = e.indexOf('=');
        if (eq < 0) {
            env.put(e, null);
        } else {
            env.put(e.substring(0, eq), e.substring(eq + 1));
        }
    }
}
