package io.jswarm.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * What a node remembers about itself between restarts (STATE_DIR/node.properties): its
 * id, role, cluster and Raft group, and the managers it last knew.
 */
public final class LocalState {
    public String nodeId;
    public String role;          // "manager" or "worker"
    public String clusterId = "";
    public String raftGroup = "";
    public List<String> raftMembers = new ArrayList<>();  // id=host:port of Raft peers at join
    public List<String> managers = new ArrayList<>();     // remote API addresses

    static Path file(Path stateDir) {
        return stateDir.resolve("node.properties");
    }

    public static LocalState load(Path stateDir) throws IOException {
        Path f = file(stateDir);
        if (!Files.exists(f)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
            p.load(r);
        }
        LocalState s = new LocalState();
        s.nodeId = p.getProperty("node.id");
        s.role = p.getProperty("role", "worker");
        s.clusterId = p.getProperty("cluster.id", "");
        s.raftGroup = p.getProperty("raft.group", "");
        s.raftMembers = split(p.getProperty("raft.members", ""));
        s.managers = split(p.getProperty("managers", ""));
        if (s.nodeId == null || s.nodeId.isEmpty()) {
            throw new IOException(f + " has no node.id: the state directory is damaged");
        }
        return s;
    }

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return out;
    }

    public synchronized void save(Path stateDir) throws IOException {
        Properties p = new Properties();
        p.setProperty("node.id", nodeId);
        p.setProperty("role", role);
        p.setProperty("cluster.id", clusterId);
        p.setProperty("raft.group", raftGroup);
        p.setProperty("raft.members", String.join(",", raftMembers));
        p.setProperty("managers", String.join(",", managers));
        Path tmp = stateDir.resolve("node.properties.tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "jswarm node state");
        }
        Files.move(tmp, file(stateDir), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
