/* Admin operations' transaction and actor check (see admin_actor.h). */
#include "store/admin_actor.h"
#include "store/audit.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

bool admin_begin(PGconn *db, const struct store_request *req, struct store_result *res, char actor[ADMIN_ACTOR_MAX])
{
	PGresult *r;

	if (req->n_args < 1 || req->args[0].kind != STORE_TEXT) {
		res->reply.status = STORE_REFUSED;
		return false;
	}
	if (!store_begin(db)) {
		res->reply.status = store_failure_status(db);
		return false;
	}
	r = store_query_values(db, "SELECT dreamauth_admin_actor($1) AS actor", req->args, 1);
	if (!r) {
		res->reply.status = store_failure_status(db);
		store_commit(db, false);
		return false;
	}
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		store_commit(db, false);
		log_warnx("refused %s: the caller is not a live admin", store_op_spec(req->op)->name);
		res->reply.status = STORE_REFUSED;
		return false;
	}
	snprintf(actor, ADMIN_ACTOR_MAX, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return true;
}

PGresult *admin_query(PGconn *db, const char *sql, const struct store_request *req)
{
	return store_query_values(db, sql, req->args + 1, req->n_args - 1);
}

void admin_run(PGconn *db, const struct store_request *req, struct store_result *res, const char *sql,
    const char *event, const char *target_col, bool conflict_is_callers)
{
	char actor[ADMIN_ACTOR_MAX];
	PGresult *r;
	bool ok;

	if (!admin_begin(db, req, res, actor))
		return;
	r = admin_query(db, sql, req);
	ok = r != NULL;
	/* A COUNT answer of 0 changed nothing: nothing to audit. */
	int n = ok ? PQfnumber(r, "n") : -1;
	if (ok && event && PQntuples(r) > 0 && !(n >= 0 && strcmp(PQgetvalue(r, 0, n), "0") == 0)) {
		int c = target_col ? PQfnumber(r, target_col) : -1;
		ok = store_audit_admin(db, req, actor, event, c >= 0 ? PQgetvalue(r, 0, c) : "");
	}
	store_commit_take(res, db, req, ok, r, conflict_is_callers);
}
