package io.jswarm.overlay;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jnr.ffi.LibraryLoader;

/**
 * Runs code inside another network namespace. setns(2) changes only the calling thread,
 * so it runs on one dedicated thread that enters the namespace, runs the code, and comes
 * back. Sockets opened there stay in that namespace for good, whichever thread uses them
 * later: that is how one DNS server answers at 127.0.0.11 in every container.
 */
public final class Netns {
    /** From libc: setns, open, close. */
    public interface LibC {
        int setns(int fd, int nstype);

        int open(String path, int flags);

        int close(int fd);
    }

    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY_CLOEXEC = 02000000;
    private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
    private static ExecutorService thread = newThread();

    private Netns() {}

    private static ExecutorService newThread() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "netns-enter");
            t.setDaemon(true);
            return t;
        });
    }

    /** Calls {@code body} inside the network namespace at {@code ns} (a /var/run/netns file or /proc/PID/ns/net). */
    public static <T> T call(Path ns, Callable<T> body) throws IOException {
        ExecutorService t;
        synchronized (Netns.class) {
            t = thread;
        }
        Future<T> f = t.submit(() -> enterAndCall(ns, body));
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while working in network namespace " + ns);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException("in network namespace " + ns + ": " + c.getMessage(), c);
        }
    }

    private static <T> T enterAndCall(Path ns, Callable<T> body) throws Exception {
        int home = LIBC.open("/proc/thread-self/ns/net", O_RDONLY_CLOEXEC);
        if (home < 0) {
            throw new IOException("cannot open this thread's network namespace");
        }
        int target = LIBC.open(ns.toString(), O_RDONLY_CLOEXEC);
        if (target < 0) {
            LIBC.close(home);
            throw new IOException("network namespace " + ns + " does not exist");
        }
        try {
            if (LIBC.setns(target, CLONE_NEWNET) != 0) {
                throw new IOException("cannot enter network namespace " + ns);
            }
            try {
                return body.call();
            } finally {
                if (LIBC.setns(home, CLONE_NEWNET) != 0) {
                    // This thread is stuck in the other namespace: never use it again.
                    synchronized (Netns.class) {
                        thread.shutdown();
                        thread = newThread();
                    }
                }
            }
        } finally {
            LIBC.close(target);
            LIBC.close(home);
        }
    }
}
