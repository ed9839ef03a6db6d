package io.jswarm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

/**
 * Not a command: bin/swarmctl runs it before it records its class-data sharing archive.
 * Picocli ships Java 5 class files (version 49), which the JVM's class-data sharing never
 * archives, so every swarmctl parsed and verified its 180-odd picocli classes anew (about
 * 50 ms of a 350 ms {@code service ls}). This writes a copy of a jar whose older class
 * files are made Java 8 class files: same bytecode, with the stack map frames Java 6 and
 * later carry computed. A class that cannot be rewritten is copied as it was.
 *
 * <p>Usage: {@code ArchivableJar IN.jar OUT.jar}.
 */
public final class ArchivableJar {
    private ArchivableJar() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: ArchivableJar IN.jar OUT.jar");
            System.exit(2);
        }
        int[] counts = rewrite(Path.of(args[0]), Path.of(args[1]));
        System.out.println(counts[0] + " class files rewritten, " + counts[1] + " left as they were");
    }

    /** Writes {@code out}; returns {rewritten, left as they were}. */
    static int[] rewrite(Path in, Path out) throws IOException {
        int[] counts = new int[2];
        // Frames need the common superclass of two types: looked up among the jar's own classes.
        try (URLClassLoader types = new URLClassLoader(new URL[] {in.toUri().toURL()}, ArchivableJar.class.getClassLoader());
                InputStream fin = Files.newInputStream(in);
                ZipInputStream zin = new ZipInputStream(fin);
                OutputStream fout = Files.newOutputStream(out);
                ZipOutputStream zout = new ZipOutputStream(fout)) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                byte[] b = zin.readAllBytes();
                if (e.getName().endsWith(".class") && !e.getName().startsWith("META-INF/")) {
                    byte[] r = upgrade(b, types);
                    counts[r == b ? 1 : 0]++;
                    b = r;
                }
                zout.putNextEntry(new ZipEntry(e.getName()));
                zout.write(b);
                zout.closeEntry();
            }
        }
        return counts;
    }

    /** The class as a Java 8 class file, or {@code b} itself if it is one already or cannot be made one. */
    static byte[] upgrade(byte[] b, ClassLoader types) {
        ClassReader r = new ClassReader(b);
        int major = r.readUnsignedShort(6);
        if (major >= Opcodes.V1_6) {
            return b;
        }
        ClassWriter w = new ClassWriter(ClassWriter.COMPUTE_FRAMES) {
            @Override
            protected ClassLoader getClassLoader() {
                return types;
            }
        };
        try {
            r.accept(new ClassVisitor(Opcodes.ASM9, w) {
                @Override
                public void visit(int version, int access, String name, String signature, String superName, String[] interfaces) {
                    super.visit(Opcodes.V1_8, access, name, signature, superName, interfaces);
                }
            }, ClassReader.SKIP_FRAMES);
            return w.toByteArray();
        } catch (RuntimeException e) {
            // Such as a subroutine (jsr/ret, gone since Java 6) that frames cannot describe.
            return b;
        }
    }
}
