/*
 * The seccomp allowlists (proc/sandbox.c), each in a forked child: what an
 * actor does after confinement still works (IPC frames with passed fds,
 * large allocations, threads including libargon2's lane threads that end in
 * pthread_exit, read-only files for the signer and workers, a worker's
 * accept/epoll/readv/writev on TCP), and what is not listed
 * kills the process with SIGSYS: execve, fork, a file opened for writing,
 * executable memory, a raw socket, ptrace. SECCOMP=false installs nothing.
 * In AddressSanitizer builds only the kills are checked (the sanitizer's
 * own runtime makes syscalls no actor makes; production skips the filter).
 */
#include "tests/unit/check.h"
#include "common/config.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "proc/sandbox.h"

#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_OK 0
#define EXIT_INSTALL 90		/* sandbox_install failed */
#define EXIT_WRONG 91		/* an allowed call misbehaved */

/* Runs body(role) in a child after installing role's filter (or after
 * sandbox_enter when via_enter); returns the raw wait status. */
static int in_child(enum sandbox_role role, bool via_enter, int (*body)(enum sandbox_role))
{
	int status = -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = via_enter ? sandbox_enter(role) : sandbox_install(role);
		_exit(rc < 0 ? EXIT_INSTALL : body(role));
	}
	CHECK(pid > 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	return status;
}

static bool exited_ok(int status)
{
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_OK))
		fprintf(stderr, "child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == EXIT_OK;
}

static bool killed_by_sigsys(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

/* Made by the parent, as the master makes the actors' links. */
static int pair[2];
/* Made before confinement, as a worker's listener and libevent's epoll. */
static int listener = -1, epfd = -1;

static int make_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)
		return -1;
	return fd;
}

/* The client side of a worker's request, connected before the child is
 * confined: a worker itself may not create a socket. */
static int client = -1;

static int connect_client(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	if (getsockname(listener, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

/* A worker's request: accept a connection announced by epoll, set
 * TCP_NODELAY, ask the peer, read with FIONREAD + readv, answer with writev. */
static int worker_http_round(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener }, got;
	char req[] = "GET / HTTP/1.1\r\n\r\n", buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	int one = 1, waiting = 0;

	if (getsockname(listener, (struct sockaddr *)&a, &alen) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0)
		return EXIT_WRONG;
	if (client < 0 || write(client, req, strlen(req)) < 0)
		return EXIT_WRONG;
	if (epoll_wait(epfd, &got, 1, 2000) != 1 || got.data.fd != listener)
		return EXIT_WRONG;
	int conn = accept4(listener, (struct sockaddr *)&a, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (conn < 0 || setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    getpeername(conn, (struct sockaddr *)&a, &alen) < 0)
		return EXIT_WRONG;
	ev.data.fd = conn;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, conn, &ev) < 0 || epoll_wait(epfd, &got, 1, 2000) != 1 ||
	    ioctl(conn, FIONREAD, &waiting) < 0 || readv(conn, &iov, 1) != (ssize_t)strlen(req))
		return EXIT_WRONG;
	iov.iov_len = 8;
	if (writev(conn, &iov, 1) != 8 || epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL) < 0)
		return EXIT_WRONG;
	close(conn);
	return EXIT_OK;
}

static void *thread_body(void *arg)
{
	char *block = malloc(4 << 20);	/* this thread's arena; above the mmap threshold */
	if (block)
		memset(block, 1, 4 << 20);
	free(block);
	return arg;
}

static void *thread_exits(void *arg)
{
	pthread_exit(arg);
}

/* What the actors do once confined. */
static int allowed_work(enum sandbox_role role)
{
	int passed = -1;
	struct ipc_msg m = { .type = IPC_PING, .rid = 7 }, got;
	struct timespec ts, nap = { 0, 1000000 };
	unsigned char salt[16] = { 1 }, out[32];

	/* A frame with a passed fd, a dup of it, close. */
	if (ipc_send(pair[0], &m, pair[0]) < 0 || ipc_recv(pair[1], &got, &passed) != 1 || got.rid != 7 || passed < 0)
		return EXIT_WRONG;
	ipc_msg_free(&got);
	int copy = fcntl(passed, F_DUPFD_CLOEXEC, 0);
	if (copy < 0 || close(copy) < 0 || close(passed) < 0)
		return EXIT_WRONG;
	/* Memory: big and small, realloc, free. */
	char *big = malloc(24 << 20), *small = malloc(100);
	if (!big || !small || !(small = realloc(small, 1 << 20)))
		return EXIT_WRONG;
	memset(big, 0, 24 << 20);
	free(big);
	free(small);
	/* Time, randomness, logging. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	nanosleep(&nap, NULL);
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		return EXIT_WRONG;
	log_warnx("logging works under the filter (pid %d)", (int)getpid());
	if (role == SANDBOX_KDF || role == SANDBOX_STORE) {
		pthread_t t[2];
		/* The pool's threads (their own malloc arenas) and one that ends in pthread_exit. */
		if (pthread_create(&t[0], NULL, thread_body, NULL) != 0 || pthread_create(&t[1], NULL, thread_exits, NULL) != 0)
			return EXIT_WRONG;
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		/* argon2id with p = 2 runs one thread per lane. */
		if (role == SANDBOX_KDF && argon2id_hash_raw(1, 64, 2, "pw", 2, salt, sizeof(salt), out, sizeof(out)) != ARGON2_OK)
			return EXIT_WRONG;
		/* clone3 is refused with ENOSYS, not a kill: glibc retries with clone. */
		if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
			return EXIT_WRONG;
	}
	if (role != SANDBOX_KDF) {
		/* Read-only files (resolver, nss, Kerberos at reconnect; a worker's
		 * OIDC_CLIENTS_FILE, stat'ed for changes) and, but for a worker, sockets. */
		int fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
		char buf[64];
		struct stat st;
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0 || close(fd) < 0 || stat("/etc/hosts", &st) < 0)
			return EXIT_WRONG;
		if (role == SANDBOX_WORKER)
			return worker_http_round();
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), u = socket(AF_UNIX, SOCK_STREAM, 0), waiting;
		if (s < 0 || u < 0 || ioctl(pair[1], FIONREAD, &waiting) < 0)	/* as the resolver asks */
			return EXIT_WRONG;
		close(s);
		close(u);
		(void)getuid();
		(void)geteuid();
	}
	return EXIT_OK;
}

/* Forbidden calls, one per child; each must end in SIGSYS. */
static int do_execve(enum sandbox_role role)
{
	char *argv[] = { "/bin/true", NULL }, *envp[] = { NULL };
	execve("/bin/true", argv, envp);
	return EXIT_OK;
}

static int do_fork(enum sandbox_role role)
{
	pid_t pid = fork();	/* clone without CLONE_THREAD */
	if (pid == 0)
		_exit(0);
	return EXIT_OK;
}

static int do_open_for_writing(enum sandbox_role role)
{
	int fd = open("/tmp/dreamauth-sandbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink("/tmp/dreamauth-sandbox-test");
	return EXIT_OK;
}

static int do_open_truncating(enum sandbox_role role)
{
	open("/tmp/dreamauth-sandbox-absent", O_RDONLY | O_TRUNC);
	return EXIT_OK;
}

static int do_open_reading(enum sandbox_role role)
{
	open("/etc/hosts", O_RDONLY);	/* fine for the signer and workers, not for the kdf */
	return EXIT_OK;
}

static int do_exec_memory(enum sandbox_role role)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? EXIT_WRONG : EXIT_OK;
}

static int do_mprotect_exec(enum sandbox_role role)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return EXIT_OK;
}

static int do_raw_socket(enum sandbox_role role)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return EXIT_OK;
}

static int do_netlink_socket(enum sandbox_role role)
{
	socket(AF_NETLINK, SOCK_RAW, 0);
	return EXIT_OK;
}

static int do_ptrace(enum sandbox_role role)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return EXIT_OK;
}

static int do_tiocsti(enum sandbox_role role)
{
	char c = 'x';
	ioctl(0, TIOCSTI, &c);	/* typing into a terminal: any ioctl but FIONREAD */
	return EXIT_OK;
}

static int do_getppid(enum sandbox_role role)
{
	(void)syscall(SYS_getppid);	/* harmless, but not listed */
	return EXIT_OK;
}

static int do_kill_other(enum sandbox_role role)
{
	kill(1, 0);
	return EXIT_OK;
}

static int do_socketpair(enum sandbox_role role)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);	/* links are made by the master */
	return EXIT_OK;
}

static int do_new_epoll(enum sandbox_role role)
{
	epoll_create1(EPOLL_CLOEXEC);	/* the loop exists before confinement */
	return EXIT_OK;
}

static int do_bind(enum sandbox_role role)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);	/* allowed for the signer and workers */
	bind(fd, (struct sockaddr *)&a, sizeof(a));	/* a new listener is not */
	return EXIT_OK;
}

static int do_setuid(enum sandbox_role role)
{
	setresuid(0, 0, 0);	/* no way back to another identity */
	return EXIT_OK;
}

static int do_socket_inet(enum sandbox_role role)
{
	socket(AF_INET, SOCK_STREAM, 0);	/* neither the kdf nor a worker opens a connection */
	return EXIT_OK;
}

static int do_socket_unix(enum sandbox_role role)
{
	socket(AF_UNIX, SOCK_STREAM, 0);	/* nor reaches PostgreSQL's unix socket */
	return EXIT_OK;
}

static int do_connect(enum sandbox_role role)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(5432), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	connect(pair[0], (struct sockaddr *)&to, sizeof(to));	/* even on a socket it holds */
	return EXIT_OK;
}

/* Without a filter: 0. Under one that does not list prctl: SIGSYS. */
static int seccomp_mode(enum sandbox_role role)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
}

int main(void)
{
	static const struct {
		const char *what;
		int (*body)(enum sandbox_role);
		bool dies[5];	/* kdf, signer, store, worker, mailer: the order of roles[] */
	} forbidden[] = {
		{ "execve", do_execve, { true, true, true, true, true } },
		{ "fork", do_fork, { true, true, true, true, true } },
		{ "open for writing", do_open_for_writing, { true, true, true, true, true } },
		{ "open with O_TRUNC", do_open_truncating, { true, true, true, true, true } },
		{ "open for reading", do_open_reading, { true, false, false, false, false } },
		{ "mmap PROT_EXEC", do_exec_memory, { true, true, true, true, true } },
		{ "mprotect PROT_EXEC", do_mprotect_exec, { true, true, true, true, true } },
		{ "AF_PACKET socket", do_raw_socket, { true, true, true, true, true } },
		{ "AF_NETLINK socket", do_netlink_socket, { true, true, true, true, true } },
		{ "AF_INET socket", do_socket_inet, { true, false, false, true, false } },
		{ "AF_UNIX socket", do_socket_unix, { true, false, false, true, false } },
		{ "connect", do_connect, { true, false, false, true, false } },
		{ "socketpair", do_socketpair, { true, true, true, true, false } },
		{ "epoll_create1", do_new_epoll, { true, true, true, true, true } },
		{ "bind", do_bind, { true, true, true, true, true } },
		{ "setresuid", do_setuid, { true, true, true, true, true } },
		{ "ptrace", do_ptrace, { true, true, true, true, true } },
		{ "ioctl TIOCSTI", do_tiocsti, { true, true, true, true, true } },
		{ "getppid", do_getppid, { true, true, true, true, true } },
		{ "kill", do_kill_other, { true, true, true, true, true } },
	};
	static const enum sandbox_role roles[] = { SANDBOX_KDF, SANDBOX_SIGNER, SANDBOX_STORE, SANDBOX_WORKER, SANDBOX_MAILER };
	static const char *const role_names[] = { "kdf", "signer", "store", "worker", "mailer" };

	log_init("test", LOG_LEVEL_WARN);
	cfg.argon2_m_kib = 64;
	cfg.argon2_t = 1;
	cfg.argon2_p = 1;
	CHECK_EQ_INT(ipc_socketpair(pair), 0);
	listener = make_listener();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(listener >= 0 && epfd >= 0);
	client = connect_client();
	CHECK(client >= 0);

	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		enum sandbox_role role = roles[r];
		const char *name = role_names[r];

		if (sandbox_built_in()) {
			CHECK(exited_ok(in_child(role, false, allowed_work)));
			/* sandbox_enter honours SECCOMP: on by default, off installs nothing. */
			cfg.seccomp = true;
			CHECK(killed_by_sigsys(in_child(role, true, seccomp_mode)));
		}
		cfg.seccomp = false;
		int st = in_child(role, true, seccomp_mode);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
			bool dies = forbidden[i].dies[r];
			/* Surviving means reaching _exit, where ASan runs LeakSanitizer. */
			if (!dies && !sandbox_built_in())
				continue;
			st = in_child(role, false, forbidden[i].body);
			if (dies != killed_by_sigsys(st))
				fprintf(stderr, "%s, %s: expected %s, got status 0x%x\n", name, forbidden[i].what,
				    dies ? "SIGSYS" : "survival", st);
			CHECK(dies == killed_by_sigsys(st));
		}
	}
	return CHECK_DONE();
}
