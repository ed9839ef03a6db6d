package io.jswarm.manager.store;

import io.jswarm.api.Meta;
import io.jswarm.api.store.StoreObject;

/** Reads and rewrites the common parts (meta, name) of any stored object. */
public final class StoreObjects {
    private StoreObjects() {}

    public static Meta meta(StoreObject o) {
        return switch (o.getObjectCase()) {
            case NODE -> o.getNode().getMeta();
            case SERVICE -> o.getService().getMeta();
            case TASK -> o.getTask().getMeta();
            case NETWORK -> o.getNetwork().getMeta();
            case SECRET -> o.getSecret().getMeta();
            case CONFIG -> o.getConfig().getMeta();
            case CLUSTER -> o.getCluster().getMeta();
            case OBJECT_NOT_SET -> throw new IllegalArgumentException("store action without an object");
        };
    }

    public static String id(StoreObject o) {
        return meta(o).getId();
    }

    /** The unique name of kinds whose names are unique, else null. */
    public static String uniqueName(StoreObject o) {
        return switch (o.getObjectCase()) {
            case SERVICE -> o.getService().getSpec().getAnnotations().getName();
            case NETWORK -> o.getNetwork().getSpec().getAnnotations().getName();
            case SECRET -> o.getSecret().getSpec().getAnnotations().getName();
            case CONFIG -> o.getConfig().getSpec().getAnnotations().getName();
            default -> null;
        };
    }

    public static String kind(StoreObject o) {
        return o.getObjectCase().name().toLowerCase();
    }

    public static StoreObject withMeta(StoreObject o, Meta m) {
        return switch (o.getObjectCase()) {
            case NODE -> StoreObject.newBuilder().setNode(o.getNode().toBuilder().setMeta(m)).build();
            case SERVICE -> StoreObject.newBuilder().setService(o.getService().toBuilder().setMeta(m)).build();
            case TASK -> StoreObject.newBuilder().setTask(o.getTask().toBuilder().setMeta(m)).build();
            case NETWORK -> StoreObject.newBuilder().setNetwork(o.getNetwork().toBuilder().setMeta(m)).build();
            case SECRET -> StoreObject.newBuilder().setSecret(o.getSecret().toBuilder().setMeta(m)).build();
            case CONFIG -> StoreObject.newBuilder().setConfig(o.getConfig().toBuilder().setMeta(m)).build();
            case CLUSTER -> StoreObject.newBuilder().setCluster(o.getCluster().toBuilder().setMeta(m)).build();
            case OBJECT_NOT_SET -> throw new IllegalArgumentException("store action without an object");
        };
    }

    public static StoreObject of(io.jswarm.api.Node n) {
        return StoreObject.newBuilder().setNode(n).build();
    }

    public static StoreObject of(io.jswarm.api.Service s) {
        return StoreObject.newBuilder().setService(s).build();
    }

    public static StoreObject of(io.jswarm.api.Task t) {
        return StoreObject.newBuilder().setTask(t).build();
    }

    public static StoreObject of(io.jswarm.api.Network n) {
        return StoreObject.newBuilder().setNetwork(n).build();
    }

    public static StoreObject of(io.jswarm.api.Secret s) {
        return StoreObject.newBuilder().setSecret(s).build();
    }

    public static StoreObject of(io.jswarm.api.Config c) {
        return StoreObject.newBuilder().setConfig(c).build();
    }

    /** Whether the service's tasks use the secret or config with this id. */
    public static boolean usesFile(io.jswarm.api.Service s, String id) {
        var c = s.getSpec().getTask().getContainer();
        return c.getSecretsList().stream().anyMatch(r -> r.getSecretId().equals(id))
                || c.getConfigsList().stream().anyMatch(r -> r.getConfigId().equals(id));
    }

    public static StoreObject of(io.jswarm.api.Cluster c) {
        return StoreObject.newBuilder().setCluster(c).build();
    }
}
