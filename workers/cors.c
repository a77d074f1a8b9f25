/* CORS decisions and headers (see cors.h). */
#include "workers/cors.h"
#include "common/config.h"
#include "proto/cors_origin.h"
#include "workers/oidc_clients.h"

#include <string.h>
#include <strings.h>

/* Preflights are cached by the browser this long (seconds); Chromium caps
 * it at 7200, Firefox at 86400. Short enough that a client removed from
 * the configuration stops working within minutes. */
#define CORS_MAX_AGE "600"

/* What a request's headers may name: Authorization (Bearer at userinfo,
 * Basic for a client that has one), Content-Type (JSON, form), DPoP (sent
 * by some libraries; ignored here). */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, DPoP"

static bool origin_allowed(const char *origin, enum cors_kind kind)
{
	if (kind == CORS_PUBLIC)
		return true;
	if (config_origin_first_party(origin))
		return true;
	return kind == CORS_CLIENT && cfg.enable_oidc_provider && oidc_registry_origin_allowed(origin);
}

/* 1: an Origin header, canonical in out; 0: none; -1: present but not an
 * origin (e.g. "null" from a sandboxed frame or a privacy redirect). */
static int request_origin(struct http_exchange *ex, char out[CORS_ORIGIN_MAX])
{
	const struct http_str *o = http_request_header(&ex->req, "origin");
	if (!o)
		return 0;
	return cors_origin_parse(o->p, o->len, out, CORS_ORIGIN_MAX) ? 1 : -1;
}

static void allow_origin(struct http_exchange *ex, enum cors_kind kind, const char *origin)
{
	if (kind == CORS_PUBLIC) {
		http_reply_header(ex, "Access-Control-Allow-Origin", "*");
		return;
	}
	http_reply_header(ex, "Access-Control-Allow-Origin", origin);
	/* What a page may read besides the safelisted headers: why a Bearer
	 * token was refused, how long to back off. */
	http_reply_header(ex, "Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
	if (kind == CORS_FIRST_PARTY)
		http_reply_header(ex, "Access-Control-Allow-Credentials", "true");
}

static void refuse(struct http_exchange *ex)
{
	http_reply_error(ex, 403, "invalid_origin", "this origin may not call this endpoint; the operator lists "
	    "browser origins in CORS_ORIGINS or in a client's redirect URIs");
}

static const struct cors_route routes[] = {
	{ "/.well-known/openid-configuration", CORS_PUBLIC, "GET, HEAD" },
	{ "/jwks", CORS_PUBLIC, "GET, HEAD" },
	{ "/.well-known/jwks.json", CORS_PUBLIC, "GET, HEAD" },
	{ "/oauth2/token", CORS_CLIENT, "POST" },
	{ "/oauth2/userinfo", CORS_CLIENT, "GET, HEAD, POST" },
	{ "/oauth2/revoke", CORS_CLIENT, "POST" },
	/* The JSON account API, passkeys and SIWE included (prefix). */
	{ "/api/auth/", CORS_FIRST_PARTY, "GET, POST" },
};

const struct cors_route *cors_route_of(struct http_str path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t n = strlen(routes[i].path);
		if (routes[i].path[n - 1] == '/' ? path.len > n && memcmp(path.p, routes[i].path, n) == 0
						 : http_str_eq(path, routes[i].path))
			return &routes[i];
	}
	return NULL;
}

bool cors_apply(struct http_exchange *ex, const struct cors_route *r)
{
	char origin[CORS_ORIGIN_MAX];
	int has;

	http_reply_header(ex, "Vary", "Origin");
	if (r->kind == CORS_PUBLIC) {
		allow_origin(ex, r->kind, NULL);
		return true;
	}
	has = request_origin(ex, origin);
	if (has == 0)
		return true;
	if (has < 0 || !origin_allowed(origin, r->kind)) {
		/* The account API's handlers refuse a foreign Origin themselves
		 * where it matters (csrf_origin_ok, with their own errors); a GET
		 * there just gets no Allow-Origin, and the browser hides it. */
		if (r->kind == CORS_FIRST_PARTY)
			return true;
		refuse(ex);
		return false;
	}
	allow_origin(ex, r->kind, origin);
	return true;
}

void cors_preflight(struct http_exchange *ex, const struct cors_route *r)
{
	char origin[CORS_ORIGIN_MAX];
	int has = request_origin(ex, origin);
	const struct http_str *method = http_request_header(&ex->req, "access-control-request-method");

	http_reply_header(ex, "Vary", "Origin");
	if (has == 0 || !method) {
		/* Not a preflight: what OPTIONS means in HTTP (RFC 9110 9.3.7). */
		http_reply_header(ex, "Allow", r->methods);
		http_reply(ex, 204, NULL, NULL, 0);
		return;
	}
	if (r->kind != CORS_PUBLIC && (has < 0 || !origin_allowed(origin, r->kind))) {
		refuse(ex);
		return;
	}
	allow_origin(ex, r->kind, origin);
	http_reply_header(ex, "Access-Control-Allow-Methods", r->methods);
	http_reply_header(ex, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	http_reply_header(ex, "Access-Control-Max-Age", CORS_MAX_AGE);
	http_reply(ex, 204, NULL, NULL, 0);
}
