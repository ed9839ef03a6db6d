package io.jswarm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchivableJarTest {
    @Test
    void picocliBecomesJava8ClassFilesThatTheVerifierAccepts(@TempDir Path dir) throws Exception {
        Path picocli = Path.of(picocli.CommandLine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path out = dir.resolve("picocli.jar");
        int[] counts = ArchivableJar.rewrite(picocli, out);
        assertTrue(counts[0] > 100, "picocli's classes rewritten: " + counts[0]);
        assertEquals(0, counts[1], "none left as Java 5 class files");

        List<String> names = new ArrayList<>();
        try (InputStream in = Files.newInputStream(out); ZipInputStream z = new ZipInputStream(in)) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                byte[] b = z.readAllBytes();
                if (e.getName().endsWith(".class") && !e.getName().startsWith("META-INF/")) {
                    int major = ((b[6] & 0xff) << 8) | (b[7] & 0xff);
                    assertEquals(52, major, e.getName());
                    names.add(e.getName().replace('/', '.').substring(0, e.getName().length() - ".class".length()));
                }
            }
        }
        // Every class loaded and initialised from the copy alone: the split verifier checks
        // the computed frames of each (a VerifyError fails the test).
        try (URLClassLoader l = new URLClassLoader(new URL[] {out.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            for (String n : names) {
                Class<?> c = Class.forName(n, true, l);
                assertEquals(l, c.getClassLoader(), n);
            }
            // And it still parses a command line.
            Class<?> cl = l.loadClass("picocli.CommandLine");
            Class<?> spec = l.loadClass("picocli.CommandLine$Model$CommandSpec");
            Class<?> optSpec = l.loadClass("picocli.CommandLine$Model$OptionSpec");
            Object s = spec.getMethod("create").invoke(null);
            Object builder = optSpec.getMethod("builder", String[].class).invoke(null, (Object) new String[] {"--replicas"});
            java.lang.reflect.Method type = builder.getClass().getMethod("type", Class.class);
            type.setAccessible(true); // declared on a package-private superclass
            type.invoke(builder, int.class);
            spec.getMethod("addOption", optSpec).invoke(s, builder.getClass().getMethod("build").invoke(builder));
            Object line = cl.getConstructor(Object.class).newInstance(s);
            Object parsed = cl.getMethod("parseArgs", String[].class).invoke(line, (Object) new String[] {"--replicas", "3"});
            Object value = parsed.getClass().getMethod("matchedOptionValue", String.class, Object.class).invoke(parsed, "--replicas", 0);
            assertEquals(3, value);
        }
    }
}
