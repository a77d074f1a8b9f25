/* Admin authentication for the API and console (see admin_auth.h). */
#include "workers/admin_auth.h"
#include "common/config.h"
#include "common/secure.h"
#include "proto/form.h"
#include "workers/csrf.h"
#include "workers/jwt_local.h"
#include "workers/pages.h"
#include "workers/session.h"
#include "workers/token_revocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct admin_auth {
	bool html;
	admin_caller_fn next;
	void *arg;
};

static void unavailable(struct http_exchange *ex)
{
	http_reply_header(ex, "Retry-After", "1");
	http_reply_error(ex, 503, "temporarily_unavailable", "session store unavailable");
}

static bool safe_method(const struct http_exchange *ex)
{
	return ex->req.method == HTTP_METHOD_GET || ex->req.method == HTTP_METHOD_HEAD;
}

static void not_signed_in(struct http_exchange *ex, bool html)
{
	char location[600], encoded[520], path[256];

	if (!html) {
		http_reply_error(ex, 401, "unauthorized", "sign in as an admin, or send a Bearer token with scope admin");
		return;
	}
	/* Back to this console page after signing in (a path of ours: no open redirect). */
	snprintf(path, sizeof(path), "%.*s", (int)(ex->req.path.len < 200 ? ex->req.path.len : 200), ex->req.path.p);
	if (url_encode(path, strlen(path), encoded, sizeof(encoded)) < 0)
		snprintf(encoded, sizeof(encoded), "%%2Fadmin");
	snprintf(location, sizeof(location), "/login?rd=%s", encoded);
	http_reply_redirect(ex, location);
}

static void not_admin(struct http_exchange *ex, bool html)
{
	if (html)
		page_message(ex, 403, "Not allowed", "This page is for administrators.", "/account", "Your account");
	else
		http_reply_error(ex, 403, "forbidden", "this account is not an admin");
}

static void session_done(struct http_exchange *ex, int rc, const struct session_entry *s, void *arg)
{
	struct admin_auth *a = arg;
	struct admin_caller c;
	char hex[2 + 64 + 1];

	if (rc < 0)
		unavailable(ex);
	else if (rc == 0)
		not_signed_in(ex, a->html);
	else if (!(s->flags & SESSION_FLAG_ADMIN))
		not_admin(ex, a->html);
	else {
		memset(&c, 0, sizeof(c));
		session_key_hex(s->key, hex);
		snprintf(c.proof, sizeof(c.proof), "session:%s", hex + 2);
		snprintf(c.user_id, sizeof(c.user_id), "%s", s->user_id);
		snprintf(c.name, sizeof(c.name), "%s", s->email);
		a->next(ex, &c, a->arg);
	}
	free(a);
}

/* The scope claim holds the word admin. */
static bool scope_has_admin(const char *scope)
{
	for (const char *p = scope; p && *p;) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 5 && memcmp(p, "admin", 5) == 0)
			return true;
		p = end ? end + 1 : p + n;
	}
	return false;
}

static void bearer(struct http_exchange *ex, const struct http_str *auth, admin_caller_fn next, void *arg)
{
	json_t *claims = NULL;
	struct admin_caller c;

	if (auth->len > 7 && strncasecmp(auth->p, "Bearer ", 7) == 0)
		claims = jwt_local_verify(auth->p + 7, auth->len - 7, "at+jwt");
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	const char *client = json_string_value(json_object_get(claims, "client_id"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	if (!jti || !client || strlen(jti) > 64 || access_token_revocation_cached(jti) == ACCESS_TOKEN_REVOKED) {
		http_reply_header(ex, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		http_reply_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
	} else if (!scope_has_admin(json_string_value(json_object_get(claims, "scope"))) || !sub ||
	    strcmp(sub, client) != 0) {
		/* A user's token never carries admin (oidc_authorize.c drops it);
		 * a machine token without the scope is not an admin's. */
		http_reply_header(ex, "WWW-Authenticate", "Bearer error=\"insufficient_scope\", scope=\"admin\"");
		http_reply_error(ex, 403, "insufficient_scope", "the access token does not carry the admin scope");
	} else {
		memset(&c, 0, sizeof(c));
		snprintf(c.proof, sizeof(c.proof), "token:%s", jti);
		snprintf(c.name, sizeof(c.name), "%s", client);
		next(ex, &c, arg);
	}
	json_decref(claims);
}

void admin_authenticate(struct http_exchange *ex, bool html, admin_caller_fn next, void *arg)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	struct admin_auth *a;

	if (auth && !html) {
		bearer(ex, auth, next, arg);
		return;
	}
	/* A cookie-borne change must come from our own pages (see admin_auth.h);
	 * console forms check their CSRF token (which checks Origin too). */
	if (!html && !safe_method(ex)) {
		if (!csrf_origin_ok(ex)) {
			http_reply_error(ex, 403, "forbidden", "cross-origin request refused");
			return;
		}
		if (ex->req.method == HTTP_METHOD_POST && !http_exchange_is_json(ex)) {
			http_reply_error(ex, 415, "unsupported_media_type", "send application/json");
			return;
		}
	}
	if (!(a = malloc(sizeof(*a)))) {
		unavailable(ex);
		return;
	}
	*a = (struct admin_auth){ .html = html, .next = next, .arg = arg };
	session_from_request(ex, session_done, a);
}
