/*
 * seccomp-bpf syscall allowlists for the two actors and the HTTP workers,
 * installed after they have loaded what they need and dropped privileges. A syscall not on the
 * list kills the whole process with SIGSYS: the master logs "died from
 * signal 31" and restarts it; the kernel logs the syscall number (dmesg,
 * audit type=1326). The lists and why each entry is there: sandbox.c.
 */
#ifndef DREAMAUTH_SANDBOX_H
#define DREAMAUTH_SANDBOX_H
#include <stdbool.h>

enum sandbox_role {
	SANDBOX_KDF,		/* IPC, memory, threads: argon2id only */
	SANDBOX_SIGNER,		/* IPC, memory, and its PostgreSQL connection */
	SANDBOX_STORE,		/* the signer's, plus threads: its connection pool */
	SANDBOX_WORKER,		/* HTTP only: accept, epoll, IPC; no socket, no connect */
	SANDBOX_MAILER,		/* IPC to the store, and SMTP (TLS) through libcurl */
};

/* The entry point of the actors and workers: the role's filter, unless SECCOMP=false or this
 * is an AddressSanitizer build (LeakSanitizer ptraces the process at exit).
 * Returns 0, or -1 (logged) if the filter could not be installed. */
int sandbox_enter(enum sandbox_role role);

/* The filter itself, unconditionally, for the calling process (every
 * thread). Returns 0 or -1 (logged). */
int sandbox_install(enum sandbox_role role);

/* false in builds where sandbox_enter never installs a filter. */
bool sandbox_built_in(void);
#endif
