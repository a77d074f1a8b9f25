/*
 * AUDIT HOOK (issue 12). Every admin action of the admin API and console
 * calls store_audit inside the transaction that makes the change, with the
 * actor ("user:<uuid>" or "client:<client_id>"), the event (e.g.
 * "admin.user.update") and the target (a user id, client id, kid, role).
 * The audit log itself (its table, AUDIT_LOG=stdout, retention) belongs to
 * the observe branch (migration 014): wiring it is an INSERT here. Client IP
 * and user agent are not known to the store; see README "Administration".
 * Signing-key changes run in the signer (signer/signer_admin.c) and call
 * signer_audit there.
 */
#include "store/admin_actor.h"

bool store_audit(PGconn *db, const char *actor, const char *event, const char *target)
{
	(void)db;
	(void)actor;
	(void)event;
	(void)target;
	return true;	/* audit: not stored on this branch */
}
