/*
 * GET /api/verify — forward-auth for nginx auth_request and Traefik
 * forwardAuth. A session cookie found in the shared-memory cache is answered
 * without touching the database; a Bearer access token is verified locally
 * and checked against the shared-memory table of revoked jtis (the database
 * only when that table cannot answer: workers/token_revocation.c), and must
 * be meant for forward-auth (workers/forward_auth.h).
 * Unauthenticated: 401 for nginx, or 302 to the login page with rd= when the
 * caller sent Traefik's X-Forwarded-Proto/Host/Uri.
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "proto/display_name.h"
#include "proto/form.h"
#include "proto/redirect.h"
#include "workers/forward_auth.h"
#include "workers/jwt_local.h"
#include "workers/session.h"
#include "workers/token_revocation.h"
#include "workers/worker.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void identity_headers(struct http_exchange *ex, const char *id, const char *email, const char *name,
    const char *groups)
{
	http_reply_header(ex, "X-Auth-User", email && *email ? email : id);
	http_reply_header(ex, "X-Auth-Id", id);
	http_reply_header(ex, "X-Auth-Email", email ? email : "");
	/* A name stored before names were checked may hold control characters. */
	char printable_name[256];
	display_name_printable(name ? name : "", printable_name, sizeof(printable_name));
	http_reply_header(ex, "X-Auth-Name", printable_name);
	http_reply_header(ex, "X-Auth-Groups", groups ? groups : "");
	http_reply_header(ex, "Cache-Control", "no-store");
}

/* Traefik sends the original request as X-Forwarded-{Proto,Host,Uri}. */
static bool original_url(struct http_exchange *ex, char *out, size_t cap)
{
	const struct http_str *proto = http_request_header(&ex->req, "x-forwarded-proto");
	const struct http_str *host = http_request_header(&ex->req, "x-forwarded-host");
	const struct http_str *uri = http_request_header(&ex->req, "x-forwarded-uri");
	int n;

	if (!proto || !host)
		return false;
	n = snprintf(out, cap, "%.*s://%.*s%.*s", (int)proto->len, proto->p, (int)host->len, host->p,
	    uri ? (int)uri->len : 1, uri ? uri->p : "/");
	return n > 0 && (size_t)n < cap;
}

static void unauthenticated(struct http_exchange *ex)
{
	char url[2048], encoded[6200], location[6400];
	const char *issuer_host = strstr(cfg.issuer, "://") + 3;

	/* nginx auth_request (X-Original-URI) turns anything but 2xx/401/403 into a 500. */
	if (!http_request_header(&ex->req, "x-original-uri") && original_url(ex, url, sizeof(url)) &&
	    redirect_target_allowed(url, strlen(url), issuer_host, cfg.cookie_domain, cfg.issuer_is_local_http) &&
	    url_encode(url, strlen(url), encoded, sizeof(encoded)) >= 0) {
		snprintf(location, sizeof(location), "%s/login?rd=%s", cfg.issuer, encoded);
		http_reply_redirect(ex, location);
		return;
	}
	http_reply_error(ex, 401, "unauthorized", "no valid session");
}

enum bearer_result { BEARER_OK, BEARER_INVALID, BEARER_UNAVAILABLE };

static enum bearer_result verify_bearer(struct http_exchange *ex, const struct http_str *auth)
{
	json_t *claims;
	if (auth->len < 8 || strncasecmp(auth->p, "Bearer ", 7) != 0)
		return BEARER_INVALID;
	claims = jwt_local_verify(auth->p + 7, auth->len - 7, "at+jwt");
	if (!claims)
		return BEARER_INVALID;
	/* Every access token we issue has a jti; revocation is by jti. */
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	int revoked = jti ? access_token_revocation_check(jti) : 1;
	if (revoked != 0) {
		json_decref(claims);
		return revoked < 0 ? BEARER_UNAVAILABLE : BEARER_INVALID;
	}
	if (!forward_auth_claims_acceptable(claims, cfg.forward_auth_audience, cfg.forward_auth_allow_machine_tokens)) {
		json_decref(claims);
		return BEARER_INVALID;	/* meant for another resource, or a machine's */
	}
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *email = json_string_value(json_object_get(claims, "email"));
	const char *name = json_string_value(json_object_get(claims, "name"));
	json_t *groups = json_object_get(claims, "groups");
	char group_list[512] = "";
	size_t i, o = 0;
	json_t *g;
	json_array_foreach(groups, i, g) {
		const char *s = json_string_value(g);
		if (s && !strpbrk(s, ",\r\n") && o + strlen(s) + 2 < sizeof(group_list))
			o += (size_t)snprintf(group_list + o, sizeof(group_list) - o, "%s%s", o ? "," : "", s);
	}
	if (!sub || strpbrk(sub, "\r\n") || (email && strpbrk(email, "\r\n")) || (name && strpbrk(name, "\r\n"))) {
		json_decref(claims);
		return BEARER_INVALID;
	}
	identity_headers(ex, sub, email, name, group_list);
	http_reply(ex, 200, NULL, NULL, 0);
	json_decref(claims);
	return BEARER_OK;
}

void handle_verify(struct http_exchange *ex)
{
	struct session_entry s;
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	int rc;

	if (auth) {
		switch (verify_bearer(ex, auth)) {
		case BEARER_OK:
			return;
		case BEARER_UNAVAILABLE:
			http_reply_error(ex, 503, "temporarily_unavailable", "token revocation store unavailable");
			return;
		case BEARER_INVALID:
			break;
		}
		http_reply_header(ex, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		http_reply_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
		return;
	}
	rc = session_from_request(ex, &s, NULL);
	if (rc < 0) {
		http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
		return;
	}
	if (rc == 0) {
		unauthenticated(ex);
		return;
	}
	identity_headers(ex, s.user_id, s.email, s.name, s.groups);
	http_reply(ex, 200, NULL, NULL, 0);
}
