package io.jswarm.agent.image;

import java.nio.file.Path;
import java.util.List;

/** A pulled image: the manifest digest it was pulled by, its config, its unpacked layers bottom first. */
public record Image(String reference, String digest, ImageConfig config, List<Path> layers) {}
