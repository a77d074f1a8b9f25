/*
 * The signer: loads (or on first start creates) the signing keys, drops
 * privileges, then answers typed requests from the workers: SIGN_REQ for a
 * token kind it checks (token_policy.c), JWKS_REQ, PING. A malformed frame
 * from a worker drops that worker's link (the master brokers a fresh one);
 * it never takes the signer down. In the manner of OpenSMTPD's ca.c.
 */
#include "signer/signer.h"
#include "common/actor_loop.h"
#include "common/config.h"
#include "common/db.h"
#include "common/ipc_channel.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/secure.h"
#include "signer/keystore.h"
#include "signer/token_policy.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct keystore keys;
static char *jwks_cache;
static volatile sig_atomic_t signer_stop;

static void on_term(int sig)
{
	(void)sig;
	signer_stop = 1;
}

static void reply(int fd, enum ipc_type type, uint64_t rid, int64_t status, const char *text)
{
	struct ipc_msg m = { .type = type, .rid = rid, .status = status, .s1 = (char *)text,
		.s1_len = text ? strlen(text) : 0 };
	if (ipc_send(fd, &m, -1) < 0)
		log_warn("reply to worker");
}

static void handle_sign(int fd, const struct ipc_msg *m, int slot)
{
	const char *why = NULL;
	enum jws_alg alg = jws_alg_from_name(m->s1 ? m->s1 : "");
	struct signing_key *key = alg ? keystore_current(&keys, alg) : NULL;
	char *jwt;

	if (!key) {
		reply(fd, IPC_SIGN_RESP, m->rid, -1, "unsupported algorithm");
		return;
	}
	if (token_policy_check((int)m->kind, m->s2, m->s2_len, cfg.issuer, (int64_t)time(NULL), &why) < 0) {
		log_warnx("refused to sign for worker %d: %s", slot + 1, why);
		reply(fd, IPC_SIGN_RESP, m->rid, -1, why);
		return;
	}
	jwt = jws_sign(key->pkey, alg, key->kid, token_policy_typ((int)m->kind), m->s2);
	if (!jwt) {
		reply(fd, IPC_SIGN_RESP, m->rid, -1, "signing failed");
		return;
	}
	reply(fd, IPC_SIGN_RESP, m->rid, 0, jwt);
	free(jwt);
}

static void handle_request(int fd, const struct ipc_msg *m, int slot)
{
	switch (m->type) {
	case IPC_PING:
		reply(fd, IPC_PONG, m->rid, 0, NULL);
		break;
	case IPC_JWKS_REQ:
		reply(fd, IPC_JWKS_RESP, m->rid, 0, jwks_cache);
		break;
	case IPC_SIGN_REQ:
		handle_sign(fd, m, slot);
		break;
	default:
		log_warnx("unexpected %s from worker %d", ipc_type_name(m->type), slot + 1);
		break;
	}
}

static void load_keys(void)
{
	PGconn *db;
	int64_t deadline = (int64_t)time(NULL) + 60;

	if (keystore_derive_kek(cfg.auth_secret, keys.kek) < 0)
		fatalx("cannot derive the key-encryption key");
	db = db_connect(cfg.database_url, 30000);
	if (!db)
		fatalx("cannot reach the database");
	/* The schema may still be migrating in another instance: retry a while. */
	while (keystore_load(&keys, db) < 0) {
		if ((int64_t)time(NULL) > deadline)
			fatalx("cannot load signing keys");
		sleep(1);
	}
	PQfinish(db);
	jwks_cache = keystore_jwks_json(&keys);
	if (!jwks_cache)
		fatalx("cannot build the JWKS");
	log_info("loaded %d signing keys", keys.n);
}

void signer_main(int ctrl_fd, struct shm_region *shm)
{
	log_set_role("signer");
	proctitle_set("signer");
	load_keys();
	actor_confine(on_term);
	atomic_store(&shm->status->signer_ready, 1);
	actor_serve(ctrl_fd, IPC_PEER_SIGNER, &signer_stop, handle_request);
	log_info("exiting");
	keystore_free(&keys);
	free(jwks_cache);
	exit(0);
}
