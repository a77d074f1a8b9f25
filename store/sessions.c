/*
 * Sessions (table sessions, joined with users): create, load, touch and
 * revoke. Revocations write the database, log the revocation (which NOTIFYs
 * every instance at commit), then drop this instance's cached copies before
 * the worker hears back, so its next request already sees the change.
 */
#include "store/store_run.h"
#include "store/audit.h"
#include "shm/shm.h"
#include "shm/metrics.h"
#include "shm/session_cache.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of STORE_SHAPE_SESSION, by name. */
#define SESSION_SELECT                                                                                         \
	"SELECT s.id::text AS session_id, u.id::text AS user_id, u.email, u.name,"                             \
	" array_to_string(u.groups, ',') AS groups, s.amr,"                                                    \
	" floor(extract(epoch from s.auth_time))::bigint AS auth_time,"                                        \
	" floor(extract(epoch from s.expires_at))::bigint AS expires_at,"                                      \
	" floor(extract(epoch from s.last_seen_at))::bigint AS last_seen, u.is_admin"                          \
	" FROM sessions s JOIN users u ON u.id = s.user_id"                                                    \
	" WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled"

void store_ping(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req, store_query(db, "SELECT 1::bigint AS n", req));
}

void store_session_load(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req, store_query(db, SESSION_SELECT, req));
}

/* Insert and read back in one statement: the reply is the cache entry. The
 * sign-in it completes is audited in the same transaction. */
void store_session_create(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r = NULL;
	bool ok = store_begin(db);

	r = !ok ? NULL :
	    store_query(db,
	        "WITH s AS (INSERT INTO sessions (token_hash, user_id, amr, ip, user_agent, auth_time, expires_at)"
	        " VALUES ($1::bytea, $2::uuid, $3, $4, $5, now(), now() + make_interval(secs => $6::int))"
	        " RETURNING *)"
	        " SELECT s.id::text AS session_id, u.id::text AS user_id, u.email, u.name,"
	        " array_to_string(u.groups, ',') AS groups, s.amr,"
	        " floor(extract(epoch from s.auth_time))::bigint AS auth_time,"
	        " floor(extract(epoch from s.expires_at))::bigint AS expires_at,"
	        " floor(extract(epoch from s.last_seen_at))::bigint AS last_seen, u.is_admin"
	        " FROM s JOIN users u ON u.id = s.user_id WHERE NOT u.disabled",
	        req);
	ok = r != NULL;
	if (ok && PQntuples(r) == 1) {
		char detail[160];
		struct audit_event ev = audit_event_for(req, "sign_in", metrics_sign_in_method_of_amr(req->args[2].text),
		    req->args[1].text);
		json_t *d = json_pack("{s:s}", "amr", req->args[2].text);
		char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
		snprintf(detail, sizeof(detail), "%s", text ? text : "{}");
		free(text);
		json_decref(d);
		ev.target_type = "session";
		ev.target_id = PQgetvalue(r, 0, PQfnumber(r, "session_id"));
		ev.detail = detail;
		/* the session's own address, whatever the context says */
		ev.client_ip = req->args[3].text;
		ev.user_agent = req->args[4].text;
		ok = store_audit_record(db, &ev);
	}
	store_commit_take(res, db, req, ok, r, false);
}

/* The write doubles as a check that the session still stands. */
void store_session_touch(PGconn *db, const struct store_request *req, struct store_result *res)
{
	store_result_take(res, db, req,
	    store_query(db,
	        "WITH t AS (UPDATE sessions s SET last_seen_at = now() FROM users u"
	        " WHERE s.token_hash = $1::bytea AND u.id = s.user_id AND s.revoked_at IS NULL"
	        " AND s.expires_at > now() AND NOT u.disabled RETURNING s.id)"
	        " SELECT count(*)::bigint AS n FROM t",
	        req));
}

/* One transaction: the UPDATE (returning how many rows), the log row and
 * the audit event when any was revoked. Then the cache. scope: "this" (a
 * sign-out), "one" (one of the user's sessions), "others", "all". */
static void revoke(PGconn *db, const struct store_request *req, struct store_result *res, const char *sql,
    const char *payload, const char *scope)
{
	PGresult *r;
	bool ok = store_begin(db);

	r = ok ? store_query(db, sql, req) : NULL;
	ok = r != NULL;
	if (ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
		const char *user = PQgetvalue(r, 0, 1), *count = PQgetvalue(r, 0, 0);
		char detail[96];
		struct audit_event ev = audit_event_for(req, "session_revoke", NULL, user);
		snprintf(detail, sizeof(detail), "{\"scope\":\"%s\",\"count\":%s}", scope, count);
		ev.target_type = strcmp(count, "1") == 0 ? "session" : "user";
		ev.target_id = strcmp(count, "1") == 0 ? PQgetvalue(r, 0, 2) : user;
		ev.detail = detail;
		ok = store_log_revocation(db, payload) && store_audit_record(db, &ev);
	}
	store_commit_take(res, db, req, ok, r, false);
}

/* n, and for the audit log the user and (one of) the session(s) */
#define COUNTED(update)                                                                                 \
	"WITH r AS (" update " RETURNING user_id, id) SELECT count(*)::bigint AS n,"                    \
	" min(user_id::text) AS user_id, min(id::text) AS session_id FROM r"

void store_session_revoke_key(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char payload[80];
	const char *hex = req->args[0].text;

	if (req->args[0].len != 66 || strncmp(hex, "\\x", 2) != 0) {
		res->reply.status = STORE_REFUSED;
		return;
	}
	snprintf(payload, sizeof(payload), "key:%s", hex + 2);
	revoke(db, req, res,
	    COUNTED("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1::bytea AND revoked_at IS NULL"),
	    payload, "this");
	if (res->reply.status == STORE_OK && store_shm) {
		uint8_t key[32];
		for (int i = 0; i < 32; i++)
			sscanf(hex + 2 + 2 * i, "%2hhx", &key[i]);
		session_cache_remove(store_shm->sessions, key);
	}
}

void store_session_revoke_id(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char payload[80];
	snprintf(payload, sizeof(payload), "session:%s", req->args[1].text);
	revoke(db, req, res,
	    COUNTED("UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid AND id::text = $2"
	            " AND revoked_at IS NULL"),
	    payload, "one");
	if (res->reply.status == STORE_OK && store_shm)
		session_cache_remove_session_id(store_shm->sessions, req->args[1].text);
}

void store_session_revoke_user(PGconn *db, const struct store_request *req, struct store_result *res)
{
	char payload[100];
	const char *user = req->args[0].text, *except = req->args[1].kind == STORE_TEXT ? req->args[1].text : NULL;

	if (except)
		snprintf(payload, sizeof(payload), "user-except:%s:%s", user, except);
	else
		snprintf(payload, sizeof(payload), "user:%s", user);
	revoke(db, req, res,
	    COUNTED("UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid"
	            " AND id::text IS DISTINCT FROM $2 AND revoked_at IS NULL"),
	    payload, except ? "others" : "all");
	if (res->reply.status == STORE_OK && store_shm)
		session_cache_remove_user_except(store_shm->sessions, user, except);
}
