/*
 * CSRF defence for the server-rendered forms: a per-browser random cookie,
 * and in each form a single-use token = nonce | expiry | HMAC(key, cookie,
 * nonce, expiry) under a key derived from AUTH_SECRET. A token only works
 * with the cookie it was minted for, before it expires, once (the nonce is
 * consumed in shared memory). JSON endpoints instead require a JSON content
 * type (which a cross-site form cannot send without a CORS preflight) and,
 * when present, a same-origin Origin header.
 */
#ifndef DREAMAUTH_CSRF_H
#define DREAMAUTH_CSRF_H
#include <stdbool.h>
#include "workers/http_server.h"

#define CSRF_COOKIE "dreamauth_csrf"
#define CSRF_TOKEN_LEN 64
#define CSRF_TTL 3600

/* Mint a token for this browser into out; sets the CSRF cookie when the
 * request has none. */
void csrf_issue(struct http_exchange *ex, char out[CSRF_TOKEN_LEN]);
/* Check (and consume) a token from a submitted form. */
bool csrf_check(struct http_exchange *ex, const char *token);
/* Origin header absent, or AUTH_URL's origin, or in CORS_ORIGINS. */
bool csrf_origin_ok(struct http_exchange *ex);
#endif
