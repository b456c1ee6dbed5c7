#ifndef SYNTHSET_CSPAWN_H
#define SYNTHSET_CSPAWN_H

#include <sys/types.h>

/// What a failed launch was doing (``synthset_launch``'s `stage`).
enum {
    SYNTHSET_STAGE_NONE = 0,
    /// Before the clone (descriptors, the child's stack).
    SYNTHSET_STAGE_PREPARE = 1,
    SYNTHSET_STAGE_CLONE = 2,
    /// In the child: setsid, its descriptors, its working directory, execve.
    SYNTHSET_STAGE_SESSION = 3,
    SYNTHSET_STAGE_DESCRIPTORS = 4,
    SYNTHSET_STAGE_DIRECTORY = 5,
    SYNTHSET_STAGE_EXEC = 6,
};

/// Starts `path` with `argv` and `envp` (NULL-terminated) in `directory`, in a new
/// session (its own process group), with `in`, `out` and `err` as its fds 0, 1 and 2
/// (they may be the same descriptor), every other descriptor closed, no signal blocked
/// and every signal at its default action. Returns 0 with the child's pid in `pid` and,
/// where the kernel has them, its pidfd in `pidfd` (else -1). The calling thread no
/// longer blocks SIGCHLD afterwards (spawn.c says why).
/// On failure returns the errno of what failed, with `stage` saying which step (an
/// executable that cannot be run, a missing directory), and no child left behind.
int synthset_launch(pid_t *pid, int *pidfd, int *stage, const char *path, char *const argv[], char *const envp[],
                    const char *directory, int in, int out, int err);

/// Whether launches clone (1, until the kernel refuses what that needs) or use
/// posix_spawn (0); tests set it to check both ways.
void synthset_launch_use_clone(int use);
int synthset_launch_uses_clone(void);

/// A pidfd for `pid` (close-on-exec), or -1 with errno set (ENOSYS before Linux 5.3).
int synthset_pidfd_open(pid_t pid);

/// Reaps the exited child `pidfd` refers to (`waitid(P_PIDFD)`, Linux 5.4). Returns 0 with
/// `exited` 1 and its exit code in `status`, or `exited` 0 and the signal that ended it;
/// -1 with errno set when it cannot.
int synthset_reap_pidfd(int pidfd, int *exited, int *status);

/// The same for `pid` itself, blocking until it exits (where there are no pidfds).
int synthset_reap_pid(pid_t pid, int *exited, int *status);

/// An epoll set for pidfds (close-on-exec), or -1 with errno set.
int synthset_exits_create(void);

/// Adds `pidfd` to the set, reported once when its process has exited. 0, or -1.
int synthset_exits_add(int set, int pidfd);

/// Waits until some pidfds in the set are ready; writes up to `capacity` of them to
/// `pidfds` and returns how many (0 when interrupted by a signal).
int synthset_exits_wait(int set, int *pidfds, int capacity);

#endif
