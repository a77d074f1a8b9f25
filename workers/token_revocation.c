/* Access-token revocation on the Bearer paths (see token_revocation.h). */
#include "workers/token_revocation.h"
#include "common/db.h"
#include "common/log.h"
#include "shm/revoked_tokens.h"
#include "workers/jwt_local.h"
#include "workers/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A token passes jwt_local_verify while now <= exp + JWT_LEEWAY: the table
 * must remember it that long (its until is exclusive). */
static int64_t until_of(int64_t exp)
{
	return exp > INT64_MAX - JWT_LEEWAY - 1 ? INT64_MAX : exp + JWT_LEEWAY + 1;
}

static void remember(const char *jti, int64_t exp)
{
	size_t len = strlen(jti);

	if (revoke_notice_jti_valid(jti, len))
		revoked_tokens_add(worker->shm->revoked, jti, len, now_seconds(), until_of(exp));
}

void access_token_revoked(const char *jti, int64_t exp)
{
	remember(jti, exp);
}

void access_tokens_revoked_rows(PGresult *r)
{
	for (int i = 0; r && i < PQntuples(r); i++)
		remember(PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10));
}

int access_token_revoked_in_db(const char *jti)
{
	const char *params[] = { jti };
	/* No row: never revoked (a client_credentials token is only written
	 * when it is revoked, see oidc_token.c). */
	PGresult *r = db_query(worker->db,
	    "SELECT floor(extract(epoch FROM expires_at))::bigint FROM oauth_access_tokens"
	    " WHERE jti = $1 AND revoked_at IS NOT NULL",
	    1, params);
	if (!r)
		return -1;
	int revoked = PQntuples(r) > 0;
	if (revoked)
		remember(jti, strtoll(PQgetvalue(r, 0, 0), NULL, 10));	/* the next check stays in memory */
	PQclear(r);
	return revoked;
}

int access_token_revocation_check(const char *jti)
{
	size_t len = strlen(jti);

	if (!revoke_notice_jti_valid(jti, len))
		return 1;	/* not one of ours: we never issue such a jti */
	switch (revoked_tokens_check(worker->shm->revoked, jti, len, now_seconds())) {
	case REVOKED_YES:
		return 1;
	case REVOKED_NO:
		return 0;
	case REVOKED_UNKNOWN:
		break;
	}
	/* The table cannot vouch for a miss: it is not loaded yet (worker 1
	 * starting or restarting), or this jti's set had to drop a live entry
	 * (more revoked, unexpired tokens than REVOKED_TOKEN_ENTRIES can hold
	 * there) or was wiped after a crash. Answering "not revoked" could let a
	 * revoked token through, and refusing outright would lock out every
	 * valid token that hashes there until the dropped ones expire; asking
	 * the database is right in both respects, and costs a query only for
	 * those tokens, only while that lasts. */
	return access_token_revoked_in_db(jti);
}

void access_token_notice(const struct revoke_notice *n)
{
	if (n->kind == REVOKE_NOTICE_ACCESS_TOKEN)
		revoked_tokens_add(worker->shm->revoked, n->jti, strlen(n->jti), now_seconds(), until_of(n->exp));
}

int access_tokens_load_revoked(PGconn *listen_db)
{
	char leeway[16];
	const char *params[] = { leeway };
	PGresult *r;
	int n;

	snprintf(leeway, sizeof(leeway), "%d", JWT_LEEWAY);
	/* Straight to libpq: db_query's silent reconnect would drop the LISTEN. */
	r = PQexecParams(listen_db,
	    "SELECT jti, floor(extract(epoch FROM expires_at))::bigint FROM oauth_access_tokens"
	    " WHERE revoked_at IS NOT NULL AND expires_at > now() - make_interval(secs => $1::int)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warnx("loading revoked access tokens: %s", PQerrorMessage(listen_db));
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	access_tokens_revoked_rows(r);
	PQclear(r);
	/* LISTEN came first, so anything revoked since is in the queue. */
	revoked_tokens_set_complete(worker->shm->revoked, true);
	log_debug("revoked access tokens loaded: %d", n);
	return 0;
}

void access_tokens_listener_lost(void)
{
	revoked_tokens_set_complete(worker->shm->revoked, false);
}
