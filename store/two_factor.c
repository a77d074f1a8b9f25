/*
 * Second factors (tables totp_credentials, recovery_codes and the pending
 * sign-ins of passkey_pending_sign_ins; migrations/012): the gate after a
 * first factor, TOTP enrollment, codes, recovery codes.
 *
 * The TOTP secret is made here, sealed here (common/seal.h, under the key
 * the master derived for it and handed to this process only: see
 * store_two_factor_set_key) and opened only here, to check a code: after
 * the enrollment's one reply, no worker ever sees it. A code is checked and
 * its time step recorded in the transaction that holds the credential's row,
 * so of two requests presenting one code (two workers, two instances) one
 * wins, and the other finds the step used.
 *
 * Refusals are outcome words, not statuses (a store status other than
 * STORE_OK means the database failed): pending_unknown (no such pending
 * sign-in), pending_expired, not_enrolled, too_many_attempts (this pending
 * sign-in's: it is gone), user_throttled (the user's wrong codes in the
 * window: the pending sign-in stays),
 * invalid_code, code_reused (a step at or before the last one accepted).
 * Wrong codes are counted against the pending sign-in and the user in the
 * same transaction that refuses them.
 */
#include "store/store_run.h"
#include "store/audit.h"
#include "store/two_factor.h"
#include "common/log.h"
#include "common/seal.h"
#include "common/secure.h"
#include "common/totp.h"
#include "proto/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t seal_key[32];
static bool seal_key_set;

void store_two_factor_set_key(const uint8_t key[32])
{
	memcpy(seal_key, key, sizeof(seal_key));
	seal_key_set = true;
}

/* The AAD of a user's sealed secret: the blob opens only in its own row. */
static void secret_aad(const char *user_id, char out[96])
{
	snprintf(out, 96, "dreamauth-totp-v1|%s", user_id);
}

static void cell_copy(PGresult *r, int row, int col, char *out, size_t cap)
{
	const char *v = PQntuples(r) > row && !PQgetisnull(r, row, col) ? PQgetvalue(r, row, col) : "";
	snprintf(out, cap, "%s", v);
}

static long cell_long(PGresult *r, int row, int col)
{
	return PQntuples(r) > row && !PQgetisnull(r, row, col) ? strtol(PQgetvalue(r, row, col), NULL, 10) : 0;
}

/* Commits (or, when ok is false, rolls back and sets the failure's status).
 * true when committed. */
static bool commit_or_fail(PGconn *db, struct store_result *res, bool ok)
{
	int failure = ok ? STORE_OK : store_failure_status(db);	/* before the ROLLBACK clears it */
	if (store_commit(db, ok))
		return true;
	if (ok)
		failure = store_failure_status(db);
	/* A conflict here is a race this transaction lost: let it try again. */
	res->reply.status = failure == STORE_OK || failure == STORE_CONFLICT ? STORE_ERROR : failure;
	return false;
}

/* ---- the gate after a first factor ---- */

#define GATE_METHODS                                                                            \
	" EXISTS (SELECT 1 FROM totp_credentials t WHERE t.user_id = $1::uuid"                  \
	"  AND t.verified_at IS NOT NULL) AS totp,"                                             \
	" $2::boolean AND EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = $1::uuid)" \
	"  AND EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = $1::uuid) AS passkey"

/* args: user_id, token_hash, first_amr, ttl_s, passkeys_enabled. Stores the
 * pending sign-in only when the account has a second factor, sweeping a few
 * expired ones. */
void store_two_factor_begin(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	const struct store_value v[] = { a[0], a[4], a[1], a[2], a[3] };
	store_result_take(res, db, req,
	    store_query_values(db,
	        "WITH m AS (SELECT" GATE_METHODS "),"
	        " sweep AS (DELETE FROM passkey_pending_sign_ins WHERE token_hash IN"
	        "  (SELECT token_hash FROM passkey_pending_sign_ins WHERE expires_at < now() LIMIT 64)),"
	        " ins AS (INSERT INTO passkey_pending_sign_ins (token_hash, user_id, expires_at, first_amr)"
	        "  SELECT $3::bytea, $1::uuid, now() + make_interval(secs => $5::int), $4 FROM m"
	        "  WHERE m.totp OR m.passkey RETURNING 1)"
	        " SELECT EXISTS (SELECT 1 FROM ins) AS pending, m.totp, m.passkey FROM m",
	        v, 5));
}

/* args: token_hash. The live pending sign-in's methods (passkeys are
 * offered whenever the account wants them: the passkey ceremony itself
 * refuses them when ENABLE_PASSKEYS=false). */
void store_two_factor_pending(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT p.user_id IS NOT NULL AS pending,"
	        " coalesce(EXISTS (SELECT 1 FROM totp_credentials t WHERE t.user_id = p.user_id"
	        "  AND t.verified_at IS NOT NULL), false) AS totp,"
	        " coalesce(EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = p.user_id)"
	        "  AND EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = p.user_id), false) AS passkey"
	        " FROM (SELECT 1) one LEFT JOIN passkey_pending_sign_ins p"
	        "  ON p.token_hash = $1::bytea AND p.expires_at > now()",
	        req));
}

/* ---- enrollment ---- */

static void enrollment_reply(PGconn *db, const struct store_request *req, struct store_result *res,
    const char *outcome, const char *secret)
{
	const struct store_value v[] = { STORE_V_TEXT(outcome), STORE_V_TEXT_OR_NULL(secret) };
	store_result_take(res, db, req, store_query_values(db, "SELECT $1::text AS outcome, $2::text AS secret", v, 2));
}

static bool replace_recovery_codes(PGconn *db, const struct store_value *user_id, const struct store_value *hashes)
{
	const struct store_value v[] = { *user_id, *hashes };
	return store_step(db, "DELETE FROM recovery_codes WHERE user_id = $1::uuid", v, 1, NULL) &&
	    store_step(db,
	        "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1::uuid, decode(h, 'hex')"
	        " FROM unnest(string_to_array($2, ',')) AS h",
	        v, 2, NULL);
}

/* args: user_id, recovery code hashes. A new secret replaces an unconfirmed
 * one; an active TOTP stays (disable it first). */
void store_totp_enroll(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	uint8_t secret[TOTP_SECRET_LEN], blob[TOTP_SECRET_LEN + SEAL_OVERHEAD];
	char aad[96], blob_hex[2 * sizeof(blob) + 1], base32[TOTP_BASE32_LEN];
	PGresult *r = NULL;

	if (!seal_key_set) {
		log_warnx("two-factor: no seal key in this process");
		res->reply.status = STORE_ERROR;
		return;
	}
	secure_random(secret, sizeof(secret));
	secret_aad(a[0].text, aad);
	long n = seal_bytes(seal_key, aad, secret, sizeof(secret), blob);
	if (n < 0 || totp_base32(secret, sizeof(secret), base32, sizeof(base32)) < 0) {
		secure_wipe(secret, sizeof(secret));
		res->reply.status = STORE_ERROR;
		return;
	}
	secure_wipe(secret, sizeof(secret));
	secure_hex(blob, (size_t)n, blob_hex);
	const struct store_value v[] = { a[0], STORE_V_TEXT(blob_hex) };
	bool ok = store_begin(db) &&
	    store_step(db,
	        "INSERT INTO totp_credentials (user_id, secret_sealed) VALUES ($1::uuid, decode($2, 'hex'))"
	        " ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, last_step = NULL,"
	        " last_used_at = NULL, failures = 0, failures_since = NULL, created_at = now()"
	        " WHERE totp_credentials.verified_at IS NULL RETURNING 1",
	        v, 2, &r);
	bool enrolled = ok && PQntuples(r) == 1;
	PQclear(r);
	if (ok && enrolled)
		ok = replace_recovery_codes(db, &a[0], &a[1]);
	if (!commit_or_fail(db, res, ok)) {
		secure_wipe(base32, sizeof(base32));
		return;
	}
	enrollment_reply(db, req, res, enrolled ? "enrolled" : "already_enabled", enrolled ? base32 : NULL);
	secure_wipe(base32, sizeof(base32));
}

/* ---- codes ---- */

/* args of TOTP_VERIFY and RECOVERY_CODE_VERIFY */
enum { V_PENDING, V_SESSION_USER, V_CODE, V_PENDING_MAX, V_USER_MAX, V_WINDOW };

struct attempt {
	char user_id[40];
	char first_amr[24];
	bool pending;		/* a sign-in's second step (else a signed-in user's) */
	bool unconfirmed;	/* the TOTP is enrolled but not yet confirmed */
	long last_step;		/* -1: none yet */
	char sealed_hex[2 * (TOTP_SECRET_LEN + SEAL_OVERHEAD) + 8];
};

/* The pending sign-in, locked: NULL when it may go on, else the refusal
 * (an expired or exhausted one is deleted). */
static const char *take_pending(PGconn *db, const struct store_value *a, struct attempt *t, bool *ok)
{
	PGresult *r;
	const struct store_value v[] = { a[V_PENDING], a[V_PENDING_MAX] };
	if (!(*ok = store_step(db,
	          "SELECT user_id::text, first_amr, expires_at > now() AS live, attempts >= $2::int AS exhausted"
	          " FROM passkey_pending_sign_ins WHERE token_hash = $1::bytea FOR UPDATE",
	          v, 2, &r)))
		return NULL;
	const char *refusal = NULL;
	if (PQntuples(r) != 1)
		refusal = "pending_unknown";
	else if (!store_cell_true(r, 0, 2))
		refusal = "pending_expired";
	else if (store_cell_true(r, 0, 3))
		refusal = "too_many_attempts";
	cell_copy(r, 0, 0, t->user_id, sizeof(t->user_id));
	cell_copy(r, 0, 1, t->first_amr, sizeof(t->first_amr));
	PQclear(r);
	if (refusal && strcmp(refusal, "pending_unknown") != 0)
		*ok = store_step(db, "DELETE FROM passkey_pending_sign_ins WHERE token_hash = $1::bytea", v, 1, NULL);
	return refusal;
}

/* The user's TOTP row, locked (it serializes every code of the user):
 * NULL when codes may be tried, else the refusal. */
static const char *lock_credential(PGconn *db, const struct store_value *a, struct attempt *t, bool *ok)
{
	PGresult *r;
	const struct store_value v[] = { STORE_V_TEXT(t->user_id), a[V_USER_MAX], a[V_WINDOW] };
	if (!(*ok = store_step(db,
	          "SELECT encode(secret_sealed, 'hex'), verified_at IS NULL, coalesce(last_step, -1),"
	          " failures >= $2::int AND failures_since > now() - make_interval(secs => $3::int)"
	          " FROM totp_credentials WHERE user_id = $1::uuid FOR UPDATE",
	          v, 3, &r)))
		return NULL;
	const char *refusal = NULL;
	if (PQntuples(r) != 1) {
		refusal = "not_enrolled";
	} else {
		cell_copy(r, 0, 0, t->sealed_hex, sizeof(t->sealed_hex));
		t->unconfirmed = store_cell_true(r, 0, 1);
		t->last_step = cell_long(r, 0, 2);
		/* A sign-in needs a confirmed TOTP; a signed-in user may confirm one. */
		if (t->pending && t->unconfirmed)
			refusal = "not_enrolled";
		else if (store_cell_true(r, 0, 3))
			refusal = "user_throttled";
	}
	PQclear(r);
	return refusal;
}

/* A wrong code: counted against the user (a fresh window when the last one
 * is over) and the pending sign-in. */
static bool count_failure(PGconn *db, const struct store_value *a, const struct attempt *t)
{
	const struct store_value v[] = { STORE_V_TEXT(t->user_id), a[V_WINDOW] };
	bool ok = store_step(db,
	    "UPDATE totp_credentials SET"
	    " failures = CASE WHEN failures_since > now() - make_interval(secs => $2::int) THEN failures + 1 ELSE 1 END,"
	    " failures_since = CASE WHEN failures_since > now() - make_interval(secs => $2::int) THEN failures_since"
	    "  ELSE now() END WHERE user_id = $1::uuid",
	    v, 2, NULL);
	if (ok && t->pending)
		ok = store_step(db, "UPDATE passkey_pending_sign_ins SET attempts = attempts + 1 WHERE token_hash = $1::bytea",
		    &a[V_PENDING], 1, NULL);
	return ok;
}

static bool finish_pending(PGconn *db, const struct store_value *a, const struct attempt *t)
{
	return !t->pending ||
	    store_step(db, "DELETE FROM passkey_pending_sign_ins WHERE token_hash = $1::bytea", &a[V_PENDING], 1, NULL);
}

/* Commits (or rolls back) and answers the outcome. */
static void result_reply(PGconn *db, const struct store_request *req, struct store_result *res, bool ok,
    const char *outcome, const struct attempt *t, bool confirmed)
{
	if (!commit_or_fail(db, res, ok))
		return;
	bool success = !strcmp(outcome, "ok");
	const struct store_value v[] = { STORE_V_TEXT(outcome),
		success || t->user_id[0] ? STORE_V_TEXT_OR_NULL(t->user_id) : STORE_V_NULL,
		success && t->pending ? STORE_V_TEXT_OR_NULL(t->first_amr) : STORE_V_NULL, STORE_V_BOOL(confirmed) };
	store_result_take(res, db, req,
	    store_query_values(db,
	        "SELECT $1::text AS outcome, $2::text AS user_id, $3::text AS first_amr, $4::boolean AS confirmed", v, 4));
}

/* The pending sign-in or the session's user, locked: NULL to go on. */
static const char *attempt_begin(PGconn *db, const struct store_value *a, struct attempt *t, bool *ok)
{
	memset(t, 0, sizeof(*t));
	t->last_step = -1;
	if (a[V_PENDING].kind == STORE_TEXT) {
		t->pending = true;
		const char *refusal = take_pending(db, a, t, ok);
		if (refusal || !*ok)
			return refusal;
	} else if (a[V_SESSION_USER].kind == STORE_TEXT) {
		snprintf(t->user_id, sizeof(t->user_id), "%s", a[V_SESSION_USER].text);
	} else {
		return "pending_unknown";
	}
	return lock_credential(db, a, t, ok);
}

/* The code against the sealed secret: the matching step, or -1. */
static int64_t code_step(const struct attempt *t, const char *code)
{
	uint8_t blob[TOTP_SECRET_LEN + SEAL_OVERHEAD], secret[SEAL_PLAIN_MAX];
	char aad[96];
	size_t hex_len = strlen(t->sealed_hex);
	uint64_t step = 0;
	int64_t found = -1;

	if (!seal_key_set || hex_len % 2 || hex_len / 2 > sizeof(blob))
		return -2;
	for (size_t i = 0; i < hex_len; i += 2) {
		int hi = hex_value((unsigned char)t->sealed_hex[i]), lo = hex_value((unsigned char)t->sealed_hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -2;
		blob[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	secret_aad(t->user_id, aad);
	long n = seal_open(seal_key, aad, blob, hex_len / 2, secret, sizeof(secret));
	if (n < 0) {
		log_warnx("two-factor: the TOTP secret of user %s does not open (AUTH_SECRET changed?)", t->user_id);
		return -2;
	}
	if (totp_check(secret, (size_t)n, (int64_t)time(NULL), TOTP_DIGITS, TOTP_WINDOW, code, &step))
		found = (int64_t)step;
	secure_wipe(secret, sizeof(secret));
	return found;
}

void store_totp_verify(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	struct attempt t;
	bool ok = store_begin(db);
	const char *outcome = ok ? attempt_begin(db, a, &t, &ok) : NULL;

	if (ok && !outcome) {
		int64_t step = code_step(&t, a[V_CODE].text);
		if (step == -2) {
			ok = false;
		} else if (step < 0 || step <= t.last_step) {
			/* Single use: a step at or before the last accepted one is spent. */
			outcome = step < 0 ? "invalid_code" : "code_reused";
			ok = count_failure(db, a, &t);
		} else {
			const struct store_value v[] = { STORE_V_TEXT(t.user_id), STORE_V_INT(step) };
			ok = store_step(db,
			         "UPDATE totp_credentials SET last_step = $2::bigint, last_used_at = now(),"
			         " verified_at = coalesce(verified_at, now()), failures = 0, failures_since = NULL"
			         " WHERE user_id = $1::uuid",
			         v, 2, NULL) &&
			    finish_pending(db, a, &t);
			outcome = "ok";
			/* the first code confirms the enrollment: two-factor is on from now */
			if (ok && t.unconfirmed)
				ok = store_audit(db, req, "second_factor_change", "totp", t.user_id, "user", t.user_id,
				    "{\"enabled\":true}");
		}
	}
	secure_wipe(t.sealed_hex, sizeof(t.sealed_hex));
	result_reply(db, req, res, ok, outcome ? outcome : "", &t, ok && outcome && !strcmp(outcome, "ok") && t.unconfirmed);
}

/* Recovery codes work once the TOTP is confirmed; each once. */
void store_recovery_code_verify(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	struct attempt t;
	PGresult *r = NULL;
	bool ok = store_begin(db);
	const char *outcome = ok ? attempt_begin(db, a, &t, &ok) : NULL;

	if (ok && !outcome && t.unconfirmed)
		outcome = "not_enrolled";
	if (ok && !outcome) {
		const struct store_value v[] = { STORE_V_TEXT(t.user_id), a[V_CODE] };
		ok = store_step(db,
		    "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1::uuid AND code_hash = decode($2, 'hex')"
		    " AND used_at IS NULL RETURNING 1",
		    v, 2, &r);
		if (ok && PQntuples(r) == 1) {
			outcome = "ok";
			ok = store_step(db, "UPDATE totp_credentials SET failures = 0, failures_since = NULL WHERE user_id = $1::uuid",
			         v, 1, NULL) &&
			    finish_pending(db, a, &t);
		} else if (ok) {
			outcome = "invalid_code";
			ok = count_failure(db, a, &t);
		}
		PQclear(r);
	}
	secure_wipe(t.sealed_hex, sizeof(t.sealed_hex));
	result_reply(db, req, res, ok, outcome ? outcome : "", &t, false);
}

/* ---- the account's settings ---- */

void store_two_factor_disable(PGconn *db, const struct store_request *req, struct store_result *res)
{
	bool ok = store_begin(db);
	PGresult *r = !ok ? NULL :
	    store_query(db,
	        "WITH codes AS (DELETE FROM recovery_codes WHERE user_id = $1::uuid RETURNING 1),"
	        " totp AS (DELETE FROM totp_credentials WHERE user_id = $1::uuid RETURNING 1)"
	        " SELECT (EXISTS (SELECT 1 FROM totp) OR EXISTS (SELECT 1 FROM codes))::int::bigint AS n",
	        req);

	ok = r != NULL;
	/* the user's own act, or an operator's (`dreamauth user two-factor-off`) */
	bool cli = audit_request_from_cli(req);
	if (ok && strcmp(PQgetvalue(r, 0, 0), "1") == 0)
		ok = store_audit(db, req, "second_factor_change", cli ? "cli" : "totp", cli ? NULL : req->args[0].text,
		    "user", req->args[0].text, "{\"enabled\":false,\"factor\":\"totp\"}");
	store_commit_take(res, db, req, ok, r, false);
}

void store_recovery_codes_replace(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	PGresult *r = NULL;
	bool ok = store_begin(db) &&
	    store_step(db, "SELECT 1 FROM totp_credentials WHERE user_id = $1::uuid AND verified_at IS NOT NULL FOR UPDATE",
	        &a[0], 1, &r);
	bool active = ok && PQntuples(r) == 1;
	PQclear(r);
	if (ok && active)
		ok = replace_recovery_codes(db, &a[0], &a[1]) &&
		    store_audit(db, req, "recovery_codes_replace", "totp", a[0].text, "user", a[0].text, NULL);
	if (!commit_or_fail(db, res, ok))
		return;
	const struct store_value v[] = { STORE_V_INT(active ? 1 : 0) };
	store_result_take(res, db, req, store_query_values(db, "SELECT $1::bigint AS n", v, 1));
}

void store_two_factor_status(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT coalesce(t.verified_at IS NOT NULL, false) AS totp_enabled,"
	        " coalesce(t.verified_at IS NULL, false) AS totp_unconfirmed,"
	        " (SELECT count(*) FROM recovery_codes c WHERE c.user_id = $1::uuid AND c.used_at IS NULL)::bigint"
	        "  AS recovery_left,"
	        " EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = $1::uuid) AS passkey"
	        " FROM (SELECT 1) one LEFT JOIN totp_credentials t ON t.user_id = $1::uuid",
	        req));
}
