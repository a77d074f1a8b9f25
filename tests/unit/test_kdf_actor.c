/*
 * The kdf actor as the master runs it: forked kdf_main() with a control
 * socketpair, a worker link handed over as IPC_PEER_FD. Checks hashing
 * (argon2id PHC strings), verification (match, mismatch, unknown account
 * with the same work), refusals (oversized password, foreign hash), that a
 * malformed frame only drops that link (the kdf asks the master for a new
 * one and keeps serving), and a clean SIGTERM exit. Needs no database.
 */
#include "tests/unit/check.h"
#include "tests/unit/actor_harness.h"
#include "common/config.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "proc/privdrop.h"
#include "kdf/kdf.h"
#include "shm/shm.h"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT 1

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* Verify status for password against phc; *ms gets the time taken. */
static long verify(int fd, const char *password, size_t len, const char *phc, double *ms)
{
	static uint64_t rid = 1000;
	struct ipc_msg req = { .type = IPC_VERIFY_REQ, .rid = ++rid, .s1 = (char *)password, .s1_len = len,
		.s2 = (char *)phc, .s2_len = strlen(phc) }, resp;
	double t0 = now_ms();
	long status = -100;
	if (actor_call(fd, &req, &resp) == 1) {
		CHECK_EQ_INT(resp.type, IPC_VERIFY_RESP);
		status = (long)resp.status;
		ipc_msg_free(&resp);
	}
	if (ms)
		*ms = now_ms() - t0;
	return status;
}

int main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(getuid());
	struct shm_region *shm;
	int ctrl[2], link;
	pid_t pid;

	proctitle_init(argc, argv);
	log_init("test", LOG_LEVEL_WARN);
	cfg.auth_secret = strdup("kdf-actor-test-secret-0123456789abcdef");
	cfg.run_user = strdup(pw ? pw->pw_name : "nobody");
	cfg.kdf_threads = 2;
	cfg.seccomp = true;	/* as in production: the kdf serves under its filter */
	/* Enough memory that a hash takes measurable time, small enough for CI. */
	cfg.argon2_m_kib = 32768;
	cfg.argon2_t = 1;
	cfg.argon2_p = 1;
	cfg.log_level = LOG_LEVEL_WARN;

	shm = shm_region_create(1024, 1024, 1024, 1024);
	CHECK(shm != NULL);
	pid = actor_spawn(kdf_main, shm, ctrl);
	link = actor_new_link(ctrl[0], IPC_PEER_KDF, SLOT);
	CHECK(link >= 0);

	/* HASH_REQ: an argon2id PHC string with our parameters, never the password. */
	const char *password = "correct horse battery";
	struct ipc_msg req = { .type = IPC_HASH_REQ, .rid = 1, .s1 = (char *)password, .s1_len = strlen(password) }, resp;
	char *phc = NULL;
	CHECK_EQ_INT(actor_call(link, &req, &resp), 1);
	CHECK_EQ_INT(resp.type, IPC_HASH_RESP);
	CHECK_EQ_INT(resp.status, 0);
	CHECK(resp.s1 && strncmp(resp.s1, "$argon2id$v=19$m=32768,t=1,p=1$", 31) == 0);
	CHECK(resp.s1 && !strstr(resp.s1, password));
	phc = resp.s1 ? strdup(resp.s1) : strdup("");
	ipc_msg_free(&resp);
	/* Salted: the same password hashes differently. */
	req.rid = 2;
	CHECK_EQ_INT(actor_call(link, &req, &resp), 1);
	CHECK(resp.s1 && strcmp(resp.s1, phc) != 0);
	ipc_msg_free(&resp);

	/* VERIFY: right 0, wrong 1, unknown account (empty phc) 1 after the same work. */
	double t_right, t_wrong, t_unknown;
	CHECK_EQ_INT(verify(link, password, strlen(password), phc, &t_right), 0);
	CHECK_EQ_INT(verify(link, "wrong password", 14, phc, &t_wrong), 1);
	CHECK_EQ_INT(verify(link, "correct horse batterY", strlen(password), phc, NULL), 1);
	CHECK_EQ_INT(verify(link, password, strlen(password), "", &t_unknown), 1);
	/* Not a timing oracle for "no such account": at least a good part of a real
	 * verify. Load on the machine only ever adds time, so compare the fastest
	 * of a few runs of each. */
	for (int i = 0; i < 3; i++) {
		double t;
		CHECK_EQ_INT(verify(link, password, strlen(password), phc, &t), 0);
		t_right = t < t_right ? t : t_right;
		CHECK_EQ_INT(verify(link, password, strlen(password), "", &t), 1);
		t_unknown = t < t_unknown ? t : t_unknown;
	}
	CHECK(t_unknown >= 0.3 * t_right);
	fprintf(stderr, "verify right %.1f ms, wrong %.1f ms, unknown %.1f ms\n", t_right, t_wrong, t_unknown);

	/* Refusals: oversized or empty password, a hash that is not argon2id or has absurd costs. */
	char big[KDF_MAX_PASSWORD + 1];
	memset(big, 'p', sizeof(big));
	CHECK_EQ_INT(verify(link, big, sizeof(big), phc, NULL), -1);
	struct ipc_msg hash_big = { .type = IPC_HASH_REQ, .rid = 3, .s1 = big, .s1_len = sizeof(big) };
	CHECK_EQ_INT(actor_call(link, &hash_big, &resp), 1);
	CHECK_EQ_INT(resp.status, -1);
	CHECK(resp.s1 == NULL || resp.s1[0] == '\0');
	ipc_msg_free(&resp);
	CHECK_EQ_INT(verify(link, big, KDF_MAX_PASSWORD, "", NULL), 1);	/* exactly the limit is fine */
	struct ipc_msg hash_empty = { .type = IPC_HASH_REQ, .rid = 4, .s1 = "", .s1_len = 0 };
	CHECK_EQ_INT(actor_call(link, &hash_empty, &resp), 1);
	CHECK_EQ_INT(resp.status, -1);
	ipc_msg_free(&resp);
	CHECK_EQ_INT(verify(link, password, strlen(password), "$2b$10$abcdefghijklmnopqrstuu5Jg7G1s8n4t1s3Ph3yXz1mWq5nZ2Kq", NULL), -1);
	CHECK_EQ_INT(verify(link, password, strlen(password), "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA", NULL), -1);
	CHECK_EQ_INT(verify(link, password, strlen(password), "$argon2id$v=19$m=32768,t=1,p=1$!!!$???", NULL), -1);

	/* A malformed frame: link dropped, the master is asked for a new one, the actor lives. */
	CHECK_EQ_INT(send(link, "\xff\xff\xff\xffjunk", 8, 0), 8);
	actor_check_link_dropped(ctrl[0], link, pid, IPC_PEER_KDF, SLOT);

	link = actor_new_link(ctrl[0], IPC_PEER_KDF, SLOT);
	struct ipc_msg ping = { .type = IPC_PING, .rid = 9 };
	CHECK_EQ_INT(actor_call(link, &ping, &resp), 1);
	CHECK_EQ_INT(resp.type, IPC_PONG);
	ipc_msg_free(&resp);
	CHECK_EQ_INT(verify(link, password, strlen(password), phc, NULL), 0);

	/* A reply must reach the link the request came on, even after a new link replaced it. */
	struct ipc_msg slow = { .type = IPC_VERIFY_REQ, .rid = 4242, .s1 = (char *)password,
		.s1_len = strlen(password), .s2 = phc, .s2_len = strlen(phc) };
	CHECK_EQ_INT(ipc_send(link, &slow, -1), 0);
	usleep(50000);	/* let the actor read it (and queue the job) before the link is replaced */
	int link2 = actor_new_link(ctrl[0], IPC_PEER_KDF, SLOT);
	CHECK_EQ_INT(actor_recv_wait(link, &resp, NULL, 30000), 1);
	CHECK_EQ_INT(resp.rid, 4242);
	CHECK_EQ_INT(resp.status, 0);
	ipc_msg_free(&resp);
	CHECK_EQ_INT(verify(link2, password, strlen(password), phc, NULL), 0);

	actor_check_clean_exit(pid);

	close(link);
	close(link2);
	close(ctrl[0]);
	free(phc);
	shm_region_destroy(shm);
	free(cfg.auth_secret);
	free(cfg.run_user);
	return CHECK_DONE();
}
