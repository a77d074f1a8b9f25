/*
 * The seccomp-bpf allowlists of the actors and the HTTP workers (see
 * sandbox.h). Collected with `strace -f -ff` on a server under the whole
 * integration suite, sign-ins, OIDC flows, key rotations and database
 * reconnects (TCP, TLS, a host name
 * resolved over DNS, the embedded cluster's Unix socket), then cut to what
 * the code paths after confinement can reach. Names that do not exist on an
 * architecture (poll on arm64, ...) are skipped.
 *
 * Default action: kill the process. One refusal is not a kill: clone3
 * answers ENOSYS, so glibc falls back to clone, whose flags a filter can see.
 * Lazy first uses that would open files or map code (the time zone,
 * libgcc_s for pthread_exit) are done before the filter goes on.
 */
#include "proc/sandbox.h"
#include "common/config.h"
#include "common/log.h"
#include "common/sanitizer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Every role: the signer, the kdf and the workers. */
static const char *const common_syscalls[] = {
	/* The control socket and the worker links: frames with passed fds
	 * (sendmsg/recvmsg), the poll loop, closing a dropped link. fcntl:
	 * the kdf replies on an F_DUPFD_CLOEXEC copy of the requester's socket;
	 * libpq sets O_NONBLOCK and FD_CLOEXEC on a new connection. */
	"recvmsg", "sendmsg", "poll", "ppoll", "close", "fcntl",
	/* Logging: one fprintf to stderr per line, which carries our pid. */
	"write", "getpid", "gettid",
	/* Memory: malloc's brk heap, mmap above the threshold (the kdf's 19 MiB
	 * argon2 blocks), mremap for realloc, madvise and munmap when freeing.
	 * mmap and mprotect are added below, never with PROT_EXEC. */
	"brk", "munmap", "mremap", "madvise",
	/* Locks and condition variables (the kdf queue, OpenSSL, libpq). */
	"futex", "sched_yield",
	/* Time: the vDSO answers these without a syscall where the clock
	 * source allows it; elsewhere (some VMs) they are real syscalls. */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
	/* Signals: SIGTERM is "stop" (a handler returns via rt_sigreturn); a
	 * blocking poll interrupted by a stop/continue or a tracer resumes via
	 * restart_syscall; pthread_create and libpq mask signals. */
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "restart_syscall",
	/* Random bytes: argon2 salts in the kdf, OpenSSL's DRBG (re)seeding in
	 * the signer (RSA blinding, ECDSA nonces). */
	"getrandom",
	/* The end: a thread, then the process. */
	"exit", "exit_group",
};

/* The kdf: its thread pool is started after the filter, and libargon2
 * starts one thread per lane to verify a stored hash with p > 1. */
static const char *const kdf_syscalls[] = {
	/* A new thread registers its robust-futex list and rseq area; glibc
	 * malloc sizes its arena count from the CPUs a thread may run on.
	 * clone is added below for threads only. */
	"set_robust_list", "rseq", "sched_getaffinity",
};

/* The signer and the store: a PostgreSQL connection (the signer's LISTEN
 * for key changes; the store's pool and its revocation listener),
 * which libpq re-opens after a loss, with backoff: resolve, connect, TLS,
 * GSSAPI probing (libpq's default gssencmode=prefer over TCP). */
static const char *const database_syscalls[] = {
	/* The connection itself: non-blocking connect, socket options, peer
	 * checks, the protocol (send/recv are sendto/recvfrom). socket is added
	 * below for AF_UNIX, AF_INET and AF_INET6 only. */
	"connect", "getsockopt", "setsockopt", "getsockname", "getpeername", "sendto", "recvfrom",
	/* glibc's resolver for a host name: both queries in one sendmmsg,
	 * TCP fallback with writev/read. It sizes each answer with
	 * ioctl(FIONREAD), added below with that request only. */
	"sendmmsg", "read", "readv", "writev", "shutdown",
	/* Files read at reconnect: /etc/hosts, resolv.conf, gai.conf (resolver),
	 * /etc/passwd (getpwuid for the home of ~/.postgresql/ TLS files),
	 * /etc/krb5.conf and the credential cache (GSSAPI probe). openat is
	 * added below, read-only. */
	"newfstatat", "fstat", "stat", "lstat", "statx", "lseek", "pread64", "access", "faccessat",
	"faccessat2", "readlink", "getdents64", "uname",
	/* Who we are: libpq, Kerberos and nss ask. */
	"getuid", "geteuid", "getgid", "getegid",
};

/* The workers: HTTP on the shared listening sockets through libevent's
 * epoll loop, and nothing else: no database connection (the store actor
 * holds those), so neither socket nor connect. Request bodies are read with
 * ioctl(FIONREAD) + readv and answers written with writev; TCP_NODELAY goes
 * through setsockopt, the peer address of a proxy check through
 * getpeername/getsockname. The signer, kdf and store links arrive as
 * SCM_RIGHTS fds over the control socket (recvmsg, common). SIGHUP and
 * SIGTERM reach the loop through libevent's signal socketpair (write in the
 * handler, recvfrom in the loop). OIDC_CLIENTS_FILE is stat'ed once a
 * second and re-read (read-only) when it changed or on SIGHUP. The
 * shared-memory robust mutexes (session cache, rate limits) need only futex
 * (common): the robust list was registered at fork, and the kernel walks it
 * when a worker dies holding a lock. */
static const char *const worker_syscalls[] = {
	"accept4", "accept",
	/* epoll_wait is missing on arm64, where glibc uses epoll_pwait. */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"read", "readv", "writev", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto", "recvfrom",
	"newfstatat", "fstat", "stat", "lstat", "statx", "lseek", "pread64", "getdents64",
	"getuid", "geteuid", "getgid", "getegid",
};

/* The mailer: libcurl's SMTP over TLS (collected with strace -f on
 * `dreamauth smtp test` and the mailer under the mail tests). The
 * connection needs what the database's needs (socket for AF_INET/AF_INET6/
 * AF_UNIX, connect, the resolver's files, OpenSSL reading the CA roots
 * read-only); libcurl's threaded resolver runs getaddrinfo on a thread
 * (clone with CLONE_THREAD only) and wakes the transfer through a
 * socketpair; OpenSSL asks sysinfo once; the transfer waits in poll.
 * Nothing else: no accept, no bind, no exec, no writing files. */
static const char *const mailer_syscalls[] = {
	"socketpair", "sysinfo",
};

static bool sandbox_failed(int rc, const char *what)
{
	errno = -rc;
	log_warn("seccomp: %s", what);
	return true;
}

static int allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* unknown to this libseccomp */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		/* A negative nr is a name this architecture lacks: nothing to allow. */
		if (rc < 0 && nr >= 0 && sandbox_failed(rc, names[i]))
			return -1;
	}
	return 0;
}

/* Allow name when one argument satisfies cmp (rules on the same syscall OR). */
static int allow_if(scmp_filter_ctx ctx, const char *name, struct scmp_arg_cmp cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, cmp);
	if (rc < 0 && nr >= 0 && sandbox_failed(rc, name))
		return -1;
	return 0;
}

/* Memory never becomes executable: no new code can be mapped or made
 * runnable after confinement (which is why libgcc_s is loaded before it). */
static int allow_memory(scmp_filter_ctx ctx)
{
	return allow_if(ctx, "mmap", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) ||
	    allow_if(ctx, "mmap2", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) ||
	    allow_if(ctx, "mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) ? -1 : 0;
}

/* abort() raises SIGABRT on itself: let it, so the master logs the real
 * cause rather than SIGSYS. Only towards our own pid. */
static int allow_self_signal(scmp_filter_ctx ctx)
{
	return allow_if(ctx, "tgkill", SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
}

#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
#define CLONE_FLAGS_ARG SCMP_A1
#else
#define CLONE_FLAGS_ARG SCMP_A0
#endif

/* Threads yes, processes and namespaces no: clone must carry CLONE_THREAD
 * and no CLONE_NEW* flag. clone3 passes its flags in memory a filter cannot
 * read, so it answers ENOSYS and glibc retries with clone. */
static int allow_threads(scmp_filter_ctx ctx)
{
	const scmp_datum_t mask = CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	int nr = seccomp_syscall_resolve_name("clone3");
	if (allow_if(ctx, "clone", CLONE_FLAGS_ARG(SCMP_CMP_MASKED_EQ, mask, CLONE_THREAD)) < 0)
		return -1;
	if (nr != __NR_SCMP_ERROR) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (rc < 0 && nr >= 0 && sandbox_failed(rc, "clone3"))
			return -1;
	}
	return 0;
}

/* Sockets of the families libpq and the resolver use; no raw or netlink.
 * Of ioctl only FIONREAD (bytes waiting), which the resolver asks. */
static int allow_sockets(scmp_filter_ctx ctx)
{
	return allow_if(ctx, "socket", SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) ||
	    allow_if(ctx, "socket", SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)) ||
	    allow_if(ctx, "socket", SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)) ||
	    allow_if(ctx, "ioctl", SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0)) ? -1 : 0;
}

/* Opening files for reading only: no write access, no creation, no
 * truncation (Linux truncates even on O_RDONLY|O_TRUNC). openat2 passes its
 * flags in memory and is not allowed at all. */
static int allow_read_only_files(scmp_filter_ctx ctx)
{
	const scmp_datum_t writing = O_ACCMODE | O_CREAT | O_TRUNC;
	return allow_if(ctx, "openat", SCMP_A2(SCMP_CMP_MASKED_EQ, writing, 0)) ||
	    allow_if(ctx, "open", SCMP_A1(SCMP_CMP_MASKED_EQ, writing, 0)) ? -1 : 0;
}

/* pthread_exit() (how libargon2's lane threads end) makes glibc dlopen
 * libgcc_s for unwinding on first use. Do that first use now, while a
 * library can still be opened and mapped executable. */
static void *exit_through_unwinder(void *arg)
{
	pthread_exit(arg);
}

static int load_unwinder(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, exit_through_unwinder, NULL) != 0 || pthread_join(t, NULL) != 0) {
		log_warnx("seccomp: cannot start a thread before confinement");
		return -1;
	}
	return 0;
}

static int build(scmp_filter_ctx ctx, enum sandbox_role role)
{
	if (allow_list(ctx, common_syscalls, N_OF(common_syscalls)) < 0 || allow_memory(ctx) < 0 ||
	    allow_self_signal(ctx) < 0)
		return -1;
	switch (role) {
	case SANDBOX_KDF:
		return allow_list(ctx, kdf_syscalls, N_OF(kdf_syscalls)) < 0 || allow_threads(ctx) < 0 ? -1 : 0;
	case SANDBOX_SIGNER:
		return allow_list(ctx, database_syscalls, N_OF(database_syscalls)) < 0 || allow_sockets(ctx) < 0 ||
		    allow_read_only_files(ctx) < 0 ? -1 : 0;
	case SANDBOX_STORE:
		return allow_list(ctx, database_syscalls, N_OF(database_syscalls)) < 0 || allow_sockets(ctx) < 0 ||
		    allow_read_only_files(ctx) < 0 || allow_list(ctx, kdf_syscalls, N_OF(kdf_syscalls)) < 0 ||
		    allow_threads(ctx) < 0 ? -1 : 0;
	case SANDBOX_MAILER:
		return allow_list(ctx, database_syscalls, N_OF(database_syscalls)) < 0 || allow_sockets(ctx) < 0 ||
		    allow_read_only_files(ctx) < 0 || allow_list(ctx, kdf_syscalls, N_OF(kdf_syscalls)) < 0 ||
		    allow_list(ctx, mailer_syscalls, N_OF(mailer_syscalls)) < 0 || allow_threads(ctx) < 0 ? -1 : 0;
	case SANDBOX_WORKER:
		return allow_list(ctx, worker_syscalls, N_OF(worker_syscalls)) < 0 ||
		    allow_if(ctx, "ioctl", SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0)) < 0 ||
		    allow_read_only_files(ctx) < 0 ? -1 : 0;
	}
	return -1;
}

int sandbox_install(enum sandbox_role role)
{
	scmp_filter_ctx ctx;
	int rc;

	/* strftime (in every log line) calls tzset, which reads /etc/localtime
	 * the first time: make that first time now. */
	tzset();
	if ((role == SANDBOX_KDF || role == SANDBOX_STORE || role == SANDBOX_MAILER) && load_unwinder() < 0)
		return -1;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		log_warnx("seccomp: cannot create a filter");
		return -1;
	}
	/* A syscall made through another ABI (int 0x80 on x86-64) is killed
	 * too; TSYNC puts every thread under the filter, not only this one. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0) {
		sandbox_failed(rc, "filter attributes");
		seccomp_release(ctx);
		return -1;
	}
	if (build(ctx, role) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		sandbox_failed(rc < 0 ? rc : -EINVAL, "loading the filter");
		return -1;
	}
	return 0;
}

bool sandbox_built_in(void)
{
#ifdef DREAMAUTH_ASAN
	return false;
#else
	return true;
#endif
}

int sandbox_enter(enum sandbox_role role)
{
	if (!sandbox_built_in()) {
		log_debug("seccomp filter not installed: AddressSanitizer build");
		return 0;
	}
	if (!cfg.seccomp) {
		log_info("seccomp filter off (SECCOMP=false)");
		return 0;
	}
	if (sandbox_install(role) < 0)
		return -1;
	log_debug("seccomp filter installed");
	return 0;
}
