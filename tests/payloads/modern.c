/* A glibc program of today, for the seccomp end-to-end tests: it makes the calls Docker's 2016
 * list (rkt 1.30's default) did not allow. glibc >= 2.34 creates threads and spawns with clone3
 * (falling back to clone on ENOSYS), checks access with faccessat2 (>= 2.33) and stats with
 * statx. One `NAME=ok` line per call; exit 1 on the first failure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *worker(void *arg) { return arg; }

static int check(const char *name, int ok) {
    printf("%s=%s\n", name, ok ? "ok" : "fail");
    return ok;
}

int main(void) {
    pthread_t t;
    void *back = NULL;
    int marker = 42;
    if (!check("pthread", pthread_create(&t, NULL, worker, &marker) == 0 &&
                              pthread_join(t, &back) == 0 && back == &marker))
        return 1;
    struct statx sx;
    if (!check("statx", statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &sx) == 0)) return 1;
    if (!check("faccessat2", faccessat(AT_FDCWD, "/bin/sh", X_OK, AT_EACCESS) == 0)) return 1;
    pid_t pid;
    char *argv[] = {"/bin/sh", "-c", "exit 7", NULL};
    int status = 0;
    if (!check("posix_spawn", posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0 &&
                                  waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                                  WEXITSTATUS(status) == 7))
        return 1;
    return 0;
}
