package io.jswarm.cli;

import io.jswarm.api.Task;
import io.jswarm.api.control.*;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "task", description = "Inspect tasks.", mixinStandardHelpOptions = true)
final class TaskCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("Error: task needs a subcommand: ls, inspect");
        return 1;
    }

    @Command(name = "ls", aliases = "list", description = "List all tasks.", mixinStandardHelpOptions = true)
    static final class Ls implements Callable<Integer> {
        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                Map<String, String> hostnames = Show.hostnames(cc);
                long now = System.currentTimeMillis();
                Table t = new Table("ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR");
                for (Task task : cc.listedTasks(ListTasksRequest.getDefaultInstance())) {
                    t.add(Show.id(task.getMeta().getId(), false), task.getAnnotations().getName(),
                            Show.image(task.getSpec().getContainer().getImage(), false), hostnames.getOrDefault(task.getNodeId(), ""),
                            Show.state(task.getDesiredState()),
                            Show.state(task.getStatus().getState()) + " " + Units.ago(task.getStatus().getTimestampMs(), now),
                            task.getStatus().getErr());
                }
                t.print(System.out);
            }
            return 0;
        }
    }

    @Command(name = "inspect", description = "Display detailed information on one or more tasks.", mixinStandardHelpOptions = true)
    static final class Inspect implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "TASK") List<String> tasks;

        @Override
        public Integer call() {
            try (ControlClient cc = Swarmctl.client()) {
                List<Task> out = new ArrayList<>();
                for (String t : tasks) {
                    out.add(cc.stub().getTask(GetTaskRequest.newBuilder().setTaskId(t).build()).getTask());
                }
                Show.printJsonArray(out);
            }
            return 0;
        }
    }
}
