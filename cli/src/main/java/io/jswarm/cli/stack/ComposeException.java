package io.jswarm.cli.stack;

/** A compose file that cannot be deployed: one line naming the file, the line and the key. Nothing was changed. */
public final class ComposeException extends IllegalArgumentException {
    public ComposeException(String message) {
        super(message);
    }
}
