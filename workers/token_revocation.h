/*
 * Revocation of access tokens (RFC 9068 JWTs, by jti) for the paths that
 * verify them locally. The database (oauth_access_tokens.revoked_at) is the
 * truth; the shared-memory table (shm/revoked_tokens.h) lets /api/verify
 * refuse a revoked token, or pass a live one, without asking the store. The
 * store fills it: with what it revokes itself, before answering, and with
 * what its revocation listener hears from every instance, all revoked and
 * unexpired jtis loaded when it starts listening (store/listener.c).
 */
#ifndef DREAMAUTH_WORKERS_TOKEN_REVOCATION_H
#define DREAMAUTH_WORKERS_TOKEN_REVOCATION_H
#include "proto/store_wire.h"
#include "workers/store_client.h"

enum access_token_state {
	ACCESS_TOKEN_LIVE,	/* not revoked, as far as the table can vouch */
	ACCESS_TOKEN_REVOKED,
	ACCESS_TOKEN_ASK_STORE,	/* the table cannot tell: ask the store */
};

/* What shared memory says about jti, without a call or an allocation. */
enum access_token_state access_token_revocation_cached(const char *jti);

/* Asks the store (always: for the endpoints that call it anyway, and for
 * what the table cannot tell); done gets the reply, to be read with
 * access_token_revoked_reply. A revoked jti enters the table on the way. */
void access_token_ask_store(const char *jti, store_done_fn done, void *arg);
/* 1 revoked, 0 not, -1 the store could not tell (answer 503). */
int access_token_revoked_reply(const struct store_reply *r);
#endif
