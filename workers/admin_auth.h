/*
 * Who may use the admin API (/api/admin/) and console (/admin): an admin's
 * browser session, or (API only) a Bearer access token with scope admin that
 * a client flagged admin got by client_credentials. Everything else: 401
 * (no credentials, or a bad token) or 403 (not an admin).
 *
 * CSRF: a session cookie is sent by the browser on its own, so a request
 * that changes something with it must come from our origin. JSON calls must
 * carry Content-Type application/json (a cross-site form cannot, and a
 * cross-site fetch with it needs a CORS preflight we never grant) and an
 * Origin, when present, equal to the issuer's; the session cookie is
 * SameSite=Lax. Console forms carry a single-use CSRF token (workers/csrf.h).
 * A Bearer token is not sent by browsers on their own: no CSRF question.
 *
 * The check here is the worker's; the store (and the signer, for keys)
 * checks again in the transaction of each operation, from the proof below
 * (store/admin_actor.h): a demoted or disabled admin is refused even if this
 * worker's session cache still says admin.
 */
#ifndef DREAMAUTH_ADMIN_AUTH_H
#define DREAMAUTH_ADMIN_AUTH_H
#include <stdbool.h>
#include "workers/http_server.h"

struct admin_caller {
	char proof[80];		/* "session:<sha-256 hex of the cookie>" or "token:<jti>" */
	char user_id[40];	/* the admin user; "" for an admin client */
	char name[300];		/* email, or the client id */
};

typedef void (*admin_caller_fn)(struct http_exchange *ex, const struct admin_caller *c, void *arg);

/* Runs next with the caller, or answers: for the API (html false) JSON 401 /
 * 403 / 415 / 503; for the console (html true) a redirect to /login?rd= or a
 * 403 page. next may run before this returns. */
void admin_authenticate(struct http_exchange *ex, bool html, admin_caller_fn next, void *arg);
#endif
