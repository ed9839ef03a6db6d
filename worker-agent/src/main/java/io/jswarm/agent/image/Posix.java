package io.jswarm.agent.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/** The few system calls the JDK lacks: mknod, lchown, chmod, lsetxattr, mount. */
public final class Posix {
    /** From libc: lsetxattr for overlayfs' trusted.overlay.* attributes (the JDK only does user.*), and mknod. */
    public interface LibC {
        int lsetxattr(String path, String name, byte[] value, long size, int flags);

        int mknod(String path, int mode, long dev);

        int mount(String source, String target, String fstype, long flags, String data);

        int umount2(String target, int flags);
    }

    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();
    private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
    public static final int S_IFCHR = 0020000;

    private Posix() {}

    public static void mknodWhiteout(String path) throws IOException {
        // overlayfs whiteout: a character device 0:0
        if (LIBC.mknod(path, S_IFCHR | 0000, 0) != 0) {
            throw new IOException("mknod " + path + ": errno " + POSIX.errno());
        }
    }

    public static void lchown(String path, int uid, int gid) throws IOException {
        if (POSIX.lchown(path, uid, gid) != 0) {
            throw new IOException("lchown " + path + ": errno " + POSIX.errno());
        }
    }

    public static void chmod(String path, int mode) throws IOException {
        if (POSIX.chmod(path, mode) != 0) {
            throw new IOException("chmod " + path + ": errno " + POSIX.errno());
        }
    }

    public static void setOpaque(String dir) throws IOException {
        byte[] v = "y".getBytes(StandardCharsets.US_ASCII);
        if (LIBC.lsetxattr(dir, "trusted.overlay.opaque", v, v.length, 0) != 0) {
            throw new IOException("setxattr trusted.overlay.opaque on " + dir + ": errno " + POSIX.errno());
        }
    }

    /** mount(2) of an overlay filesystem: no mount(8) process per container. */
    public static void mountOverlay(String target, String options) throws IOException {
        if (LIBC.mount("overlay", target, "overlay", 0, options) != 0) {
            throw new IOException("mount overlay on " + target + ": errno " + POSIX.errno());
        }
    }

    /** A tmpfs that nothing on it can be run from, set-uid through or opened as a device. */
    public static void mountTmpfs(String target, String options) throws IOException {
        long nosuidNodevNoexec = 2 | 4 | 8;
        if (LIBC.mount("tmpfs", target, "tmpfs", nosuidNodevNoexec, options) != 0) {
            throw new IOException("mount tmpfs on " + target + ": errno " + POSIX.errno());
        }
    }

    public static void umount(String target) throws IOException {
        if (LIBC.umount2(target, 0) != 0) {
            throw new IOException("umount " + target + ": errno " + POSIX.errno());
        }
    }
}
