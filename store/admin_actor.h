/*
 * The start and end of every admin operation a worker asks for
 * (STORE_OPS_ADMIN in proto/store_ops.h). The worker has checked that its
 * caller is an admin, but the store does not take a worker's word for it:
 * the first argument is the caller's proof (an admin session's token hash or
 * an admin token's jti), resolved by dreamauth_admin_actor (migrations/013)
 * inside the operation's own transaction. So a demoted or disabled admin, a
 * revoked session or token, is refused by the very next operation, whatever
 * a worker's cache holds; and a worker can act only with a proof it was
 * shown by a live admin.
 */
#ifndef DREAMAUTH_STORE_ADMIN_ACTOR_H
#define DREAMAUTH_STORE_ADMIN_ACTOR_H
#include <stdbool.h>
#include "store/store_run.h"

#define ADMIN_ACTOR_MAX 160	/* "user:<uuid>" or "client:<client_id>" */

/* BEGIN, then the actor of req->args[0] into actor. false: answered already
 * (STORE_REFUSED when the proof names no live admin; a failure status when
 * the database failed), nothing left open. */
bool admin_begin(PGconn *db, const struct store_request *req, struct store_result *res, char actor[ADMIN_ACTOR_MAX]);

/* The operation's own arguments (after the proof) as $1..$n. */
PGresult *admin_query(PGconn *db, const char *sql, const struct store_request *req);

/* One statement as a whole admin operation: admin_begin, sql, then when it
 * returned a row and event is not NULL, its audit record (event, on the target
 * in column target_col of its first row), then COMMIT and the answer. */
void admin_run(PGconn *db, const struct store_request *req, struct store_result *res, const char *sql,
    const char *event, const char *target_col, bool conflict_is_callers);

/* The audit record of every admin action is store_audit_admin
 * (store/audit.h): one call per action, inside its transaction; false rolls
 * the action back. */
#endif
