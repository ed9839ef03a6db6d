package io.jswarm.agent.image;

import java.io.IOException;

/** The registry refused, or sent something unusable; the message is shown to users. */
public class RegistryException extends IOException {
    private final boolean notFound;

    public RegistryException(String message) {
        this(message, false);
    }

    private RegistryException(String message, boolean notFound) {
        super(message);
        this.notFound = notFound;
    }

    /** The registry does not know the image (a 404 for its manifest), as opposed to failing. */
    public static RegistryException notFound(String message) {
        return new RegistryException(message, true);
    }

    public boolean notFound() {
        return notFound;
    }
}
