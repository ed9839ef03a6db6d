package io.jswarm.manager.control;

import com.google.protobuf.ByteString;
import io.jswarm.api.Cluster;
import io.jswarm.api.Config;
import io.jswarm.api.ConfigReference;
import io.jswarm.api.ConfigSpec;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.Meta;
import io.jswarm.api.Secret;
import io.jswarm.api.SecretReference;
import io.jswarm.api.SecretSpec;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreBatch;
import io.jswarm.api.store.StoreObject;
import io.jswarm.api.store.StoreObject.ObjectCase;
import io.jswarm.manager.Ids;
import io.jswarm.manager.raft.RaftNode;
import io.jswarm.tls.SecretSeal;
import io.jswarm.manager.store.MemoryStore;
import io.jswarm.manager.store.StoreObjects;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Secrets and configs as the Control API serves them: immutable objects, a secret's data
 * sealed before it reaches the Raft log and never returned; services name them, and the
 * managers resolve the names to ids and fill in the file defaults.
 */
public final class SecretsAndConfigs {
    /** Docker's limit on the data of one secret or config. */
    public static final int MAX_DATA = 500 * 1024;
    public static final int DEFAULT_MODE = 0444;

    private final MemoryStore store;
    private final RaftNode raft;

    private final io.jswarm.manager.secrets.DataKey keys;

    public SecretsAndConfigs(MemoryStore store, RaftNode raft, io.jswarm.manager.secrets.DataKey keys) {
        this.keys = keys;
        this.store = store;
        this.raft = raft;
    }

    private static Meta newMeta() {
        long now = System.currentTimeMillis();
        return Meta.newBuilder().setId(Ids.newId()).setCreatedAtMs(now).setUpdatedAtMs(now).build();
    }

    private void create(StoreObject o) {
        raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.CREATE).setObject(o)).build());
    }

    private static void validate(String kind, io.jswarm.api.Annotations a, ByteString data) {
        SpecValidator.validateName(kind, a.getName());
        SpecValidator.validateLabels(kind + " label", a.getLabelsMap());
        if (data.isEmpty()) {
            throw GrpcErrors.invalid(kind + " " + Quote.of(a.getName()) + " has no data");
        }
        if (data.size() > MAX_DATA) {
            throw GrpcErrors.invalid(kind + " " + Quote.of(a.getName()) + " is " + data.size() + " bytes: the limit is "
                    + MAX_DATA + " bytes (500 KB)");
        }
    }

    private void checkNameFree(ObjectCase kind, String name) {
        if (store.byName(kind, name) != null) {
            throw new io.jswarm.manager.store.StoreException(io.jswarm.api.store.StoreResult.Code.ALREADY_EXISTS,
                    kind.name().toLowerCase() + " name " + Quote.of(name) + " is already in use");
        }
    }

    /**
     * The cluster's data key. A cluster made before secrets existed gets one here, written
     * once through Raft (a concurrent writer's key wins; this one re-reads it).
     */
    byte[] dataKey() {
        for (int attempt = 0; ; attempt++) {
            Cluster c = store.cluster();
            if (c == null) {
                throw GrpcErrors.precondition("the cluster is not initialized yet");
            }
            if (!c.getDataKey().isEmpty() || !c.getDataKeyLocked().isEmpty()) {
                try {
                    return keys.of(c);
                } catch (IllegalStateException e) {
                    throw GrpcErrors.precondition(e.getMessage());
                }
            }
            Cluster next = c.toBuilder().setDataKey(ByteString.copyFrom(SecretSeal.newKey())).build();
            try {
                raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE)
                        .setObject(StoreObjects.of(next))).build());
            } catch (io.jswarm.manager.store.StoreException e) {
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
    }

    /** What the API may show of a secret: its metadata. */
    public static Secret withoutData(Secret s) {
        Secret.Builder b = s.toBuilder().clearSealedData().clearDataMac();
        b.getSpecBuilder().clearData();
        return b.build();
    }

    /** A secret as created, or (reuse) the one that already held this name, data and labels. */
    public record Created<T>(T object, boolean existed) {}

    public Created<Secret> createSecret(SecretSpec spec, boolean reuseIdentical) {
        validate("secret", spec.getAnnotations(), spec.getData());
        byte[] key = dataKey();
        if (reuseIdentical) {
            StoreObject o = store.byName(ObjectCase.SECRET, spec.getAnnotations().getName());
            if (o != null) {
                // Compared by the fingerprint under the data key: the stored data is never opened for this.
                boolean same = o.getSecret().getDataMac().equals(ByteString.copyFrom(SecretSeal.fingerprint(key, spec.getData().toByteArray())));
                return new Created<>(withoutData(reused("secret", o.getSecret().getSpec().getAnnotations(), spec.getAnnotations(), same,
                        o.getSecret())), true);
            }
        }
        checkNameFree(ObjectCase.SECRET, spec.getAnnotations().getName());
        Meta meta = newMeta();
        byte[] data = spec.getData().toByteArray();
        Secret s = Secret.newBuilder().setMeta(meta).setSpec(spec.toBuilder().clearData())
                .setSealedData(ByteString.copyFrom(SecretSeal.seal(key, meta.getId(), data)))
                .setSize(data.length).setDataMac(ByteString.copyFrom(SecretSeal.fingerprint(key, data))).build();
        create(StoreObjects.of(s));
        return new Created<>(withoutData(store.secret(meta.getId())), false);
    }

    /** The object that holds the name already, if it is what was asked for; else why it cannot be changed. */
    private static <T> T reused(String kind, io.jswarm.api.Annotations had, io.jswarm.api.Annotations asked, boolean sameData, T existing) {
        if (!sameData) {
            throw GrpcErrors.precondition(kind + " " + Quote.of(had.getName()) + " exists with other data, and " + kind
                    + "s cannot be changed: give the new version another name (and remove the old one once no service uses it)");
        }
        if (!had.getLabelsMap().equals(asked.getLabelsMap())) {
            throw GrpcErrors.precondition(kind + " " + Quote.of(had.getName()) + " exists with other labels, and " + kind
                    + "s cannot be changed");
        }
        return existing;
    }

    public Created<Config> createConfig(ConfigSpec spec, boolean reuseIdentical) {
        validate("config", spec.getAnnotations(), spec.getData());
        if (reuseIdentical) {
            StoreObject o = store.byName(ObjectCase.CONFIG, spec.getAnnotations().getName());
            if (o != null) {
                return new Created<>(reused("config", o.getConfig().getSpec().getAnnotations(), spec.getAnnotations(),
                        o.getConfig().getSpec().getData().equals(spec.getData()), o.getConfig()), true);
            }
        }
        checkNameFree(ObjectCase.CONFIG, spec.getAnnotations().getName());
        Meta meta = newMeta();
        create(StoreObjects.of(Config.newBuilder().setMeta(meta).setSpec(spec).build()));
        return new Created<>(store.config(meta.getId()), false);
    }

    /** The data of a secret, for the dispatcher only (to a node whose task uses it). */
    public static byte[] open(byte[] dataKey, Secret s) {
        return SecretSeal.open(dataKey, s.getMeta().getId(), s.getSealedData().toByteArray());
    }

    // ------------------------------------------------------------------ lookups

    public Secret secret(String ref) {
        return References.find("secret", ref, store::secret, n -> {
            StoreObject o = store.byName(ObjectCase.SECRET, n);
            return o == null ? null : o.getSecret();
        }, store.secrets(), s -> s.getMeta().getId());
    }

    public Config config(String ref) {
        return References.find("config", ref, store::config, n -> {
            StoreObject o = store.byName(ObjectCase.CONFIG, n);
            return o == null ? null : o.getConfig();
        }, store.configs(), c -> c.getMeta().getId());
    }

    /** Names of the services whose tasks use this secret or config. */
    public List<String> users(String id) {
        List<String> out = new ArrayList<>();
        for (Service s : store.services()) {
            if (StoreObjects.usesFile(s, id)) {
                out.add(s.getSpec().getAnnotations().getName());
            }
        }
        return out;
    }

    public void removeSecret(String ref) {
        Secret s = secret(ref);
        remove("secret", s.getSpec().getAnnotations().getName(), s.getMeta().getId(), StoreObjects.of(s));
    }

    public void removeConfig(String ref) {
        Config c = config(ref);
        remove("config", c.getSpec().getAnnotations().getName(), c.getMeta().getId(), StoreObjects.of(c));
    }

    /** New labels for a secret or config, the only thing of them that may change; at the version read. */
    public void updateLabels(ObjectCase kind, String ref, long version, java.util.Map<String, String> labels) {
        String what = kind == ObjectCase.SECRET ? "secret" : "config";
        SpecValidator.validateLabels(what + " label", labels);
        if (version == 0) {
            throw GrpcErrors.invalid("give the version of the " + what + " as read");
        }
        long now = System.currentTimeMillis();
        StoreObject updated;
        if (kind == ObjectCase.SECRET) {
            Secret cur = secret(ref);
            Secret.Builder b = cur.toBuilder().setMeta(cur.getMeta().toBuilder().setVersion(version).setUpdatedAtMs(now));
            b.getSpecBuilder().getAnnotationsBuilder().clearLabels().putAllLabels(labels);
            updated = StoreObjects.of(b.build());
        } else {
            Config cur = config(ref);
            Config.Builder b = cur.toBuilder().setMeta(cur.getMeta().toBuilder().setVersion(version).setUpdatedAtMs(now));
            b.getSpecBuilder().getAnnotationsBuilder().clearLabels().putAllLabels(labels);
            updated = StoreObjects.of(b.build());
        }
        // The store refuses the write if the object changed since the version read.
        raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.UPDATE)
                .setObject(updated)).build());
    }

    private void remove(String kind, String name, String id, StoreObject o) {
        List<String> users = users(id);
        if (!users.isEmpty()) {
            throw GrpcErrors.precondition(kind + " " + Quote.of(name) + " is in use by service" + (users.size() > 1 ? "s " : " ")
                    + String.join(", ", users));
        }
        raft.propose(StoreBatch.newBuilder().addActions(StoreAction.newBuilder().setKind(StoreAction.Kind.REMOVE).setObject(o)).build());
    }

    // ------------------------------------------------------------------ services

    /**
     * Resolves the service's secret and config references (names or ids) to ids, fills in
     * target, owner and mode defaults, and refuses two files at one path.
     */
    public ServiceSpec resolve(ServiceSpec spec) {
        ContainerSpec c = spec.getTask().getContainer();
        if (c.getSecretsCount() == 0 && c.getConfigsCount() == 0) {
            return spec;
        }
        ServiceSpec.Builder b = spec.toBuilder();
        ContainerSpec.Builder cb = b.getTaskBuilder().getContainerBuilder().clearSecrets().clearConfigs();
        Set<String> targets = new HashSet<>();
        for (SecretReference r : c.getSecretsList()) {
            Secret s = secret(r.getSecretName().isEmpty() ? r.getSecretId() : r.getSecretName());
            String name = s.getSpec().getAnnotations().getName();
            String target = r.getTarget().isEmpty() ? name : r.getTarget();
            target = target.startsWith("/") ? target : "/run/secrets/" + target;
            checkFile("secret", name, target, r.hasMode() ? r.getMode() : DEFAULT_MODE, targets);
            cb.addSecrets(r.toBuilder().setSecretId(s.getMeta().getId()).setSecretName(name).setTarget(target)
                    .setMode(r.hasMode() ? r.getMode() : DEFAULT_MODE));
        }
        for (ConfigReference r : c.getConfigsList()) {
            Config cfg = config(r.getConfigName().isEmpty() ? r.getConfigId() : r.getConfigName());
            String name = cfg.getSpec().getAnnotations().getName();
            String target = r.getTarget().isEmpty() ? "/" + name : r.getTarget();
            if (!target.startsWith("/")) {
                throw GrpcErrors.invalid("config " + Quote.of(name) + ": target " + Quote.of(target) + " must be an absolute path");
            }
            checkFile("config", name, target, r.hasMode() ? r.getMode() : DEFAULT_MODE, targets);
            cb.addConfigs(r.toBuilder().setConfigId(cfg.getMeta().getId()).setConfigName(name).setTarget(target)
                    .setMode(r.hasMode() ? r.getMode() : DEFAULT_MODE));
        }
        return b.build();
    }

    private static void checkFile(String kind, String name, String target, int mode, Set<String> targets) {
        String where = kind + " " + Quote.of(name) + ": target " + Quote.of(target);
        if (target.equals("/") || target.endsWith("/") || target.contains("//")) {
            throw GrpcErrors.invalid(where + " must name a file");
        }
        for (String part : target.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw GrpcErrors.invalid(where + " must not contain '.' or '..'");
            }
        }
        if (target.length() > 4096 || target.indexOf('\0') >= 0) {
            throw GrpcErrors.invalid(where + " is not a usable path");
        }
        if (mode < 0 || mode > 0777) {
            throw GrpcErrors.invalid(kind + " " + Quote.of(name) + ": mode " + Integer.toOctalString(mode)
                    + " is not a file mode (0000 to 0777)");
        }
        if (!targets.add(target)) {
            throw GrpcErrors.invalid(where + " is used twice: every secret and config needs its own path");
        }
    }
}
