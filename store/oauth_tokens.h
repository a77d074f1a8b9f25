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
#endif
