/*
 * The resource-side OIDC endpoints:
 *   GET/POST /oauth2/userinfo (OIDC Core §5.3) — Bearer access token,
 *   POST /oauth2/introspect (RFC 7662) — confidential clients only,
 *   POST /oauth2/revoke (RFC 7009) — the token's own client.
 * Access tokens are verified locally (workers/jwt_local.c) and then checked
 * against oauth_access_tokens, so a revoked token stops working at once.
 * These endpoints call the store anyway, so they ask it (the source of
 * truth) rather than the shared-memory table that /api/verify uses. Each
 * handler makes one store call and answers in its callback.
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/log.h"
#include "proto/form.h"
#include "proto/oidc_clients.h"
#include "workers/jwt_local.h"
#include "workers/oidc.h"
#include "workers/store_client.h"
#include "workers/token_revocation.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void bearer_error(struct http_exchange *ex, int status, const char *error, const char *description)
{
	char h[200];
	snprintf(h, sizeof(h), "Bearer error=\"%s\"", error);
	http_reply_header(ex, "WWW-Authenticate", status == 401 && !strcmp(error, "invalid_request") ? "Bearer" : h);
	oidc_reply_error(ex, status, error, description);
}

/* ---- userinfo ---- */

/* A verified access token while the store says whether it is revoked and who its subject is. */
struct userinfo {
	struct http_exchange *ex;
	json_t *claims;
};

/* The scopes of a token that may read userinfo: it carries openid and names
 * a user (not a client_credentials token, whose sub is its client). 0: none. */
static unsigned userinfo_scopes(json_t *claims)
{
	const char *scope = json_string_value(json_object_get(claims, "scope"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *client_id = json_string_value(json_object_get(claims, "client_id"));
	unsigned scopes = 0;

	if (!scope || oidc_scope_parse(scope, strlen(scope), &scopes) < 0 || !(scopes & OIDC_SCOPE_OPENID) || !sub ||
	    (client_id && !strcmp(sub, client_id)))
		return 0;
	return scopes;
}

static void userinfo_loaded(const struct store_reply *r, void *arg)
{
	struct userinfo *ui = arg;
	struct http_exchange *ex = ui->ex;
	unsigned scopes = userinfo_scopes(ui->claims);
	struct oidc_user u;

	/* In the order of the checks: revoked, then scope, then the account. */
	if (r->status != STORE_OK || r->n_rows != 1) {
		oidc_reply_store_unavailable(ex, "the token store is unavailable");
	} else if (store_bool(r, 0, OAUTH_USERINFO_REVOKED)) {
		bearer_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
	} else if (!scopes) {
		bearer_error(ex, 403, "insufficient_scope", "the access token does not carry the openid scope");
	} else if (!oidc_user_from_reply(r, &u)) {
		bearer_error(ex, 401, "invalid_token", "the account is no longer active");
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "sub", json_string(u.id));
		oidc_user_claims(o, &u, scopes);
		oidc_user_app_claims(o, &u);	/* read now: a role change shows at once */
		oidc_user_free(&u);
		char *text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		http_reply_header(ex, "Access-Control-Allow-Origin", "*");
		http_reply_json(ex, 200, text ? text : "{}");
		free(text);
	}
	json_decref(ui->claims);
	free(ui);
}

void handle_oauth_userinfo(struct http_exchange *ex)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	struct form f = { 0 };
	const char *token = NULL, *jti;
	size_t token_len = 0;
	json_t *claims = NULL;
	struct userinfo *ui;

	if (!oidc_enabled(ex))
		return;
	if (auth && auth->len > 7 && !strncasecmp(auth->p, "Bearer ", 7)) {
		token = auth->p + 7;
		token_len = auth->len - 7;
	} else if (!auth && ex->req.method == HTTP_METHOD_POST && http_exchange_is_form(ex) &&
	    form_parse(ex->body, ex->body_len, 16384, &f) == FORM_OK && form_get(&f, "access_token")) {
		token = form_get(&f, "access_token");
		token_len = strlen(token);
	}
	if (!token) {
		form_free(&f);
		bearer_error(ex, 401, "invalid_request", "a Bearer access token is required");
		return;
	}
	claims = jwt_local_verify(token, token_len, "at+jwt");
	form_free(&f);
	jti = json_string_value(json_object_get(claims, "jti"));
	if (!jti) {
		json_decref(claims);
		bearer_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
		return;
	}
	if (!(ui = malloc(sizeof(*ui)))) {
		json_decref(claims);
		oidc_reply_error(ex, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	*ui = (struct userinfo){ .ex = ex, .claims = claims };
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	STORE_CALL(STORE_OP_OAUTH_USERINFO, userinfo_loaded, ui, STORE_V_TEXT(jti), sub ? STORE_V_TEXT(sub) : STORE_V_NULL);
}

/* ---- introspection ---- */

static void reply_json_nostore(struct http_exchange *ex, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply_json(ex, 200, text ? text : "{\"active\":false}");
	free(text);
}

static bool looks_like_jwt(const char *t)
{
	return strchr(t, '.') != NULL;
}

static void reply_inactive(struct http_exchange *ex)
{
	json_t *o = json_object();
	json_object_set_new(o, "active", json_false());
	reply_json_nostore(ex, o);
}

static void introspected_access_token(const struct store_reply *r, void *arg)
{
	static const char *const copy[] = { "scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "auth_time",
		"roles", "permissions", NULL };	/* roles: as the token was issued with them */
	struct oidc_token_call *call = arg;
	json_t *claims = call->claims;
	int revoked = access_token_revoked_reply(r);

	if (revoked < 0) {
		oidc_reply_store_unavailable(call->ex, "the token store is unavailable");
	} else if (revoked) {
		reply_inactive(call->ex);
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "active", json_true());
		for (const char *const *k = copy; *k; k++)
			if (json_object_get(claims, *k))
				json_object_set(o, *k, json_object_get(claims, *k));
		if (json_object_get(claims, "email"))
			json_object_set(o, "username", json_object_get(claims, "email"));
		json_object_set_new(o, "token_type", json_string("Bearer"));
		reply_json_nostore(call->ex, o);
	}
	oidc_token_call_free(call);
}

/* A refresh token is only described to the client it belongs to. */
static void introspected_refresh_token(const struct store_reply *r, void *arg)
{
	struct oidc_token_call *call = arg;

	if (r->status != STORE_OK) {
		oidc_reply_store_unavailable(call->ex, "the token store is unavailable");
	} else if (r->n_rows != 1) {
		reply_inactive(call->ex);
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "active", json_true());
		json_object_set_new(o, "client_id", json_string(call->client->client_id));
		json_object_set_new(o, "sub", json_string(store_text(r, 0, OAUTH_REFRESH_INFO_USER_ID)));
		json_object_set_new(o, "scope", json_string(store_text(r, 0, OAUTH_REFRESH_INFO_SCOPE)));
		json_object_set_new(o, "exp", json_integer(store_int(r, 0, OAUTH_REFRESH_INFO_EXP)));
		json_object_set_new(o, "iat", json_integer(store_int(r, 0, OAUTH_REFRESH_INFO_IAT)));
		json_object_set_new(o, "iss", json_string(cfg.issuer));
		json_object_set_new(o, "token_type", json_string("refresh_token"));
		reply_json_nostore(call->ex, o);
	}
	oidc_token_call_free(call);
}

static void introspect_authenticated(struct http_exchange *ex, struct oidc_client *client, void *arg)
{
	struct oidc_token_call *call = arg;
	const char *jti;

	if (!(call->client = client)) {
		oidc_token_call_free(call);
		return;
	}
	if (!looks_like_jwt(call->tr.token)) {
		oidc_token_hash_param(call->tr.token, call->hash);
		STORE_CALL(STORE_OP_OAUTH_REFRESH_DESCRIBE, introspected_refresh_token, call, STORE_V_TEXT(call->hash),
		    STORE_V_TEXT(client->client_id));
		return;
	}
	call->claims = jwt_local_verify(call->tr.token, strlen(call->tr.token), "at+jwt");
	jti = json_string_value(json_object_get(call->claims, "jti"));
	if (!jti) {
		reply_inactive(ex);
		oidc_token_call_free(call);
		return;
	}
	access_token_ask_store(jti, introspected_access_token, call);
}

void handle_oauth_introspect(struct http_exchange *ex)
{
	struct oidc_token_call *call = oidc_token_call_new(ex, TOKEN_EP_INTROSPECT);

	if (call)
		oidc_authenticate_client(ex, &call->tr, false, introspect_authenticated, call);
}

/* ---- revocation ---- */

static void revoked(const struct store_reply *r, void *arg)
{
	struct oidc_token_call *call = arg;

	if (r->status != STORE_OK) {
		oidc_reply_store_unavailable(call->ex, "the token store is unavailable");
	} else {
		/* Unknown or foreign tokens get the same 200: nothing to learn here. */
		http_reply_header(call->ex, "Cache-Control", "no-store");
		http_reply(call->ex, 200, NULL, NULL, 0);
	}
	oidc_token_call_free(call);
}

/* An access token is revoked by its jti, and only by the client it was
 * issued to (RFC 7009 §2.1); anything else is answered 200 without a call.
 * false: nothing to ask the store. */
static bool revoke_access_token(struct oidc_token_call *call)
{
	const char *jti, *owner;
	json_t *exp;

	call->claims = jwt_local_verify(call->tr.token, strlen(call->tr.token), "at+jwt");
	jti = json_string_value(json_object_get(call->claims, "jti"));
	owner = json_string_value(json_object_get(call->claims, "client_id"));
	exp = json_object_get(call->claims, "exp");
	if (!jti || !owner || strcmp(owner, call->client->client_id) != 0 || !json_is_integer(exp))
		return false;
	STORE_CALL(STORE_OP_OAUTH_ACCESS_TOKEN_REVOKE, revoked, call, STORE_V_TEXT(jti),
	    STORE_V_TEXT(call->client->client_id), STORE_V_INT(json_integer_value(exp)));
	return true;
}

static void revoke_authenticated(struct http_exchange *ex, struct oidc_client *client, void *arg)
{
	struct oidc_token_call *call = arg;

	if (!(call->client = client)) {
		oidc_token_call_free(call);
		return;
	}
	if (looks_like_jwt(call->tr.token)) {
		if (revoke_access_token(call))
			return;
		http_reply_header(ex, "Cache-Control", "no-store");
		http_reply(ex, 200, NULL, NULL, 0);
		oidc_token_call_free(call);
		return;
	}
	/* RFC 7009 §2.1: revoking a refresh token revokes its grant's access tokens too. */
	oidc_token_hash_param(call->tr.token, call->hash);
	STORE_CALL(STORE_OP_OAUTH_REFRESH_REVOKE, revoked, call, STORE_V_TEXT(call->hash), STORE_V_TEXT(client->client_id));
}

void handle_oauth_revoke(struct http_exchange *ex)
{
	struct oidc_token_call *call = oidc_token_call_new(ex, TOKEN_EP_REVOKE);

	if (call)
		oidc_authenticate_client(ex, &call->tr, true, revoke_authenticated, call);
}
