/*
 * What the authorize endpoint writes: consents (oauth_consents, one row per
 * user and client holding every scope the user granted it) and authorization
 * codes (oauth_codes, stored by the hash of the code). One operation per
 * authorization: the consent check or the new grant, then the code.
 */
#include "store/store_run.h"
#include "proto/oidc_clients.h"

#include <stdlib.h>
#include <string.h>

/* CODE_ISSUE's arguments (proto/store_ops.h). */
enum {
	CODE_ARG_HASH,
	CODE_ARG_CLIENT_ID,
	CODE_ARG_USER_ID,
	CODE_ARG_SESSION_ID,
	CODE_ARG_REDIRECT_URI,
	CODE_ARG_SCOPE,
	CODE_ARG_NONCE,
	CODE_ARG_CHALLENGE,
	CODE_ARG_CHALLENGE_METHOD,
	CODE_ARG_AUTH_TIME,
	CODE_ARG_AMR,
	CODE_ARG_TTL,
	CODE_ARG_CONSENT,	/* not a column: what to do about consent */
};

enum consent_mode { CONSENT_SKIP, CONSENT_REQUIRE, CONSENT_GRANT, CONSENT_UNKNOWN };

static enum consent_mode consent_mode(const struct store_value *v)
{
	if (!strcmp(v->text, "skip"))
		return CONSENT_SKIP;
	if (!strcmp(v->text, "require"))
		return CONSENT_REQUIRE;
	if (!strcmp(v->text, "grant"))
		return CONSENT_GRANT;
	return CONSENT_UNKNOWN;
}

/* A COUNT reply built here, for an answer that needs no statement. */
static void reply_count(struct store_result *res, int64_t n)
{
	res->reply.cells = calloc(1, sizeof(*res->reply.cells));
	if (!res->reply.cells) {
		res->reply.status = STORE_ERROR;
		return;
	}
	res->reply.cells[0] = STORE_V_INT(n);
	res->reply.n_rows = 1;
	res->reply.n_cols = COUNT_COLUMNS;
	res->reply.status = STORE_OK;
}

/* 1 the user already granted every scope asked for to this client, 0 not,
 * -1 the statement failed. Read as the scope parser reads it: a stored scope
 * it does not know spoils the grant (it was not written by us). */
static int consent_covers(PGconn *db, const struct store_request *req)
{
	const struct store_value *a = req->args;
	const struct store_value by[] = { a[CODE_ARG_USER_ID], a[CODE_ARG_CLIENT_ID] };
	PGresult *r = store_query_values(db, "SELECT scope FROM oauth_consents WHERE user_id = $1::uuid AND client_id = $2",
	    by, 2);
	unsigned asked = 0, granted = 0;

	if (!r)
		return -1;
	if (PQntuples(r) == 1 && oidc_scope_parse(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), &granted) < 0)
		granted = 0;
	PQclear(r);
	if (oidc_scope_parse(a[CODE_ARG_SCOPE].text, a[CODE_ARG_SCOPE].len, &asked) < 0)
		return 0;
	return granted != 0 && (asked & ~granted) == 0;
}

/* Remembers the union: granting more later does not forget the earlier grant. */
static bool consent_record(PGconn *db, const struct store_request *req)
{
	const struct store_value *a = req->args;
	const struct store_value grant[] = { a[CODE_ARG_USER_ID], a[CODE_ARG_CLIENT_ID], a[CODE_ARG_SCOPE] };
	PGresult *r = store_query_values(db,
	    "INSERT INTO oauth_consents (user_id, client_id, scope) VALUES ($1::uuid, $2, $3)"
	    " ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = now(), scope = ("
	    "   SELECT string_agg(DISTINCT s, ' ') FROM unnest(string_to_array(oauth_consents.scope || ' ' || $3, ' ')) s"
	    "   WHERE s <> '')",
	    grant, 3);
	PQclear(r);
	return r != NULL;
}

/* The code row; its result (n = 1) is the operation's answer. */
static PGresult *code_insert(PGconn *db, const struct store_request *req)
{
	return store_query_values(db,
	    "INSERT INTO oauth_codes (code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce,"
	    " code_challenge, code_challenge_method, auth_time, amr, expires_at) VALUES ($1::bytea, $2, $3::uuid,"
	    " $4::uuid, $5, $6, $7, $8, $9, to_timestamp($10::bigint), $11, now() + make_interval(secs => $12::int))"
	    " RETURNING 1::bigint AS n",
	    req->args, CODE_ARG_CONSENT);
}

/* The user's new grant and the code: both or neither. */
static void grant_and_insert(PGconn *db, const struct store_request *req, struct store_result *res)
{
	PGresult *r = NULL;
	bool ok = store_begin(db) && consent_record(db, req) && (r = code_insert(db, req)) != NULL;

	store_commit_take(res, db, req, ok, r, true);	/* a CONFLICT stays a CONFLICT */
}

void store_code_issue(PGconn *db, const struct store_request *req, struct store_result *res)
{
	switch (consent_mode(&req->args[CODE_ARG_CONSENT])) {
	case CONSENT_SKIP:
		store_result_take(res, db, req, code_insert(db, req));
		return;
	case CONSENT_REQUIRE:
		switch (consent_covers(db, req)) {
		case 1: store_result_take(res, db, req, code_insert(db, req)); return;
		case 0: reply_count(res, 0); return;
		default: res->reply.status = store_failure_status(db); return;
		}
	case CONSENT_GRANT:
		grant_and_insert(db, req, res);
		return;
	case CONSENT_UNKNOWN:
		break;
	}
	res->reply.status = STORE_REFUSED;
}
