package io.jswarm.cli.stack;

import io.jswarm.manager.control.Quote;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which keys a compose file may hold, and what jswarm does with each: supported (converted
 * by {@link StackConverter}), defined by compose but not supported (the deploy goes on with
 * one warning listing them, as {@code docker stack deploy} does), or unknown to every compose
 * version (a typo: refused with its line, nothing deployed). {@code x-} keys are extension
 * fields: ignored. {@code *} stands for a name the user chose (a service, a network);
 * {@code {}} marks a mapping of free keys (labels, environment).
 */
final class ComposeSchema {
    /** Converted. */
    private static final String SUPPORTED = """
            version name
            services services.*
            services.*.image services.*.command services.*.entrypoint services.*.environment{} services.*.env_file
            services.*.env_file[] services.*.env_file[].path services.*.env_file[].required
            services.*.labels{} services.*.user services.*.working_dir services.*.hostname services.*.stop_grace_period
            services.*.stop_signal services.*.read_only services.*.tmpfs services.*.pids_limit
            services.*.deploy services.*.deploy.mode services.*.deploy.replicas services.*.deploy.labels{}
            services.*.deploy.endpoint_mode
            services.*.deploy.placement services.*.deploy.placement.constraints services.*.deploy.placement.preferences
            services.*.deploy.placement.preferences[] services.*.deploy.placement.preferences[].spread
            services.*.deploy.placement.max_replicas_per_node
            services.*.deploy.resources services.*.deploy.resources.limits services.*.deploy.resources.limits.cpus
            services.*.deploy.resources.limits.memory services.*.deploy.resources.limits.pids
            services.*.deploy.resources.reservations services.*.deploy.resources.reservations.cpus
            services.*.deploy.resources.reservations.memory
            services.*.deploy.restart_policy services.*.deploy.restart_policy.condition services.*.deploy.restart_policy.delay
            services.*.deploy.restart_policy.max_attempts services.*.deploy.restart_policy.window
            services.*.deploy.update_config services.*.deploy.update_config.parallelism services.*.deploy.update_config.delay
            services.*.deploy.update_config.failure_action services.*.deploy.update_config.monitor
            services.*.deploy.update_config.max_failure_ratio services.*.deploy.update_config.order
            services.*.deploy.rollback_config services.*.deploy.rollback_config.parallelism services.*.deploy.rollback_config.delay
            services.*.deploy.rollback_config.failure_action services.*.deploy.rollback_config.monitor
            services.*.deploy.rollback_config.max_failure_ratio services.*.deploy.rollback_config.order
            services.*.healthcheck services.*.healthcheck.test services.*.healthcheck.interval services.*.healthcheck.timeout
            services.*.healthcheck.retries services.*.healthcheck.start_period services.*.healthcheck.disable
            services.*.ports services.*.ports[] services.*.ports[].target services.*.ports[].published
            services.*.ports[].protocol services.*.ports[].mode
            services.*.networks services.*.networks.* services.*.networks.*.aliases
            services.*.volumes services.*.volumes[] services.*.volumes[].type services.*.volumes[].source
            services.*.volumes[].target services.*.volumes[].read_only services.*.volumes[].tmpfs services.*.volumes[].tmpfs.size
            services.*.secrets services.*.secrets[] services.*.secrets[].source services.*.secrets[].target
            services.*.secrets[].uid services.*.secrets[].gid services.*.secrets[].mode
            services.*.configs services.*.configs[] services.*.configs[].source services.*.configs[].target
            services.*.configs[].uid services.*.configs[].gid services.*.configs[].mode
            networks networks.* networks.*.driver networks.*.attachable networks.*.internal networks.*.labels{}
            networks.*.external networks.*.external.name networks.*.name
            networks.*.ipam networks.*.ipam.config networks.*.ipam.config[] networks.*.ipam.config[].subnet
            networks.*.ipam.config[].gateway
            volumes volumes.* volumes.*.driver volumes.*.external volumes.*.external.name volumes.*.name
            secrets secrets.* secrets.*.file secrets.*.external secrets.*.external.name secrets.*.name secrets.*.labels{}
            secrets.*.environment
            configs configs.* configs.*.file configs.*.external configs.*.external.name configs.*.name configs.*.labels{}
            configs.*.content configs.*.environment
            """;

    /** Defined by the compose file format or specification, not supported by jswarm: warned, then ignored. */
    private static final String WARNED = """
            include models
            services.*.annotations services.*.attach services.*.blkio_config services.*.build services.*.cap_add
            services.*.cap_drop services.*.cgroup services.*.cgroup_parent services.*.container_name services.*.cpu_count
            services.*.cpu_percent services.*.cpu_period services.*.cpu_quota services.*.cpu_rt_period
            services.*.cpu_rt_runtime services.*.cpu_shares services.*.cpus services.*.cpuset services.*.credential_spec
            services.*.depends_on services.*.develop services.*.device_cgroup_rules services.*.devices services.*.dns
            services.*.dns_opt services.*.dns_search services.*.domainname services.*.driver_opts services.*.expose
            services.*.extends services.*.external_links services.*.extra_hosts services.*.gpus services.*.group_add
            services.*.init services.*.ipc services.*.isolation services.*.label_file services.*.links services.*.logging
            services.*.mac_address services.*.mem_limit services.*.mem_reservation services.*.mem_swappiness
            services.*.memswap_limit services.*.network_mode services.*.oom_kill_disable services.*.oom_score_adj
            services.*.pid services.*.platform services.*.post_start services.*.pre_stop services.*.privileged
            services.*.profiles services.*.provider services.*.pull_policy services.*.restart services.*.runtime
            services.*.scale services.*.security_opt services.*.shm_size services.*.stdin_open services.*.storage_opt
            services.*.sysctls services.*.tty services.*.ulimits services.*.use_api_socket services.*.userns_mode
            services.*.uts services.*.volumes_from services.*.models services.*.healthcheck.start_interval
            services.*.env_file[].format
            services.*.deploy.resources.reservations.generic_resources services.*.deploy.resources.reservations.devices
            services.*.ports[].host_ip services.*.ports[].name services.*.ports[].app_protocol
            services.*.networks.*.ipv4_address services.*.networks.*.ipv6_address services.*.networks.*.link_local_ips
            services.*.networks.*.priority services.*.networks.*.gw_priority services.*.networks.*.driver_opts
            services.*.networks.*.mac_address services.*.networks.*.interface_name
            services.*.volumes[].bind services.*.volumes[].volume services.*.volumes[].consistency
            services.*.volumes[].tmpfs.mode services.*.volumes[].image
            networks.*.driver_opts networks.*.enable_ipv6 networks.*.enable_ipv4 networks.*.ipam.driver
            networks.*.ipam.options networks.*.ipam.config[].ip_range networks.*.ipam.config[].aux_addresses
            volumes.*.driver_opts volumes.*.labels
            secrets.*.driver secrets.*.driver_opts secrets.*.template_driver configs.*.template_driver
            """;

    private static final Set<String> SUPPORTED_KEYS = words(SUPPORTED);
    private static final Set<String> WARNED_KEYS = words(WARNED);

    private ComposeSchema() {}

    private static Set<String> words(String text) {
        return new HashSet<>(List.of(text.trim().split("\\s+")));
    }

    /**
     * Checks every key of the tree; returns the keys to warn about (as Docker names them:
     * a service's key without the service, "build", "deploy.resources.reservations.devices"),
     * in the order first seen. An unknown key is refused.
     */
    static Set<String> check(ComposeNode root) {
        Set<String> warned = new LinkedHashSet<>();
        walk(root, "", warned);
        return warned;
    }

    private static void walk(ComposeNode n, String pattern, Set<String> warned) {
        if (n.isList()) {
            if (SUPPORTED_KEYS.contains(pattern + "[]")) {
                for (ComposeNode item : n.items()) {
                    walk(item, pattern + "[]", warned);
                }
            }
            return;
        }
        if (!n.isMap()) {
            return;
        }
        for (var e : n.entries().entrySet()) {
            String key = e.getKey();
            if (key.startsWith("x-")) {
                continue;
            }
            String named = pattern.isEmpty() ? key : pattern + "." + key;
            String any = pattern.isEmpty() ? "*" : pattern + ".*";
            String p = SUPPORTED_KEYS.contains(any) || SUPPORTED_KEYS.contains(any + "{}") ? any : named;
            if (SUPPORTED_KEYS.contains(p + "{}")) {
                continue;  // free keys (labels, environment): values are checked by the converter
            }
            if (SUPPORTED_KEYS.contains(p)) {
                walk(e.getValue(), p, warned);
            } else if (WARNED_KEYS.contains(p)) {
                warned.add(p.startsWith("services.*.") ? p.substring("services.*.".length()).replace("[]", "") : p.replace(".*", ""));
            } else {
                throw e.getValue().error("unknown key " + Quote.of(key) + suggestion(p));
            }
        }
    }

    /** "did you mean ...?" for a key one or two letters from a known one at the same place. */
    private static String suggestion(String pattern) {
        int dot = pattern.lastIndexOf('.');
        String parent = dot < 0 ? "" : pattern.substring(0, dot + 1);
        String key = pattern.substring(dot + 1);
        String best = null;
        int bestDistance = 3;
        for (Set<String> keys : List.of(SUPPORTED_KEYS, WARNED_KEYS)) {
            for (String k : keys) {
                String bare = k.endsWith("{}") ? k.substring(0, k.length() - 2) : k;
                if (bare.startsWith(parent) && bare.indexOf('.', parent.length()) < 0 && !bare.endsWith("[]")) {
                    int d = distance(key, bare.substring(parent.length()));
                    if (d < bestDistance) {
                        bestDistance = d;
                        best = bare.substring(parent.length());
                    }
                }
            }
        }
        return best == null ? " (no compose version defines it)" : " (no compose version defines it; did you mean " + Quote.of(best) + "?)";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
