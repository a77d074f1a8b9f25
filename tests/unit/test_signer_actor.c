/*
 * The signer actor as the master runs it: forked signer_main() with a
 * control socketpair and the shared-memory region, keys created in a fresh
 * database (DREAMAUTH_TEST_DATABASE_URL; without it this test fails rather
 * than silently passing), a worker link handed over as IPC_PEER_FD. Checks
 * JWKS, signing in three algorithms (verified with the published JWKs),
 * policy refusals, that a malformed frame only drops that link (the signer
 * asks the master for a new one and keeps serving), key changes made in the
 * database while it runs (rotate, revoke: picked up within a second, with
 * shm keys_generation bumped for the workers), and a clean SIGTERM exit.
 */
#include "tests/unit/check.h"
#include "tests/unit/actor_harness.h"
#include "tests/unit/db_test_util.h"
#include "common/config.h"
#include "proc/ipc_channel.h"
#include "common/log.h"
#include "common/migrate.h"
#include "proc/privdrop.h"
#include "proto/jws.h"
#include "shm/shm.h"
#include "signer/keystore.h"
#include "signer/signer.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
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

#define ISSUER "https://issuer.test"
#define SLOT 3

static struct test_db test_db;

static char *claims_json(const char *iss, long lifetime, bool with_jti)
{
	long now = (long)time(NULL);
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", iss, "sub", "user-1", "aud", "client-1", "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + lifetime));
	if (with_jti)
		json_object_set_new(o, "jti", json_string("jti-1"));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int sign(int fd, const char *alg, const char *claims, struct ipc_msg *resp)
{
	static uint64_t rid = 100;
	struct ipc_msg req = { .type = IPC_SIGN_REQ, .rid = ++rid, .kind = TOKEN_ACCESS, .s1 = (char *)alg,
		.s1_len = strlen(alg), .s2 = (char *)claims, .s2_len = strlen(claims) };
	return actor_call(fd, &req, resp);	/* checks the reply's rid */
}

/* The JWT verifies with the JWKS key of the same kid, and carries our claims. */
static bool verifies(const char *jwt, json_t *jwks, const char *alg)
{
	struct jws_parsed p;
	bool ok = false;
	if (jws_parse(jwt, strlen(jwt), &p) != 0)
		return false;
	json_t *keys = json_object_get(jwks, "keys"), *k;
	size_t i;
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		if (!kid || !p.kid || strcmp(kid, p.kid) != 0)
			continue;
		enum jws_alg key_alg;
		EVP_PKEY *pub = jwk_to_public_key(k, &key_alg);
		ok = pub && key_alg == p.alg && p.alg == jws_alg_from_name(alg) && jws_verify(&p, jwt, pub) == 0 &&
		    p.typ && !strcmp(p.typ, "at+jwt") &&
		    !strcmp(json_string_value(json_object_get(p.payload, "sub")), "user-1");
		EVP_PKEY_free(pub);
	}
	jws_parsed_free(&p);
	return ok;
}

static json_t *fetch_jwks(int link)
{
	static uint64_t rid = 5000;
	struct ipc_msg req = { .type = IPC_JWKS_REQ, .rid = ++rid }, resp;
	json_t *jwks = NULL;
	if (actor_call(link, &req, &resp) == 1 && resp.status == 0 && resp.s1)
		jwks = json_loads(resp.s1, 0, NULL);
	ipc_msg_free(&resp);
	return jwks;
}

static bool jwks_contains(json_t *jwks, const char *kid)
{
	json_t *k;
	size_t i;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *v = json_string_value(json_object_get(k, "kid"));
		if (v && !strcmp(v, kid))
			return true;
	}
	return false;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the signer's JWKS until kid is (or is not) in it; its age in ms, or -1 after 5 s. */
static long long wait_for_kid(int link, const char *kid, bool present, long long since)
{
	while (monotonic_ms() - since < 5000) {
		json_t *jwks = fetch_jwks(link);
		bool has = jwks_contains(jwks, kid);
		json_decref(jwks);
		if (has == present)
			return monotonic_ms() - since;
		usleep(20 * 1000);
	}
	return -1;
}

/* kid in the header of a signed token (malloc'd). */
static char *kid_of(const char *jwt)
{
	struct jws_parsed p;
	char *kid = NULL;
	if (jwt && jws_parse(jwt, strlen(jwt), &p) == 0) {
		kid = p.kid ? strdup(p.kid) : NULL;
		jws_parsed_free(&p);
	}
	return kid;
}

/* Keys changed in the database, as `dreamauth keys` does, reach the running signer. */
static void test_key_changes(int link, struct shm_region *shm, const char *good)
{
	uint8_t kek[32];
	char new_es[44], old_es[44], new_ed[44], *kid;
	enum jws_alg alg;
	struct ipc_msg resp;
	PGconn *db = PQconnectdb(cfg.database_url);
	json_t *jwks;
	long long t0, took;
	uint64_t gen;

	CHECK(PQstatus(db) == CONNECTION_OK);
	CHECK_EQ_INT(keystore_derive_kek(cfg.auth_secret, kek), 0);

	/* Rotate ES256: the new kid is published and signs within a second; the old one stays published. */
	gen = atomic_load(&shm->status->keys_generation);
	t0 = monotonic_ms();
	struct key_rotation rot = { .alg = JWS_ALG_ES256 };
	CHECK_EQ_INT(keystore_rotate(db, kek, &rot, 1, 3600), 0);
	memcpy(new_es, rot.new_kid, sizeof(new_es));
	memcpy(old_es, rot.old_kid, sizeof(old_es));
	took = wait_for_kid(link, new_es, true, t0);
	CHECK(took >= 0 && took < 1000);
	fprintf(stderr, "rotation reached the signer in %lld ms\n", took);
	CHECK(atomic_load(&shm->status->keys_generation) > gen);
	jwks = fetch_jwks(link);
	CHECK(jwks_contains(jwks, old_es));
	CHECK_EQ_INT(sign(link, "ES256", good, &resp), 1);
	CHECK_EQ_INT(resp.status, 0);
	kid = kid_of(resp.s1);
	CHECK_EQ_STR(kid, new_es);
	CHECK(resp.s1 && verifies(resp.s1, jwks, "ES256"));
	free(kid);
	ipc_msg_free(&resp);
	json_decref(jwks);

	/* A stray notification that changes nothing: the workers are not disturbed. */
	gen = atomic_load(&shm->status->keys_generation);
	PQclear(PQexec(db, "SELECT pg_notify('" KEYS_NOTIFY_CHANNEL "', 'nonsense \x01')"));
	usleep(300 * 1000);
	CHECK_EQ_INT(atomic_load(&shm->status->keys_generation), gen);

	/* Revoke the retiring key: gone from the JWKS within a second. */
	t0 = monotonic_ms();
	CHECK_EQ_INT(keystore_revoke(db, kek, old_es, new_ed, &alg), 0);
	took = wait_for_kid(link, old_es, false, t0);
	CHECK(took >= 0 && took < 1000);

	/* Revoke the active EdDSA key: the signer signs with its replacement. */
	CHECK_EQ_INT(sign(link, "EdDSA", good, &resp), 1);
	char *old_ed = kid_of(resp.s1);
	ipc_msg_free(&resp);
	CHECK(old_ed != NULL);
	t0 = monotonic_ms();
	CHECK_EQ_INT(keystore_revoke(db, kek, old_ed ? old_ed : "", new_ed, &alg), 0);
	took = wait_for_kid(link, new_ed, true, t0);
	CHECK(took >= 0 && took < 1000);
	jwks = fetch_jwks(link);
	CHECK(old_ed && !jwks_contains(jwks, old_ed));
	CHECK_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 3);
	CHECK_EQ_INT(sign(link, "EdDSA", good, &resp), 1);
	kid = kid_of(resp.s1);
	CHECK_EQ_STR(kid, new_ed);
	CHECK(resp.s1 && verifies(resp.s1, jwks, "EdDSA"));
	free(kid);
	ipc_msg_free(&resp);
	json_decref(jwks);
	free(old_ed);
	PQfinish(db);
}

int main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(getuid());
	struct shm_region *shm;
	int ctrl[2], link;
	pid_t pid;

	proctitle_init(argc, argv);
	log_init("test", LOG_LEVEL_WARN);
	test_db_create(&test_db, "signer_actor");
	/* The signer opens its own: no connection of ours crosses the fork. */
	PQfinish(test_db.db);
	PQfinish(test_db.admin);
	test_db.db = test_db.admin = NULL;
	cfg.database_url = strdup(test_db.url);
	cfg.issuer = strdup(ISSUER);
	cfg.auth_secret = strdup("signer-actor-test-secret-0123456789abcdef");
	cfg.run_user = strdup(pw ? pw->pw_name : "nobody");
	cfg.service_user = strdup(pw ? pw->pw_name : "nobody");
	cfg.log_level = LOG_LEVEL_WARN;
	cfg.seccomp = true;	/* as in production: the signer serves under its filter */

	shm = shm_region_create(1024, 1024, 1024, 1024);
	CHECK(shm != NULL);
	pid = actor_spawn(signer_main, shm, ctrl);
	link = actor_new_link(ctrl[0], IPC_PEER_SIGNER, SLOT);
	CHECK(link >= 0);

	/* JWKS: three public keys (the signer created them in the fresh database). */
	struct ipc_msg req = { .type = IPC_JWKS_REQ, .rid = 1 }, resp;
	json_t *jwks = NULL;
	CHECK_EQ_INT(actor_call(link, &req, &resp), 1);
	CHECK_EQ_INT(resp.type, IPC_JWKS_RESP);
	CHECK_EQ_INT(resp.rid, 1);
	CHECK_EQ_INT(resp.status, 0);
	if (resp.s1)
		jwks = json_loads(resp.s1, 0, NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 3);
	CHECK(resp.s1 && !strstr(resp.s1, "\"d\""));	/* no private part */
	ipc_msg_free(&resp);

	/* Valid access-token claims in each algorithm: a JWT that verifies. */
	char *good = claims_json(ISSUER, 300, true);
	const char *algs[] = { "ES256", "RS256", "EdDSA" };
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_INT(sign(link, algs[i], good, &resp), 1);
		CHECK_EQ_INT(resp.type, IPC_SIGN_RESP);
		CHECK_EQ_INT(resp.status, 0);
		CHECK(resp.s1 && verifies(resp.s1, jwks, algs[i]));
		if (resp.s1 && strlen(resp.s1) > 10) {
			/* One flipped signature byte: no longer verifies. */
			char *bad = strdup(resp.s1);
			size_t n = strlen(bad);
			bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';
			CHECK(!verifies(bad, jwks, algs[i]));
			free(bad);
		}
		ipc_msg_free(&resp);
	}

	/* Policy refusals: wrong issuer, a 2-day lifetime, no jti, unknown alg. */
	char *wrong_iss = claims_json("https://evil.test", 300, true);
	char *too_long = claims_json(ISSUER, 2 * 86400, true);
	char *no_jti = claims_json(ISSUER, 300, false);
	const char *refused[] = { wrong_iss, too_long, no_jti, "not json", "[]" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK_EQ_INT(sign(link, "ES256", refused[i], &resp), 1);
		CHECK_EQ_INT(resp.status, -1);
		CHECK(resp.s1 == NULL || strncmp(resp.s1, "eyJ", 3) != 0);
		ipc_msg_free(&resp);
	}
	CHECK_EQ_INT(sign(link, "none", good, &resp), 1);
	CHECK_EQ_INT(resp.status, -1);
	ipc_msg_free(&resp);
	CHECK_EQ_INT(sign(link, "HS256", good, &resp), 1);
	CHECK_EQ_INT(resp.status, -1);
	ipc_msg_free(&resp);

	/* A malformed frame: the signer drops that link and asks the master for a new one. */
	CHECK_EQ_INT(send(link, "\x00\x00\x00\x05garbage", 11, 0), 11);
	actor_check_link_dropped(ctrl[0], link, pid, IPC_PEER_SIGNER, SLOT);

	/* A fresh link works. */
	link = actor_new_link(ctrl[0], IPC_PEER_SIGNER, SLOT);
	struct ipc_msg ping = { .type = IPC_PING, .rid = 77 };
	CHECK_EQ_INT(actor_call(link, &ping, &resp), 1);
	CHECK_EQ_INT(resp.type, IPC_PONG);
	CHECK_EQ_INT(resp.rid, 77);
	ipc_msg_free(&resp);
	CHECK_EQ_INT(sign(link, "EdDSA", good, &resp), 1);
	CHECK_EQ_INT(resp.status, 0);
	CHECK(resp.s1 && verifies(resp.s1, jwks, "EdDSA"));
	ipc_msg_free(&resp);

	/* A well-formed frame of a type the signer does not serve: ignored, link kept. */
	struct ipc_msg odd = { .type = IPC_HASH_REQ, .rid = 5, .s1 = "x", .s1_len = 1 };
	CHECK_EQ_INT(ipc_send(link, &odd, -1), 0);
	CHECK_EQ_INT(actor_call(link, &ping, &resp), 1);
	CHECK_EQ_INT(resp.type, IPC_PONG);
	ipc_msg_free(&resp);

	test_key_changes(link, shm, good);

	/* SIGTERM: exits 0. */
	actor_check_clean_exit(pid);

	close(link);
	close(ctrl[0]);
	json_decref(jwks);
	free(good);
	free(wrong_iss);
	free(too_long);
	free(no_jti);
	shm_region_destroy(shm);
	test_db_drop(&test_db);
	free(cfg.database_url);
	free(cfg.issuer);
	free(cfg.auth_secret);
	free(cfg.run_user);
	free(cfg.service_user);
	return CHECK_DONE();
}
