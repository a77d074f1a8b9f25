/*
 * Shared by the shared-memory table tests (test_rate_limit.c,
 * test_session_cache.c): a MAP_SHARED region that forked children see, and
 * reaping those children with a check that each exited 0.
 * Include after tests/unit/check.h.
 */
#ifndef DREAMAUTH_SHM_TEST_UTIL_H
#define DREAMAUTH_SHM_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Anonymous shared memory (exit 2 if the system refuses it). */
static inline void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static inline void wait_children(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		int status;

		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* n processes at once, each child(i) and then _exit(0); all waited for. */
static inline void race_processes(int n, void (*child)(int i))
{
	pid_t pids[64];

	for (int i = 0; i < n && i < 64; i++) {
		if ((pids[i] = fork()) == 0) {
			child(i);
			_exit(0);
		}
	}
	wait_children(pids, n < 64 ? n : 64);
}
#endif
