/*
 * The signer: loads (or on first start creates) the signing keys, drops
 * privileges, then answers typed requests from the workers: SIGN_REQ for a
 * token kind it checks (token_policy.c), JWKS_REQ, PING. A malformed frame
 * from a worker drops that worker's link (the master brokers a fresh one);
 * it never takes the signer down. In the manner of OpenSMTPD's ca.c.
 *
 * Key changes reach a running signer within about a second, no restart:
 * `dreamauth keys rotate|revoke` (from any host sharing the database)
 * commits and NOTIFYs KEYS_NOTIFY_CHANNEL. Each signer LISTENs on a
 * connection it opens before dropping privileges and keeps, reloads the keys
 * with the KEK it kept (AUTH_SECRET itself is gone), rebuilds its JWKS and
 * bumps shm keys_generation. The workers of its instance watch that counter
 * on their 100 ms tick and fetch the JWKS again over IPC (workers/worker.c),
 * so their local bearer verification (workers/jwt_local.c) follows: a
 * revoked kid stops verifying there too. The end of a retiring key's
 * publication needs no message: the signer reloads at the earliest
 * publish_until. A lost connection is retried with backoff while the signer
 * keeps serving with the keys it has, and reloads once reconnected.
 */
#include "signer/signer.h"
#include "proc/actor_loop.h"
#include "common/config.h"
#include "common/db.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "proc/privdrop.h"
#include "proc/sandbox.h"
#include "common/secure.h"
#include "signer/keystore.h"
#include "signer/signer_admin.h"
#include "signer/token_policy.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct keystore keys;
static char *jwks_cache;
static volatile sig_atomic_t signer_stop;
static struct shm_region *signer_shm;

/* The LISTEN connection, also used to reload keys. */
static PGconn *key_db;
static int listen_backend;		/* PQbackendPID when LISTEN was issued */
static bool key_db_lost;
static int64_t reconnect_at, reconnect_delay;
static int64_t reload_at;		/* 0: nothing scheduled */

static void on_term(int sig)
{
	(void)sig;
	signer_stop = 1;
}

/* One prepared signer per algorithm for the current key, rebuilt when the
 * current kid changes (rotation, revocation). It holds its own reference to
 * the key, so a keystore reload cannot pull the key from under it. */
static struct {
	char kid[44];
	struct jws_signer *signer;
} prepared[JWS_ALG_EDDSA + 1];

static struct jws_signer *prepared_signer(const struct signing_key *key)
{
	struct jws_signer **slot = &prepared[key->alg].signer;

	if (*slot && strcmp(prepared[key->alg].kid, key->kid) == 0)
		return *slot;
	jws_signer_free(*slot);
	*slot = jws_signer_new(key->pkey, key->alg, key->kid);
	snprintf(prepared[key->alg].kid, sizeof(prepared[key->alg].kid), "%s", *slot ? key->kid : "");
	return *slot;
}

static void prepared_signers_free(void)
{
	for (size_t i = 0; i < sizeof(prepared) / sizeof(prepared[0]); i++) {
		jws_signer_free(prepared[i].signer);
		prepared[i].signer = NULL;
	}
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
	/* token_policy_check parsed m->s2 as one JSON object: no second parse. */
	struct jws_signer *signer = prepared_signer(key);
	jwt = signer ? jws_signer_sign(signer, token_policy_typ((int)m->kind), m->s2, m->s2_len) : NULL;
	if (!jwt) {
		reply(fd, IPC_SIGN_RESP, m->rid, -1, "signing failed");
		return;
	}
	reply(fd, IPC_SIGN_RESP, m->rid, 0, jwt);
	free(jwt);
}

static void reload_until_quiet(const char *why);

/* The admin API's rotate or revoke (signer/signer_admin.c): blocks this
 * loop while a key is made (tens of milliseconds; an RSA key more), which an
 * operator's rare act may cost. The keys are reloaded before the answer, so
 * the next token this signer signs uses the new key. */
static void handle_keys(int fd, const struct ipc_msg *m, int slot)
{
	char *json = NULL;
	int rc = key_db_lost ? KEYSTORE_ERROR : signer_admin_keys(key_db, keys.kek, m, &json);
	struct ipc_msg r = { .type = IPC_KEYS_RESP, .rid = m->rid, .status = rc, .s1 = json ? json : "{}",
		.s1_len = json ? strlen(json) : 2 };

	if (rc == 0)
		reload_until_quiet("admin API");
	else
		log_info("key change from worker %d not done (%d)", slot + 1, rc);
	if (ipc_send(fd, &r, -1) < 0)
		log_warn("reply to worker");
	free(json);
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
	case IPC_KEYS_REQ:
		handle_keys(fd, m, slot);
		break;
	default:
		log_warnx("unexpected %s from worker %d", ipc_type_name(m->type), slot + 1);
		break;
	}
}

static bool listen_for_changes(void)
{
	PGresult *r = PQexec(key_db, "LISTEN " KEYS_NOTIFY_CHANNEL);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (ok)
		listen_backend = PQbackendPID(key_db);
	else
		log_warnx("LISTEN %s: %s", KEYS_NOTIFY_CHANNEL, PQerrorMessage(key_db));
	PQclear(r);
	return ok;
}

/* Swallows queued notifications; true if there were any. */
static bool drain_notifications(void)
{
	PGnotify *n;
	bool any = false;
	while ((n = PQnotifies(key_db)) != NULL) {
		log_debug("key change notified: %s", n->extra);
		PQfreemem(n);
		any = true;
	}
	return any;
}

static void lost_connection(void)
{
	if (key_db_lost)
		return;
	log_warnx("lost the database connection that carries key changes; serving with the keys loaded, reconnecting");
	key_db_lost = true;
	reconnect_delay = 1;
	reconnect_at = (int64_t)time(NULL) + reconnect_delay;
}

/* Reload from the database; on failure the keys in hand stay and a retry is
 * scheduled. The JWKS is swapped only when it changed, and only then are the
 * workers told. */
static void reload_keys(const char *why)
{
	int64_t now = (int64_t)time(NULL);
	char *jwks;

	keystore_expire(key_db);	/* housekeeping; failure is harmless */
	if (keystore_load(&keys, key_db) < 0) {
		log_errorx("cannot reload signing keys (%s); still using the %d loaded", why, keys.n);
		reload_at = now + 2;
		if (PQstatus(key_db) != CONNECTION_OK)
			lost_connection();
		return;
	}
	/* publish_until is judged by the database clock; never spin on a key it still publishes. */
	reload_at = keys.next_expiry ? (keys.next_expiry > now ? keys.next_expiry : now + 1) : 0;
	jwks = keystore_jwks_json(&keys);
	if (!jwks) {
		log_errorx("cannot build the JWKS after reload; retrying");
		reload_at = now + 2;
		return;
	}
	if (jwks_cache && strcmp(jwks, jwks_cache) == 0) {
		free(jwks);
		return;
	}
	free(jwks_cache);
	jwks_cache = jwks;
	atomic_fetch_add(&signer_shm->status->keys_generation, 1);
	log_info("reloaded signing keys (%s): %d published", why, keys.n);
}

/* db_query reconnects once on a broken link, which drops LISTEN: listen
 * again. True if it did (changes in between may have been missed). */
static bool relisten_if_reset(void)
{
	if (PQstatus(key_db) != CONNECTION_OK || PQbackendPID(key_db) == listen_backend)
		return false;
	log_warnx("key database connection was reset; listening again");
	return listen_for_changes();
}

/* Reload; a change that lands during the reload is queued by libpq while we
 * wait for query results, where poll() cannot see it: check and go again. */
static void reload_until_quiet(const char *why)
{
	for (int round = 0; round < 5 && !key_db_lost; round++) {
		reload_keys(why);
		bool reset = relisten_if_reset();
		if (!drain_notifications() && !reset)
			break;
		why = reset ? "reconnected" : "key change";
	}
}

static int watch_fd(void)
{
	return key_db && !key_db_lost ? PQsocket(key_db) : -1;
}

static void on_db_readable(void)
{
	if (!PQconsumeInput(key_db)) {
		lost_connection();
		return;
	}
	if (drain_notifications())
		reload_until_quiet("key change");
}

static void on_tick(void)
{
	int64_t now = (int64_t)time(NULL);

	if (key_db_lost) {
		if (now < reconnect_at)
			return;
		PQreset(key_db);
		if (PQstatus(key_db) == CONNECTION_OK && listen_for_changes()) {
			log_info("key database connection back");
			key_db_lost = false;
			reload_until_quiet("reconnected");	/* whatever changed meanwhile */
		} else {
			reconnect_delay = reconnect_delay * 2 > 30 ? 30 : reconnect_delay * 2;
			reconnect_at = now + reconnect_delay;
		}
		return;
	}
	if (reload_at && now >= reload_at)
		reload_until_quiet("a retiring key's window ended");
}

static void load_keys(void)
{
	int64_t deadline = (int64_t)time(NULL) + 60;

	if (keystore_derive_kek(cfg.auth_secret, keys.kek) < 0)
		fatalx("cannot derive the key-encryption key");
	/* Opened before privileges go (an embedded cluster's socket may need them); kept. */
	key_db = db_connect(cfg.database_url, 30000);
	if (!key_db)
		fatalx("cannot reach the database");
	/* LISTEN first: a change committed while we load is heard, not lost. */
	if (!listen_for_changes())
		fatalx("cannot LISTEN for key changes");
	/* The schema may still be migrating in another instance: retry a while. */
	while (keystore_expire(key_db) < 0 || keystore_load(&keys, key_db) < 0) {
		if ((int64_t)time(NULL) > deadline)
			fatalx("cannot load signing keys");
		sleep(1);
	}
	reload_at = keys.next_expiry;
	jwks_cache = keystore_jwks_json(&keys);
	if (!jwks_cache)
		fatalx("cannot build the JWKS");
	log_info("loaded %d signing keys", keys.n);
	/* Heard while loading: it may have landed after our read. */
	if (drain_notifications())
		reload_until_quiet("key change");
}

void signer_main(int ctrl_fd, struct shm_region *shm)
{
	static const struct actor_hooks hooks = { .watch_fd = watch_fd, .on_watch = on_db_readable,
		.on_tick = on_tick };

	log_set_role("signer");
	proctitle_set("signer");
	signer_shm = shm;
	load_keys();
	actor_confine(cfg.service_user, on_term);
	if (sandbox_enter(SANDBOX_SIGNER) < 0)
		fatalx("cannot install the seccomp filter (SECCOMP=false runs without it)");
	atomic_store(&shm->status->signer_ready, 1);
	/* Workers connected to a previous signer may hold an older JWKS. */
	atomic_fetch_add(&shm->status->keys_generation, 1);
	actor_serve(ctrl_fd, IPC_PEER_SIGNER, &signer_stop, handle_request, &hooks);
	log_info("exiting");
	PQfinish(key_db);
	prepared_signers_free();
	keystore_free(&keys);
	free(jwks_cache);
	exit(0);
}
