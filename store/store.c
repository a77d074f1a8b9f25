/*
 * store process: the only holder of the application's database connections.
 * Its poll loop (proc/actor_loop.c) reads IPC_STORE_REQ frames from the
 * workers, checks each against its operation's shape (proto/store_wire.c) and
 * queues it; DB_POOL_SIZE threads, each with its own connection, run the
 * operations (store/store_run.c) and reply on a dup of the requester's
 * socket. A listener thread hears revocations (store/listener.c).
 *
 * A worker never waits on the database: it waits on us, with a deadline.
 * When the database hangs, our threads hang, the queue fills, and from then
 * on a request is answered STORE_BUSY at once; a queued request whose asker
 * has given up is answered STORE_TIMEOUT without running.
 */
#include "store/store.h"
#include "store/two_factor.h"
#include "proc/actor_loop.h"
#include "common/config.h"
#include "common/db.h"
#include "proc/ipc_channel.h"
#include "proc/job_queue.h"
#include "common/log.h"
#include "proc/privdrop.h"
#include "proc/sandbox.h"
#include "common/secure.h"
#include "store/audit.h"
#include "store/listener.h"
#include "store/mail_flows.h"
#include "store/store_run.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct store_job {
	struct job_queue_item item;	/* first: the queue links jobs through it */
	int fd;				/* dup of the worker's socket, closed with the job */
	uint64_t rid;
	int64_t deadline_ms;		/* monotonic; 0 = none */
	struct store_request req;
};

static struct job_queue queue = JOB_QUEUE_INIT;
static volatile sig_atomic_t store_stop;

static void on_term(int sig)
{
	(void)sig;
	store_stop = 1;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_reply(int fd, uint64_t rid, uint32_t op, const struct store_reply *reply)
{
	static _Thread_local uint8_t buf[IPC_MAX_STR];
	struct store_reply small = { .status = STORE_TOO_LARGE };
	long len = store_reply_encode(op, reply, buf, sizeof(buf));
	struct ipc_msg m = { .type = IPC_STORE_RESP, .rid = rid };

	if (len < 0)
		len = store_reply_encode(op, &small, buf, sizeof(buf));
	m.s1 = (char *)buf;
	m.s1_len = (size_t)len;
	if (ipc_send(fd, &m, -1) < 0 && errno != EPIPE && errno != ECONNRESET && errno != EAGAIN)
		log_warn("store reply");
}

static void send_status(int fd, uint64_t rid, uint32_t op, int status)
{
	struct store_reply r = { .status = status };
	send_reply(fd, rid, op, &r);
}

static void job_free(struct store_job *j)
{
	store_request_free(&j->req);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* ---- the pool ---- */

struct pool_thread {
	pthread_t thread;
	PGconn *db;
	int64_t next_connect_ms;
	int backoff_ms;
};

/* A lost connection is re-opened at most once per backoff step (250 ms
 * doubling to 5 s), so a database outage costs a failed connect now and
 * then, not one per request; db.c logs the state changes. */
static PGconn *pool_connection(struct pool_thread *t)
{
	int64_t now = monotonic_ms();

	if (t->db && PQstatus(t->db) == CONNECTION_OK)
		return t->db;
	if (now < t->next_connect_ms)
		return NULL;
	if (t->db)
		PQfinish(t->db);	/* a new one gets the session settings (statement_timeout) */
	t->db = db_connect(cfg.database_url, 0);
	if (t->db && PQstatus(t->db) == CONNECTION_OK) {
		db_note_reachable(true);
		t->backoff_ms = 0;
		return t->db;
	}
	db_note_reachable(false);
	t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 250;
	if (t->backoff_ms > 5000)
		t->backoff_ms = 5000;
	t->next_connect_ms = now + t->backoff_ms;
	return NULL;
}

static void job_run(struct pool_thread *t, struct store_job *j)
{
	struct store_result res;

	if (j->deadline_ms && monotonic_ms() > j->deadline_ms) {
		send_status(j->fd, j->rid, j->req.op, STORE_TIMEOUT);	/* the asker has given up */
		return;
	}
	store_run(pool_connection(t), &j->req, &res);
	send_reply(j->fd, j->rid, j->req.op, &res.reply);
	store_result_clear(&res);
}

static void *pool_main(void *arg)
{
	struct pool_thread *t = arg;
	struct store_job *j;

	while ((j = (struct store_job *)job_queue_pop(&queue))) {
		job_run(t, j);
		job_free(j);
	}
	if (t->db)
		PQfinish(t->db);
	db_prepared_forget();
	return NULL;
}

/* Who may ask what: the CLI's operations from nobody here; the outbox's
 * only from the mailer's link, and the mailer nothing else (it holds no
 * database password, and a compromised mailer must not reach accounts). */
static bool op_allowed(const struct store_op_spec *spec, uint32_t op, int slot)
{
	const char *who = slot == ACTOR_SLOT_MAILER ? "mailer" : "worker";
	const char *why = NULL;
	if (spec->cli_only)
		why = "CLI only";
	else if (spec->mailer_only && slot != ACTOR_SLOT_MAILER)
		why = "mailer only";
	else if (!spec->mailer_only && slot == ACTOR_SLOT_MAILER && op != STORE_OP_PING)
		why = "not the mailer's";
	if (why)
		log_warnx("refused %s from %s: %s", spec->name, who, why);
	return why == NULL;
}

static void enqueue(int fd, const struct ipc_msg *m, int slot)
{
	struct store_job *j = calloc(1, sizeof(*j));
	uint32_t op = 0;

	if (!j) {
		send_status(fd, m->rid, STORE_OP_PING, STORE_BUSY);
		return;
	}
	j->fd = -1;
	if (store_request_decode((const uint8_t *)m->s1, m->s1_len, &j->req) < 0) {
		/* Not a known operation with well-typed fields: refused, and
		 * answered as a PING so the reply still decodes. */
		log_warnx("refused a malformed store request");
		send_status(fd, m->rid, STORE_OP_PING, STORE_REFUSED);
		job_free(j);
		return;
	}
	op = j->req.op;
	if (!op_allowed(store_op_spec(op), op, slot)) {
		send_status(fd, m->rid, op, STORE_REFUSED);
		job_free(j);
		return;
	}
	int full = job_queue_length(&queue) >= cfg.db_queue_size;
	j->fd = full ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (full || j->fd < 0) {
		send_status(fd, m->rid, op, STORE_BUSY);
		job_free(j);
		return;
	}
	j->rid = m->rid;
	j->deadline_ms = j->req.budget_ms ? monotonic_ms() + j->req.budget_ms : 0;
	job_queue_push(&queue, &j->item);
}

static void handle_request(int fd, const struct ipc_msg *m, int slot)
{
	if (m->type == IPC_STORE_REQ)
		enqueue(fd, m, slot);
	else
		actor_answer_other(fd, m, slot);
}

void store_main(int ctrl_fd, struct shm_region *shm, uint8_t two_factor_key[32])
{
	static struct pool_thread pool[STORE_MAX_POOL];
	int n = cfg.db_pool_size;

	log_set_role("store");
	proctitle_set("store");
	store_shm = shm;
	/* Before actor_confine forgets AUTH_SECRET. */
	if (store_mail_keys_init(cfg.auth_secret) < 0)
		fatalx("cannot derive the email code key");
	store_two_factor_set_key(two_factor_key);
	secure_wipe(two_factor_key, 32);
	actor_confine(cfg.service_user, on_term);
	/* Before the threads start: they inherit the filter. */
	if (sandbox_enter(SANDBOX_STORE) < 0)
		fatalx("cannot install the seccomp filter (SECCOMP=false runs without it)");
	if (store_listener_start(shm) < 0)
		fatalx("cannot start the revocation listener");
	if (store_audit_sweeper_start() < 0)
		fatalx("cannot start the audit retention sweep");
	for (int i = 0; i < n; i++)
		if (pthread_create(&pool[i].thread, NULL, pool_main, &pool[i]) != 0)
			fatalx("pthread_create");
	log_debug("serving with %d database connections", n);
	actor_serve(ctrl_fd, IPC_PEER_STORE, &store_stop, handle_request, NULL);
	job_queue_stop(&queue);
	for (int i = 0; i < n; i++)
		pthread_join(pool[i].thread, NULL);
	store_listener_stop();
	store_audit_sweeper_stop();
	log_info("exiting");
	exit(0);
}
