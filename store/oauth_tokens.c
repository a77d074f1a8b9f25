/*
 * OAuth tokens (oauth_codes, oauth_refresh_tokens, oauth_access_tokens,
 * oauth_token_families): spending an authorization code and storing what it
 * gives, rotating a refresh token, client_credentials tokens, introspection
 * and revocation (workers/oidc_token.c, workers/oidc_userinfo.c).
 *
 * Two rules keep a revocation complete when instances share a database and
 * race each other:
 *  - A code's tokens are written only while the code is not marked replayed,
 *    holding the code's row lock until they commit; a replay marks the code
 *    under that lock and then revokes by code hash (migrations/006), so it
 *    either finds the tokens or makes their insert write none.
 *  - Every writer of a refresh-token family locks the family's row first
 *    (migrations/008). A rotation writes its new tokens only while the family
 *    is not revoked. A revocation marks the family revoked and then, in a
 *    later statement (READ COMMITTED: a fresh snapshot), revokes every token
 *    of the family, including those of a rotation that committed while it
 *    waited for the lock.
 * Lock order, to stay clear of deadlocks: a code's row, then a family's row,
 * then token rows.
 *
 * Access tokens revoked here enter this instance's shared-memory table
 * (shm/revoked_tokens.h) before the answer goes back; the trigger of
 * migrations/004 (through revocation_log, 007) tells every instance.
 */
#include "store/oauth_tokens.h"
#include "store/store_run.h"
#include "proto/oidc_clients.h"
#include "proto/revoke_notice.h"
#include "shm/revoked_tokens.h"
#include "shm/shm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A token passes jwt_local_verify until exp + JWT_LEEWAY (workers/jwt_local.h):
 * the shared table must remember a revoked one that long. */
#define TOKEN_LEEWAY_S 60

/* STORE_COLS_OAUTH_USER from users u (all NULL when no user joined). */
#define USER_COLUMNS                                                                                           \
	" u.id::text AS user_id, u.email, u.name, u.email_verified, u.disabled,"                               \
	" array_to_json(u.groups)::text AS groups,"                                                            \
	" (SELECT w.address FROM wallets w WHERE w.user_id = u.id"                                             \
	"   ORDER BY w.last_used_at DESC NULLS LAST, w.created_at DESC LIMIT 1) AS wallet_address"

/* The user's roles and their permissions in the application (client) the
 * tokens are for, as JSON arrays (NULL: none), read at issue time
 * (migrations/013, store/app_roles.c). client: an SQL expression. */
#define APP_ACCESS_COLUMNS(client)                                                                             \
	", (SELECT json_agg(x.role ORDER BY x.role)::text FROM app_user_roles x"                               \
	"   WHERE x.user_id = u.id AND x.client_id = " client ") AS app_roles"                                 \
	", (SELECT json_agg(DISTINCT p ORDER BY p)::text FROM app_user_roles x"                                \
	"   JOIN app_roles r ON r.client_id = x.client_id AND r.name = x.role, unnest(r.permissions) p"        \
	"   WHERE x.user_id = u.id AND x.client_id = " client ") AS app_permissions"

/* ---- helpers ---- */

/* After COMMIT: the access tokens a statement revoked, as rows with columns
 * jti and exp, into this instance's table (the CLI has none to update). */
static void remember_revoked(PGresult *r)
{
	int64_t now = (int64_t)time(NULL);
	int jti, exp;

	if (!store_shm || !r || (jti = PQfnumber(r, "jti")) < 0 || (exp = PQfnumber(r, "exp")) < 0)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v = PQgetvalue(r, i, jti);
		int64_t e = strtoll(PQgetvalue(r, i, exp), NULL, 10);
		size_t len = strlen(v);

		if (PQgetisnull(r, i, jti) || !revoke_notice_jti_valid(v, len))
			continue;
		revoked_tokens_add(store_shm->revoked, v, len, now,
		    e > INT64_MAX - TOKEN_LEEWAY_S - 1 ? INT64_MAX : e + TOKEN_LEEWAY_S + 1);
	}
}

/* Ends the transaction begun for an operation: COMMIT when ok, else
 * ROLLBACK. false (res->reply.status set) when nothing was committed; the
 * status is read before the ROLLBACK, which would reset it. */
static bool end_transaction(PGconn *db, bool ok, struct store_result *res)
{
	if (!ok) {
		res->reply.status = store_failure_status(db);
		store_commit(db, false);
		return false;
	}
	if (store_commit(db, true))
		return true;
	res->reply.status = store_failure_status(db);
	return false;
}

/* Answers req with one row decided here rather than read: values in the
 * order of its shape's columns, selected as parameters under the columns'
 * names and types, so store_result_take checks them as it checks any row. */
static void reply_row(struct store_result *res, PGconn *db, const struct store_request *req,
    const struct store_value *values)
{
	const struct store_op_spec *spec = store_op_spec(req->op);
	char sql[1024];
	size_t used = (size_t)snprintf(sql, sizeof(sql), "SELECT");

	for (unsigned c = 0; c < spec->n_cols && used < sizeof(sql); c++) {
		char type = (char)tolower((unsigned char)spec->cols[c].type);
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%s $%u::%s AS %s", c ? "," : "", c + 1,
		    type == 'i' ? "bigint" : type == 'b' ? "boolean" : "text", spec->cols[c].name);
	}
	if (spec->n_cols > STORE_MAX_ARGS || used >= sizeof(sql)) {
		res->reply.status = STORE_ERROR;
		return;
	}
	store_result_take(res, db, req, store_query_values(db, sql, values, spec->n_cols));
}

/* A cell of row 0 by column name as a value: its text, or NULL. */
static struct store_value cell(PGresult *r, const char *column)
{
	int c = PQfnumber(r, column);
	if (c < 0 || PQgetisnull(r, 0, c))
		return STORE_V_NULL;
	return STORE_V_TEXT(PQgetvalue(r, 0, c));
}

static bool flag(PGresult *r, const char *column)
{
	int c = PQfnumber(r, column);
	return c >= 0 && !PQgetisnull(r, 0, c) && PQgetvalue(r, 0, c)[0] == 't';
}

/* PostgreSQL's text form of a uuid: anything else names no user (and would
 * make the ::uuid cast fail). */
static bool uuid_text(const struct store_value *v)
{
	if (v->kind != STORE_TEXT || v->len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = v->text[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* ---- revoking families ---- */

/* Marks families revoked, taking their rows' locks (a family without a row
 * yet, from before migrations/008, gets one). sel yields family_id. */
#define FAMILIES_REVOKED(sel)                                                                                  \
	"INSERT INTO oauth_token_families (family_id, revoked_at) " sel                                        \
	" ON CONFLICT (family_id) DO UPDATE SET revoked_at = coalesce(oauth_token_families.revoked_at, now())"

/* Then, in a later statement, their tokens; the access tokens come back as (jti, exp). */
#define FAMILY_TOKENS_REVOKED                                                                                  \
	"WITH r AS (UPDATE oauth_refresh_tokens SET revoked_at = now()"                                       \
	"   WHERE family_id = $1::uuid AND revoked_at IS NULL)"                                                \
	" UPDATE oauth_access_tokens SET revoked_at = now() WHERE family_id = $1::uuid AND revoked_at IS NULL"   \
	" RETURNING jti, floor(extract(epoch FROM expires_at))::bigint AS exp"

/* Inside a transaction: the family and every token of it. The revoked
 * access tokens (jti, exp), or NULL on error. */
static PGresult *revoke_family(PGconn *db, const char *family_id)
{
	const struct store_value id[] = { STORE_V_TEXT(family_id) };
	PGresult *r = store_query_values(db, FAMILIES_REVOKED("VALUES ($1::uuid, now())"), id, 1);

	if (!r)
		return NULL;
	PQclear(r);
	return store_query_values(db, FAMILY_TOKENS_REVOKED, id, 1);
}

/* Inside a transaction, after the code is marked replayed: what the code
 * gave (its access tokens, by code hash) and the families it started. */
static PGresult *revoke_code_tokens(PGconn *db, const struct store_value *code_hash)
{
	PGresult *r = store_query_values(db,
	    FAMILIES_REVOKED("SELECT DISTINCT family_id, now() FROM oauth_access_tokens"
	                     " WHERE code_hash = $1::bytea AND family_id IS NOT NULL"),
	    code_hash, 1);

	if (!r)
		return NULL;
	PQclear(r);
	return store_query_values(db,
	    "WITH fam AS (SELECT DISTINCT family_id FROM oauth_access_tokens WHERE code_hash = $1::bytea"
	    "   AND family_id IS NOT NULL),"
	    " r AS (UPDATE oauth_refresh_tokens SET revoked_at = now()"
	    "   WHERE family_id IN (SELECT family_id FROM fam) AND revoked_at IS NULL)"
	    " UPDATE oauth_access_tokens SET revoked_at = now()"
	    " WHERE (code_hash = $1::bytea OR family_id IN (SELECT family_id FROM fam)) AND revoked_at IS NULL"
	    " RETURNING jti, floor(extract(epoch FROM expires_at))::bigint AS exp",
	    code_hash, 1);
}

bool store_oauth_families_revoke(PGconn *db, enum store_oauth_owner owner, const char *id)
{
	const struct store_value v[] = { STORE_V_TEXT(id) };
	PGresult *r = store_query_values(db,
	    owner == STORE_OAUTH_CLIENT
	        ? FAMILIES_REVOKED("SELECT DISTINCT family_id, now() FROM oauth_refresh_tokens WHERE client_id = $1")
	        : FAMILIES_REVOKED("SELECT DISTINCT family_id, now() FROM oauth_refresh_tokens WHERE user_id = $1::uuid"),
	    v, 1);

	PQclear(r);
	return r != NULL;
}

/* ---- authorization codes ---- */

/* Mark used and learn whether it already was, in one step: a code works
 * once. A replay is marked too (replayed_at), so that the first exchange, if
 * it has not stored its tokens yet, stores none (store_oauth_code_issue). */
void store_oauth_code_spend(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *spent, *revoked = NULL;

	/* One statement, committed on its own: the common case (a first use)
	 * costs one round trip. A replay's mark is committed with it, so an
	 * exchange still writing its tokens writes none (OAUTH_CODE_ISSUE waits
	 * on this row and checks replayed_at); what it already wrote is revoked
	 * next, in a transaction of its own that takes the families' lock and
	 * sees every token committed before. */
	spent = store_query(db,
	    "UPDATE oauth_codes c SET used_at = coalesce(c.used_at, now()),"
	    " replayed_at = CASE WHEN p.prev IS NULL THEN c.replayed_at ELSE coalesce(c.replayed_at, now()) END"
	    " FROM (SELECT code_hash, used_at AS prev FROM oauth_codes WHERE code_hash = $1::bytea FOR UPDATE) p"
	    " WHERE c.code_hash = p.code_hash AND c.client_id = $2"
	    " RETURNING p.prev IS NOT NULL AS replayed, c.expires_at > now() AS live, c.user_id::text AS user_id,"
	    " c.session_id::text AS session_id, c.redirect_uri, c.scope, c.nonce, c.code_challenge,"
	    " floor(extract(epoch from c.auth_time))::bigint AS auth_time, c.amr",
	    req);
	if (!spent) {
		res->reply.status = store_failure_status(db);
		return;
	}
	if (PQntuples(spent) == 1 && flag(spent, "replayed")) {
		bool ok = store_begin(db) && (revoked = revoke_code_tokens(db, &req->args[0])) != NULL;
		if (!end_transaction(db, ok, res)) {
			PQclear(spent);
			PQclear(revoked);
			return;
		}
		remember_revoked(revoked);
		PQclear(revoked);
	}
	store_result_take(res, db, req, spent);
}

/* One statement, so the user is read before the code's row is locked (a
 * replay never waits on the users table): the user, then the code while it
 * is not replayed (locked until the tokens commit), then the rows. */
void store_oauth_code_issue(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH u AS (SELECT * FROM users WHERE id = $3::uuid),"
	        " code AS (SELECT code_hash FROM oauth_codes WHERE code_hash = $1::bytea AND replayed_at IS NULL"
	        "   AND EXISTS (SELECT 1 FROM u WHERE NOT u.disabled) FOR UPDATE),"
	        " family AS (INSERT INTO oauth_token_families (family_id) SELECT $5::uuid FROM code"
	        "   WHERE $5::uuid IS NOT NULL),"
	        " refresh AS (INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,"
	        "   amr, session_id, expires_at) SELECT $8::bytea, $5::uuid, $2, $3::uuid, $6, to_timestamp($9::bigint), $10,"
	        "   $11::uuid, to_timestamp($12::bigint) FROM code WHERE $8::bytea IS NOT NULL),"
	        " issued AS (INSERT INTO oauth_access_tokens (jti, client_id, user_id, family_id, code_hash, scope, expires_at)"
	        "   SELECT $4, $2, $3::uuid, $5::uuid, code_hash, $6, to_timestamp($7::bigint) FROM code RETURNING jti)"
	        " SELECT CASE WHEN u.id IS NULL OR u.disabled THEN 'inactive'"
	        "   WHEN EXISTS (SELECT 1 FROM issued) THEN 'issued' ELSE 'replayed' END AS outcome," USER_COLUMNS
	        APP_ACCESS_COLUMNS("$2")
	        " FROM (SELECT 1) one LEFT JOIN u ON true",
	        req));
}

/* ---- refresh tokens ---- */

enum rotate_arg { ROT_HASH, ROT_CLIENT, ROT_SCOPE, ROT_JTI, ROT_NEW_HASH, ROT_EXP, ROT_REFRESH_EXP };

/* The family of the presented token (if this client's), locked: a rotation's
 * first lock, as it is every family revocation's. */
#define FAMILY_LOCKED                                                                                          \
	"INSERT INTO oauth_token_families (family_id)"                                                         \
	" SELECT family_id FROM oauth_refresh_tokens WHERE token_hash = $1::bytea AND client_id = $2"          \
	" ON CONFLICT (family_id) DO UPDATE SET revoked_at = oauth_token_families.revoked_at"                  \
	" RETURNING family_id::text AS family_id, revoked_at IS NOT NULL AS revoked"

/* Spent, returning its state before, its grant and its user. */
#define REFRESH_SPENT                                                                                          \
	"UPDATE oauth_refresh_tokens t SET used_at = coalesce(t.used_at, now())"                              \
	" FROM (SELECT token_hash, used_at AS prev, user_id FROM oauth_refresh_tokens"                         \
	"   WHERE token_hash = $1::bytea FOR UPDATE) p LEFT JOIN users u ON u.id = p.user_id"                  \
	" WHERE t.token_hash = p.token_hash AND t.client_id = $2"                                              \
	" RETURNING p.prev IS NOT NULL AS reused, t.revoked_at IS NOT NULL AS revoked, t.expires_at > now() AS live," \
	" t.scope AS granted, floor(extract(epoch from t.auth_time))::bigint AS auth_time, t.amr,"             \
	" t.session_id::text AS session_id," USER_COLUMNS APP_ACCESS_COLUMNS("t.client_id")

/* The new pair, copying the presented token's grant. */
#define ROTATED_WRITTEN                                                                                        \
	"WITH refresh AS (INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope,"  \
	"   auth_time, amr, session_id, expires_at) SELECT $1::bytea, family_id, client_id, user_id, $2, auth_time," \
	"   amr, session_id, to_timestamp($3::bigint) FROM oauth_refresh_tokens WHERE token_hash = $4::bytea)"     \
	" INSERT INTO oauth_access_tokens (jti, client_id, user_id, family_id, scope, expires_at)"              \
	" SELECT $5, client_id, user_id, family_id, $2, to_timestamp($6::bigint) FROM oauth_refresh_tokens"      \
	" WHERE token_hash = $4::bytea"

/* What the spent token gets, in this order: a reuse (whatever else holds),
 * revoked or expired (itself or its family), a scope beyond its grant, a
 * user gone or disabled; else "issued", with the new tokens' scope in scope:
 * what was asked (all of the grant by default), keeping offline_access. */
static const char *rotation_outcome(const struct store_value *asked, PGresult *family, PGresult *token,
    char *scope, size_t scope_cap)
{
	const char *granted_text = PQgetvalue(token, 0, PQfnumber(token, "granted"));
	unsigned granted, wanted;

	if (flag(token, "reused"))
		return "reused";
	if (flag(token, "revoked") || !flag(token, "live") || flag(family, "revoked"))
		return "revoked";
	if (oidc_scope_parse(granted_text, strlen(granted_text), &granted) < 0)
		granted = 0;
	wanted = granted;
	if (asked->kind == STORE_TEXT && (oidc_scope_parse(asked->text, asked->len, &wanted) < 0 || (wanted & ~granted)))
		return "scope";
	if (cell(token, "user_id").kind == STORE_NULL || flag(token, "disabled"))
		return "inactive";
	oidc_scope_string(wanted | (granted & OIDC_SCOPE_OFFLINE), scope, scope_cap);
	return "issued";
}

static bool write_rotated(PGconn *db, const struct store_request *req, const char *scope)
{
	const struct store_value v[] = { req->args[ROT_NEW_HASH], STORE_V_TEXT(scope), req->args[ROT_REFRESH_EXP],
		req->args[ROT_HASH], req->args[ROT_JTI], req->args[ROT_EXP] };
	PGresult *r = store_query_values(db, ROTATED_WRITTEN, v, 6);
	PQclear(r);
	return r != NULL;
}

/* The answer row: the outcome, and the user and grant when issued. */
static void reply_rotation(struct store_result *res, PGconn *db, const struct store_request *req, const char *outcome,
    PGresult *family, PGresult *token, const char *scope)
{
	bool issued = !strcmp(outcome, "issued");
	struct store_value v[OAUTH_REFRESHED_COLUMNS];

	for (unsigned c = 0; c < OAUTH_REFRESHED_COLUMNS; c++)
		v[c] = STORE_V_NULL;
	v[OAUTH_REFRESHED_OUTCOME] = STORE_V_TEXT(outcome);
	if (issued) {
		static const char *const user[] = { "user_id", "email", "name", "email_verified", "disabled", "groups",
			"wallet_address", "app_roles", "app_permissions" };
		for (unsigned c = 0; c < sizeof(user) / sizeof(user[0]); c++)
			v[OAUTH_REFRESHED_USER_ID + c] = cell(token, user[c]);
		v[OAUTH_REFRESHED_FAMILY_ID] = cell(family, "family_id");
		v[OAUTH_REFRESHED_SCOPE] = STORE_V_TEXT(scope);
		v[OAUTH_REFRESHED_AUTH_TIME] = cell(token, "auth_time");
		v[OAUTH_REFRESHED_AMR] = cell(token, "amr");
		v[OAUTH_REFRESHED_SESSION_ID] = cell(token, "session_id");
	}
	reply_row(res, db, req, v);
}

/* One transaction: the family's lock, the presented token spent under its
 * own row lock, then either the new pair (only while the family is not
 * revoked: checked under the lock) or, on a reuse or a user gone, the whole
 * family revoked. A reuse racing the rotation that spent the token waits for
 * it on the family's lock and then revokes its new tokens too. */
void store_oauth_refresh_rotate(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *family = NULL, *token = NULL, *revoked = NULL;
	const char *outcome = "invalid";
	char scope[128] = "";
	bool ok = store_begin(db);

	if (ok)
		ok = (family = store_query_values(db, FAMILY_LOCKED, req->args, 2)) != NULL;
	if (ok && PQntuples(family) == 1)
		ok = (token = store_query_values(db, REFRESH_SPENT, req->args, 2)) != NULL;
	if (ok && token && PQntuples(token) == 1) {
		outcome = rotation_outcome(&req->args[ROT_SCOPE], family, token, scope, sizeof(scope));
		if (!strcmp(outcome, "reused") || !strcmp(outcome, "inactive"))
			ok = (revoked = revoke_family(db, PQgetvalue(family, 0, 0))) != NULL;
		else if (!strcmp(outcome, "issued"))
			ok = write_rotated(db, req, scope);
	}
	if (end_transaction(db, ok, res)) {
		remember_revoked(revoked);
		reply_rotation(res, db, req, outcome, family, token, scope);
	}
	PQclear(family);
	PQclear(token);
	PQclear(revoked);
}

/* A live token of this client, for introspection. */
void store_oauth_refresh_describe(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT user_id::text AS user_id, scope, floor(extract(epoch from expires_at))::bigint AS exp,"
	        " floor(extract(epoch from created_at))::bigint AS iat"
	        " FROM oauth_refresh_tokens WHERE token_hash = $1::bytea AND client_id = $2 AND used_at IS NULL"
	        " AND revoked_at IS NULL AND expires_at > now()",
	        req));
}

/* RFC 7009 §2.1: revoking a refresh token revokes its grant (the family)
 * and the grant's access tokens. n: access tokens revoked now. */
void store_oauth_refresh_revoke(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *family = NULL, *revoked = NULL;
	bool ok = store_begin(db);

	if (ok)
		ok = (family = store_query(db,
		          FAMILIES_REVOKED("SELECT family_id, now() FROM oauth_refresh_tokens"
		                           " WHERE token_hash = $1::bytea AND client_id = $2")
		          " RETURNING family_id::text AS family_id",
		          req)) != NULL;
	if (ok && PQntuples(family) == 1) {
		const struct store_value id[] = { STORE_V_TEXT(PQgetvalue(family, 0, 0)) };
		ok = (revoked = store_query_values(db, FAMILY_TOKENS_REVOKED, id, 1)) != NULL;
	}
	if (end_transaction(db, ok, res)) {
		remember_revoked(revoked);
		const struct store_value n[] = { STORE_V_INT(revoked ? PQntuples(revoked) : 0) };
		reply_row(res, db, req, n);
	}
	PQclear(family);
	PQclear(revoked);
}

/* ---- access tokens ---- */

/* A client_credentials token: no user and no family, but a row, so that
 * revocation (its client's removal included) reaches it like any other. */
void store_oauth_client_token_store(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH i AS (INSERT INTO oauth_access_tokens (jti, client_id, scope, expires_at)"
	        " VALUES ($1, $2, $3, to_timestamp($4::bigint)) RETURNING 1)"
	        " SELECT count(*)::bigint AS n FROM i",
	        req));
}

/* The source of truth for a jti the shared table cannot vouch for. A
 * revoked one goes into the table, so the next check stays in memory. */
void store_oauth_access_token_revoked(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r = store_query(db,
	    "SELECT count(*)::bigint AS n, max(jti) AS jti, max(floor(extract(epoch FROM expires_at)))::bigint AS exp"
	    " FROM oauth_access_tokens WHERE jti = $1 AND revoked_at IS NOT NULL",
	    req);
	remember_revoked(r);
	store_result_take(res, db, req, r);
}

/* /oauth2/userinfo's one question: is the token revoked, and who is sub? */
void store_oauth_userinfo(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const struct store_value v[] = { req->args[0], uuid_text(&req->args[1]) ? req->args[1] : STORE_V_NULL };
	PGresult *r = store_query_values(db,
	    "SELECT a.jti IS NOT NULL AS revoked, a.jti, floor(extract(epoch FROM a.expires_at))::bigint AS exp,"
	    USER_COLUMNS APP_ACCESS_COLUMNS("(SELECT c.client_id FROM oauth_access_tokens c WHERE c.jti = $1)")
	    " FROM (SELECT 1) one LEFT JOIN oauth_access_tokens a ON a.jti = $1 AND a.revoked_at IS NOT NULL"
	    " LEFT JOIN users u ON u.id = $2::uuid",
	    v, 2);
	remember_revoked(r);
	store_result_take(res, db, req, r);
}

/* Only the client the token was issued to may revoke it (RFC 7009 §2.1): a
 * row comes back when the token is (now or already) revoked, none when the
 * jti is another client's. A token issued before its kind was stored gets
 * its row here. */
void store_oauth_access_token_revoke(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r = store_query(db,
	    "WITH r AS (INSERT INTO oauth_access_tokens (jti, client_id, expires_at, revoked_at)"
	    "   VALUES ($1, $2, to_timestamp($3::bigint), now())"
	    "   ON CONFLICT (jti) DO UPDATE SET revoked_at = coalesce(oauth_access_tokens.revoked_at, now())"
	    "   WHERE oauth_access_tokens.client_id = $2 RETURNING jti, expires_at)"
	    " SELECT count(*)::bigint AS n, max(jti) AS jti, max(floor(extract(epoch FROM expires_at)))::bigint AS exp"
	    " FROM r",
	    req);
	remember_revoked(r);
	store_result_take(res, db, req, r);
}
