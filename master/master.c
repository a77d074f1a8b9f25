/*
 * master: reads the configuration, brings up the database (an embedded
 * PostgreSQL child when DATABASE_URL is unset), migrates, opens the listening
 * sockets and the shared-memory region, then forks the signer, the kdf and
 * N workers and supervises them like nginx's master: a child that dies is
 * logged with its cause and restarted with backoff; SIGTERM/SIGINT drain the
 * workers, then stop the actors and the database; SIGHUP is passed to the
 * workers, which reload OIDC_CLIENTS_FILE. The master never parses client
 * input; it brokers one socketpair per (worker, actor) and re-brokers it
 * when either side restarts.
 */
#include "master/master.h"
#include "shm/metrics.h"
#include "common/config.h"
#include "common/db.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "common/migrate.h"
#include "proc/privdrop.h"
#include "common/secure.h"
#include "kdf/kdf.h"
#include "mail/mailer.h"
#include "proc/actor_loop.h"
#include "master/pg_embedded.h"
#include "shm/revoked_tokens.h"
#include "shm/shm.h"
#include "signer/signer.h"
#include "store/store.h"
#include "workers/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdnoreturn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

enum child_role { ROLE_WORKER, ROLE_SIGNER, ROLE_KDF, ROLE_STORE, ROLE_POSTGRES, ROLE_MAILER, ROLE_COUNT };

struct child {
	enum child_role role;
	int slot;			/* worker index */
	pid_t pid;
	int ctrl_fd;
	struct event *ctrl_ev;
	struct event *restart_ev;
	bool ready;			/* worker sent IPC_READY */
	struct timespec started;
	int backoff_ms;
};

static struct {
	struct event_base *base;
	struct shm_region *shm;
	int listen_fds[CONFIG_MAX_LISTEN];
	int n_listen;
	struct child workers[SHM_MAX_WORKERS];
	struct child signer, kdf, store, postgres, mailer;
	uint8_t csrf_key[32];
	/* seals TOTP secrets: the store's alone (every other child wipes it) */
	uint8_t two_factor_key[32];
	bool stopping;
	struct event *stop_timer;
	struct timespec stop_started;
} m;

static void spawn(struct child *ch);
static noreturn void run_worker(struct child *ch, int ctrl_fd);
static noreturn void run_signer(struct child *ch, int ctrl_fd);
static noreturn void run_kdf(struct child *ch, int ctrl_fd);
static noreturn void run_store(struct child *ch, int ctrl_fd);
static noreturn void run_mailer(struct child *ch, int ctrl_fd);

/*
 * The process table: every role the master forks, its entry point, the user
 * it drops to, its seccomp profile (installed by the entry point once it has
 * opened what it needs: proc/sandbox.c) and how it is restarted. Workers
 * are brokered a link to each actor with a peer kind. (The embedded
 * PostgreSQL is supervised too, but started by master/pg_embedded.c.)
 */
struct role_spec {
	const char *name;
	void (*run)(struct child *ch, int ctrl_fd);	/* never returns */
	const char *const *user;	/* the cfg field naming it */
	const char *sandbox;		/* for the reader and the logs; the entry point installs it */
	enum ipc_peer peer;		/* link kind a worker gets to it; 0 = none */
	_Atomic int32_t *pid_slot;	/* where /api/health and tests find its pid */
	const char *restart;
};

static struct role_spec roles[ROLE_COUNT] = {
	[ROLE_WORKER] = { "worker", run_worker, (const char *const *)&cfg.run_user, "SANDBOX_WORKER", 0, NULL,
		"backoff 100 ms doubling to 10 s; at once after 10 s of life" },
	[ROLE_SIGNER] = { "signer", run_signer, (const char *const *)&cfg.service_user, "SANDBOX_SIGNER",
		IPC_PEER_SIGNER, NULL, "same; workers get a new link" },
	[ROLE_KDF] = { "kdf", run_kdf, (const char *const *)&cfg.run_user, "SANDBOX_KDF", IPC_PEER_KDF, NULL,
		"same; workers get a new link" },
	[ROLE_STORE] = { "store", run_store, (const char *const *)&cfg.service_user, "SANDBOX_STORE", IPC_PEER_STORE,
		NULL, "same; workers get a new link, the listener catches up" },
	[ROLE_POSTGRES] = { "postgres", NULL, NULL, NULL, 0, NULL, "same (embedded cluster only)" },
	/* Only with SMTP_HOST. Holds SMTP_PASS (every other child wipes it) and a
	 * link to the store that answers it the outbox operations only. */
	[ROLE_MAILER] = { "mailer", run_mailer, (const char *const *)&cfg.service_user, "SANDBOX_MAILER", 0, NULL,
		"same; gets a new store link, and a new one when the store restarts" },
};

static struct child *actor_of_peer(int kind)
{
	switch (kind) {
	case IPC_PEER_SIGNER: return &m.signer;
	case IPC_PEER_KDF: return &m.kdf;
	case IPC_PEER_STORE: return &m.store;
	default: return NULL;
	}
}

static const char *role_name(const struct child *ch, char *buf, size_t len)
{
	if (ch->role == ROLE_WORKER)
		snprintf(buf, len, "worker %d", ch->slot + 1);
	else
		snprintf(buf, len, "%s", roles[ch->role].name);
	return buf;
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Give worker `slot` a fresh socketpair to an actor. */
static void broker(int slot, struct child *actor, enum ipc_peer kind)
{
	struct child *w = &m.workers[slot];
	int sv[2];
	struct ipc_msg to_worker = { .type = IPC_PEER_FD, .kind = kind, .slot = slot };
	struct ipc_msg to_actor = { .type = IPC_PEER_FD, .kind = kind, .slot = slot };

	if (w->pid <= 0 || !w->ready || actor->pid <= 0 || m.stopping)
		return;
	if (ipc_socketpair(sv) < 0) {
		log_warn("socketpair");
		return;
	}
	if (ipc_send(actor->ctrl_fd, &to_actor, sv[1]) < 0 || ipc_send(w->ctrl_fd, &to_worker, sv[0]) < 0)
		log_warn("handing a socket to worker %d", slot + 1);
	close(sv[0]);
	close(sv[1]);
}

static void broker_mailer(void);

static void broker_all(struct child *actor, enum ipc_peer kind)
{
	for (int i = 0; i < cfg.workers; i++)
		broker(i, actor, kind);
	if (actor == &m.store)
		broker_mailer();
}

/* The mailer's link to the store: brokered like a worker's, on the store's
 * extra peer slot (ACTOR_SLOT_MAILER), by which the store tells it apart. */
static void broker_mailer(void)
{
	int sv[2];
	struct ipc_msg msg = { .type = IPC_PEER_FD, .kind = IPC_PEER_STORE, .slot = ACTOR_SLOT_MAILER };

	if (m.mailer.pid <= 0 || m.store.pid <= 0 || m.stopping)
		return;
	if (ipc_socketpair(sv) < 0) {
		log_warn("socketpair");
		return;
	}
	if (ipc_send(m.store.ctrl_fd, &msg, sv[1]) < 0 || ipc_send(m.mailer.ctrl_fd, &msg, sv[0]) < 0)
		log_warn("handing the mailer a store link");
	close(sv[0]);
	close(sv[1]);
}

/* A child that sends its master a malformed control frame is broken (or
 * compromised) and its channel can no longer be trusted to frame anything:
 * kill it, and supervision restarts it with fresh links. */
static void kill_malformed(struct child *ch)
{
	char name[32];
	log_warnx("malformed frame on the control channel of %s (pid %d); killing it", role_name(ch, name, sizeof(name)),
	    (int)ch->pid);
	if (ch->pid > 0)
		kill(ch->pid, SIGKILL);
}

static void ctrl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;
	(void)what;
	for (;;) {
		struct ipc_msg msg;
		int passed = -1;
		int rc = ipc_recv(fd, &msg, &passed);
		if (passed >= 0)
			close(passed);	/* children never send us sockets */
		if (rc == 0)
			return;
		if (rc < 0) {
			/* EOF: the child is exiting; SIGCHLD does the rest. */
			event_del(ch->ctrl_ev);
			if (rc == -2)
				kill_malformed(ch);
			return;
		}
		if (ch->role == ROLE_WORKER && msg.type == IPC_READY) {
			ch->ready = true;
			atomic_store(&m.shm->status->worker_ready[ch->slot], 1);
			for (int r = 0; r < ROLE_COUNT; r++)
				if (roles[r].peer)
					broker(ch->slot, actor_of_peer(roles[r].peer), roles[r].peer);
		} else if (ch->role == ROLE_WORKER && msg.type == IPC_PEER_FD && actor_of_peer((int)msg.kind)) {
			/* The worker dropped a link that sent it garbage: a fresh one. */
			broker(ch->slot, actor_of_peer((int)msg.kind), (enum ipc_peer)msg.kind);
		} else if (msg.type == IPC_PEER_FD && msg.slot == ACTOR_SLOT_MAILER &&
		    (ch->role == ROLE_MAILER || ch->role == ROLE_STORE)) {
			broker_mailer();	/* the link carried garbage: a fresh one */
		} else if (ch->role != ROLE_WORKER && roles[ch->role].peer && msg.type == IPC_PEER_FD && msg.slot >= 0 &&
		    msg.slot < cfg.workers) {
			broker((int)msg.slot, ch, roles[ch->role].peer);
		} else {
			log_warnx("unexpected %s on a control channel", ipc_type_name(msg.type));
		}
		ipc_msg_free(&msg);
	}
}

/* In the child: keep only the fds in keep[], close everything else. */
static void close_other_fds(int *keep, int n)
{
	unsigned next = 3;
	for (int i = 0; i < n; i++)		/* insertion sort: n is tiny */
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > next)
			close_range(next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	close_range(next, ~0U, 0);
}

static void child_reset_signals(void)
{
	sigset_t none;
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* ^C reaches the whole group: the master decides */
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static noreturn void run_worker(struct child *ch, int ctrl_fd)
{
	worker_main(ch->slot, ctrl_fd, m.listen_fds, m.n_listen, m.shm, m.csrf_key);
}

static noreturn void run_signer(struct child *ch, int ctrl_fd)
{
	(void)ch;
	signer_main(ctrl_fd, m.shm);
}

static noreturn void run_kdf(struct child *ch, int ctrl_fd)
{
	(void)ch;
	kdf_main(ctrl_fd, m.shm);
}

static noreturn void run_store(struct child *ch, int ctrl_fd)
{
	(void)ch;
	store_main(ctrl_fd, m.shm, m.two_factor_key);
}

static noreturn void run_mailer(struct child *ch, int ctrl_fd)
{
	(void)ch;
	mailer_main(ctrl_fd, m.shm);
}

static void spawn(struct child *ch)
{
	char name[32];
	int sv[2];
	pid_t pid;

	role_name(ch, name, sizeof(name));
	if (ch->role == ROLE_POSTGRES) {
		pid = pg_embedded_spawn(cfg.data_dir, cfg.pg_bin);
		if (pid < 0) {
			log_warnx("cannot start postgres");
			return;
		}
		ch->pid = pid;
		clock_gettime(CLOCK_MONOTONIC, &ch->started);
		atomic_store(&m.shm->status->db_pid, pid);
		return;
	}
	if (ipc_socketpair(sv) < 0) {
		log_warn("socketpair for %s", name);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("fork %s", name);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		int keep[CONFIG_MAX_LISTEN + 1], n = 0;
		child_reset_signals();
		/* SMTP_PASS is the mailer's alone. */
		if (ch->role != ROLE_MAILER)
			config_forget_smtp_pass();
		keep[n++] = sv[1];
		if (ch->role == ROLE_WORKER)
			for (int i = 0; i < m.n_listen; i++)
				keep[n++] = m.listen_fds[i];
		close_other_fds(keep, n);
		if (ch->role != ROLE_STORE)
			secure_wipe(m.two_factor_key, sizeof(m.two_factor_key));
		if (roles[ch->role].run)
			roles[ch->role].run(ch, sv[1]);
		_exit(1);
	}
	close(sv[1]);
	ch->pid = pid;
	ch->ctrl_fd = sv[0];
	ch->ready = false;
	clock_gettime(CLOCK_MONOTONIC, &ch->started);
	ch->ctrl_ev = event_new(m.base, sv[0], EV_READ | EV_PERSIST, ctrl_cb, ch);
	event_add(ch->ctrl_ev, NULL);
	if (ch->role == ROLE_WORKER)
		atomic_store(&m.shm->status->worker_pid[ch->slot], pid);
	else if (roles[ch->role].pid_slot)
		atomic_store(roles[ch->role].pid_slot, pid);
	if (roles[ch->role].peer)
		broker_all(ch, roles[ch->role].peer);
	if (ch->role == ROLE_MAILER)
		broker_mailer();
	log_debug("started %s as pid %d", name, (int)pid);
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (!m.stopping)
		spawn(arg);
}

static struct child *child_by_pid(pid_t pid)
{
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].pid == pid)
			return &m.workers[i];
	if (m.signer.pid == pid)
		return &m.signer;
	if (m.kdf.pid == pid)
		return &m.kdf;
	if (m.store.pid == pid)
		return &m.store;
	if (m.postgres.pid == pid)
		return &m.postgres;
	if (m.mailer.pid == pid)
		return &m.mailer;
	return NULL;
}

static bool all_exited(bool include_actors)
{
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].pid > 0)
			return false;
	if (include_actors && (m.signer.pid > 0 || m.kdf.pid > 0 || m.store.pid > 0 || m.mailer.pid > 0))
		return false;
	return true;
}

static void child_died(struct child *ch, int status)
{
	char name[32];
	role_name(ch, name, sizeof(name));
	double lived = seconds_since(&ch->started);

	if (ch->ctrl_ev) {
		event_free(ch->ctrl_ev);
		ch->ctrl_ev = NULL;
		close(ch->ctrl_fd);
		ch->ctrl_fd = -1;
	}
	ch->pid = 0;
	ch->ready = false;
	if (ch->role == ROLE_WORKER) {
		atomic_store(&m.shm->status->worker_pid[ch->slot], 0);
		atomic_store(&m.shm->status->worker_ready[ch->slot], 0);
	} else if (roles[ch->role].pid_slot) {
		atomic_store(roles[ch->role].pid_slot, 0);
	}
	if (ch->role == ROLE_SIGNER)
		atomic_store(&m.shm->status->signer_ready, 0);
	/* The store is this instance's ear for other instances' revocations:
	 * until its successor's listener has caught up, cached sessions are
	 * trusted only for REVOCATION_LISTENER_GRACE (0: not at all, and
	 * token misses go to the database). */
	if (ch->role == ROLE_STORE) {
		shm_revocations_listener_down(m.shm->status, (int64_t)time(NULL));
		if (cfg.revocation_listener_grace <= 0)
			revoked_tokens_set_complete(m.shm->revoked, false);
	}
	if (m.stopping) {
		log_info("%s exited", name);
		return;
	}
	if (WIFSIGNALED(status))
		log_warnx("%s died from signal %d (%s) after %.1fs; restarting", name, WTERMSIG(status),
		    strsignal(WTERMSIG(status)), lived);
	else
		log_warnx("%s exited with status %d after %.1fs; restarting", name, WEXITSTATUS(status), lived);
	/* Crash loops back off (100 ms doubling to 10 s); a long-lived child restarts at once. */
	ch->backoff_ms = lived > 10.0 ? 100 : (ch->backoff_ms ? ch->backoff_ms * 2 : 100);
	if (ch->backoff_ms > 10000)
		ch->backoff_ms = 10000;
	atomic_fetch_add(&m.shm->status->restarts, 1);
	_Static_assert(ROLE_COUNT == METRICS_ROLES, "a restart counter per role (shm/metrics.h)");
	atomic_fetch_add(&m.shm->metrics->restarts[ch->role], 1);
	if (!ch->restart_ev)
		ch->restart_ev = evtimer_new(m.base, restart_cb, ch);
	struct timeval tv = { ch->backoff_ms / 1000, (ch->backoff_ms % 1000) * 1000 };
	evtimer_add(ch->restart_ev, &tv);
}

static void signal_actors(int sig)
{
	struct child *actors[] = { &m.signer, &m.kdf, &m.store, &m.mailer };
	for (size_t i = 0; i < sizeof(actors) / sizeof(actors[0]); i++)
		if (actors[i]->pid > 0)
			kill(actors[i]->pid, sig);
}

static void stop_progress(void)
{
	if (!m.stopping)
		return;
	if (all_exited(false))
		signal_actors(SIGTERM);
	if (all_exited(true)) {
		if (m.postgres.pid > 0) {
			kill(m.postgres.pid, SIGINT);	/* fast shutdown */
			return;
		}
		event_base_loopbreak(m.base);
	}
}

static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;
	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *ch = child_by_pid(pid);
		if (ch)
			child_died(ch, status);
	}
	stop_progress();
}

static void stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (seconds_since(&m.stop_started) < 20.0)
		return;
	log_warnx("children did not exit in 20 s; killing them");
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].pid > 0)
			kill(m.workers[i].pid, SIGKILL);
	signal_actors(SIGKILL);
	if (m.postgres.pid > 0)
		kill(m.postgres.pid, SIGQUIT);
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (m.stopping)
		return;
	log_info("received %s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
	m.stopping = true;
	atomic_store(&m.shm->status->draining, 1);
	clock_gettime(CLOCK_MONOTONIC, &m.stop_started);
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].pid > 0)
			kill(m.workers[i].pid, SIGTERM);
	struct timeval tv = { 1, 0 };
	m.stop_timer = event_new(m.base, -1, EV_PERSIST, stop_timer_cb, NULL);
	event_add(m.stop_timer, &tv);
	stop_progress();
}

/* The environment is read once, at start (a process cannot see changes to
 * its own): what SIGHUP reloads is OIDC_CLIENTS_FILE, in each worker
 * (workers/oidc_clients.c), which also polls it once a second. */
static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	log_info("SIGHUP: workers reload OIDC_CLIENTS_FILE");
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].pid > 0)
			kill(m.workers[i].pid, SIGHUP);
}

static int open_listeners(void)
{
	for (int i = 0; i < cfg.n_listen; i++) {
		char host[256];
		const char *colon = strrchr(cfg.listen[i], ':');
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
				*res;
		int one = 1, fd, rc;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg.listen[i]), cfg.listen[i]);
		/* [::1]:3000 */
		char *h = host;
		if (h[0] == '[' && h[strlen(h) - 1] == ']') {
			h[strlen(h) - 1] = '\0';
			h++;
		}
		rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
		if (rc != 0) {
			log_errorx("LISTEN: cannot resolve %s: %s", cfg.listen[i], gai_strerror(rc));
			return -1;
		}
		fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
			log_warn("LISTEN: cannot listen on %s", cfg.listen[i]);
			freeaddrinfo(res);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		freeaddrinfo(res);
		m.listen_fds[m.n_listen++] = fd;
		log_info("listening on %s", cfg.listen[i]);
	}
	return 0;
}

/* Embedded mode without AUTH_SECRET: generate one once, keep it beside the cluster. */
static int load_or_create_secret(void)
{
	char path[4096], buf[128];
	FILE *f;

	if (cfg.auth_secret)
		return 0;
	snprintf(path, sizeof(path), "%s/auth_secret", cfg.data_dir);
	f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) < 32) {
			log_errorx("AUTH_SECRET: %s is shorter than 32 characters", path);
			return -1;
		}
		cfg.auth_secret = strdup(buf);
		secure_wipe(buf, sizeof(buf));
		return 0;
	}
	char token[TOKEN_STR_LEN];
	secure_token(token);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token) || close(fd) < 0) {
		log_warn("AUTH_SECRET: cannot write %s", path);
		return -1;
	}
	cfg.auth_secret = strdup(token);
	secure_wipe(token, sizeof(token));
	log_info("generated AUTH_SECRET in %s (back it up: it encrypts the signing keys)", path);
	return 0;
}

int master_prepare_database(int *pg_pid)
{
	*pg_pid = 0;
	if (mkdir(cfg.data_dir, 0711) < 0 && errno != EEXIST) {
		log_warn("DATA_DIR: cannot create %s", cfg.data_dir);
		return -1;
	}
	if (cfg.embedded_pg) {
		char *abs = realpath(cfg.data_dir, NULL);
		if (!abs) {
			log_warn("DATA_DIR: %s", cfg.data_dir);
			return -1;
		}
		free(cfg.data_dir);
		cfg.data_dir = abs;
		if (!cfg.pg_bin)
			cfg.pg_bin = pg_embedded_find_bin();
		if (!cfg.pg_bin) {
			log_errorx("DATABASE_URL is unset and no PostgreSQL server binaries were found "
				   "(apt-get install postgresql, or set PG_BIN)");
			return -1;
		}
		if (pg_embedded_prepare(cfg.data_dir, cfg.pg_bin, &cfg.database_url) < 0)
			return -1;
		pid_t pid = pg_embedded_spawn(cfg.data_dir, cfg.pg_bin);
		if (pid < 0)
			return -1;
		*pg_pid = pid;
		if (pg_embedded_wait_ready(cfg.database_url, 30000) < 0) {
			log_errorx("embedded PostgreSQL did not start; see %s/pg/log or above", cfg.data_dir);
			master_stop_embedded_pg(pid);
			return -1;
		}
		/* From here on everyone, the master included, uses the unprivileged role. */
		if (pg_embedded_provision(cfg.data_dir, &cfg.database_url) < 0) {
			master_stop_embedded_pg(pid);
			return -1;
		}
		log_info("embedded PostgreSQL is up (data in %s/pg)", cfg.data_dir);
	}
	return load_or_create_secret();
}

void master_stop_embedded_pg(int pg_pid)
{
	int status;
	if (pg_pid <= 0)
		return;
	kill(pg_pid, SIGINT);
	waitpid(pg_pid, &status, 0);
}

static int migrate_or_check(void)
{
	PGconn *db = db_connect(cfg.database_url, 30000);
	int applied = 0, rc = 0;
	if (!db)
		return -1;
	if (cfg.auto_migrate) {
		rc = migrate_run(db, cfg.migration_lock_key, cfg.migration_lock_timeout_ms, &applied);
	} else {
		int pending = migrate_pending(db);
		if (pending != 0) {
			log_errorx("AUTO_MIGRATE: the database schema is %s; run `dreamauth migrate` or set AUTO_MIGRATE=true",
			    pending < 0 ? "not readable" : "behind this version");
			rc = -1;
		}
	}
	PQfinish(db);
	return rc;
}

int master_serve(void)
{
	int pg_pid;
	sigset_t block;

	log_info("starting (issuer %s, %d workers)", cfg.issuer, cfg.workers);
	/* Children are reaped by the event loop; block signals until it is ready. */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);

	m.shm = shm_region_create(cfg.cache_entries, 65536, 65536, cfg.revoked_token_entries);
	if (!m.shm)
		fatal("shared memory");
	atomic_store(&m.shm->status->workers_configured, cfg.workers);
	atomic_store(&m.shm->status->started_at, (int64_t)time(NULL));

	if (master_prepare_database(&pg_pid) < 0)
		return 1;
	m.postgres.role = ROLE_POSTGRES;
	m.postgres.pid = pg_pid;
	clock_gettime(CLOCK_MONOTONIC, &m.postgres.started);
	atomic_store(&m.shm->status->db_pid, pg_pid);
	if (migrate_or_check() < 0 || open_listeners() < 0) {
		master_stop_embedded_pg(pg_pid);
		return 1;
	}
	if (secure_hkdf_sha256(cfg.auth_secret, strlen(cfg.auth_secret), "dreamauth/v1", "csrf", m.csrf_key, 32) < 0 ||
	    secure_hkdf_sha256(cfg.auth_secret, strlen(cfg.auth_secret), "dreamauth/v1", "totp-secret-encryption",
	        m.two_factor_key, 32) < 0)
		fatalx("HKDF");

	m.base = event_base_new();
	if (!m.base)
		fatalx("event_base_new");
	struct event *ev_chld = evsignal_new(m.base, SIGCHLD, sigchld_cb, NULL);
	struct event *ev_term = evsignal_new(m.base, SIGTERM, sigterm_cb, NULL);
	struct event *ev_int = evsignal_new(m.base, SIGINT, sigterm_cb, NULL);
	struct event *ev_hup = evsignal_new(m.base, SIGHUP, sighup_cb, NULL);
	event_add(ev_chld, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	proctitle_set("master");
	roles[ROLE_SIGNER].pid_slot = &m.shm->status->signer_pid;
	roles[ROLE_KDF].pid_slot = &m.shm->status->kdf_pid;
	roles[ROLE_STORE].pid_slot = &m.shm->status->store_pid;
	roles[ROLE_POSTGRES].pid_slot = &m.shm->status->db_pid;
	roles[ROLE_MAILER].pid_slot = &m.shm->status->mailer_pid;
	m.signer.role = ROLE_SIGNER;
	m.kdf.role = ROLE_KDF;
	m.store.role = ROLE_STORE;
	spawn(&m.store);
	spawn(&m.signer);
	spawn(&m.kdf);
	m.mailer.role = ROLE_MAILER;
	if (cfg.smtp_host)
		spawn(&m.mailer);
	for (int i = 0; i < cfg.workers; i++) {
		m.workers[i].role = ROLE_WORKER;
		m.workers[i].slot = i;
		spawn(&m.workers[i]);
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (roles[r].user && (r != ROLE_MAILER || cfg.smtp_host))
			log_debug("%s runs as %s under %s", roles[r].name, *roles[r].user, roles[r].sandbox);
	log_info("ready: %d workers, store, signer, kdf%s", cfg.workers, cfg.smtp_host ? ", mailer" : "");
	event_base_dispatch(m.base);

	log_info("stopped");
	event_free(ev_chld);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	if (m.stop_timer)
		event_free(m.stop_timer);
	for (int i = 0; i < cfg.workers; i++)
		if (m.workers[i].restart_ev)
			event_free(m.workers[i].restart_ev);
	if (m.signer.restart_ev)
		event_free(m.signer.restart_ev);
	if (m.kdf.restart_ev)
		event_free(m.kdf.restart_ev);
	if (m.store.restart_ev)
		event_free(m.store.restart_ev);
	if (m.mailer.restart_ev)
		event_free(m.mailer.restart_ev);
	if (m.postgres.restart_ev)
		event_free(m.postgres.restart_ev);
	event_base_free(m.base);
	for (int i = 0; i < m.n_listen; i++)
		close(m.listen_fds[i]);
	shm_region_destroy(m.shm);
	return 0;
}
