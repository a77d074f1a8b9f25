/*
 * Revocation of access tokens (RFC 9068 JWTs, by jti) for the paths that
 * verify them locally. The database (oauth_access_tokens.revoked_at) is the
 * truth; the shared-memory table (shm/revoked_tokens.h) lets /api/verify
 * refuse a revoked token without a round-trip. It is filled three ways:
 *  - by the worker that revokes (at once, for every worker of its instance),
 *  - from the "jti:" NOTIFY a database trigger sends on every revocation
 *    (worker 1 of each instance listens; workers/session.c),
 *  - by worker 1 when it starts listening: every revoked, unexpired jti.
 */
#ifndef DREAMAUTH_WORKERS_TOKEN_REVOCATION_H
#define DREAMAUTH_WORKERS_TOKEN_REVOCATION_H
#include <stdint.h>
#include <libpq-fe.h>
#include "proto/revoke_notice.h"

/* The database has just marked these revoked: remember them here.
 * access_tokens_revoked_rows takes a result whose rows are (jti, exp). */
void access_token_revoked(const char *jti, int64_t exp);
void access_tokens_revoked_rows(PGresult *r);

/* 1 revoked, 0 not, -1 cannot tell (database unreachable). Shared memory
 * answers; the database only when the table cannot (see the .c). */
int access_token_revocation_check(const char *jti);
/* Same question, always to the database (endpoints that query it anyway). */
int access_token_revoked_in_db(const char *jti);

/* Listener (worker 1): apply a REVOKE_NOTICE_ACCESS_TOKEN notice. */
void access_token_notice(const struct revoke_notice *n);
/* Listener (worker 1), on its LISTENing connection: load every revoked jti
 * that could still pass, then declare the table complete. 0 ok, -1 error. */
int access_tokens_load_revoked(PGconn *listen_db);
/* Listener lost: misses are no longer answers. */
void access_tokens_listener_lost(void);
#endif
