package io.jswarm.cli;

import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * An empty flag value ({@code --user ''}, {@code --hostname=}) is refused before anything
 * runs: a spec cannot tell an empty string from a flag left out, so it would silently mean
 * "the default", never what the user wrote.
 */
final class EmptyValues {
    /** Flags whose empty value means something: {@code service update --args ''} clears the arguments. */
    private static final Set<String> MEANINGFUL = Set.of("--args");

    private EmptyValues() {}

    /** The execution strategy that checks first, then runs the command as picocli does. */
    static CommandLine.IExecutionStrategy checkedFirst() {
        return parsed -> {
            refuse(parsed);
            return new CommandLine.RunLast().execute(parsed);
        };
    }

    static void refuse(ParseResult parsed) {
        for (ParseResult r = parsed; r != null; r = r.subcommand()) {
            for (OptionSpec o : r.matchedOptions()) {
                if (MEANINGFUL.contains(o.longestName())) {
                    continue;
                }
                for (String v : o.stringValues()) {
                    if (v.isBlank()) {
                        throw new CommandLine.ParameterException(r.commandSpec().commandLine(), o.longestName()
                                + ": empty value; leave the flag out for its default");
                    }
                }
            }
        }
    }
}
