/*
 * Browser sessions: opaque 256-bit tokens in a cookie, stored as SHA-256 in
 * PostgreSQL (the source of truth, through the store actor) and cached in the
 * shared-memory session cache so /api/verify needs no round-trip. Revocation
 * goes through the store, which writes the database, logs the revocation
 * (NOTIFYing every instance) and drops this instance's cached copies before
 * it answers.
 *
 * Everything here is asynchronous: the callback gets the exchange back.
 * A lookup answered from the cache calls back before returning, so a caller
 * does nothing after starting one.
 */
#ifndef DREAMAUTH_SESSION_H
#define DREAMAUTH_SESSION_H
#include <stdbool.h>
#include <stdint.h>
#include "shm/session_cache.h"
#include "common/secure.h"
#include "workers/http_server.h"

/* rc: 1 found (s is the session, s->key its token hash), 0 none, expired or
 * revoked (s NULL), -1 the store could not tell (s NULL; answer 503). */
typedef void (*session_done_fn)(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg);

/* The request's session (its cookie). */
void session_from_request(struct http_exchange *ex, session_done_fn done, void *arg);
/* Same, by raw token value. */
void session_lookup_token(struct http_exchange *ex, const char *token, size_t len, session_done_fn done, void *arg);

/* A new session for user_id, cached, its cookie set on ex. rc 1 created, -1
 * failed (no cookie set). */
void session_create(struct http_exchange *ex, const char *user_id, const char *amr, session_done_fn done, void *arg);

/* rc: sessions revoked (>= 0), or -1 when the store failed (nothing changed). */
typedef void (*session_revoked_fn)(struct http_exchange *ex, int rc, void *arg);
void session_revoke_key(struct http_exchange *ex, const uint8_t key[32], session_revoked_fn done, void *arg);
/* One session of user_id by its id (own-session management). */
void session_revoke_id(struct http_exchange *ex, const char *user_id, const char *session_id, session_revoked_fn done,
    void *arg);
/* Every session of the user, except except_session_id (may be NULL). */
void session_revoke_user(struct http_exchange *ex, const char *user_id, const char *except_session_id,
    session_revoked_fn done, void *arg);

/* The session's token hash as bytea hex ("\x" + 64 hex) for store arguments. */
void session_key_hex(const uint8_t key[32], char out[2 + 64 + 1]);

void session_cookie_set(struct http_exchange *ex, const char *token);
void session_cookie_clear(struct http_exchange *ex);
#endif
