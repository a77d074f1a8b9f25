/*
 * Passkeys (tables passkeys, passkey_challenges, passkey_second_factor,
 * passkey_pending_sign_ins; migrations/010): challenges, registration and
 * sign-in ceremonies, the account page's list / rename / delete, and the
 * passkey as a second factor after a password.
 *
 * The worker checks everything that needs no database (clientDataJSON,
 * authenticator data, attestation, signature: proto/webauthn.h); what depends
 * on shared state happens here, atomically. A challenge is taken (deleted) by
 * the transaction that uses it, so of two requests presenting one challenge
 * (two workers, two instances) exactly one finds it, and a challenge is only
 * found by the browser it was issued to (binding_hash).
 *
 * Outcomes are words in the reply, not statuses: a refusal is a normal answer
 * that the worker turns into a 4xx. A store status other than STORE_OK means
 * the database failed, and then nothing was committed.
 */
#include "store/store_run.h"
#include "store/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many passkeys per account: bounds the account page's list and
 * the credentials an options reply carries (64 KiB frames, credential IDs of
 * up to 1023 bytes). */
#define PASSKEYS_PER_USER_MAX 10

/* ---- small helpers ---- */


static long cell_long(PGresult *r, int row, int col)
{
	return PQntuples(r) > row && !PQgetisnull(r, row, col) ? atol(PQgetvalue(r, row, col)) : 0;
}

static void cell_copy(PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQntuples(r) > row && !PQgetisnull(r, row, col) ? PQgetvalue(r, row, col) : "");
}

/* Commits (or rolls back when ok is false); on a failed commit the reply
 * carries the failure. A conflict at commit is a race this transaction lost,
 * not the caller's mistake: an error, to try again. */
static bool finish_transaction(PGconn *db, struct store_result *res, bool ok)
{
	if (store_commit(db, ok))
		return true;
	res->reply.status = store_failure_status(db);
	if (res->reply.status == STORE_CONFLICT)
		res->reply.status = STORE_ERROR;
	return false;
}

/* The one row of a STORE_SHAPE_PASSKEY_OUTCOME reply. */
static void outcome_reply_amr(PGconn *db, const struct store_request *req, struct store_result *res,
    const char *outcome, const char *user_id, const char *passkey_id, const char *first_amr)
{
	const struct store_value row[] = { STORE_V_TEXT(outcome), STORE_V_TEXT_OR_NULL(user_id),
		STORE_V_TEXT_OR_NULL(passkey_id), STORE_V_TEXT_OR_NULL(first_amr) };
	store_result_take(res, db, req,
	    store_query_values(db,
	        "SELECT $1::text AS outcome, $2::text AS user_id, $3::text AS passkey_id, $4::text AS first_amr", row, 4));
}

static void outcome_reply(PGconn *db, const struct store_request *req, struct store_result *res, const char *outcome,
    const char *user_id, const char *passkey_id)
{
	outcome_reply_amr(db, req, res, outcome, user_id, passkey_id, NULL);
}

/* Deletes a few expired challenges: the table stays as large as the
 * ceremonies of the last few minutes, without a sweeper of its own. */
static bool sweep_challenges(PGconn *db)
{
	return store_step(db,
	    "DELETE FROM passkey_challenges WHERE challenge_hash IN"
	    " (SELECT challenge_hash FROM passkey_challenges WHERE expires_at < now() LIMIT 64)",
	    NULL, 0, NULL);
}

/* ---- challenges ---- */

/* The options reply: a first row with the outcome and purpose, then, when
 * user_id is set, one row per credential of that user. */
static void options_reply(PGconn *db, const struct store_request *req, struct store_result *res, const char *outcome,
    const char *purpose, const char *user_id)
{
	const struct store_value v[] = { STORE_V_TEXT(outcome), STORE_V_TEXT_OR_NULL(purpose),
		STORE_V_TEXT_OR_NULL(user_id) };
	store_result_take(res, db, req,
	    store_query_values(db,
	        "SELECT outcome, purpose, credential_id, transports FROM ("
	        " SELECT 0 AS k, NULL::timestamptz AS t, $1::text AS outcome, $2::text AS purpose,"
	        "  NULL::bytea AS credential_id, NULL::text AS transports"
	        " UNION ALL SELECT 1, p.created_at, $1, $2, p.credential_id, p.transports FROM passkeys p"
	        "  WHERE $3::uuid IS NOT NULL AND p.user_id = $3::uuid) o ORDER BY k, t",
	        v, 3));
}

static bool insert_challenge(PGconn *db, const struct store_value *challenge_hash, const struct store_value *binding_hash,
    const char *purpose, const struct store_value *user_id, const struct store_value *signup,
    const struct store_value *pending_hash, const struct store_value *ttl)
{
	const struct store_value v[] = { *challenge_hash, *binding_hash, STORE_V_TEXT(purpose), *user_id, signup[0],
		signup[1], signup[2], signup[3], *pending_hash, *ttl };
	return store_step(db,
	    "INSERT INTO passkey_challenges (challenge_hash, binding_hash, purpose, user_id, email, email_normalized,"
	    " name, is_admin, pending_hash, expires_at) VALUES ($1::bytea, $2::bytea, $3, $4::uuid, $5, $6, $7,"
	    " coalesce($8::boolean, false), $9::bytea, now() + make_interval(secs => $10::int))",
	    v, 10, NULL);
}

/* register: the account must exist, be enabled and have room. */
static const char *register_refusal(PGconn *db, const struct store_value *user_id, bool *ok)
{
	PGresult *r;
	const char *refusal = NULL;

	if (!(*ok = store_step(db,
	          "SELECT u.disabled, (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys"
	          " FROM users u WHERE u.id = $1::uuid",
	          user_id, 1, &r)))
		return NULL;
	if (PQntuples(r) != 1 || store_cell_true(r, 0, 0))
		refusal = "no_account";
	else if (cell_long(r, 0, 1) >= PASSKEYS_PER_USER_MAX)
		refusal = "too_many_passkeys";
	PQclear(r);
	return refusal;
}

/* sign_up: the address must be free (checked again when the account is made). */
static const char *sign_up_refusal(PGconn *db, const struct store_value *email_normalized, bool *ok)
{
	PGresult *r;
	if (!(*ok = store_step(db, "SELECT 1 FROM users WHERE email_normalized = $1", email_normalized, 1, &r)))
		return NULL;
	const char *refusal = PQntuples(r) ? "email_taken" : NULL;
	PQclear(r);
	return refusal;
}

/*
 * args: challenge_hash, binding_hash, purpose, user_id, email, email_normalized,
 * name, is_admin, ttl_s. The challenge is stored only when the ceremony can
 * succeed; the reply lists the user's credentials (excludeCredentials).
 */
void store_passkey_register_options(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	const char *purpose = a[2].text, *refusal = NULL;
	bool sign_up = strcmp(purpose, "sign_up") == 0, ok = store_begin(db);

	if (strcmp(purpose, "register") != 0 && !sign_up) {
		store_commit(db, false);
		res->reply.status = STORE_ERROR;
		return;
	}
	ok = ok && sweep_challenges(db);
	if (ok)
		refusal = sign_up ? sign_up_refusal(db, &a[5], &ok) : register_refusal(db, &a[3], &ok);
	if (ok && !refusal)
		ok = insert_challenge(db, &a[0], &a[1], purpose, &a[3], &a[4], &(struct store_value){ .kind = STORE_NULL },
		    &a[8]);
	if (!finish_transaction(db, res, ok))
		return;
	options_reply(db, req, res, refusal ? refusal : "ok", purpose, refusal || sign_up ? NULL : a[3].text);
}

/* The user a sign-in's options are for: the account awaiting its second
 * factor (pending_hash, when live), else the typed email's (allowCredentials
 * only: the challenge stays username-less). */
struct auth_target {
	char user_id[40];
	bool second_factor;
};

static bool find_auth_target(PGconn *db, const struct store_value *email_normalized, const struct store_value *pending,
    struct auth_target *t)
{
	PGresult *r;
	memset(t, 0, sizeof(*t));
	if (pending->kind == STORE_TEXT) {
		if (!store_step(db,
		        "SELECT user_id::text FROM passkey_pending_sign_ins WHERE token_hash = $1::bytea AND expires_at > now()",
		        pending, 1, &r))
			return false;
		t->second_factor = PQntuples(r) == 1;
		cell_copy(r, 0, 0, t->user_id, sizeof(t->user_id));
		PQclear(r);
		if (t->second_factor)
			return true;
	}
	if (email_normalized->kind != STORE_TEXT)
		return true;
	if (!store_step(db, "SELECT id::text FROM users WHERE email_normalized = $1 AND NOT disabled", email_normalized, 1, &r))
		return false;
	cell_copy(r, 0, 0, t->user_id, sizeof(t->user_id));
	PQclear(r);
	return true;
}

/* args: challenge_hash, binding_hash, email_normalized, pending_hash, ttl_s. */
void store_passkey_auth_options(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args, none = STORE_V_NULL;
	const struct store_value no_signup[4] = { none, none, none, none };
	struct auth_target t;
	bool ok = store_begin(db) && sweep_challenges(db) && find_auth_target(db, &a[2], &a[3], &t);
	const char *purpose = t.second_factor ? "second_factor" : "authenticate";

	if (ok) {
		struct store_value user = t.second_factor ? STORE_V_TEXT(t.user_id) : none;
		ok = insert_challenge(db, &a[0], &a[1], purpose, &user, no_signup, t.second_factor ? &a[3] : &none, &a[4]);
	}
	if (!finish_transaction(db, res, ok))
		return;
	options_reply(db, req, res, "ok", purpose, t.user_id[0] ? t.user_id : NULL);
}

/* A challenge taken: its row, deleted. */
struct taken_challenge {
	char purpose[16];
	char user_id[40];
	char pending_hash[70];
	PGresult *row;		/* purpose, user_id, email, email_normalized, name, is_admin, pending_hash, live */
};

enum { TAKEN_EMAIL = 2, TAKEN_EMAIL_NORMALIZED = 3, TAKEN_NAME = 4, TAKEN_IS_ADMIN = 5 };

/* Deletes the challenge that this browser was issued (single use whatever
 * follows). NULL when it may be used for one of the purposes (a
 * space-separated list), else the refusal. */
static const char *take_challenge(PGconn *db, const struct store_value *hash_and_binding, const char *purposes,
    struct taken_challenge *c, bool *ok)
{
	memset(c, 0, sizeof(*c));
	*ok = store_step(db,
	    "DELETE FROM passkey_challenges WHERE challenge_hash = $1::bytea AND binding_hash = $2::bytea"
	    " RETURNING purpose, user_id::text, email, email_normalized, name, is_admin, pending_hash,"
	    " expires_at > now() AS live",
	    hash_and_binding, 2, &c->row);
	if (!*ok)
		return NULL;
	if (PQntuples(c->row) != 1)
		return "challenge_unknown";
	cell_copy(c->row, 0, 0, c->purpose, sizeof(c->purpose));
	cell_copy(c->row, 0, 1, c->user_id, sizeof(c->user_id));
	cell_copy(c->row, 0, 6, c->pending_hash, sizeof(c->pending_hash));
	if (!store_cell_true(c->row, 0, 7))
		return "challenge_expired";
	char list[64];
	snprintf(list, sizeof(list), " %s ", purposes);
	char word[20];
	snprintf(word, sizeof(word), " %s ", c->purpose);
	return strstr(list, word) ? NULL : "wrong_purpose";
}

/* ---- registration ---- */

/* args of PASSKEY_REGISTER */
enum {
	REG_CHALLENGE, REG_BINDING, REG_SESSION_USER, REG_CREDENTIAL_ID, REG_PUBLIC_KEY, REG_ALG, REG_SIGN_COUNT,
	REG_TRANSPORTS, REG_AAGUID, REG_FMT, REG_ATTESTATION_TYPE, REG_FLAGS, REG_NAME
};

/* The new account of a passkey sign-up, with the id its options announced
 * as the user handle. */
static const char *create_account(PGconn *db, const struct taken_challenge *c, bool *ok)
{
	PGresult *r;
	const struct store_value v[] = { STORE_V_TEXT(c->user_id),
		STORE_V_TEXT(PQgetvalue(c->row, 0, TAKEN_EMAIL)), STORE_V_TEXT(PQgetvalue(c->row, 0, TAKEN_EMAIL_NORMALIZED)),
		STORE_V_TEXT(PQgetvalue(c->row, 0, TAKEN_NAME)), STORE_V_BOOL(store_cell_true(c->row, 0, TAKEN_IS_ADMIN)) };

	if (!(*ok = store_step(db,
	          "INSERT INTO users (id, email, email_normalized, name, is_admin) VALUES ($1::uuid, $2, $3, $4, $5::boolean)"
	          " ON CONFLICT DO NOTHING RETURNING id",
	          v, 5, &r)))
		return NULL;
	const char *refusal = PQntuples(r) == 1 ? NULL : "email_taken";
	PQclear(r);
	return refusal;
}

static const char *insert_passkey(PGconn *db, const struct store_value *a, const char *user_id, char *passkey_id,
    size_t cap, bool *ok)
{
	PGresult *r;
	const struct store_value v[] = { STORE_V_TEXT(user_id), a[REG_CREDENTIAL_ID], a[REG_PUBLIC_KEY], a[REG_ALG],
		a[REG_SIGN_COUNT], a[REG_TRANSPORTS], a[REG_AAGUID], a[REG_FMT], a[REG_ATTESTATION_TYPE], a[REG_FLAGS],
		a[REG_NAME] };

	if (!(*ok = store_step(db,
	          "INSERT INTO passkeys (user_id, credential_id, public_key, alg, sign_count, transports, aaguid,"
	          " attestation_fmt, attestation_type, backup_eligible, backup_state, user_verified, name)"
	          " VALUES ($1::uuid, $2::bytea, $3::bytea, $4::int, $5::bigint, $6, $7::uuid, $8, $9,"
	          " ($10::int & 8) <> 0, ($10::int & 16) <> 0, ($10::int & 4) <> 0, $11)"
	          " ON CONFLICT (credential_id) DO NOTHING RETURNING id::text",
	          v, 11, &r)))
		return NULL;
	const char *refusal = PQntuples(r) == 1 ? NULL : "credential_taken";
	cell_copy(r, 0, 0, passkey_id, cap);
	PQclear(r);
	return refusal;
}

/* What a taken registration challenge leads to: the passkey added to the
 * signed-in account that asked for it, or a new account with it. */
static const char *register_taken(PGconn *db, const struct store_value *a, const struct taken_challenge *c,
    char *passkey_id, size_t cap, bool *ok)
{
	const char *refusal;
	*ok = true;
	if (!strcmp(c->purpose, "register")) {
		/* Only the session the options were issued to may complete them. */
		if (a[REG_SESSION_USER].kind != STORE_TEXT || strcmp(a[REG_SESSION_USER].text, c->user_id) != 0)
			return "wrong_user";
		/* Locked: concurrent additions count each other. */
		if (!(*ok = store_step(db, "SELECT 1 FROM users WHERE id = $1::uuid FOR UPDATE", &STORE_V_TEXT(c->user_id), 1, NULL)))
			return NULL;
		struct store_value user = STORE_V_TEXT(c->user_id);
		if ((refusal = register_refusal(db, &user, ok)) || !*ok)
			return refusal;
	} else if ((refusal = create_account(db, c, ok)) || !*ok) {
		return refusal;
	}
	if ((refusal = insert_passkey(db, a, c->user_id, passkey_id, cap, ok)) || !*ok)
		return refusal;
	return strcmp(c->purpose, "register") == 0 ? "registered" : "signed_up";
}

/* One transaction: the challenge is taken (kept taken whatever follows: a
 * savepoint undoes only the rest on a refusal), then the passkey added or
 * the account made with it. */
void store_passkey_register(PGconn *db, const struct store_request *req, struct store_result *res)
{
	struct taken_challenge c = { 0 };
	char passkey_id[40] = "";
	const char *outcome = NULL;
	bool ok = store_begin(db);

	if (ok)
		outcome = take_challenge(db, req->args, "register sign_up", &c, &ok);
	ok = ok && store_step(db, "SAVEPOINT taken", NULL, 0, NULL);
	if (ok && !outcome) {
		outcome = register_taken(db, req->args, &c, passkey_id, sizeof(passkey_id), &ok);
		if (ok && strcmp(outcome, "registered") != 0 && strcmp(outcome, "signed_up") != 0) {
			ok = store_step(db, "ROLLBACK TO SAVEPOINT taken", NULL, 0, NULL);
		} else if (ok) {
			char detail[400];
			bool up = !strcmp(outcome, "signed_up");
			ok = store_audit(db, req, up ? "sign_up" : "passkey_add", "passkey", c.user_id, up ? "user" : "passkey",
			    up ? c.user_id : passkey_id,
			    audit_detail(detail, sizeof(detail), "passkey_id", passkey_id, "name", req->args[12].text, "aaguid",
			        req->args[8].text, "attestation", req->args[10].text, NULL));
		}
	}
	PQclear(c.row);
	if (!finish_transaction(db, res, ok))
		return;
	bool done = !strcmp(outcome, "registered") || !strcmp(outcome, "signed_up");
	outcome_reply(db, req, res, outcome, done ? c.user_id : NULL, done ? passkey_id : NULL);
}

void store_passkey_challenge_discard(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH d AS (DELETE FROM passkey_challenges WHERE challenge_hash = $1::bytea AND binding_hash = $2::bytea"
	        " RETURNING 1) SELECT count(*)::bigint AS n FROM d",
	        req));
}

/* ---- sign-in ---- */

/* The credential to verify the assertion against, and its account. */
static const char *load_credential(PGconn *db, const struct store_value *credential_id, const struct taken_challenge *c,
    PGresult **row, bool *ok)
{
	if (!(*ok = store_step(db,
	          "SELECT p.id::text AS passkey_id, p.user_id::text AS user_id, p.public_key, p.alg, p.sign_count,"
	          " p.backup_eligible, p.backup_state, u.disabled FROM passkeys p JOIN users u ON u.id = p.user_id"
	          " WHERE p.credential_id = $1::bytea",
	          credential_id, 1, row)))
		return NULL;
	if (PQntuples(*row) != 1)
		return "credential_unknown";
	if (store_cell_true(*row, 0, 7))
		return "account_disabled";
	/* A second factor must be one of the account's own passkeys. */
	if (!strcmp(c->purpose, "second_factor") && strcmp(PQgetvalue(*row, 0, 1), c->user_id) != 0)
		return "wrong_user";
	return NULL;
}

/* args: challenge_hash, binding_hash, credential_id. The challenge is taken
 * (committed) whatever the outcome. */
void store_passkey_assertion_begin(PGconn *db, const struct store_request *req, struct store_result *res)
{
	struct taken_challenge c = { 0 };
	PGresult *cred = NULL;
	const char *outcome = NULL;
	bool ok = store_begin(db);

	if (ok)
		outcome = take_challenge(db, req->args, "authenticate second_factor", &c, &ok);
	if (ok && !outcome)
		outcome = load_credential(db, &req->args[2], &c, &cred, &ok);
	if (finish_transaction(db, res, ok)) {
		bool found = !outcome;
		const struct store_value v[] = { STORE_V_TEXT(found ? "ok" : outcome), STORE_V_TEXT_OR_NULL(c.purpose),
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 0)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 1)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 2)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 3)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 4)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 5)) : STORE_V_NULL,
			found ? STORE_V_TEXT(PQgetvalue(cred, 0, 6)) : STORE_V_NULL, STORE_V_TEXT_OR_NULL(c.pending_hash) };
		store_result_take(res, db, req,
		    store_query_values(db,
		        "SELECT $1::text AS outcome, $2::text AS purpose, $3::text AS passkey_id, $4::text AS user_id,"
		        " $5::text AS public_key, $6::bigint AS alg, $7::bigint AS sign_count, $8::boolean AS backup_eligible,"
		        " $9::boolean AS backup_state, $10::text AS pending_hash",
		        v, 10));
	}
	PQclear(cred);
	PQclear(c.row);
}

/* args of PASSKEY_ASSERTION_FINISH */
enum { FIN_PASSKEY, FIN_USER, FIN_SIGN_COUNT, FIN_BACKUP_STATE, FIN_REGRESSED, FIN_PENDING };

/* A second factor ends its first factor's sign-in (single use, live, this
 * user's); first_amr: what that first factor was. */
static const char *take_pending(PGconn *db, const struct store_value *a, bool *ok, char first_amr[24])
{
	PGresult *r;
	const struct store_value v[] = { a[FIN_PENDING], a[FIN_USER] };
	if (!(*ok = store_step(db,
	          "DELETE FROM passkey_pending_sign_ins WHERE token_hash = $1::bytea AND user_id = $2::uuid"
	          " RETURNING expires_at > now() AS live, first_amr",
	          v, 2, &r)))
		return NULL;
	const char *refusal = PQntuples(r) != 1 ? "pending_unknown" : !store_cell_true(r, 0, 0) ? "pending_expired" : NULL;
	cell_copy(r, 0, 1, first_amr, 24);
	PQclear(r);
	return refusal;
}

/* The counter keeps its highest value (a clone's lower one is counted, not
 * stored); a change of backup state is dated. */
static const char *record_use(PGconn *db, const struct store_value *a, bool *ok)
{
	PGresult *r;
	const struct store_value v[] = { a[FIN_PASSKEY], a[FIN_USER], a[FIN_SIGN_COUNT], a[FIN_BACKUP_STATE],
		a[FIN_REGRESSED] };
	if (!(*ok = store_step(db,
	          "UPDATE passkeys SET sign_count = greatest(sign_count, $3::bigint), last_used_at = now(),"
	          " counter_regressions = counter_regressions + $5::boolean::int,"
	          " counter_regressed_at = CASE WHEN $5::boolean THEN now() ELSE counter_regressed_at END,"
	          " backup_state_changed_at = CASE WHEN backup_state <> $4::boolean THEN now()"
	          "  ELSE backup_state_changed_at END,"
	          " backup_state = $4::boolean WHERE id = $1::uuid AND user_id = $2::uuid RETURNING 1",
	          v, 5, &r)))
		return NULL;
	const char *refusal = PQntuples(r) == 1 ? NULL : "credential_unknown";
	PQclear(r);
	return refusal;
}

void store_passkey_assertion_finish(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	const char *outcome = NULL;
	char first_amr[24] = "";
	bool ok = store_begin(db);

	if (ok && a[FIN_PENDING].kind == STORE_TEXT)
		outcome = take_pending(db, a, &ok, first_amr);
	if (ok && !outcome)
		outcome = record_use(db, a, &ok);
	if (!ok) {
		finish_transaction(db, res, false);
		return;
	}
	/* A refusal keeps nothing: the pending sign-in was someone else's or
	 * gone already, and the passkey's use did not happen. */
	if (outcome) {
		store_commit(db, false);
		outcome_reply(db, req, res, outcome, NULL, NULL);
		return;
	}
	if (finish_transaction(db, res, true))
		outcome_reply_amr(db, req, res, "signed_in", a[FIN_USER].text, a[FIN_PASSKEY].text, first_amr);
}

/* ---- the account page ---- */

#define PASSKEY_COLUMNS                                                                                  \
	"id::text AS id, name, credential_id, public_key, alg::bigint AS alg, sign_count, transports,"   \
	" aaguid::text AS aaguid, attestation_fmt, attestation_type, backup_eligible, backup_state,"     \
	" user_verified, floor(extract(epoch from created_at))::bigint AS created_at,"                   \
	" floor(extract(epoch from last_used_at))::bigint AS last_used_at,"                              \
	" counter_regressions::bigint AS counter_regressions"

void store_passkey_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db, "SELECT " PASSKEY_COLUMNS " FROM passkeys WHERE user_id = $1::uuid"
	        " ORDER BY passkeys.created_at, passkeys.id",
	        req));
}

void store_passkey_rename(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char detail[300];
	bool ok = store_begin(db);
	PGresult *r = !ok ? NULL :
	    store_query(db,
	        "UPDATE passkeys SET name = $3 WHERE id = $2::uuid AND user_id = $1::uuid RETURNING " PASSKEY_COLUMNS,
	        req);

	ok = r != NULL;
	if (ok && PQntuples(r) == 1)
		ok = store_audit(db, req, "passkey_rename", "passkey", req->args[0].text, "passkey", req->args[1].text,
		    audit_detail(detail, sizeof(detail), "name", req->args[2].text, NULL));
	store_commit_take(res, db, req, ok, r, false);
}

/* Ways into the account besides this passkey: its password, its other
 * passkeys, and its Ethereum wallets when this database has them (the table
 * comes with Sign-In With Ethereum's migration). The user row is locked so
 * two deletions of an account's last two ways in cannot both pass. */
static bool other_ways_in(PGconn *db, const struct store_value *user_and_passkey, bool *owns, long *others,
    bool *second_factor)
{
	PGresult *r;
	if (!store_step(db, "SELECT to_regclass('wallets') IS NOT NULL", NULL, 0, &r))
		return false;
	bool wallets = store_cell_true(r, 0, 0);
	PQclear(r);
	char sql[800];
	snprintf(sql, sizeof(sql),
	    "SELECT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id AND p.id = $2::uuid) AS owns,"
	    " (u.password_hash IS NOT NULL)::int + (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id"
	    "  AND p.id <> $2::uuid) %s AS others,"
	    " EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = u.id) AS second_factor"
	    " FROM users u WHERE u.id = $1::uuid FOR UPDATE",
	    wallets ? "+ (SELECT count(*) FROM wallets w WHERE w.user_id = u.id)" : "");
	if (!store_step(db, sql, user_and_passkey, 2, &r))
		return false;
	*owns = store_cell_true(r, 0, 0);
	*others = cell_long(r, 0, 1);
	*second_factor = store_cell_true(r, 0, 2);
	PQclear(r);
	return true;
}

/* Whether the account keeps a passkey to be its second factor. */
static bool passkeys_left(PGconn *db, const struct store_value *user_id, long *n)
{
	PGresult *r;
	if (!store_step(db, "SELECT count(*) FROM passkeys WHERE user_id = $1::uuid", user_id, 1, &r))
		return false;
	*n = cell_long(r, 0, 0);
	PQclear(r);
	return true;
}

/*
 * args: user_id, passkey_id, confirmed. An account whose only way in is this
 * passkey keeps it unless the deletion is confirmed (last_method). Deleting
 * the last passkey of an account that wanted one as its second factor turns
 * that off in the same transaction (deleted_second_factor_off): a password
 * alone signs in again, rather than nothing.
 */
void store_passkey_delete(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	const char *outcome = NULL;
	bool owns = false, second_factor = false, ok = store_begin(db);
	long others = 0, left = 0;

	ok = ok && other_ways_in(db, a, &owns, &others, &second_factor);
	if (ok && !owns)
		outcome = "not_found";
	else if (ok && others == 0 && !a[2].i)
		outcome = "last_method";
	if (ok && !outcome) {
		ok = store_step(db, "DELETE FROM passkeys WHERE id = $2::uuid AND user_id = $1::uuid", a, 2, NULL) &&
		    passkeys_left(db, &a[0], &left);
		outcome = "deleted";
		if (ok && left == 0 && second_factor) {
			ok = store_step(db, "DELETE FROM passkey_second_factor WHERE user_id = $1::uuid", a, 1, NULL);
			outcome = "deleted_second_factor_off";
		}
		ok = ok && store_audit(db, req, "passkey_delete", "passkey", a[0].text, "passkey", a[1].text,
		    strcmp(outcome, "deleted") ? "{\"second_factor_off\":true}" : NULL);
	}
	if (finish_transaction(db, res, ok))
		outcome_reply(db, req, res, outcome, a[0].text, a[1].text);
}

void store_passkey_account(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT u.password_hash IS NOT NULL AS has_password,"
	        " EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = u.id) AS second_factor,"
	        " (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys"
	        " FROM users u WHERE u.id = $1::uuid",
	        req));
}

/*
 * args: user_id, enabled. A second factor needs a password to follow and a
 * passkey to ask for (no_password, no_passkey); the user row is locked so a
 * concurrent deletion of the last passkey sees the setting.
 */
void store_passkey_second_factor_set(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value *a = req->args;
	const char *outcome = a[1].i ? "enabled" : "disabled";
	PGresult *r = NULL;
	bool ok = store_begin(db) && store_step(db,
	                                 "SELECT u.password_hash IS NOT NULL,"
	                                 " (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id)"
	                                 " FROM users u WHERE u.id = $1::uuid FOR UPDATE",
	                                 a, 1, &r);
	if (ok) {
		if (PQntuples(r) != 1)
			outcome = "not_found";
		else if (a[1].i && !store_cell_true(r, 0, 0))
			outcome = "no_password";
		else if (a[1].i && cell_long(r, 0, 1) == 0)
			outcome = "no_passkey";
		PQclear(r);
	}
	if (ok && !strcmp(outcome, "enabled"))
		ok = store_step(db, "INSERT INTO passkey_second_factor (user_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING", a, 1,
		    NULL);
	else if (ok && !strcmp(outcome, "disabled"))
		ok = store_step(db, "DELETE FROM passkey_second_factor WHERE user_id = $1::uuid", a, 1, NULL);
	if (ok && (!strcmp(outcome, "enabled") || !strcmp(outcome, "disabled")))
		ok = store_audit(db, req, "second_factor_change", "passkey", a[0].text, "user", a[0].text,
		    a[1].i ? "{\"enabled\":true}" : "{\"enabled\":false}");
	if (finish_transaction(db, res, ok))
		outcome_reply(db, req, res, outcome, a[0].text, NULL);
}

/* After a password held: stores the pending sign-in only when the account
 * wants a passkey too (and has one), sweeping a few expired ones. */
void store_passkey_second_factor_begin(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH sweep AS (DELETE FROM passkey_pending_sign_ins WHERE token_hash IN"
	        " (SELECT token_hash FROM passkey_pending_sign_ins WHERE expires_at < now() LIMIT 64)),"
	        " ins AS (INSERT INTO passkey_pending_sign_ins (token_hash, user_id, expires_at)"
	        " SELECT $2::bytea, $1::uuid, now() + make_interval(secs => $3::int)"
	        " WHERE EXISTS (SELECT 1 FROM passkey_second_factor f WHERE f.user_id = $1::uuid)"
	        " AND EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = $1::uuid) RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM ins",
	        req));
}
