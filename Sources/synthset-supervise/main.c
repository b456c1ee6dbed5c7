// synthset-supervise GRACE_SECONDS PROGRAM [ARG...]
//
// Runs PROGRAM as its child and makes sure that neither it nor anything it starts
// outlives synthset. synthset starts every tool through this supervisor, in a session
// and process group of its own (setsid). The supervisor:
//   - forks PROGRAM, then becomes a child subreaper so orphaned grandchildren stay
//     its descendants;
//   - exits with PROGRAM's status (re-raising the signal that killed it), so
//     synthset sees the tool's own outcome;
//   - watches its parent: when synthset dies, by any signal (SIGKILL and the OOM
//     killer included), the supervisor is re-parented; it then sends SIGTERM to its
//     whole process group, waits up to GRACE_SECONDS for its descendants to exit, and
//     sends SIGKILL to the group.
// Polling getppid() (10 times a second) rather than PR_SET_PDEATHSIG alone: the
// death signal fires when the *thread* that forked exits, and it reaches only the
// direct child; the poll sees the process die and the group covers descendants.
// PR_SET_PDEATHSIG is still set (to SIGUSR1), to wake the supervisor at once.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

// Ends the whole process group: TERM, up to `grace` seconds for descendants to exit
// (reaping them as they do), then KILL. Never returns.
static void end_group(double grace) {
    signal(SIGTERM, SIG_IGN);  // the group signal reaches this process too
    kill(-getpgrp(), SIGTERM);
    double deadline = now_seconds() + grace;
    while (now_seconds() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0 && errno == ECHILD) _exit(137);
        if (pid <= 0) nap();
    }
    kill(-getpgrp(), SIGKILL);  // this process included
    _exit(137);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: synthset-supervise GRACE_SECONDS PROGRAM [ARG...]\n");
        return 125;
    }
    double grace = strtod(argv[1], NULL);
    if (!(grace >= 0 && grace <= 86400)) grace = 10;
    pid_t parent = getppid();

    // SIGCHLD (the tool ended) and SIGUSR1 (the parent died) are blocked and taken
    // with sigtimedwait, so the supervisor reacts at once to either and still polls
    // getppid() ten times a second.
    sigset_t waited, previous;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, SIGUSR1);
    sigprocmask(SIG_BLOCK, &waited, &previous);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "synthset-supervise: cannot fork: %s\n", strerror(errno));
        return 126;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &previous, NULL);
        execv(argv[2], argv + 2);
        fprintf(stderr, "synthset-supervise: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
#ifdef __linux__
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
#endif
    // synthset stops a tool by signalling the group; the supervisor waits for the
    // tool's own exit instead (synthset's SIGKILL after the grace period still ends it).
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    for (;;) {
        if (getppid() != parent) end_group(grace);
        int status;
        pid_t done;
        while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
            if (done != child) continue;  // an orphaned grandchild, reaped
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            int sig = WTERMSIG(status);
            signal(sig, SIG_DFL);
            sigset_t only;
            sigemptyset(&only);
            sigaddset(&only, sig);
            sigprocmask(SIG_UNBLOCK, &only, NULL);
            raise(sig);
            return 128 + sig;
        }
        struct timespec tick = {0, 100 * 1000 * 1000};
        sigtimedwait(&waited, NULL, &tick);
    }
}
