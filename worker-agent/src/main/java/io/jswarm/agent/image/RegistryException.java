package io.jswarm.agent.image;

import java.io.IOException;

/** The registry refused, or sent something unusable; the message is shown to users. */
public class RegistryException extends IOException {
    public RegistryException(String message) {
        super(message);
    }
}
