package io.jswarm.agent.exec;

import io.jswarm.agent.image.Posix;
import io.jswarm.api.ContainerSpec;
import io.jswarm.api.Mount;
import io.jswarm.api.dispatcher.Assignments;
import io.jswarm.api.dispatcher.TaskFileData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The secrets and configs of this node's tasks. The managers send their data with the
 * assignments; it is held here in memory only and written, per task, to a tmpfs of the
 * task's own (never to disk), from which each file is bound read-only into the container
 * at its target with the owner and mode asked for. The tmpfs goes with the container.
 * The tmpfs mount points live beside the runtime's state, outside the agent's state
 * directory, so nothing of a secret is ever under it.
 */
public final class TaskFiles {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TaskFiles.class);
    private final Map<String, byte[]> data = new ConcurrentHashMap<>();
    private final Path root;

    /** @param root where the per-task tmpfs mount points go (created when first needed) */
    public TaskFiles(Path root) {
        this.root = root;
    }

    /** The files of one assignment message: with COMPLETE, the whole set this node holds. */
    public void apply(Assignments a) {
        if (a.getType() == Assignments.Type.COMPLETE) {
            Set<String> keep = new java.util.HashSet<>();
            a.getFilesList().forEach(f -> keep.add(f.getId()));
            for (String id : List.copyOf(data.keySet())) {
                if (!keep.contains(id)) {
                    drop(id);
                }
            }
        }
        for (TaskFileData f : a.getFilesList()) {
            if (data.put(f.getId(), f.getData().toByteArray()) == null) {
                // Ids and sizes only, never the data: what a node holds can be told from its log.
                LOG.info("holding {} {} ({} bytes, in memory) for this node's tasks", f.getSecret() ? "secret" : "config", f.getId(),
                        f.getData().size());
            }
        }
        for (String id : a.getRemovedFilesList()) {
            drop(id);
        }
    }

    private void drop(String id) {
        if (data.remove(id) != null) {
            LOG.info("dropped {}: no task on this node uses it any more", id);
        }
    }

    public static boolean uses(ContainerSpec c) {
        return c.getSecretsCount() > 0 || c.getConfigsCount() > 0;
    }

    public Path dirOf(String taskId) {
        return root.resolve(taskId);
    }

    /**
     * Writes the task's secrets and configs to a tmpfs of its own and returns the read-only
     * bind mounts that put them at their targets.
     */
    public List<Mount> prepare(String taskId, ContainerSpec c) throws IOException {
        List<Mount> mounts = new ArrayList<>();
        if (!uses(c)) {
            return mounts;
        }
        long size = 0;
        for (var r : c.getSecretsList()) {
            size += need(r.getSecretId(), "secret", r.getSecretName()).length;
        }
        for (var r : c.getConfigsList()) {
            size += need(r.getConfigId(), "config", r.getConfigName()).length;
        }
        Path dir = dirOf(taskId);
        Files.createDirectories(dir);
        if (!Executor.isMounted(dir)) {
            // Room for the files and their inodes, rounded up to whole pages.
            long bytes = size + 4096L * (c.getSecretsCount() + c.getConfigsCount() + 1);
            Posix.mountTmpfs(dir.toString(), "mode=0700,size=" + bytes);
        }
        int i = 0;
        for (var r : c.getSecretsList()) {
            mounts.add(write(dir.resolve("secret-" + i++), need(r.getSecretId(), "secret", r.getSecretName()),
                    r.getUid(), r.getGid(), r.hasMode() ? r.getMode() : 0444, r.getTarget()));
        }
        i = 0;
        for (var r : c.getConfigsList()) {
            mounts.add(write(dir.resolve("config-" + i++), need(r.getConfigId(), "config", r.getConfigName()),
                    r.getUid(), r.getGid(), r.hasMode() ? r.getMode() : 0444, r.getTarget()));
        }
        return mounts;
    }

    private byte[] need(String id, String kind, String name) throws IOException {
        byte[] d = data.get(id);
        if (d == null) {
            throw new IOException(kind + " " + name + " was not delivered to this node");
        }
        return d;
    }

    private static Mount write(Path file, byte[] bytes, int uid, int gid, int mode, String target) throws IOException {
        Files.write(file, bytes);
        Posix.lchown(file.toString(), uid, gid);
        Posix.chmod(file.toString(), mode);
        return Mount.newBuilder().setType(Mount.Type.BIND).setSource(file.toString()).setTarget(target).setReadOnly(true).build();
    }

    /** Removes a task's tmpfs, with everything on it. */
    public void release(String taskId) throws IOException {
        Path dir = dirOf(taskId);
        if (Executor.isMounted(dir)) {
            Posix.umount(dir.toString());
        }
        Files.deleteIfExists(dir);
    }

    /** After a restart: removes the tmpfs of every task that is not among those kept. */
    public void releaseAllBut(Set<String> keep) throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.toList()) {
                String id = d.getFileName().toString();
                if (!keep.contains(id)) {
                    release(id);
                }
            }
        }
    }
}
