/*
 * For the store files that revoke refresh tokens wholesale (a client
 * removed: store/clients.c; a user disabled or given a new password:
 * store/users_admin.c). Refresh-token families are revoked under a lock of
 * their own (migrations/008, store/oauth_tokens.c); a revocation that only
 * UPDATEs the token rows can miss the new pair of a rotation that commits
 * just after it, on this instance or another.
 */
#ifndef DREAMAUTH_STORE_OAUTH_TOKENS_H
#define DREAMAUTH_STORE_OAUTH_TOKENS_H
#include <stdbool.h>
#include <libpq-fe.h>

enum store_oauth_owner { STORE_OAUTH_CLIENT, STORE_OAUTH_USER };

/* Inside the caller's transaction and BEFORE the statements that revoke the
 * tokens: marks every refresh-token family of the client (client_id) or
 * user (user id) revoked, holding the families' locks until the caller
 * commits. A rotation running meanwhile then either commits first (and the
 * caller's later statements see its tokens) or finds its family revoked and
 * writes nothing. false on a database error (the caller rolls back). */
bool store_oauth_families_revoke(PGconn *db, enum store_oauth_owner owner, const char *id);

/* SQL that follows a CTE "u" (the changed user: id, disabled), revokes what
 * lets anyone act as the user and ends the statement with
 * STORE_SHAPE_ADMIN_USER_REVOKED (store/admin_users.c, store/users_admin.c;
 * store_oauth_families_revoke first). A spent refresh token is dead already
 * (presenting it again revokes its family); an access token verifies until
 * exp + the leeway (leeway: the parameter number of token_leeway_s), so
 * those are still worth revoking. */
#define REVOKE_CREDENTIALS_OF_U(leeway)                                                                    \
	", s AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM u)"                 \
	"   AND revoked_at IS NULL AND expires_at > now() RETURNING 1)"                                        \
	", r AS (UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE user_id IN (SELECT id FROM u)"     \
	"   AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now() RETURNING 1)"                    \
	", a AS (UPDATE oauth_access_tokens SET revoked_at = now() WHERE user_id IN (SELECT id FROM u)"      \
	"   AND revoked_at IS NULL AND expires_at > now() - make_interval(secs => " leeway "::int) RETURNING 1)" \
	" SELECT u.id::text AS id, u.disabled, (SELECT count(*) FROM s) AS sessions,"                          \
	" (SELECT count(*) FROM r) AS refresh_tokens, (SELECT count(*) FROM a) AS access_tokens FROM u"
#endif
