package io.jswarm.manager.control;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jswarm.api.Annotations;
import io.jswarm.api.Meta;
import io.jswarm.api.Node;
import io.jswarm.api.NodeDescription;
import io.jswarm.api.NodeSpec;
import io.jswarm.api.NodeState;
import io.jswarm.api.NodeStatus;
import io.jswarm.api.Service;
import io.jswarm.api.ServiceSpec;
import io.jswarm.api.Task;
import io.jswarm.api.TaskState;
import io.jswarm.api.TaskStatus;
import io.jswarm.api.control.Event;
import io.jswarm.api.store.StoreAction;
import io.jswarm.api.store.StoreObject;
import io.jswarm.manager.store.StoreEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EventLogTest {
    static StoreAction action(StoreAction.Kind kind, StoreObject o) {
        return StoreAction.newBuilder().setKind(kind).setObject(o).build();
    }

    static StoreObject task(String id, TaskState state) {
        return StoreObject.newBuilder().setTask(Task.newBuilder().setMeta(Meta.newBuilder().setId(id))
                .setAnnotations(Annotations.newBuilder().setName("web.1")).setNodeId("n1").setDesiredState(TaskState.RUNNING)
                .setStatus(TaskStatus.newBuilder().setState(state))).build();
    }

    @Test
    void changesAreReplayedAndFollowedAsEvents() {
        EventLog log = new EventLog();
        StoreObject service = StoreObject.newBuilder().setService(Service.newBuilder().setMeta(Meta.newBuilder().setId("s1"))
                .setSpec(ServiceSpec.newBuilder().setAnnotations(Annotations.newBuilder().setName("web")))).build();
        StoreObject node = StoreObject.newBuilder().setNode(Node.newBuilder().setMeta(Meta.newBuilder().setId("n1"))
                .setDescription(NodeDescription.newBuilder().setHostname("host1")).setSpec(NodeSpec.getDefaultInstance())
                .setStatus(NodeStatus.newBuilder().setState(NodeState.NODE_READY))).build();
        log.onApplied(new StoreEvent(1, List.of(action(StoreAction.Kind.CREATE, service), action(StoreAction.Kind.UPDATE, node))));
        List<Event> seen = new ArrayList<>();
        log.subscribe(1, seen::add);
        assertEquals(2, seen.size());
        assertEquals("service", seen.get(0).getType());
        assertEquals("create", seen.get(0).getAction());
        assertEquals("s1", seen.get(0).getId());
        assertEquals(Map.of("name", "web"), seen.get(0).getAttributesMap());
        assertEquals("node", seen.get(1).getType());
        assertEquals(Map.of("name", "host1", "state", "ready", "availability", "active"), seen.get(1).getAttributesMap());

        // Followed as applied; a node's status report is an update to the watcher.
        log.onApplied(new StoreEvent(2, List.of(action(StoreAction.Kind.STATUS, task("t1", TaskState.RUNNING)))));
        assertEquals(3, seen.size());
        Event t = seen.get(2);
        assertEquals("task", t.getType());
        assertEquals("update", t.getAction());
        assertEquals(Map.of("name", "web.1", "state", "running", "desired", "running", "node", "n1"), t.getAttributesMap());
    }

    @Test
    void theWindowKeepsTheLatestChanges() {
        EventLog log = new EventLog();
        for (int i = 0; i < EventLog.CAPACITY + 5; i++) {
            log.onApplied(new StoreEvent(i, List.of(action(StoreAction.Kind.UPDATE, task("t" + i, TaskState.RUNNING)))));
        }
        List<Event> seen = new ArrayList<>();
        log.subscribe(1, seen::add);
        assertEquals(EventLog.CAPACITY, seen.size());
        assertEquals("t5", seen.get(0).getId());
    }
}
