/*
 * CORS for the endpoints a browser app calls (Fetch standard, "CORS
 * protocol"). Three kinds of path, each with its own rule:
 *
 *   CORS_PUBLIC      discovery and JWKS: public documents, no credentials:
 *                    Access-Control-Allow-Origin: * for every origin.
 *   CORS_CLIENT      /oauth2/token, /oauth2/userinfo, /oauth2/revoke: the
 *                    origin of a registered redirect URI of an enabled
 *                    client, CORS_ORIGINS, or AUTH_URL's own origin. The
 *                    origin is echoed; never Allow-Credentials (the request
 *                    carries its proof itself: PKCE verifier, refresh token,
 *                    Bearer token, not a cookie).
 *   CORS_FIRST_PARTY the account API under /api/auth/: only AUTH_URL's origin and
 *                    CORS_ORIGINS, with Allow-Credentials: true (the session
 *                    cookie is the proof), never to a wildcard.
 *
 * /oauth2/introspect gets none: RFC 7662 introspection is for resource
 * servers authenticating with a client secret; a page cannot keep a secret,
 * and a browser answer there would only serve a page that leaked one.
 *
 * A request whose Origin is not allowed on a CORS_CLIENT path is refused
 * (403) before the handler runs: a cross-origin form post needs no
 * preflight, and without this it would still redeem a code or rotate a
 * refresh token whose answer the browser then hides from the page — the
 * legitimate client loses its grant and no one gets the tokens. Requests
 * without Origin (servers, curl) are not affected. On the account API the
 * handlers already refuse a foreign Origin on every state change
 * (csrf_origin_ok); there a foreign origin just gets no CORS headers.
 * `Vary: Origin` goes on every answer of these paths, so a cache
 * never hands one origin's answer to another.
 */
#ifndef DREAMAUTH_WORKERS_CORS_H
#define DREAMAUTH_WORKERS_CORS_H
#include <stdbool.h>
#include "workers/http_server.h"

enum cors_kind { CORS_PUBLIC = 1, CORS_CLIENT, CORS_FIRST_PARTY };

struct cors_route {
	const char *path;	/* exact, or a prefix when it ends with '/' */
	enum cors_kind kind;
	const char *methods;	/* Access-Control-Allow-Methods and Allow */
};

/* The CORS rule of a path (its own table, beside the router's), or NULL. */
const struct cors_route *cors_route_of(struct http_str path);
/* Before the handler of a non-OPTIONS request: adds the CORS headers, or
 * answers 403 and returns false when the Origin is not allowed. */
bool cors_apply(struct http_exchange *ex, const struct cors_route *r);
/* OPTIONS on a CORS path: a preflight (Origin + Access-Control-Request-
 * Method) is answered 204 with the allowed methods and headers, or 403; a
 * plain OPTIONS gets 204 with Allow. */
void cors_preflight(struct http_exchange *ex, const struct cors_route *r);
#endif
