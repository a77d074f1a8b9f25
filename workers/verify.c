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
#include "workers/acr.h"
#include "workers/forward_auth.h"
#include "workers/jwt_local.h"
#include "workers/session.h"
#include "workers/token_revocation.h"
#include "workers/verify_roles.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void identity_headers(struct http_exchange *ex, const char *id, const char *email, const char *name,
    const char *groups, const char *amr)
{
	/* FORWARD_AUTH_AMR_HEADER: how the user signed in (RFC 8176 values). */
	if (cfg.forward_auth_amr_header)
		http_reply_header(ex, "X-Auth-AMR", amr ? amr : "");
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

/* FORWARD_AUTH_REQUIRE_MFA: signed in, but with one factor. 403 (nginx
 * passes it on; a 401 would send the user to a sign-in that waves the live
 * session through). */
static void mfa_required(struct http_exchange *ex)
{
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply_error(ex, 403, "mfa_required", "this application needs a sign-in with two factors");
}

static void bearer_refused(struct http_exchange *ex)
{
	http_reply_header(ex, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	http_reply_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
}

static void unavailable(struct http_exchange *ex, const char *description)
{
	http_reply_header(ex, "Retry-After", "1");
	http_reply_error(ex, 503, "temporarily_unavailable", description);
}

/* The identity of a verified, unrevoked access token, in the headers. */
static void bearer_accepted(struct http_exchange *ex, json_t *claims)
{
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
		bearer_refused(ex);
		return;
	}
	char amr[64] = "";
	o = 0;
	json_array_foreach(json_object_get(claims, "amr"), i, g) {
		const char *s = json_string_value(g);
		if (s && strspn(s, "abcdefghijklmnopqrstuvwxyz") == strlen(s) && o + strlen(s) + 2 < sizeof(amr))
			o += (size_t)snprintf(amr + o, sizeof(amr) - o, "%s%s", o ? "," : "", s);
	}
	if (cfg.forward_auth_require_mfa && !amr_is_mfa(amr)) {
		mfa_required(ex);
		return;
	}
	identity_headers(ex, sub, email, name, group_list, amr);
	if (verify_roles_requested(ex))
		verify_roles_answer(ex, sub);
	else
		http_reply(ex, 200, NULL, NULL, 0);
}

/* A token the revoked-token table could not vouch for, while the store looks. */
struct bearer_check {
	struct http_exchange *ex;
	json_t *claims;
};

static void bearer_checked(const struct store_reply *r, void *arg)
{
	struct bearer_check *b = arg;

	switch (access_token_revoked_reply(r)) {
	case 0: bearer_accepted(b->ex, b->claims); break;
	case 1: bearer_refused(b->ex); break;
	default: unavailable(b->ex, "token revocation store unavailable"); break;
	}
	json_decref(b->claims);
	free(b);
}

/* The hot path: a table hit answers here, with no store call and no
 * allocation of ours; only what the table cannot tell goes to the store. */
static void verify_bearer(struct http_exchange *ex, const struct http_str *auth)
{
	json_t *claims = NULL;
	const char *jti = NULL;

	if (auth->len >= 8 && strncasecmp(auth->p, "Bearer ", 7) == 0)
		claims = jwt_local_verify(auth->p + 7, auth->len - 7, "at+jwt");
	/* Meant for another resource, or a machine's: refused like a bad token. */
	if (claims && !forward_auth_claims_acceptable(claims, cfg.forward_auth_audience, cfg.forward_auth_allow_machine_tokens)) {
		json_decref(claims);
		claims = NULL;
	}
	/* Every access token we issue has a jti; revocation is by jti. */
	if (claims)
		jti = json_string_value(json_object_get(claims, "jti"));
	switch (jti ? access_token_revocation_cached(jti) : ACCESS_TOKEN_REVOKED) {
	case ACCESS_TOKEN_LIVE:
		bearer_accepted(ex, claims);
		break;
	case ACCESS_TOKEN_REVOKED:
		bearer_refused(ex);
		break;
	case ACCESS_TOKEN_ASK_STORE: {
		struct bearer_check *b = malloc(sizeof(*b));
		if (!b) {
			unavailable(ex, "out of memory");
			break;
		}
		*b = (struct bearer_check){ .ex = ex, .claims = claims };
		access_token_ask_store(jti, bearer_checked, b);
		return;	/* b owns claims now */
	}
	}
	json_decref(claims);
}

static void session_found(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	(void)arg;
	if (rc < 0)
		unavailable(ex, "session store unavailable");
	else if (rc == 0)
		unauthenticated(ex);
	else if (cfg.forward_auth_require_mfa && !amr_is_mfa(s->amr))
		mfa_required(ex);
	else {
		identity_headers(ex, s->user_id, s->email, s->name, s->groups, s->amr);
		if (verify_roles_requested(ex))
			verify_roles_answer(ex, s->user_id);
		else
			http_reply(ex, 200, NULL, NULL, 0);
	}
}

void handle_verify(struct http_exchange *ex)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");

	if (auth)
		verify_bearer(ex, auth);
	else
		session_from_request(ex, session_found, NULL);
}
