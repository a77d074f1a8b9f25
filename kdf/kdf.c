/*
 * kdf process: a poll loop reads HASH_REQ / VERIFY_REQ from the workers and
 * queues them; KDF_THREADS threads run argon2id (OWASP parameters by default:
 * m=19 MiB, t=2, p=1) and each sends its reply on a dup of the requester's
 * socket, so a worker restart mid-hash cannot make a reply land elsewhere.
 * A login storm therefore costs CPU here, never latency on /api/verify's loop.
 */
#include "kdf/kdf.h"
#include "proc/actor_loop.h"
#include "common/config.h"
#include "proc/ipc_channel.h"
#include "proc/job_queue.h"
#include "common/log.h"
#include "common/password_hash.h"
#include "proc/privdrop.h"
#include "proc/sandbox.h"
#include "common/secure.h"

#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kdf_job {
	struct job_queue_item item;	/* first: the queue links jobs through it */
	int fd;			/* dup of the worker's socket, closed by the thread */
	enum ipc_type type;
	uint64_t rid;
	char *password;
	size_t password_len;
	char *phc;		/* VERIFY: stored hash; "" = unknown user, burn the same time */
};

static struct job_queue queue = JOB_QUEUE_INIT;
static volatile sig_atomic_t kdf_stop;

static void on_term(int sig)
{
	(void)sig;
	kdf_stop = 1;
}

static void job_free(struct kdf_job *j)
{
	if (j->password) {
		secure_wipe(j->password, j->password_len);
		free(j->password);
	}
	free(j->phc);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* Only argon2id hashes with sane costs: a stored hash is not a way to make us allocate 4 GiB. */
static bool phc_acceptable(const char *phc)
{
	unsigned m = 0, t = 0, p = 0;
	if (strncmp(phc, "$argon2id$", 10) != 0)
		return false;
	if (sscanf(phc, "$argon2id$v=19$m=%u,t=%u,p=%u$", &m, &t, &p) != 3)
		return false;
	return m >= 8 && m <= 4u * 1024 * 1024 && t >= 1 && t <= 100 && p >= 1 && p <= 16;
}

static void job_run(struct kdf_job *j)
{
	struct ipc_msg r = { .rid = j->rid };
	char *enc = NULL;

	if (j->type == IPC_HASH_REQ) {
		r.type = IPC_HASH_RESP;
		enc = password_hash_argon2id(j->password, j->password_len);
		r.status = enc ? 0 : -1;
		r.s1 = enc;
		r.s1_len = enc ? strlen(enc) : 0;
	} else {
		r.type = IPC_VERIFY_RESP;
		if (!*j->phc) {
			/* Unknown account: spend the same time, answer mismatch. */
			free(password_hash_argon2id(j->password, j->password_len));
			r.status = 1;
		} else if (!phc_acceptable(j->phc)) {
			r.status = -1;
		} else {
			int rc = argon2id_verify(j->phc, j->password, j->password_len);
			r.status = rc == ARGON2_OK ? 0 : rc == ARGON2_VERIFY_MISMATCH ? 1 : -1;
		}
	}
	if (ipc_send(j->fd, &r, -1) < 0 && errno != EPIPE && errno != ECONNRESET)
		log_warn("kdf reply");
	free(enc);
}

static void *kdf_thread(void *arg)
{
	struct kdf_job *j;

	(void)arg;
	while ((j = (struct kdf_job *)job_queue_pop(&queue))) {
		job_run(j);
		job_free(j);
	}
	return NULL;
}

static void enqueue(int fd, const struct ipc_msg *m)
{
	struct kdf_job *j;
	struct ipc_msg busy = { .rid = m->rid, .status = -2,
		.type = m->type == IPC_HASH_REQ ? IPC_HASH_RESP : IPC_VERIFY_RESP };

	if (m->s1_len == 0 || m->s1_len > KDF_MAX_PASSWORD || (m->type == IPC_VERIFY_REQ && !m->s2)) {
		busy.status = -1;
		ipc_send(fd, &busy, -1);
		return;
	}
	if (job_queue_length(&queue) >= KDF_MAX_QUEUE) {
		ipc_send(fd, &busy, -1);	/* worker answers 503 + Retry-After */
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	j->type = m->type;
	j->rid = m->rid;
	j->password = malloc(m->s1_len);
	j->password_len = m->s1_len;
	if (j->password)
		memcpy(j->password, m->s1, m->s1_len);
	j->phc = strdup(m->type == IPC_VERIFY_REQ ? m->s2 : "");
	if (j->fd < 0 || !j->password || !j->phc) {
		job_free(j);
		return;
	}
	job_queue_push(&queue, &j->item);
}

static void handle_request(int fd, const struct ipc_msg *m, int slot)
{
	if (m->type == IPC_HASH_REQ || m->type == IPC_VERIFY_REQ)
		enqueue(fd, m);
	else
		actor_answer_other(fd, m, slot);
	if (m->s1)
		secure_wipe(m->s1, m->s1_len);
}

void kdf_main(int ctrl_fd, struct shm_region *shm)
{
	pthread_t threads[64];
	int n_threads = cfg.kdf_threads;

	(void)shm;
	log_set_role("kdf");
	proctitle_set("kdf");
	/* Hashing yields the CPU to the HTTP workers: a login storm must not push
	 * /api/verify's latency up. SCHED_IDLE is preempted whenever a worker
	 * wakes; measured with sign-ins flat out on 2 cores, verify p99 was
	 * 4.5-5.6 ms under SCHED_IDLE against 7.4-7.8 ms at nice 10 or 19, for
	 * 10 % fewer sign-ins/s. On a host shared with other busy services
	 * KDF_PRIORITY=low (nice 10) keeps sign-ins from waiting on them. Set
	 * before the threads start: they inherit it. */
	if (cfg.kdf_idle) {
		struct sched_param none = { 0 };
		if (sched_setscheduler(0, SCHED_IDLE, &none) < 0)
			log_warn("sched_setscheduler SCHED_IDLE");
	} else if (setpriority(PRIO_PROCESS, 0, 10) < 0) {
		log_warn("setpriority");
	}
	actor_confine(cfg.run_user, on_term);
	config_forget_database_url();	/* the kdf never talks to PostgreSQL */
	/* A fixed mmap threshold returns each 19 MiB argon2 block to the kernel
	 * when freed (glibc's adaptive threshold would keep them on the heap). */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	/* Before the pool starts: its threads inherit the filter. */
	if (sandbox_enter(SANDBOX_KDF) < 0)
		fatalx("cannot install the seccomp filter (SECCOMP=false runs without it)");
	for (int i = 0; i < n_threads; i++)
		if (pthread_create(&threads[i], NULL, kdf_thread, NULL) != 0)
			fatalx("pthread_create");
	actor_serve(ctrl_fd, IPC_PEER_KDF, &kdf_stop, handle_request, NULL);
	job_queue_stop(&queue);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	log_info("exiting");
	exit(0);
}
