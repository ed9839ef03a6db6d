package io.jswarm.cli;

import java.io.PrintStream;

/**
 * The output of a list command: a Docker-style table, one JSON object per line
 * ({@code --format json}), or only ids ({@code -q}).
 */
final class Listing {
    private final boolean quiet;
    private final boolean json;
    private final String[] keys;
    private final Table table;

    Listing(String format, boolean quiet, String[] headers, String[] jsonKeys) {
        if (!format.equals("table") && !format.equals("json")) {
            throw new IllegalArgumentException("invalid --format \"" + format + "\": expected table or json");
        }
        this.quiet = quiet;
        this.json = format.equals("json");
        this.keys = jsonKeys;
        this.table = new Table(headers);
    }

    void add(String id, String... row) {
        if (quiet) {
            System.out.println(id);
        } else if (json) {
            System.out.println(Table.json(keys, row));
        } else {
            table.add(row);
        }
    }

    void print(PrintStream out) {
        if (!quiet && !json) {
            table.print(out);
        }
    }
}
