package io.jswarm.manager.control;

import io.jswarm.api.control.Event;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.store.StoreEvent;
import io.jswarm.manager.store.StoreListener;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The changes this manager applied, as user-facing events: kept in a bounded window so
 * that {@code swarmctl events --since} can replay the recent past, and passed on to
 * subscribers as they happen.
 */
public final class EventLog implements StoreListener {
    static final int CAPACITY = 10_000;
    private final ArrayDeque<Event> recent = new ArrayDeque<>();
    private final List<Consumer<Event>> subscribers = new CopyOnWriteArrayList<>();

    @Override
    public void onApplied(StoreEvent e) {
        long now = System.currentTimeMillis();
        List<Event> out = new ArrayList<>();
        for (StoreAction a : e.actions()) {
            Event ev = toEvent(a, now);
            if (ev != null) {
                out.add(ev);
            }
        }
        synchronized (this) {
            for (Event ev : out) {
                recent.addLast(ev);
                if (recent.size() > CAPACITY) {
                    recent.removeFirst();
                }
            }
        }
        for (Event ev : out) {
            for (Consumer<Event> s : subscribers) {
                s.accept(ev);
            }
        }
    }

    static Event toEvent(StoreAction a, long now) {
        StoreObject o = a.getObject();
        // A node's status report is an update to whoever watches events.
        String action = (a.getKind() == StoreAction.Kind.STATUS ? StoreAction.Kind.UPDATE : a.getKind()).name().toLowerCase();
        Event.Builder b = Event.newBuilder().setTimeMs(now).setAction(action);
        switch (o.getObjectCase()) {
            case SERVICE -> b.setType("service").setId(o.getService().getMeta().getId())
                    .putAttributes("name", o.getService().getSpec().getAnnotations().getName());
            case TASK -> b.setType("task").setId(o.getTask().getMeta().getId())
                    .putAttributes("name", o.getTask().getAnnotations().getName())
                    .putAttributes("state", o.getTask().getStatus().getState().name().toLowerCase())
                    .putAttributes("desired", o.getTask().getDesiredState().name().toLowerCase())
                    .putAttributes("node", o.getTask().getNodeId());
            case NODE -> b.setType("node").setId(o.getNode().getMeta().getId())
                    .putAttributes("name", o.getNode().getDescription().getHostname())
                    .putAttributes("state", o.getNode().getStatus().getState().name().toLowerCase().replace("node_", ""))
                    .putAttributes("availability", o.getNode().getSpec().getAvailability().name().toLowerCase());
            default -> {
                return null;
            }
        }
        return b.build();
    }

    /** Replays events since the time, then follows; returns the handle to stop following. */
    public synchronized Runnable subscribe(long sinceMs, Consumer<Event> sink) {
        if (sinceMs > 0) {
            for (Event ev : recent) {
                if (ev.getTimeMs() >= sinceMs) {
                    sink.accept(ev);
                }
            }
        }
        subscribers.add(sink);
        return () -> subscribers.remove(sink);
    }
}
