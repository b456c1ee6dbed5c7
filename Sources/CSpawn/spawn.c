// The launch and reaping of tool processes. A C file of its own: the _np file actions
// and clone(2) need _GNU_SOURCE, which Swift's Glibc module lacks.
//
// A tool starts from a vfork-style clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn
// does (sysdeps/unix/sysv/linux/spawni.c), with differences that matter to a run of
// thousands of short tools in a process of many threads:
// - CLONE_PIDFD hands back the child's pidfd from the clone itself (no pidfd_open);
// - the child's stack comes from a small pool (posix_spawn maps and unmaps one per
//   call, and an unmap in a process of many threads costs a TLB shootdown across them);
// - the launching thread stops blocking SIGCHLD. A tool's SIGCHLD goes to the thread
//   that launched it; while that thread blocks it (every libdispatch worker blocks every
//   signal), the kernel cannot discard it and hands it to the one thread that takes
//   signals, libdispatch's signal thread (the main thread, in sigsuspend), and
//   signalfd_notify wakes libdispatch's manager thread too (it polls signalfds for SIGINT
//   and SIGTERM): four context switches per tool on Benchmarks/executor.sh. Unblocked
//   and at its default action, a SIGCHLD is dropped where it is sent
//   (kernel/signal.c, sig_ignored). Exits are read from pidfds, never from SIGCHLD.
// Where clone cannot do that (a kernel before 5.2 refuses CLONE_PIDFD; before 5.9 there
// is no close_range), tools start through posix_spawn as before.
#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// What the cloned child needs, and where it reports why it could not exec (it shares
// this memory with its parent, which is suspended until the child execs or exits).
struct launch {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *directory;
    int in, out, err;
    volatile int error;
    volatile int stage;
};

// Only system calls from here to execve: the child runs on the parent's memory while
// the parent's other threads go on (no malloc, no locks). glibc's wrappers set errno,
// which is the suspended parent thread's, read only after the child is gone.
static int child(void *argument) {
    struct launch *launch = argument;
    // Descriptors first: until close_range, the child holds a copy of every descriptor
    // the parent had, and a file some other thread is writing cannot be executed
    // (ETXTBSY) while any copy of its writable descriptor is open.
    int stage = SYNTHSET_STAGE_DESCRIPTORS;
    int from[3] = {launch->in, launch->out, launch->err};
    for (int target = 0; target < 3; target++) {
        // The parent made sure none of them is below 3, so no dup2 overwrites another.
        if (dup2(from[target], target) < 0) goto fail;
    }
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0) goto fail;
    // Every signal at its default action before any is unblocked: a handler of
    // synthset's must never run in the child, and a signal ignored here would stay
    // ignored in the tool (exec keeps SIG_IGN). All are blocked (the parent blocked them).
    // The kernel's struct sigaction (not glibc's, laid out differently), all zero:
    // SIG_DFL, no flags, an empty mask.
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } defaults;
    memset(&defaults, 0, sizeof defaults);
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, &defaults, NULL, sizeof defaults.mask);
    }
    stage = SYNTHSET_STAGE_SESSION;
    if (setsid() < 0) goto fail;
    stage = SYNTHSET_STAGE_DIRECTORY;
    if (chdir(launch->directory) != 0) goto fail;
    stage = SYNTHSET_STAGE_EXEC;
    unsigned long none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    execve(launch->path, launch->argv, launch->envp);
fail:
    launch->error = errno;
    launch->stage = stage;
    _exit(127);
}

// Child stacks, each used by one launch at a time: the parent waits in clone until its
// child has exec'd or exited, then gives the stack back.
enum { STACK_SIZE = 64 * 1024, STACK_POOL = 16 };
static void *stacks[STACK_POOL];
static int idle_stacks = 0;
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;

static void *take_stack(void) {
    pthread_mutex_lock(&stacks_lock);
    void *stack = idle_stacks > 0 ? stacks[--idle_stacks] : NULL;
    pthread_mutex_unlock(&stacks_lock);
    return stack ? stack : aligned_alloc(64, STACK_SIZE);
}

static void give_back_stack(void *stack) {
    pthread_mutex_lock(&stacks_lock);
    if (idle_stacks < STACK_POOL) {
        stacks[idle_stacks++] = stack;
        stack = NULL;
    }
    pthread_mutex_unlock(&stacks_lock);
    free(stack);
}

// 1 until clone has refused what it needs once; then every launch uses posix_spawn.
static atomic_int clone_works = 1;

static int raise_descriptor(int *fd, int *raised) {
    if (*fd >= 3) return 0;
    int copy = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return errno;
    *fd = copy;
    *raised = copy;
    return 0;
}

static int clone_launch(pid_t *pid, int *pidfd, int *stage, const char *path, char *const argv[], char *const envp[],
                        const char *directory, int in, int out, int err) {
    int raised[3] = {-1, -1, -1};
    int rc = raise_descriptor(&in, &raised[0]);
    if (rc == 0) rc = raise_descriptor(&out, &raised[1]);
    if (rc == 0) rc = raise_descriptor(&err, &raised[2]);
    void *stack = rc == 0 ? take_stack() : NULL;
    if (rc == 0 && stack == NULL) rc = ENOMEM;
    if (rc != 0) {
        for (int i = 0; i < 3; i++) if (raised[i] >= 0) close(raised[i]);
        *stage = SYNTHSET_STAGE_PREPARE;
        return rc;
    }
    struct launch launch = {path, argv, envp, directory, in, out, err, 0, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int fd = -1;
    pid_t child_pid = clone(child, (char *)stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &launch, &fd);
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    give_back_stack(stack);
    for (int i = 0; i < 3; i++) if (raised[i] >= 0) close(raised[i]);
    if (child_pid < 0) {
        *stage = SYNTHSET_STAGE_CLONE;
        return clone_error;
    }
    if (launch.error != 0) {
        // The child has exited: reap it.
        siginfo_t info;
        while (waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED) != 0 && errno == EINTR) {}
        close(fd);
        *stage = launch.stage;
        return launch.error;
    }
    *pid = child_pid;
    *pidfd = fd;
    return 0;
}

static int posix_launch(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                        const char *directory, int in, int out, int err);

static __thread int takes_sigchld = 0;

int synthset_launch(pid_t *pid, int *pidfd, int *stage, const char *path, char *const argv[], char *const envp[],
                    const char *directory, int in, int out, int err) {
    if (!takes_sigchld) {
        sigset_t sigchld;
        sigemptyset(&sigchld);
        sigaddset(&sigchld, SIGCHLD);
        pthread_sigmask(SIG_UNBLOCK, &sigchld, NULL);
        takes_sigchld = 1;
    }
    *pidfd = -1;
    *stage = SYNTHSET_STAGE_NONE;
    if (atomic_load_explicit(&clone_works, memory_order_relaxed)) {
        int rc = clone_launch(pid, pidfd, stage, path, argv, envp, directory, in, out, err);
        // EINVAL from clone: no CLONE_PIDFD; ENOSYS from the child: no close_range.
        int unsupported = (*stage == SYNTHSET_STAGE_CLONE && (rc == EINVAL || rc == ENOSYS))
            || (*stage == SYNTHSET_STAGE_DESCRIPTORS && rc == ENOSYS);
        if (!unsupported) return rc;
        atomic_store_explicit(&clone_works, 0, memory_order_relaxed);
    }
    *stage = SYNTHSET_STAGE_NONE;
    return posix_launch(pid, path, argv, envp, directory, in, out, err);
}

void synthset_launch_use_clone(int use) {
    atomic_store_explicit(&clone_works, use ? 1 : 0, memory_order_relaxed);
}

int synthset_launch_uses_clone(void) {
    return atomic_load_explicit(&clone_works, memory_order_relaxed);
}

static int posix_launch(pid_t *pid, const char *path, char *const argv[], char *const envp[],
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
