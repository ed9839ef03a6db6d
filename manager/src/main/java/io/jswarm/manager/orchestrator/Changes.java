package io.jswarm.manager.orchestrator;

import io.jswarm.api.Task;
import java.util.ArrayList;
import java.util.List;

/** What one controller pass wants written, and when it wants to run again at the latest. */
public final class Changes {
    public final List<Task> creates = new ArrayList<>();
    public final List<Task> updates = new ArrayList<>();
    public final List<Task> removes = new ArrayList<>();
    /** Services whose update status (or, for an automatic rollback, spec) changes. */
    public final List<io.jswarm.api.Service> services = new ArrayList<>();
    public long wakeAtMs = Long.MAX_VALUE;

    public void wakeAt(long ms) {
        wakeAtMs = Math.min(wakeAtMs, ms);
    }

    public boolean isEmpty() {
        return creates.isEmpty() && updates.isEmpty() && removes.isEmpty() && services.isEmpty();
    }

    public void addAll(Changes other) {
        creates.addAll(other.creates);
        updates.addAll(other.updates);
        removes.addAll(other.removes);
        services.addAll(other.services);
        wakeAt(other.wakeAtMs);
    }
}
