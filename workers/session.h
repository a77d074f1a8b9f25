/*
 * Browser sessions: opaque 256-bit tokens in a cookie, stored as SHA-256 in
 * PostgreSQL (the source of truth) and cached in the shared-memory session
 * cache so /api/verify needs no database round-trip. Revocation writes the
 * database first, then drops the cache entry, then NOTIFYs the other
 * instances sharing the database (worker 1 of each instance LISTENs).
 */
#ifndef DREAMAUTH_SESSION_H
#define DREAMAUTH_SESSION_H
#include <stdbool.h>
#include <stdint.h>
#include "shm/session_cache.h"
#include "common/secure.h"
#include "workers/http_server.h"

#define SESSION_NOTIFY_CHANNEL "dreamauth_revoke"

/* Creates a session row for user_id and sets the cookie on ex. 0 ok, -1 db error. */
int session_create(struct http_exchange *ex, const char *user_id, const char *amr, struct session_entry *out);
/* Current session of the request (cookie). 1 found (out filled, key_out set
 * when not NULL), 0 none/expired/revoked, -1 database error. */
int session_from_request(struct http_exchange *ex, struct session_entry *out, uint8_t key_out[32]);
/* Same, by raw token value. */
int session_lookup_token(const char *token, size_t len, struct session_entry *out, uint8_t key_out[32]);

int session_revoke_key(const uint8_t key[32]);
/* Revoke one session of user_id by its id (own-session management). 1 revoked, 0 not found, -1 error. */
int session_revoke_id(const char *user_id, const char *session_id);
/* Revoke every session of the user, except except_session_id (may be NULL). */
int session_revoke_user(const char *user_id, const char *except_session_id);

void session_cookie_set(struct http_exchange *ex, const char *token);
void session_cookie_clear(struct http_exchange *ex);

/* Worker 1: LISTEN on SESSION_NOTIFY_CHANNEL and apply revocations from any
 * instance. _connect opens the connection and LISTENs (before privdrop, like
 * the main connection); _start registers it on worker->base (connecting
 * first if needed). 0 ok, -1 error (logged). */
int session_listener_connect(void);
int session_listener_start(void);
void session_listener_stop(void);
#endif
