#ifndef SYNTHSET_CSPAWN_H
#define SYNTHSET_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) in `directory`, in a new
/// session (its own process group), with `in`, `out` and `err` as its fds 0, 1 and 2,
/// every other descriptor closed, no signal blocked and every signal at its default
/// action. Returns 0 and the child's pid in `pid`, or the errno of what failed (an
/// executable that cannot be run, a missing directory) with no child left behind.
int synthset_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   const char *directory, int in, int out, int err);

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
