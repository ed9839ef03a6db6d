package io.jswarm.agent.image;

import java.util.regex.Pattern;

/**
 * An image reference parsed as Docker does: {@code [DOMAIN/]PATH[:TAG][@DIGEST]}. The
 * first component is a registry only if it has a '.' or ':' or is "localhost"; without
 * one the registry is Docker Hub and a one-component path gets the {@code library/}
 * prefix; without tag and digest the tag is "latest".
 */
public record ImageReference(String domain, String path, String tag, String digest) {
    public static final String DOCKER_HUB = "docker.io";
    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile("sha256:[a-f0-9]{64}");
    private static final Pattern DOMAIN = Pattern.compile("(?:[a-zA-Z0-9.-]+|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?");

    public static ImageReference parse(String ref) {
        String s = ref;
        String digest = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            digest = s.substring(at + 1);
            s = s.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw new IllegalArgumentException("invalid image reference \"" + ref + "\": bad digest \"" + digest + "\"");
            }
        }
        String domain = DOCKER_HUB;
        int slash = s.indexOf('/');
        if (slash > 0) {
            String first = s.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                if (!DOMAIN.matcher(first).matches()) {
                    throw new IllegalArgumentException("invalid image reference \"" + ref + "\": bad registry \"" + first + "\"");
                }
                domain = first;
                s = s.substring(slash + 1);
            }
        }
        String tag = null;
        int colon = s.lastIndexOf(':');
        if (colon >= 0) {
            tag = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw new IllegalArgumentException("invalid image reference \"" + ref + "\": bad tag \"" + tag + "\"");
            }
        }
        if (s.isEmpty()) {
            throw new IllegalArgumentException("invalid image reference \"" + ref + "\": no repository");
        }
        for (String c : s.split("/", -1)) {
            if (!COMPONENT.matcher(c).matches()) {
                throw new IllegalArgumentException("invalid image reference \"" + ref + "\": bad repository name \"" + s
                        + "\" (lowercase letters, digits and separators)");
            }
        }
        if (domain.equals(DOCKER_HUB) && !s.contains("/")) {
            s = "library/" + s;
        }
        if (tag == null && digest == null) {
            tag = "latest";
        }
        return new ImageReference(domain, s, tag, digest);
    }

    /** What to ask the registry for: the digest when pinned, else the tag. */
    public String reference() {
        return digest != null ? digest : tag;
    }

    public ImageReference withDigest(String d) {
        return new ImageReference(domain, path, tag, d);
    }

    /** The familiar form: domain/path[:tag][@digest]. */
    @Override
    public String toString() {
        return domain + "/" + path + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
