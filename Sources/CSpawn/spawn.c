// The launch and reaping of tool processes, through glibc's posix_spawn (a vfork-style
// clone, so the child costs no copy of synthset's address space) and pidfds. A C file of
// its own: the _np file actions need _GNU_SOURCE, which Swift's Glibc module lacks.
#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int synthset_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   const char *directory, int in, int out, int err) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) {
        posix_spawnattr_destroy(&attr);
        return rc;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0
        && (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0
        && (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&actions, in, 0)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&actions, out, 1)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&actions, err, 2)) == 0
        && (rc = posix_spawn_file_actions_addchdir_np(&actions, directory)) == 0
        && (rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0) {
        rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int synthset_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

static int decode(const siginfo_t *info, int *exited, int *status) {
    *exited = info->si_code == CLD_EXITED;
    *status = info->si_status;
    return 0;
}

int synthset_reap_pidfd(int pidfd, int *exited, int *status) {
    siginfo_t info = {0};
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) != 0) {
        if (errno != EINTR) return -1;
    }
    return decode(&info, exited, status);
}

int synthset_reap_pid(pid_t pid, int *exited, int *status) {
    siginfo_t info = {0};
    while (waitid(P_PID, (id_t)pid, &info, WEXITED) != 0) {
        if (errno != EINTR) return -1;
    }
    return decode(&info, exited, status);
}

int synthset_exits_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int synthset_exits_add(int set, int pidfd) {
    struct epoll_event event = {0};
    event.events = EPOLLIN | EPOLLONESHOT;
    event.data.fd = pidfd;
    return epoll_ctl(set, EPOLL_CTL_ADD, pidfd, &event);
}

int synthset_exits_wait(int set, int *pidfds, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(set, events, capacity, -1);
    if (count < 0) return 0;
    for (int i = 0; i < count; i++) pidfds[i] = events[i].data.fd;
    return count;
}
