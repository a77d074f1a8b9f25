/*
 * Accounts (table users, and the sessions a user sees of their own): find an
 * account to check its password, create one at sign-up, change a password,
 * list a user's sessions. A password change revokes the user's other
 * sessions in the same transaction, then drops them from this instance's
 * cache before the worker hears back (as store/sessions.c's revocations do).
 */
#include "store/store_run.h"
#include "store/audit.h"
#include "proto/revoke_notice.h"
#include "shm/shm.h"
#include "shm/session_cache.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of STORE_SHAPE_USER_CREDENTIALS, by name. */
#define USER_CREDENTIALS_SELECT                                                  \
	"SELECT id::text AS id, coalesce(password_hash, '') AS password_hash, disabled, email_verified" \
	" FROM users"

void store_user_find_by_email(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req, store_query(db, USER_CREDENTIALS_SELECT " WHERE email_normalized = $1", req));
}

/* User ids come from sessions (the database's own UUIDs); compared as uuid
 * so the primary key and sessions_user_id_idx serve the lookups. */
void store_user_find_by_id(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req, store_query(db, USER_CREDENTIALS_SELECT " WHERE id = $1::uuid", req));
}

/* A taken address is CONFLICT without an error in the log: ON CONFLICT
 * returns no row instead of raising the unique violation. */
void store_user_sign_up(PGconn *db, const struct store_request *req, struct store_result *res)
{
	bool ok = store_begin(db);
	PGresult *r = !ok ? NULL :
	    store_query(db,
	        "INSERT INTO users (email, email_normalized, name, password_hash, is_admin)"
	        " VALUES ($1, $2, $3, $4, $5::boolean)"
	        " ON CONFLICT (email_normalized) DO NOTHING RETURNING id::text AS id",
	        req);

	ok = r != NULL;
	if (ok && PQntuples(r) == 1) {
		const char *id = PQgetvalue(r, 0, 0);
		struct audit_event ev = audit_event_for(req, "sign_up", "password", id);
		json_t *d = json_pack("{s:s,s:b}", "email", req->args[0].text, "admin", req->args[4].i != 0);
		char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
		ev.target_type = "user";
		ev.target_id = id;
		ev.detail = detail;
		ok = store_audit_record(db, &ev);
		free(detail);
		json_decref(d);
	}
	store_commit_take(res, db, req, ok, r, false);
	if (res->reply.status == STORE_OK && res->reply.n_rows == 0)
		res->reply.status = STORE_CONFLICT;
}

/* Inside the caller's transaction: the new hash, the revocation of the
 * user's other sessions, and its log row when any was revoked. The count of
 * revoked sessions (as STORE_SHAPE_COUNT), or NULL when a statement failed. */
static PGresult *set_password_revoke_others(PGconn *db, const struct store_request *req, const char *payload)
{
	const struct store_value password_args[] = { req->args[0], req->args[1] };
	const struct store_value revoke_args[] = { req->args[0], req->args[2] };
	PGresult *r = store_query_values(db,
	    "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid", password_args, 2);

	if (!r)
		return NULL;
	PQclear(r);
	r = store_query_values(db,
	    "WITH r AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid"
	    " AND id::text IS DISTINCT FROM $2 AND revoked_at IS NULL RETURNING 1)"
	    " SELECT count(*)::bigint AS n FROM r",
	    revoke_args, 2);
	if (r && strcmp(PQgetvalue(r, 0, 0), "0") != 0 && !store_log_revocation(db, payload)) {
		PQclear(r);
		return NULL;
	}
	if (r) {
		char detail[64];
		struct audit_event ev = audit_event_for(req, "password_change", "password", req->args[0].text);
		snprintf(detail, sizeof(detail), "{\"sessions_revoked\":%s}", PQgetvalue(r, 0, 0));
		ev.target_type = "user";
		ev.target_id = req->args[0].text;
		ev.detail = detail;
		if (!store_audit_record(db, &ev)) {
			PQclear(r);
			return NULL;
		}
	}
	return r;
}

/* The new hash and the revocation of every other session of the user commit
 * together: a password change never stands while sessions opened with the
 * old password live on, and a failed revocation leaves the old password. */
void store_user_password_change(PGconn *db, const struct store_request *req, struct store_result *res)
{
	const char *user = req->args[0].text, *keep = req->args[2].kind == STORE_TEXT ? req->args[2].text : NULL;
	char payload[100];
	PGresult *r = NULL;

	/* Ids longer than a notice carries would log a revocation nobody can read. */
	if (req->args[0].len > REVOKE_NOTICE_ID_MAX || (keep && req->args[2].len > REVOKE_NOTICE_ID_MAX)) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	if (keep)
		snprintf(payload, sizeof(payload), "user-except:%s:%s", user, keep);
	else
		snprintf(payload, sizeof(payload), "user:%s", user);
	if (store_begin(db))
		r = set_password_revoke_others(db, req, payload);
	store_commit_take(res, db, req, r != NULL, r, false);
	if (res->reply.status == STORE_OK && store_shm)
		session_cache_remove_user_except(store_shm->sessions, user, keep);
}

void store_user_sessions_list(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "SELECT id::text AS id, floor(extract(epoch from created_at))::bigint AS created_at,"
	        " floor(extract(epoch from last_seen_at))::bigint AS last_seen_at,"
	        " coalesce(ip, '') AS ip, coalesce(user_agent, '') AS user_agent FROM sessions"
	        " WHERE user_id = $1::uuid AND revoked_at IS NULL AND expires_at > now()"
	        " ORDER BY created_at DESC LIMIT 100",
	        req));
}
