// synthset-supervise: the watchdog that makes sure no tool outlives synthset.
//
// synthset starts one watchdog per process, before its first tool, in a session of its
// own (so a terminal's Ctrl-C never reaches it), with one end of a socket pair as its
// standard input. synthset keeps the other end, close-on-exec, so no tool holds it,
// and says on it, one line each:
//   "+PGID GRACE\n"  a tool was started as the leader of process group PGID; GRACE is
//                    the seconds its group gets between SIGTERM and SIGKILL;
//   "-PGID\n"        that group is gone (synthset saw the tool end and tore the group
//                    down itself).
// The watchdog polls its input every 10 ms rather than waiting on it (main() says why).
// End of file means synthset has exited or died, by whatever signal (SIGKILL and the
// OOM killer included: the kernel closes a dead process's descriptors). The watchdog
// then sends SIGTERM to every group still registered, waits up to each group's GRACE
// for its members to exit, sends SIGKILL to the groups that remain, and exits.
//
// One watchdog per synthset process instead of one supervisor process wrapped around
// each tool: a run of thousands of short tools no longer starts an extra process (and
// an extra fork) per tool. What a watchdog cannot see, a tool started in the moment
// between its launch and its "+" line when synthset is killed right then, carries the
// run's marker in its environment; the next run ends it (CrashLeftovers.swift).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct group {
    pid_t pgid;
    double grace;
    double deadline;
};

static struct group *groups;
static size_t count, capacity;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_group(pid_t pgid, double grace) {
    if (count == capacity) {
        size_t larger = capacity ? capacity * 2 : 64;
        struct group *grown = realloc(groups, larger * sizeof *groups);
        if (!grown) return;  // out of memory: this group goes unwatched, not the others
        groups = grown;
        capacity = larger;
    }
    groups[count++] = (struct group){pgid, grace, 0};
}

static void remove_group(pid_t pgid) {
    for (size_t i = count; i-- > 0;) {
        if (groups[i].pgid == pgid) {
            groups[i] = groups[--count];
            return;
        }
    }
}

static void handle_line(char *line) {
    char *end;
    if (line[0] == '+') {
        long pgid = strtol(line + 1, &end, 10);
        double grace = strtod(end, NULL);
        if (!(grace >= 0 && grace <= 86400)) grace = 10;
        if (pgid > 1) add_group((pid_t)pgid, grace);
    } else if (line[0] == '-') {
        long pgid = strtol(line + 1, &end, 10);
        if (pgid > 1) remove_group((pid_t)pgid);
    }
}

// Whether process group `pgid` still has a member.
static int group_alive(pid_t pgid) {
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

// synthset is gone: TERM every registered group, KILL what outlives its grace.
static void end_groups(void) {
    double start = now_seconds();
    for (size_t i = 0; i < count; i++) {
        groups[i].deadline = start + groups[i].grace;
        kill(-groups[i].pgid, SIGTERM);
    }
    while (count > 0) {
        double now = now_seconds();
        for (size_t i = count; i-- > 0;) {
            if (!group_alive(groups[i].pgid)) {
                groups[i] = groups[--count];
            } else if (now >= groups[i].deadline) {
                kill(-groups[i].pgid, SIGKILL);
                groups[i] = groups[--count];
            }
        }
        struct timespec tick = {0, 20 * 1000 * 1000};
        if (count > 0) nanosleep(&tick, NULL);
    }
}

int main(void) {
    setsid();  // out of synthset's session and group: no terminal or group signal reaches it
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    char buffer[4096];
    size_t used = 0;
    int socket_input = 1;
    for (;;) {
        // Polled, not waited on: a reader blocked on the socket is woken by every line,
        // and synthset's thread sending it paid for that wakeup (two lines per tool, a
        // few percent of a run of one-line commands). Lines wait in the socket's buffer;
        // synthset's end is seen within a tick.
        ssize_t n = socket_input ? recv(STDIN_FILENO, buffer + used, sizeof buffer - 1 - used, MSG_DONTWAIT)
                                 : read(STDIN_FILENO, buffer + used, sizeof buffer - 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && socket_input && errno == ENOTSOCK) {
            socket_input = 0;  // a pipe (a test's): blocking reads, as they come
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timespec tick = {0, 10 * 1000 * 1000};
            nanosleep(&tick, NULL);
            continue;
        }
        if (n <= 0) break;  // end of file (or an error): synthset is gone
        used += (size_t)n;
        buffer[used] = 0;
        char *start = buffer, *newline;
        while ((newline = memchr(start, '\n', used - (size_t)(start - buffer)))) {
            *newline = 0;
            handle_line(start);
            start = newline + 1;
        }
        used -= (size_t)(start - buffer);
        memmove(buffer, start, used);
        if (used == sizeof buffer - 1) used = 0;  // a line that long is not synthset's
    }
    end_groups();
    return 0;
}
