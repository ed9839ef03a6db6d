/*
 * jswarm-logger: sits between a container's OCI runtime and the task's log files.
 *
 *   jswarm-logger DIR MAX_SIZE MAX_FILES -- COMMAND [ARG...]
 *
 * Runs COMMAND with its stdout and stderr on two pipes and writes every line it reads to
 * DIR/log as one record:  "<unix time in ns> <s> <bytes>\n"  where s is 'o' (stdout) or
 * 'e' (stderr), or 'O'/'E' for a piece of a line longer than LINE_MAX_BYTES that the next
 * record continues. Records never contain a newline inside, so readers split on '\n'.
 * When DIR/log reaches MAX_SIZE bytes (0: no limit) it is rotated: log -> log.1 -> ...
 * -> log.(MAX_FILES-1), the oldest dropped; DIR/rotated then holds the bytes of every
 * file rotated out so far (one decimal number), so that the bytes written to DIR/log ever
 * are DIR/rotated plus the size of DIR/log (swarmd's jswarm_log_written_bytes_total). Exits with COMMAND's exit status (128+N when
 * a signal N ended it), once both pipes are closed.
 *
 * Why a separate process: containers outlive swarmd, so swarmd cannot sit in their
 * output path; and timestamps and rotation must happen as the lines are written.
 *
 *   jswarm-logger --oom-watch MEMCG_DIR FILE
 *
 * The container's OOM watch, run by the OCI runtime as a createRuntime hook: after the
 * container's memory cgroup (v1) is set up and before its process runs, it registers an
 * eventfd for the cgroup's OOM notifications, then leaves a child waiting on it and exits
 * (the runtime goes on). When the eventfd fires while the cgroup is still there, the
 * cgroup ran out of memory: the child writes {"type":"oom"} to FILE. When the cgroup is
 * removed (the container is gone) the eventfd fires too, and the child just exits.
 * Registered before the process runs, it cannot miss an OOM kill that comes at once, as a
 * watcher started after the process (runc events) could. It never fails the container's
 * start: what it cannot set up it reports on stderr, and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384

static const char *dir;
static long long max_size;
static int max_files;
static int log_fd = -1;
static long long log_size;

struct stream {
    int fd;
    char kind;          /* 'o' or 'e' */
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static void die(const char *what) {
    fprintf(stderr, "jswarm-logger: %s: %s\n", what, strerror(errno));
    exit(125);
}

static void log_path(char *out, size_t n, int index) {
    if (index == 0) {
        snprintf(out, n, "%s/log", dir);
    } else {
        snprintf(out, n, "%s/log.%d", dir, index);
    }
}

static void open_log(void) {
    char path[4096];
    struct stat st;
    log_path(path, sizeof path, 0);
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log_fd < 0) {
        die(path);
    }
    log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* Adds n to DIR/rotated, replaced whole (rename) so that a reader never sees half a number. */
static void add_rotated(long long n) {
    char path[4096], tmp[4096];
    long long total = 0;
    snprintf(path, sizeof path, "%s/rotated", dir);
    snprintf(tmp, sizeof tmp, "%s/rotated.tmp", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%lld", &total) != 1) {
            total = 0;
        }
        fclose(f);
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        return;  /* a full disk loses the count, never the container */
    }
    fprintf(f, "%lld\n", total + n);
    if (fclose(f) == 0) {
        rename(tmp, path);
    }
}

static void rotate(void) {
    char from[4096], to[4096];
    close(log_fd);
    add_rotated(log_size);
    if (max_files <= 1) {
        log_path(from, sizeof from, 0);
        unlink(from);
    } else {
        for (int i = max_files - 1; i >= 1; i--) {
            log_path(from, sizeof from, i - 1);
            log_path(to, sizeof to, i);
            rename(from, to);  /* a missing older file is fine */
        }
    }
    open_log();
}

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  /* a full disk loses lines rather than blocking the container */
        }
        p += w;
        n -= (size_t) w;
    }
}

/* One record: header, bytes, newline; written with one write() so readers never see half. */
static void record(char kind, const char *data, size_t n) {
    static char out[LINE_MAX_BYTES + 64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int h = snprintf(out, 64, "%lld%09ld %c ", (long long) ts.tv_sec, ts.tv_nsec, kind);
    memcpy(out + h, data, n);
    out[h + n] = '\n';
    write_all(out, h + n + 1);
    log_size += h + n + 1;
    if (max_size > 0 && log_size >= max_size) {
        rotate();
    }
}

/* Emits the complete lines in the stream's buffer; keeps the unfinished rest. */
static void drain(struct stream *s, int at_eof) {
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            record(s->kind, s->buf + start, i - start);
            start = i + 1;
        }
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len == sizeof s->buf) {
        record(s->kind == 'o' ? 'O' : 'E', s->buf, s->len);  /* a long line: continued */
        s->len = 0;
    } else if (at_eof && s->len > 0) {
        record(s->kind, s->buf, s->len);
        s->len = 0;
    }
}

static int oom_watch(const char *memcg, const char *file) {
    char path[4096];
    snprintf(path, sizeof path, "%s/memory.oom_control", memcg);
    int oom = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/cgroup.event_control", memcg);
    int control = open(path, O_WRONLY | O_CLOEXEC);
    int efd = eventfd(0, EFD_CLOEXEC);
    char line[64];
    int n = snprintf(line, sizeof line, "%d %d", efd, oom);
    if (oom < 0 || control < 0 || efd < 0 || write(control, line, (size_t) n) != n) {
        fprintf(stderr, "jswarm-logger: cannot watch %s for OOM kills: %s\n", memcg, strerror(errno));
        return 0;
    }
    close(control);
    pid_t child = fork();
    if (child != 0) {
        return 0;  /* registered: the runtime goes on (the child holds the eventfd) */
    }
    setsid();
    /* The runtime reads the hook's output until every copy of it is closed. */
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    uint64_t count;
    while (read(efd, &count, sizeof count) < 0 && errno == EINTR) {
    }
    snprintf(path, sizeof path, "%s/memory.oom_control", memcg);
    if (access(path, F_OK) == 0) {
        int out = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out >= 0) {
            static const char event[] = "{\"type\":\"oom\"}\n";
            ssize_t ignored = write(out, event, sizeof event - 1);
            (void) ignored;
            close(out);
        }
    }
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--oom-watch") == 0) {
        return oom_watch(argv[2], argv[3]);
    }
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: jswarm-logger DIR MAX_SIZE MAX_FILES -- COMMAND [ARG...]\n");
        return 125;
    }
    dir = argv[1];
    max_size = atoll(argv[2]);
    max_files = atoi(argv[3]);
    signal(SIGPIPE, SIG_IGN);
    open_log();

    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        die("pipe");
    }
    pid_t child = fork();
    if (child < 0) {
        die("fork");
    }
    if (child == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        execvp(argv[5], argv + 5);
        fprintf(stderr, "jswarm-logger: cannot run %s: %s\n", argv[5], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);

    static struct stream streams[2];
    streams[0].fd = out[0];
    streams[0].kind = 'o';
    streams[1].fd = err[0];
    streams[1].kind = 'e';
    int open_streams = 2;
    while (open_streams > 0) {
        struct pollfd p[2];
        for (int i = 0; i < 2; i++) {
            p[i].fd = streams[i].fd;
            p[i].events = POLLIN;
            p[i].revents = 0;
        }
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("poll");
        }
        for (int i = 0; i < 2; i++) {
            struct stream *s = &streams[i];
            if (s->fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                drain(s, 1);
                close(s->fd);
                s->fd = -1;
                open_streams--;
                continue;
            }
            s->len += (size_t) n;
            drain(s, 0);
        }
    }
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            die("waitpid");
        }
    }
    close(log_fd);
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 125;
}
