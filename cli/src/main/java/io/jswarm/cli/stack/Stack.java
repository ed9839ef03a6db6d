package io.jswarm.cli.stack;

import io.jswarm.api.NetworkSpec;
import io.jswarm.api.ServiceSpec;
import java.util.List;
import java.util.Map;

/**
 * What a stack file asks for, converted to jswarm's objects and named for the stack
 * ({@code STACK_NAME}): the networks its services use, its secrets and configs, its
 * services in file order, and the warnings for what it holds that jswarm ignores.
 */
public record Stack(String name, List<Network> networks, List<FileObject> secrets, List<FileObject> configs,
        Map<String, ServiceSpec> services, List<String> warnings) {

    /** Docker's label on every object of a stack; tools that know Docker's stacks read it. */
    public static final String NAMESPACE_LABEL = "com.docker.stack.namespace";

    /** A network: made by the stack (spec to create), or external (must exist, never removed). */
    public record Network(String name, boolean external, NetworkSpec spec) {}

    /** A secret or config: its data (read from its file, content or variable) or, external, only its name. */
    public record FileObject(String name, boolean external, byte[] data, Map<String, String> labels) {}
}
