/*
 * Users, their sessions and passkeys, for the admin API and console
 * (STORE_OPS_ADMIN, workers/admin_users.c). Every operation re-checks its
 * caller (store/admin_actor.h) and calls the audit hook for what it changes.
 *
 * As in store/users_admin.c (the CLI's): a change that running instances
 * must see logs "user:<id>" in revocation_log inside its transaction, so
 * every instance drops the user's cached sessions at COMMIT and reads them
 * again (name, groups, admin flag, disabled); ending a user's access revokes
 * refresh families under their locks first, then sessions and tokens.
 *
 * Delete is a hard delete: after everything is revoked, the row goes and
 * with it (ON DELETE CASCADE) sessions, codes, refresh tokens, passkeys,
 * wallets and role assignments; the email can sign up again. Access-token
 * rows (no foreign key) stay, revoked, so introspection keeps answering
 * "inactive". The audit log (observe branch) keeps the id.
 */
#include "store/admin_actor.h"
#include "store/audit.h"
#include "store/oauth_tokens.h"
#include "shm/session_cache.h"
#include "shm/shm.h"

#include <stdio.h>
#include <string.h>

#define USER_ROW                                                                                        \
	" u.id::text AS id, u.email, u.email_normalized, u.name, u.is_admin, u.disabled,"               \
	" array_to_string(u.groups, ',') AS groups,"                                                   \
	" floor(extract(epoch FROM u.created_at))::bigint AS created_unix,"                            \
	" to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS page_key"

/* A uuid's text form, so a malformed id is a plain "no such user" (no row)
 * rather than a failed cast. */
#define UUID_OK(p) "(" p " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')"

void store_admin_users_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	/* $1 search, $2 after page key, $3 after email, $4 limit. strpos, not
	 * LIKE: a % or _ in the search is only a character. */
	admin_run(db, req, res,
	    "SELECT" USER_ROW " FROM users u"
	    " WHERE ($1::text IS NULL OR strpos(u.email_normalized, lower($1)) > 0 OR strpos(lower(u.name), lower($1)) > 0)"
	    " AND ($2::timestamptz IS NULL OR (u.created_at, u.email_normalized) > ($2::timestamptz, $3::text))"
	    " ORDER BY u.created_at, u.email_normalized LIMIT least(greatest($4::int, 1), 100)",
	    NULL, NULL, false);
}

void store_admin_user_get(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res, "SELECT" USER_ROW " FROM users u WHERE " UUID_OK("$1") " AND u.id::text = $1", NULL,
	    NULL, false);
}

void store_admin_user_create(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH u AS (INSERT INTO users (email, email_normalized, name, password_hash, is_admin, groups)"
	    " VALUES ($1, $2, $3, $4, $5, coalesce(string_to_array(nullif($6, ''), ','), '{}'))"
	    " ON CONFLICT (email_normalized) DO NOTHING RETURNING *) SELECT" USER_ROW " FROM u",
	    "admin.user.create", "id", true);
}

/* admin_begin, sql (one row: the user, column "id"; none: no such user), then
 * "user:<id>" logged and the audit hook. ends_access: the user's refresh
 * families are revoked under their locks first. */
static void change_user(PGconn *db, const struct store_request *req, struct store_result *res, const char *sql,
    const char *event, bool ends_access)
{
	char actor[ADMIN_ACTOR_MAX];
	const char *id = req->args[1].text;
	PGresult *r = NULL;
	bool ok, valid;

	if (!admin_begin(db, req, res, actor))
		return;
	valid = req->args[1].kind == STORE_TEXT && req->args[1].len == 36 && strspn(id, "0123456789abcdef-") == 36;
	ok = true;
	if (valid && ends_access)
		ok = store_oauth_families_revoke(db, STORE_OAUTH_USER, id);
	if (ok)
		ok = (r = admin_query(db, valid ? sql : "SELECT NULL::text AS id WHERE false", req)) != NULL;
	if (ok && PQntuples(r) == 1)
		ok = store_log_user_changed(db, id) && store_audit_admin(db, req, actor, event, id);
	store_commit_take(res, db, req, ok, r, false);
	/* This instance's cache at once; the others at the NOTIFY. */
	if (res->reply.status == STORE_OK && res->reply.n_rows == 1 && store_shm)
		session_cache_remove_user(store_shm->sessions, id);
}

void store_admin_user_update(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user(db, req, res,
	    "WITH u AS (UPDATE users SET is_admin = coalesce($2::boolean, is_admin), name = coalesce($3::text, name),"
	    " groups = CASE WHEN $4::text IS NULL THEN groups"
	    "   ELSE coalesce(string_to_array(nullif($4::text, ''), ','), '{}') END,"
	    " updated_at = now() WHERE id = $1::uuid RETURNING *) SELECT" USER_ROW " FROM u",
	    "admin.user.update", false);
}

void store_admin_user_disable(PGconn *db, const struct store_request *req, struct store_result *res)
{
	bool disable = req->args[2].kind == STORE_BOOL && req->args[2].i;

	if (disable)
		change_user(db, req, res,
		    "WITH u AS (UPDATE users SET disabled = true, updated_at = now() WHERE id = $1::uuid AND $2"
		    " RETURNING id, disabled)" REVOKE_CREDENTIALS_OF_U("$3"),
		    "admin.user.disable", true);
	else	/* enabling revives no session: nothing to revoke */
		change_user(db, req, res,
		    "UPDATE users SET disabled = false, updated_at = now() WHERE id = $1::uuid AND NOT $2 AND $3::int >= 0"
		    " RETURNING id::text AS id, disabled, 0::bigint AS sessions, 0::bigint AS refresh_tokens,"
		    " 0::bigint AS access_tokens",
		    "admin.user.enable", false);
}

void store_admin_user_sign_out(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user(db, req, res,
	    "WITH u AS (SELECT id, disabled FROM users WHERE id = $1::uuid)" REVOKE_CREDENTIALS_OF_U("$2"),
	    "admin.user.sessions.revoke", true);
}

/* Revoked first (so the access tokens' trigger tells every instance), then
 * deleted in a later statement of the same transaction. */
void store_admin_user_delete(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char actor[ADMIN_ACTOR_MAX];
	const char *id = req->args[1].text;
	PGresult *r = NULL, *gone = NULL;
	bool ok;

	if (!admin_begin(db, req, res, actor))
		return;
	ok = req->args[1].kind == STORE_TEXT && req->args[1].len == 36 && strspn(id, "0123456789abcdef-") == 36;
	if (!ok) {	/* not an id: no such user */
		store_commit(db, false);
		store_result_take(res, db, req, store_query_values(db,
		    "SELECT NULL::text AS id, false AS disabled, 0::bigint AS sessions, 0::bigint AS refresh_tokens,"
		    " 0::bigint AS access_tokens WHERE false", NULL, 0));
		return;
	}
	ok = store_oauth_families_revoke(db, STORE_OAUTH_USER, id);
	if (ok)
		ok = (r = admin_query(db, "WITH u AS (SELECT id, disabled FROM users WHERE id = $1::uuid)"
		                          REVOKE_CREDENTIALS_OF_U("$2"), req)) != NULL;
	if (ok && PQntuples(r) == 1) {
		const struct store_value v[] = { req->args[1] };
		ok = store_step(db, "DELETE FROM users WHERE id = $1::uuid", v, 1, &gone) &&
		    store_log_user_changed(db, id) && store_audit_admin(db, req, actor, "admin.user.delete", id);
		PQclear(gone);
	}
	store_commit_take(res, db, req, ok, r, false);
	if (res->reply.status == STORE_OK && res->reply.n_rows == 1 && store_shm)
		session_cache_remove_user(store_shm->sessions, id);
}

void store_admin_user_sessions(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT s.id::text AS id, floor(extract(epoch FROM s.created_at))::bigint AS created_at,"
	    " floor(extract(epoch FROM s.last_seen_at))::bigint AS last_seen_at, coalesce(s.ip, '') AS ip,"
	    " coalesce(s.user_agent, '') AS user_agent FROM sessions s"
	    " WHERE " UUID_OK("$1") " AND s.user_id::text = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
	    " ORDER BY s.last_seen_at DESC LIMIT 100",
	    NULL, NULL, false);
}

void store_admin_session_revoke(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char actor[ADMIN_ACTOR_MAX], payload[80];
	PGresult *r;
	bool ok;

	if (!admin_begin(db, req, res, actor))
		return;
	r = admin_query(db,
	    "WITH r AS (UPDATE sessions SET revoked_at = now() WHERE user_id::text = $1 AND id::text = $2"
	    " AND revoked_at IS NULL RETURNING 1) SELECT count(*)::bigint AS n FROM r", req);
	ok = r != NULL;
	if (ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
		snprintf(payload, sizeof(payload), "session:%s", req->args[2].text);
		ok = store_log_revocation(db, payload) && store_audit_admin(db, req, actor, "admin.session.revoke", req->args[2].text);
	}
	store_commit_take(res, db, req, ok, r, false);
	if (res->reply.status == STORE_OK && store_shm)
		session_cache_remove_session_id(store_shm->sessions, req->args[2].text);
}

void store_admin_user_passkeys(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "SELECT id::text AS id, name, encode(credential_id, 'hex') AS credential_id, '' AS public_key, alg,"
	    " sign_count, transports, aaguid::text AS aaguid, attestation_fmt, attestation_type, backup_eligible,"
	    " backup_state, user_verified, floor(extract(epoch FROM created_at))::bigint AS created_at,"
	    " floor(extract(epoch FROM last_used_at))::bigint AS last_used_at, counter_regressions"
	    " FROM passkeys WHERE " UUID_OK("$1") " AND user_id::text = $1 ORDER BY created_at",
	    NULL, NULL, false);
}

/* The passkey second factor cannot outlive the last passkey: the account
 * would be locked out of its own second step. */
void store_admin_passkey_delete(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH d AS (DELETE FROM passkeys WHERE user_id::text = $1 AND id::text = $2 RETURNING user_id),"
	    " f AS (DELETE FROM passkey_second_factor f WHERE f.user_id IN (SELECT user_id FROM d)"
	    "   AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = f.user_id AND p.id::text <> $2))"
	    " SELECT count(*)::bigint AS n, $2 AS target FROM d",
	    "admin.user.passkey.delete", "target", false);
}

/* An account locked out of its second step (a lost passkey, a lost phone and
 * its recovery codes): an admin turns every second factor off at once, the
 * passkey step, the TOTP and the recovery codes; the user can enroll again.
 * n counts the factors removed (0: the account had none). */
void store_admin_second_factor_off(PGconn *db, const struct store_request *req, struct store_result *res)
{
	admin_run(db, req, res,
	    "WITH p AS (DELETE FROM passkey_second_factor WHERE user_id::text = $1 RETURNING 1),"
	    " t AS (DELETE FROM totp_credentials WHERE user_id::text = $1 RETURNING 1),"
	    " r AS (DELETE FROM recovery_codes WHERE user_id::text = $1 RETURNING 1)"
	    " SELECT ((SELECT count(*) FROM p) + (SELECT count(*) FROM t)"
	    "   + LEAST((SELECT count(*) FROM r), 1))::bigint AS n, $1 AS target",
	    "admin.user.second_factor.off", "target", false);
}
