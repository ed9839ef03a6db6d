package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CommandTreeTest {
    private static Set<String> subs(CommandLine cl) {
        return cl.getSubcommands().keySet();
    }

    @Test
    void aLineGetsTheCommandsItNamesOnly() {
        CommandLine cl = CommandTree.forLine(new Swarmctl(), new String[] {"--socket", "/run/s.sock", "service", "ls", "-q"});
        assertEquals(Set.of("service"), subs(cl));
        assertEquals(Set.of("ls", "list"), subs(cl.getSubcommands().get("service")));
    }

    @Test
    void anOptionsValueIsNotTakenForACommand() {
        CommandLine cl = CommandTree.forLine(new Swarmctl(), new String[] {"-H", "service", "node", "ls"});
        assertEquals(Set.of("node"), subs(cl));
        cl = CommandTree.forLine(new Swarmctl(), new String[] {"service", "--socket=/s", "ps", "web"});
        assertEquals(Set.of("ps"), subs(cl.getSubcommands().get("service")));
    }

    @Test
    void aLineThatNamesNoCommandGetsThemAll() {
        CommandLine typo = CommandTree.forLine(new Swarmctl(), new String[] {"servce", "ls"});
        assertEquals(9, CommandTree.SUBCOMMANDS.get(Swarmctl.class).size());
        assertEquals(Set.of("service", "stack", "task", "node", "network", "secret", "config", "cluster", "events"), subs(typo));
        assertEquals(Set.of(), subs(typo.getSubcommands().get("service")), "a usage lists one level: the next is not built");
        CommandLine service = CommandTree.forLine(new Swarmctl(), new String[] {"service", "--help"}).getSubcommands().get("service");
        assertEquals(Set.of("create", "ls", "list", "ps", "inspect", "update", "rollback", "scale", "rm", "remove", "logs"), subs(service));
    }

    /** A command written but not entered in the tree would silently not exist. */
    @Test
    void everyCommandClassIsInTheTree() throws Exception {
        java.nio.file.Path classes = java.nio.file.Path.of(Swarmctl.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<Class<?>> inTree = new java.util.HashSet<>();
        CommandTree.SUBCOMMANDS.values().forEach(inTree::addAll);
        int commands = 0;
        try (var files = java.nio.file.Files.walk(classes.resolve("io/jswarm/cli"), 1)) {
            for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (!n.endsWith(".class")) {
                    continue;
                }
                Class<?> c = Class.forName("io.jswarm.cli." + n.substring(0, n.length() - 6));
                if (c.isAnnotationPresent(CommandLine.Command.class) && c != Swarmctl.class && c != Swarmd.class) {
                    commands++;
                    assertEquals(true, inTree.contains(c), c.getName() + " is not in CommandTree.SUBCOMMANDS");
                }
            }
        }
        assertEquals(inTree.size(), commands);
        CommandLine whole = CommandTree.whole(new Swarmctl());
        assertEquals(commands, count(whole) - 1);
    }

    private static int count(CommandLine cl) {
        int n = 1;
        for (CommandLine sub : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
            n += count(sub);
        }
        return n;
    }
}
