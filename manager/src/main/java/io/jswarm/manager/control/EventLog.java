package io.jswarm.manager.control;

import io.jswarm.api.control.Event;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.store.StoreEvent;
import io.jswarm.manager.store.StoreListener;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The changes this manager applied, as user-facing events: kept in a bounded window so
 * that {@code swarmctl events --since} can replay the recent past, and passed on to
 * subscribers as they happen.
 *
 * <p>A change is kept as the store's own values and made into an {@link Event} only when
 * somebody reads it: every manager applies every change, hundreds of thousands under a
 * status storm, and building a message with its attributes for each took a seventh of a
 * follower's applying, for events nobody watched.
 */
public final class EventLog implements StoreListener {
    static final int CAPACITY = 10_000;
    private final ArrayDeque<Change> recent = new ArrayDeque<>();
    private final List<Consumer<Event>> subscribers = new CopyOnWriteArrayList<>();

    /**
     * One change: references to strings the stored object holds anyway, and enums, so
     * that the window costs little more than its slots. {@code state} and {@code other}
     * are a task's state and desired state, or a node's state and availability.
     */
    record Change(long timeMs, StoreAction.Kind kind, StoreObject.ObjectCase type, String id, String name, Enum<?> state,
            Enum<?> other, String node) {

        Event toEvent() {
            // A node's status report is an update to whoever watches events.
            Event.Builder b = Event.newBuilder().setTimeMs(timeMs).setId(id)
                    .setAction(lower(kind == StoreAction.Kind.STATUS ? StoreAction.Kind.UPDATE : kind))
                    .setType(lower(type)).putAttributes("name", name);
            switch (type) {
                case TASK -> b.putAttributes("state", lower(state)).putAttributes("desired", lower(other)).putAttributes("node", node);
                case NODE -> b.putAttributes("state", lower(state).replace("node_", "")).putAttributes("availability", lower(other));
                default -> {
                }
            }
            return b.build();
        }

        private static String lower(Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public void onApplied(StoreEvent e) {
        long now = System.currentTimeMillis();
        List<Change> out = new ArrayList<>();
        for (StoreAction a : e.actions()) {
            Change c = change(a, now);
            if (c != null) {
                out.add(c);
            }
        }
        synchronized (this) {
            for (Change c : out) {
                recent.addLast(c);
                if (recent.size() > CAPACITY) {
                    recent.removeFirst();
                }
            }
        }
        if (subscribers.isEmpty()) {
            return;
        }
        for (Change c : out) {
            Event ev = c.toEvent();
            for (Consumer<Event> s : subscribers) {
                s.accept(ev);
            }
        }
    }

    /** The change an action makes that users see as an event (services, tasks, nodes), or null. */
    static Change change(StoreAction a, long now) {
        StoreObject o = a.getObject();
        return switch (o.getObjectCase()) {
            case SERVICE -> new Change(now, a.getKind(), o.getObjectCase(), o.getService().getMeta().getId(),
                    o.getService().getSpec().getAnnotations().getName(), null, null, null);
            case TASK -> new Change(now, a.getKind(), o.getObjectCase(), o.getTask().getMeta().getId(), o.getTask().getAnnotations().getName(),
                    o.getTask().getStatus().getState(), o.getTask().getDesiredState(), o.getTask().getNodeId());
            case NODE -> new Change(now, a.getKind(), o.getObjectCase(), o.getNode().getMeta().getId(),
                    o.getNode().getDescription().getHostname(), o.getNode().getStatus().getState(), o.getNode().getSpec().getAvailability(),
                    null);
            default -> null;
        };
    }

    /** Replays events since the time, then follows; returns the handle to stop following. */
    public synchronized Runnable subscribe(long sinceMs, Consumer<Event> sink) {
        if (sinceMs > 0) {
            for (Change c : recent) {
                if (c.timeMs() >= sinceMs) {
                    sink.accept(c.toEvent());
                }
            }
        }
        subscribers.add(sink);
        return () -> subscribers.remove(sink);
    }
}
