/*
 * keystore_load against a real PostgreSQL named by DREAMAUTH_TEST_DATABASE_URL
 * (the test runner always provides one; without it this test fails rather
 * than silently passing). Works in a private schema that it drops at the end,
 * creating the table from the embedded migrations/002_signing_keys.sql and
 * 003_key_rotation.sql. Also the operator's state transitions: rotate
 * (active -> retiring -> retired when its window ends), revoke (of a
 * retiring key, of the active key: replaced), refusals (unknown, hostile or
 * already revoked kids, too many published keys), the NOTIFY each change
 * sends, and rotations racing from several processes.
 */
#include "tests/unit/check.h"
#include "tests/unit/db_test_util.h"
#include "signer/keystore.h"
#include "common/embedded.h"

#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RACERS 4

static const char *database_url;
static char schema[64];

static const char fallback_ddl[] =
	"CREATE TABLE IF NOT EXISTS signing_keys (kid text PRIMARY KEY, alg text NOT NULL, "
	"state text NOT NULL CHECK (state IN ('current','standby','retired')), sealed_private bytea NOT NULL, "
	"public_jwk jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), retired_at timestamptz);"
	"CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current_per_alg ON signing_keys (alg) WHERE state = 'current';";
static const char fallback_ddl_003[] =
	"ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS rotated_at timestamptz;"
	"ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS publish_until timestamptz;"
	"ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS revoked_at timestamptz;";

/* "schema does not exist, skipping" and the like are noise here. */
static void ignore_notice(void *arg, const char *message)
{
}

static bool exec_ok(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "SQL failed: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return ok;
}

/* A connection whose search_path is the test schema. */
static PGconn *connect_db(void)
{
	char sql[128];
	PGconn *db = PQconnectdb(database_url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	PQsetNoticeProcessor(db, ignore_notice, NULL);
	snprintf(sql, sizeof(sql), "SET search_path TO %s", schema);
	if (!exec_ok(db, sql)) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

static long query_long(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	long v = -1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atol(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return v;
}

/* Concatenated "alg:kid:md5(sealed)" rows, to compare the stored keys over time. */
static char *table_fingerprint(PGconn *db)
{
	PGresult *res = PQexec(db,
		"SELECT string_agg(alg || ':' || kid || ':' || state || ':' || md5(sealed_private), ',' ORDER BY kid) FROM signing_keys");
	char *out = NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

static void load_store(struct keystore *ks, const char *secret)
{
	memset(ks, 0, sizeof(*ks));
	keystore_derive_kek(secret, ks->kek);
}

static const json_t *jwks_find(const json_t *keys, const char *kid)
{
	size_t i;
	json_t *jwk;
	json_array_foreach(keys, i, jwk) {
		const char *k = json_string_value(json_object_get(jwk, "kid"));
		if (k && strcmp(k, kid) == 0)
			return jwk;
	}
	return NULL;
}

static const enum jws_alg algs[] = { JWS_ALG_RS256, JWS_ALG_ES256, JWS_ALG_EDDSA };

static void test_create_and_reload(PGconn *db)
{
	struct keystore ks1, ks2, ks3;
	char *before, *after;

	load_store(&ks1, "first secret");
	CHECK_EQ_INT(keystore_load(&ks1, db), 0);
	CHECK_EQ_INT(ks1.n, 3);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys"), 3);
	CHECK_EQ_INT(query_long(db, "SELECT count(DISTINCT alg) FROM signing_keys WHERE state = 'current'"), 3);
	for (size_t a = 0; a < 3; a++) {
		struct signing_key *key = keystore_current(&ks1, algs[a]);
		CHECK(key != NULL);
		if (key) {
			CHECK_EQ_INT(strlen(key->kid), 43);
			CHECK(key->created_at > 1600000000);
		}
	}
	/* Stored public_jwk agrees with the kid (thumbprint). */
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE public_jwk->>'kid' = kid AND public_jwk->>'alg' = alg"), 3);

	/* A second instance with the same secret loads the same keys, creates none. */
	before = table_fingerprint(db);
	load_store(&ks2, "first secret");
	CHECK_EQ_INT(keystore_load(&ks2, db), 0);
	CHECK_EQ_INT(ks2.n, 3);
	after = table_fingerprint(db);
	CHECK(before && after && strcmp(before, after) == 0);
	free(after);
	for (size_t a = 0; a < 3; a++) {
		struct signing_key *k1 = keystore_current(&ks1, algs[a]), *k2 = keystore_current(&ks2, algs[a]);
		CHECK(k1 && k2 && strcmp(k1->kid, k2->kid) == 0 && EVP_PKEY_eq(k1->pkey, k2->pkey) == 1);
	}
	/* Reloading into a loaded store replaces its keys (no leak, same result). */
	CHECK_EQ_INT(keystore_load(&ks2, db), 0);
	CHECK_EQ_INT(ks2.n, 3);

	/* JWKS: three public keys; a token from the current ES256 key verifies with its JWK. */
	char *jwks_text = keystore_jwks_json(&ks2);
	json_t *jwks = jwks_text ? json_loads(jwks_text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *keys = json_object_get(jwks, "keys");
	CHECK_EQ_INT(json_array_size(keys), 3);
	CHECK(jwks_text && strstr(jwks_text, "\"d\"") == NULL);
	struct signing_key *es = keystore_current(&ks2, JWS_ALG_ES256);
	char *token = es ? jws_sign(es->pkey, JWS_ALG_ES256, es->kid, "JWT", "{\"sub\":\"alice\"}") : NULL;
	struct jws_parsed p;
	CHECK(token != NULL);
	if (token && jws_parse(token, strlen(token), &p) == 0) {
		const json_t *jwk = p.kid ? jwks_find(keys, p.kid) : NULL;
		enum jws_alg alg = JWS_ALG_NONE;
		EVP_PKEY *pub = jwk ? jwk_to_public_key(jwk, &alg) : NULL;
		char thumb[44];
		CHECK(pub != NULL);
		CHECK_EQ_INT(alg, JWS_ALG_ES256);
		CHECK_EQ_INT(jws_verify(&p, token, pub), 0);
		CHECK_EQ_INT(jwk_thumbprint(jwk, thumb), 0);
		CHECK_EQ_STR(thumb, p.kid);
		EVP_PKEY_free(pub);
		jws_parsed_free(&p);
	} else {
		CHECK(!"token from the current ES256 key does not parse");
	}
	free(token);
	json_decref(jwks);
	free(jwks_text);

	/* Another AUTH_SECRET: load fails cleanly, creates nothing, leaves the table alone. */
	fprintf(stderr, "(an error line \"cannot decrypt signing key\" follows; it is expected)\n");
	load_store(&ks3, "a different secret");
	CHECK_EQ_INT(keystore_load(&ks3, db), -1);
	CHECK_EQ_INT(ks3.n, 0);
	after = table_fingerprint(db);
	CHECK(before && after && strcmp(before, after) == 0);
	free(after);
	free(before);
	keystore_free(&ks3);

	/* Standby keys are published, retired ones are not loaded. */
	EVP_PKEY *extra = keystore_generate(JWS_ALG_ES256);
	json_t *jwk = jwk_from_public_key(extra, JWS_ALG_ES256, NULL);
	char kid[44];
	size_t sealed_len = 0;
	CHECK_EQ_INT(jwk_thumbprint(jwk, kid), 0);
	json_object_set_new(jwk, "kid", json_string(kid));
	uint8_t *sealed = keystore_seal(ks1.kek, extra, kid, JWS_ALG_ES256, &sealed_len);
	char *jwk_text = json_dumps(jwk, JSON_COMPACT);
	const char *values[3] = { kid, (const char *)sealed, jwk_text };
	int lengths[3] = { 0, (int)sealed_len, 0 };
	int formats[3] = { 0, 1, 0 };
	PGresult *res = PQexecParams(db,
		"INSERT INTO signing_keys (kid, alg, state, sealed_private, public_jwk) VALUES ($1, 'ES256', 'standby', $2, $3::jsonb)",
		3, NULL, values, lengths, formats, 0);
	CHECK_EQ_INT(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	CHECK_EQ_INT(keystore_load(&ks2, db), 0);
	CHECK_EQ_INT(ks2.n, 4);
	jwks_text = keystore_jwks_json(&ks2);
	CHECK(jwks_text && strstr(jwks_text, kid) != NULL);
	free(jwks_text);
	CHECK(exec_ok(db, "UPDATE signing_keys SET state = 'retired', retired_at = now() WHERE state = 'standby'"));
	CHECK_EQ_INT(keystore_load(&ks2, db), 0);
	CHECK_EQ_INT(ks2.n, 3);
	jwks_text = keystore_jwks_json(&ks2);
	CHECK(jwks_text && strstr(jwks_text, kid) == NULL);
	free(jwks_text);
	free(jwk_text);
	free(sealed);
	json_decref(jwk);
	EVP_PKEY_free(extra);

	/* A tampered row (sealed key swapped between kids) is refused. */
	CHECK(exec_ok(db, "BEGIN"));
	CHECK(exec_ok(db, "UPDATE signing_keys SET sealed_private = (SELECT sealed_private FROM signing_keys WHERE alg = 'EdDSA') WHERE alg = 'ES256' AND state = 'current'"));
	fprintf(stderr, "(another expected \"cannot decrypt signing key\" line follows)\n");
	struct keystore ks4;
	load_store(&ks4, "first secret");
	CHECK_EQ_INT(keystore_load(&ks4, db), -1);
	keystore_free(&ks4);
	CHECK(exec_ok(db, "ROLLBACK"));

	keystore_free(&ks1);
	keystore_free(&ks2);
}

/* ---- rotation and revocation ---- */

static char *query_text(PGconn *db, const char *sql, const char *param)
{
	const char *params[] = { param };
	PGresult *res = PQexecParams(db, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
	char *v = NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		v = strdup(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return v;
}

/* State of kid in the table, "" when absent (malloc'd). */
static char *state_of(PGconn *db, const char *kid)
{
	char *v = query_text(db, "SELECT state FROM signing_keys WHERE kid = $1", kid);
	return v ? v : strdup("");
}

static bool jwks_has(struct keystore *ks, const char *kid)
{
	char *text = keystore_jwks_json(ks), needle[160];
	bool found;
	snprintf(needle, sizeof(needle), "\"kid\":\"%s\"", kid);
	found = text && strstr(text, needle) != NULL;
	free(text);
	return found;
}

static const struct key_info *listed(const struct key_info *list, int n, const char *kid)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].kid, kid))
			return &list[i];
	return NULL;
}

/* A notification on the listener within ms; its payload copied to out. */
static bool notified(PGconn *listener, int ms, char *out, size_t cap)
{
	struct pollfd p = { .fd = PQsocket(listener), .events = POLLIN };
	PGnotify *n;
	for (int waited = 0; waited <= ms; waited += 50) {
		if (!PQconsumeInput(listener))
			return false;
		if ((n = PQnotifies(listener)) != NULL) {
			snprintf(out, cap, "%s", n->extra);
			PQfreemem(n);
			return true;
		}
		poll(&p, 1, 50);
	}
	return false;
}

/* keystore_rotate for one algorithm. */
static int rotate_one(PGconn *db, const uint8_t kek[32], enum jws_alg alg, int secs, char new_kid[44],
    char old_kid[44], int64_t *until)
{
	struct key_rotation r = { .alg = alg };
	int rc = keystore_rotate(db, kek, &r, 1, secs);
	memcpy(new_kid, r.new_kid, 44);
	memcpy(old_kid, r.old_kid, 44);
	if (until)
		*until = r.old_until;
	return rc;
}

static void test_rotation(PGconn *db)
{
	struct keystore ks;
	char old_es[44], new_es[44], other[44], payload[64], *state, *before, *after;
	int64_t until = 0, now = (int64_t)time(NULL);
	PGconn *listener = connect_db();

	CHECK(exec_ok(db, "TRUNCATE signing_keys"));
	CHECK(listener != NULL);
	if (!listener)
		return;
	CHECK(exec_ok(listener, "LISTEN " KEYS_NOTIFY_CHANNEL));
	load_store(&ks, "first secret");
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 3);
	CHECK_EQ_INT(ks.next_expiry, 0);
	snprintf(old_es, sizeof(old_es), "%s", keystore_current(&ks, JWS_ALG_ES256)->kid);

	/* Rotate ES256: a new current key, the old one retiring for an hour. */
	CHECK_EQ_INT(rotate_one(db, ks.kek, JWS_ALG_ES256, 3600, new_es, other, &until), 0);
	CHECK_EQ_STR(other, old_es);
	CHECK(keystore_kid_valid(new_es) && strcmp(new_es, old_es) != 0);
	CHECK(until >= now + 3600 - 5 && until <= now + 3600 + 5);
	CHECK(notified(listener, 2000, payload, sizeof(payload)));
	CHECK_EQ_STR(payload, "rotate");
	state = state_of(db, old_es);
	CHECK_EQ_STR(state, "standby");
	free(state);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state = 'standby' AND rotated_at IS NOT NULL "
				    "AND publish_until > now() + interval '59 minutes' AND revoked_at IS NULL"), 1);
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 4);
	CHECK_EQ_STR(keystore_current(&ks, JWS_ALG_ES256)->kid, new_es);
	CHECK(jwks_has(&ks, old_es) && jwks_has(&ks, new_es));
	CHECK(ks.next_expiry >= until - 1 && ks.next_expiry <= until);
	/* The retiring key still opens: tokens it signed verify with the published JWK. */
	for (int i = 0; i < ks.n; i++)
		if (!strcmp(ks.keys[i].kid, old_es)) {
			CHECK_EQ_INT(ks.keys[i].state, KEY_STANDBY);
			CHECK(ks.keys[i].pkey != NULL);
			/* Past its window in local time: left out of the JWKS even before a reload. */
			int64_t saved = ks.keys[i].publish_until;
			ks.keys[i].publish_until = now - 1;
			CHECK(!jwks_has(&ks, old_es));
			ks.keys[i].publish_until = saved;
		}

	/* keys list: states and the end of publication. */
	struct key_info *list = NULL;
	int n = keystore_list(db, &list);
	CHECK_EQ_INT(n, 4);
	const struct key_info *k = listed(list, n, old_es);
	CHECK(k && !strcmp(k->state, "retiring") && k->publish_until == until && k->rotated_at >= now - 5 &&
	    !strcmp(k->alg, "ES256") && k->revoked_at == 0);
	k = listed(list, n, new_es);
	CHECK(k && !strcmp(k->state, "active") && k->publish_until == 0);
	free(list);

	/* A window that has ended: unpublished at once, retired by expiry, private half erased. */
	char old_rs[44], new_rs[44];
	snprintf(old_rs, sizeof(old_rs), "%s", keystore_current(&ks, JWS_ALG_RS256)->kid);
	CHECK_EQ_INT(rotate_one(db, ks.kek, JWS_ALG_RS256, 0, new_rs, other, NULL), 0);
	CHECK_EQ_STR(other, old_rs);
	CHECK(notified(listener, 2000, payload, sizeof(payload)));
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 4);	/* 3 current + the retiring ES256 */
	CHECK(!jwks_has(&ks, old_rs) && jwks_has(&ks, new_rs));
	n = keystore_list(db, &list);
	k = listed(list, n, old_rs);
	CHECK(k && !strcmp(k->state, "retired"));
	free(list);
	CHECK_EQ_INT(keystore_expire(db), 1);
	CHECK_EQ_INT(keystore_expire(db), 0);
	state = state_of(db, old_rs);
	CHECK_EQ_STR(state, "retired");
	free(state);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state = 'retired' AND retired_at IS NOT NULL "
				    "AND revoked_at IS NULL AND length(sealed_private) = 0"), 1);
	/* The retiring ES256 key's window is not over: untouched. */
	state = state_of(db, old_es);
	CHECK_EQ_STR(state, "standby");
	free(state);

	/* Revoke the retiring key: unpublished at once, private half erased, nothing replaced. */
	enum jws_alg alg = JWS_ALG_NONE;
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, old_es, other, &alg), 0);
	CHECK_EQ_STR(other, "");
	CHECK_EQ_INT(alg, JWS_ALG_ES256);
	CHECK(notified(listener, 2000, payload, sizeof(payload)));
	CHECK_EQ_STR(payload, "revoke");
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 3);
	CHECK(!jwks_has(&ks, old_es));
	CHECK_EQ_STR(keystore_current(&ks, JWS_ALG_ES256)->kid, new_es);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE revoked_at IS NOT NULL AND state = 'retired' "
				    "AND length(sealed_private) = 0"), 1);
	n = keystore_list(db, &list);
	k = listed(list, n, old_es);
	CHECK(k && !strcmp(k->state, "revoked") && k->revoked_at >= now - 5 && k->retired_at >= now - 5);
	free(list);

	/* Revoke the active EdDSA key: a fresh one takes over in the same transaction. */
	char old_ed[44], new_ed[44];
	snprintf(old_ed, sizeof(old_ed), "%s", keystore_current(&ks, JWS_ALG_EDDSA)->kid);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, old_ed, new_ed, &alg), 0);
	CHECK_EQ_INT(alg, JWS_ALG_EDDSA);
	CHECK(keystore_kid_valid(new_ed) && strcmp(new_ed, old_ed) != 0);
	CHECK(notified(listener, 2000, payload, sizeof(payload)));
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 3);
	CHECK(!jwks_has(&ks, old_ed) && jwks_has(&ks, new_ed));
	CHECK_EQ_STR(keystore_current(&ks, JWS_ALG_EDDSA)->kid, new_ed);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state = 'current'"), 3);

	/* Refusals change nothing and notify nobody: again, unknown, hostile, malformed. */
	before = table_fingerprint(db);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, old_ed, other, &alg), KEYSTORE_ALREADY_GONE);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, old_rs, other, &alg), KEYSTORE_ALREADY_GONE);	/* expired */
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", other, &alg), KEYSTORE_NOT_FOUND);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, "x' OR '1'='1", other, &alg), KEYSTORE_NOT_FOUND);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, "", other, &alg), KEYSTORE_NOT_FOUND);
	CHECK_EQ_INT(keystore_revoke(db, ks.kek, "%", other, &alg), KEYSTORE_NOT_FOUND);
	CHECK_EQ_STR(other, "");
	char scratch[44];
	CHECK_EQ_INT(rotate_one(db, ks.kek, JWS_ALG_NONE, 60, other, scratch, NULL), KEYSTORE_ERROR);
	CHECK_EQ_INT(rotate_one(db, ks.kek, JWS_ALG_ES256, -1, other, scratch, NULL), KEYSTORE_ERROR);
	struct key_rotation dup[2] = { { .alg = JWS_ALG_ES256 }, { .alg = JWS_ALG_ES256 } };
	CHECK_EQ_INT(keystore_rotate(db, ks.kek, dup, 2, 60), KEYSTORE_ERROR);
	CHECK_EQ_INT(keystore_rotate(db, ks.kek, dup, 0, 60), KEYSTORE_ERROR);
	after = table_fingerprint(db);
	CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);
	CHECK(!notified(listener, 200, payload, sizeof(payload)));

	/* At most KEYSTORE_MAX_KEYS published: rotation stops short, the signer can still load. */
	int rotations = 0, rc;
	while ((rc = rotate_one(db, ks.kek, JWS_ALG_ES256, 3600, other, new_es, NULL)) == 0 && rotations < 100)
		rotations++;
	CHECK_EQ_INT(rc, KEYSTORE_FULL);
	CHECK_EQ_INT(rotations, KEYSTORE_MAX_KEYS - 3);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state IN ('current', 'standby')"),
	    KEYSTORE_MAX_KEYS);
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, KEYSTORE_MAX_KEYS);
	/* Their windows end: all retired, rotation possible again. */
	CHECK(exec_ok(db, "UPDATE signing_keys SET publish_until = now() - interval '1 second' WHERE state = 'standby'"));
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 3);
	CHECK_EQ_INT(ks.next_expiry, 0);
	CHECK_EQ_INT(keystore_expire(db), KEYSTORE_MAX_KEYS - 3);
	while (notified(listener, 100, payload, sizeof(payload)))
		;

	/* All three algorithms at once: one transaction, one notification. */
	struct key_rotation all[3] = { { .alg = JWS_ALG_RS256 }, { .alg = JWS_ALG_ES256 }, { .alg = JWS_ALG_EDDSA } };
	char was[3][44];
	for (int i = 0; i < 3; i++)
		snprintf(was[i], sizeof(was[i]), "%s", keystore_current(&ks, all[i].alg)->kid);
	CHECK_EQ_INT(keystore_rotate(db, ks.kek, all, 3, 3600), 0);
	CHECK(notified(listener, 2000, payload, sizeof(payload)));
	CHECK(!notified(listener, 200, payload, sizeof(payload)));
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 6);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_STR(all[i].old_kid, was[i]);
		CHECK_EQ_STR(keystore_current(&ks, all[i].alg)->kid, all[i].new_kid);
		CHECK(jwks_has(&ks, was[i]));
		CHECK(all[i].old_until > now + 3500);
	}
	/* Too many for the room left: none of them happens. */
	CHECK(exec_ok(db, "UPDATE signing_keys SET state = 'standby', publish_until = NULL WHERE state = 'retired' AND kid IN "
			  "(SELECT kid FROM signing_keys WHERE state = 'retired' AND revoked_at IS NULL LIMIT 24)"));
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state IN ('current', 'standby')"),
	    KEYSTORE_MAX_KEYS - 2);
	before = table_fingerprint(db);
	CHECK_EQ_INT(keystore_rotate(db, ks.kek, all, 3, 3600), KEYSTORE_FULL);
	after = table_fingerprint(db);
	CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);
	CHECK(!notified(listener, 200, payload, sizeof(payload)));

	keystore_free(&ks);
	PQfinish(listener);
}

/* Operators (or scripts) rotating at the same moment queue on the advisory
 * lock: every rotation lands, one current key per alg remains. */
static void test_rotation_race(PGconn *db)
{
	pid_t pids[RACERS];
	int ok = 0;
	struct keystore ks;

	CHECK(exec_ok(db, "TRUNCATE signing_keys"));
	load_store(&ks, "first secret");
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	fflush(NULL);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char new_kid[44], old_kid[44];
			PGconn *mine = connect_db();
			int rc = mine && rotate_one(mine, ks.kek, JWS_ALG_ES256, 3600, new_kid, old_kid, NULL) == 0 &&
			    old_kid[0] ? 0 : 1;
			PQfinish(mine);
			_exit(rc);
		}
	}
	for (int i = 0; i < RACERS; i++) {
		int status = 0;
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	CHECK_EQ_INT(ok, RACERS);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE alg = 'ES256' AND state = 'current'"), 1);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE alg = 'ES256' AND state = 'standby'"), RACERS);
	CHECK_EQ_INT(keystore_load(&ks, db), 0);
	CHECK_EQ_INT(ks.n, 3 + RACERS);
	keystore_free(&ks);
}

/* Several processes start together on an empty table; exactly one current key
 * per alg must survive and every process must end up with that same key. */
static void test_race(PGconn *db)
{
	int start[2], results[2];
	pid_t pids[RACERS];
	char kids[RACERS][3 * 44 + 4];

	CHECK(exec_ok(db, "TRUNCATE signing_keys"));
	if (pipe(start) != 0 || pipe(results) != 0) {
		CHECK(!"pipe failed");
		return;
	}
	fflush(NULL);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char go, line[sizeof(kids[0])];
			struct keystore ks;
			PGconn *mine;
			int rc = 1;

			close(start[1]);
			close(results[0]);
			mine = connect_db();
			/* Wait until every racer is connected, then all load at once. */
			if (read(start[0], &go, 1) < 0)
				_exit(2);
			load_store(&ks, "first secret");
			if (mine && keystore_load(&ks, mine) == 0) {
				struct signing_key *r = keystore_current(&ks, JWS_ALG_RS256);
				struct signing_key *e = keystore_current(&ks, JWS_ALG_ES256);
				struct signing_key *d = keystore_current(&ks, JWS_ALG_EDDSA);
				if (r && e && d) {
					snprintf(line, sizeof(line), "%s %s %s", r->kid, e->kid, d->kid);
					/* One write under PIPE_BUF bytes: atomic, lines never interleave. */
					char record[sizeof(kids[0])];
					memset(record, 0, sizeof(record));
					memcpy(record, line, strlen(line));
					if (write(results[1], record, sizeof(record)) == (ssize_t)sizeof(record))
						rc = 0;
				}
			}
			keystore_free(&ks);
			PQfinish(mine);
			_exit(rc);
		}
	}
	close(start[0]);
	close(results[1]);
	usleep(300 * 1000);
	close(start[1]);	/* EOF releases every racer at the same moment */

	int ok = 0, got = 0;
	for (int i = 0; i < RACERS; i++) {
		int status = 0;
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	while (got < RACERS && read(results[0], kids[got], sizeof(kids[0])) == (ssize_t)sizeof(kids[0])) {
		kids[got][sizeof(kids[0]) - 1] = '\0';
		got++;
	}
	close(results[0]);
	CHECK_EQ_INT(ok, RACERS);
	CHECK_EQ_INT(got, RACERS);
	for (int i = 1; i < got; i++)
		CHECK_EQ_STR(kids[i], kids[0]);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys WHERE state = 'current'"), 3);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM (SELECT alg FROM signing_keys WHERE state = 'current' GROUP BY alg HAVING count(*) = 1) t"), 3);
	CHECK_EQ_INT(query_long(db, "SELECT count(*) FROM signing_keys"), 3);
}

int main(void)
{
	char sql[512];
	PGconn *db;
	const struct embedded_file *ddl;

	/* A database of its own: NOTIFY is per database, and another run of
	 * this test (or anything rotating keys) in a shared one would send this
	 * test's listener notices it did not cause. */
	const char *base = test_db_base_url("test_keystore_db");
	char own[64];
	snprintf(own, sizeof(own), "test_keystore_db_%d", (int)getpid());
	PGconn *admin = PQconnectdb(base);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", own);
	if (PQstatus(admin) != CONNECTION_OK || !exec_ok(admin, sql)) {
		PQfinish(admin);
		return 1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", own);
	if (!exec_ok(admin, sql)) {
		PQfinish(admin);
		return 1;
	}
	database_url = test_db_url_for(base, own);
	snprintf(schema, sizeof(schema), "test_keystore_%d", (int)getpid());
	db = PQconnectdb(database_url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to DREAMAUTH_TEST_DATABASE_URL: %s", PQerrorMessage(db));
		PQfinish(db);
		return 1;
	}
	PQsetNoticeProcessor(db, ignore_notice, NULL);
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s; SET search_path TO %s", schema, schema, schema);
	if (!exec_ok(db, sql)) {
		PQfinish(db);
		return 1;
	}
	ddl = embedded_find(migrations_files, "002_signing_keys.sql");
	CHECK(ddl != NULL);
	if (!exec_ok(db, ddl ? ddl->data : fallback_ddl)) {
		PQfinish(db);
		return 1;
	}
	ddl = embedded_find(migrations_files, "003_key_rotation.sql");
	CHECK(ddl != NULL);
	if (!exec_ok(db, ddl ? ddl->data : fallback_ddl_003)) {
		PQfinish(db);
		return 1;
	}

	test_create_and_reload(db);
	test_race(db);
	test_rotation(db);
	test_rotation_race(db);

	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
	CHECK(exec_ok(db, sql));
	PQfinish(db);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", own);
	CHECK(exec_ok(admin, sql));
	PQfinish(admin);
	free((char *)database_url);
	return CHECK_DONE();
}
