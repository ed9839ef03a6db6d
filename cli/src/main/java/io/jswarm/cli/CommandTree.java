package io.jswarm.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;

/**
 * swarmctl's commands, and the picocli model of just the ones a command line names.
 * Picocli builds the model of every subcommand given in {@code @Command(subcommands=...)}
 * when the root is made: reflection over some 70 command classes, about 100 ms of a
 * swarmctl's start for a {@code service ls} that uses two of them. So the tree is kept
 * here instead, and {@link #forLine} adds at each level only the subcommand the line
 * names; a line that names none there (help, a typo, a missing subcommand) gets every
 * subcommand of that level (but not theirs), so usage and picocli's errors read exactly
 * as before.
 */
final class CommandTree {
    private CommandTree() {}

    /** Each command that has subcommands, and them, in the order usage lists them. */
    static final Map<Class<?>, List<Class<?>>> SUBCOMMANDS = Map.of(
            Swarmctl.class, List.of(ServiceCommand.class, StackCommand.class, TaskCommand.class, NodeCommand.class,
                    NetworkCommand.class, SecretCommand.class, SecretCommand.ConfigCommand.class, ClusterCommand.class,
                    EventsCommand.class),
            ServiceCommand.class, List.of(ServiceCommand.Create.class, ServiceCommand.Ls.class, ServiceCommand.Ps.class,
                    ServiceCommand.Inspect.class, ServiceCommand.Update.class, ServiceCommand.Rollback.class,
                    ServiceCommand.Scale.class, ServiceCommand.Rm.class, LogsCommand.class),
            StackCommand.class, List.of(StackCommand.Deploy.class, StackCommand.Ls.class, StackCommand.Services.class,
                    StackCommand.Ps.class, StackCommand.Rm.class, StackCommand.Config.class),
            TaskCommand.class, List.of(TaskCommand.Ls.class, TaskCommand.Inspect.class),
            NodeCommand.class, List.of(NodeCommand.Ls.class, NodeCommand.Inspect.class, NodeCommand.Update.class,
                    NodeCommand.Promote.class, NodeCommand.Demote.class, NodeCommand.Rm.class),
            NetworkCommand.class, List.of(NetworkCommand.Create.class, NetworkCommand.Ls.class, NetworkCommand.Inspect.class,
                    NetworkCommand.Rm.class),
            SecretCommand.class, List.of(SecretCommand.Create.class, SecretCommand.Ls.class, SecretCommand.Inspect.class,
                    SecretCommand.Rm.class),
            SecretCommand.ConfigCommand.class, List.of(SecretCommand.ConfigCommand.Create.class,
                    SecretCommand.ConfigCommand.Ls.class, SecretCommand.ConfigCommand.Inspect.class,
                    SecretCommand.ConfigCommand.Rm.class),
            ClusterCommand.class, List.of(ClusterCommand.Inspect.class, ClusterCommand.Update.class,
                    ClusterCommand.JoinToken.class, ClusterCommand.ClientCert.class, ClusterCommand.RotateCa.class,
                    ClusterCommand.UnlockKey.class, ClusterCommand.Unlock.class, ClusterCommand.Leave.class));

    /** The model of {@code root} with the subcommands {@code args} names, level by level. */
    static CommandLine forLine(Object root, String[] args) {
        CommandLine cl = new CommandLine(root);
        attach(cl, List.of(args), false);
        return cl;
    }

    /** Every command, as picocli would have built it from annotations. */
    static CommandLine whole(Object root) {
        CommandLine cl = new CommandLine(root);
        attach(cl, List.of(), true);
        return cl;
    }

    /**
     * Adds the subcommand {@code rest} names, and below it what the rest names; where it
     * names none, every subcommand of the level (for usage and picocli's messages), and
     * their own subcommands only when {@code whole}: a usage lists one level.
     */
    private static void attach(CommandLine cl, List<String> rest, boolean whole) {
        List<Class<?>> subs = SUBCOMMANDS.get(cl.getCommand().getClass());
        if (subs == null) {
            return;
        }
        int at = firstPositional(cl, rest);
        String named = at < rest.size() ? rest.get(at) : null;
        for (Class<?> c : subs) {
            if (named != null && names(c).contains(named)) {
                CommandLine sub = new CommandLine(c);
                cl.addSubcommand(sub);
                attach(sub, rest.subList(at + 1, rest.size()), whole);
                return;
            }
        }
        for (Class<?> c : subs) {
            CommandLine sub = new CommandLine(c);
            cl.addSubcommand(sub);
            if (whole) {
                attach(sub, List.of(), true);
            }
        }
    }

    /** Where the first argument that is neither an option of this command nor an option's value is. */
    private static int firstPositional(CommandLine cl, List<String> args) {
        int i = 0;
        while (i < args.size()) {
            String a = args.get(i);
            if (a.equals("--") || !a.startsWith("-") || a.equals("-")) {
                return a.equals("--") ? i + 1 : i;
            }
            OptionSpec o = cl.getCommandSpec().findOption(a.contains("=") ? a.substring(0, a.indexOf('=')) : a);
            // An option that takes a value, given apart from it: skip the value too.
            i += o != null && !a.contains("=") && o.arity().max() > 0 ? 2 : 1;
        }
        return i;
    }

    private static List<String> names(Class<?> c) {
        Command cmd = c.getAnnotation(Command.class);
        List<String> n = new ArrayList<>(List.of(cmd.aliases()));
        n.add(cmd.name());
        return n;
    }
}
