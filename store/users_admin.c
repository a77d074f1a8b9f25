/*
 * Account administration (`dreamauth user ...`, master/cli_user.c): add, list,
 * disable, enable, reset a password, change the profile. Users are named by
 * their normalized email.
 *
 * Every change that running instances must see at once logs "user:<id>" in
 * revocation_log within its transaction (proto/revoke_notice.h): its trigger
 * NOTIFYs every instance at COMMIT, and each drops the user's cached sessions
 * (which hold name, groups and the admin flag) and reads them again. Disabling
 * a user and resetting a password also end everything that lets someone act
 * as the user — sessions, live refresh tokens, access tokens that still
 * verify — in the same transaction; the access-token trigger (migrations 004,
 * 007) logs each revoked jti.
 *
 * These are the operator's operations (STORE_OPS_CLI in proto/store_ops.h):
 * the CLI runs them through store_exec, and the store actor refuses them from
 * a worker, so a compromised worker cannot make itself admin, reset a
 * password or lock others out.
 */
#include "store/store_run.h"
#include "store/oauth_tokens.h"
#include "store/audit.h"

#include <jansson.h>
#include <stdlib.h>

#include <stdbool.h>
#include <stdio.h>

#define ADMIN_LIST_MAX_PAGE "100"

/* One transaction: sql changes at most one user and returns its row (with an
 * "id" column), then the change is logged. No row: no such user, nothing
 * changed, nothing logged. */
/* The audit row of a change to the user in r's "id" column: detail from
 * the columns named (text as text, counts as numbers), NULL-terminated. */
static bool audit_user_change(PGconn *db, const struct store_request *req, const char *event, PGresult *r,
    const char *const *columns)
{
	const char *id = PQgetvalue(r, 0, PQfnumber(r, "id"));
	char detail[600];
	json_t *d = json_object();

	for (int i = 0; columns && columns[i] && d; i++) {
		int c = PQfnumber(r, columns[i]);
		if (c < 0 || PQgetisnull(r, 0, c))
			continue;
		const char *v = PQgetvalue(r, 0, c);
		Oid type = PQftype(r, c);
		json_object_set_new(d, columns[i], type == 16 ? json_boolean(v[0] == 't') :
		        type == 20 ? json_integer(atoll(v)) : json_string(v));	/* bool, int8, else text */
	}
	size_t n = d ? json_dumpb(d, detail, sizeof(detail), JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
	json_decref(d);
	if (n == 0 || n >= sizeof(detail))
		n = (size_t)snprintf(detail, sizeof(detail), "{}");
	detail[n] = '\0';
	return store_audit(db, req, event, NULL, NULL, "user", id, detail);
}

static void change_user_and_log(PGconn *db, const struct store_request *req, struct store_result *res,
    const char *sql, bool ends_tokens, const char *event, const char *const *audit_columns)
{
	PGresult *r = NULL;
	bool ok = store_begin(db);

	/* A user's refresh families are revoked under their locks before the
	 * token rows: a rotation committing meanwhile cannot leave a live pair. */
	if (ok && ends_tokens) {
		PGresult *u = store_query_values(db, "SELECT id::text AS id FROM users WHERE email_normalized = $1",
		    req->args, 1);
		ok = u != NULL;
		if (ok && PQntuples(u) == 1)
			ok = store_oauth_families_revoke(db, STORE_OAUTH_USER, PQgetvalue(u, 0, 0));
		PQclear(u);
	}
	if (ok) {
		r = store_query(db, sql, req);
		ok = r != NULL;
	}
	if (ok && PQntuples(r) == 1)
		ok = store_log_user_changed(db, PQgetvalue(r, 0, PQfnumber(r, "id"))) &&
		    audit_user_change(db, req, event, r, audit_columns);
	store_commit_take(res, db, req, ok, r, false);	/* no unique constraint here: not the caller's doing */
}

static const char *const revoked_columns[] = { "sessions", "refresh_tokens", "access_tokens", NULL };
static const char *const profile_columns[] = { "is_admin", "name", "groups", NULL };

/* One statement's change and its audit row, in one transaction. */
static void change_user_audited(PGconn *db, const struct store_request *req, struct store_result *res,
    const char *sql, const char *event, const char *const *audit_columns)
{
	bool ok = store_begin(db);
	PGresult *r = ok ? store_query(db, sql, req) : NULL;

	ok = r != NULL;
	if (ok && PQntuples(r) == 1)
		ok = audit_user_change(db, req, event, r, audit_columns);
	store_commit_take(res, db, req, ok, r, false);
}

void store_user_admin_add(PGconn *db, const struct store_request *req, struct store_result *res)
{
	static const char *const columns[] = { "email", "is_admin", "groups", NULL };
	change_user_audited(db, req, res,
	    "INSERT INTO users (email, email_normalized, name, password_hash, is_admin, groups)"
	    " VALUES ($1, $2, $3, $4, $5, coalesce(string_to_array(nullif($6, ''), ','), '{}'))"
	    " ON CONFLICT (email_normalized) DO NOTHING"
	    " RETURNING id::text AS id, email, is_admin, array_to_string(groups, ',') AS groups",
	    "user_add", columns);
}

/* Keyset pages in the order of the listing: a user added meanwhile is never
 * listed twice nor makes another one skipped. The table is qualified in WHERE
 * and ORDER BY: there, created_at must be the column, not an output name. */
void store_user_admin_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT u.id::text AS id, u.email, u.email_normalized, u.name, u.is_admin, u.disabled,"
	        " array_to_string(u.groups, ',') AS groups,"
	        " floor(extract(epoch FROM u.created_at))::bigint AS created_unix,"
	        " to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS page_key"
	        " FROM users u"
	        " WHERE $1::timestamptz IS NULL OR (u.created_at, u.email_normalized) > ($1::timestamptz, $2::text)"
	        " ORDER BY u.created_at, u.email_normalized"
	        " LIMIT least(greatest($3::int, 1), " ADMIN_LIST_MAX_PAGE ")",
	        req));
}

/* A disabled user keeps nothing that still works: not a session, not a token
 * an app holds (Bearer on /api/verify, refresh). */
void store_user_admin_disable(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user_and_log(db, req, res,
	    "WITH u AS (UPDATE users SET disabled = true, updated_at = now() WHERE email_normalized = $1"
	    " RETURNING id, disabled)" REVOKE_CREDENTIALS_OF_U("$2"), true, "user_disable", revoked_columns);
}

/* Nothing to announce: a disabled user has no session left to refresh, and
 * enabling revives none. */
void store_user_admin_enable(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user_audited(db, req, res,
	    "UPDATE users SET disabled = false, updated_at = now() WHERE email_normalized = $1"
	    " RETURNING id::text AS id",
	    "user_enable", NULL);
}

/* A password reset is what follows a compromise: everything the old password
 * let anyone obtain ends with it, in the transaction of the new hash. */
void store_user_admin_passwd(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user_and_log(db, req, res,
	    "WITH u AS (UPDATE users SET password_hash = $2, updated_at = now() WHERE email_normalized = $1"
	    " RETURNING id, disabled)" REVOKE_CREDENTIALS_OF_U("$3"), true, "password_reset", revoked_columns);
}

/* Sessions stay valid; the log makes every instance re-read them, so
 * X-Auth-Groups, /api/auth/me and new tokens carry the change from the next
 * request on. */
void store_user_admin_set(PGconn *db, const struct store_request *req, struct store_result *res)
{
	change_user_and_log(db, req, res,
	    "UPDATE users SET is_admin = coalesce($2::boolean, is_admin), name = coalesce($3::text, name),"
	    " groups = CASE WHEN $4::text IS NULL THEN groups"
	    "   ELSE coalesce(string_to_array(nullif($4::text, ''), ','), '{}') END,"
	    " updated_at = now() WHERE email_normalized = $1"
	    " RETURNING id::text AS id, is_admin, name, array_to_string(groups, ',') AS groups", false, "user_update",
	    profile_columns);
}
