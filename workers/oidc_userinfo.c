/*
 * The resource-side OIDC endpoints:
 *   GET/POST /oauth2/userinfo (OIDC Core §5.3) — Bearer access token,
 *   POST /oauth2/introspect (RFC 7662) — confidential clients only,
 *   POST /oauth2/revoke (RFC 7009) — the token's own client.
 * Access tokens are verified locally (workers/jwt_local.c) and then checked
 * against oauth_access_tokens, so a revoked token stops working at once.
 * These endpoints query the database anyway, so they ask it (the source of
 * truth) rather than the shared-memory table that /api/verify uses.
 */
#include "workers/handlers.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "proto/form.h"
#include "proto/oidc_clients.h"
#include "workers/jwt_local.h"
#include "workers/oidc.h"
#include "workers/token_revocation.h"
#include "workers/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Verified, unrevoked access token claims (new reference) or NULL; *db_error on a store failure. */
static json_t *access_token_claims(const char *token, size_t len, bool *db_error)
{
	json_t *claims;
	const char *jti;
	int revoked = 1;

	*db_error = false;
	claims = jwt_local_verify(token, len, "at+jwt");
	if (!claims)
		return NULL;
	jti = json_string_value(json_object_get(claims, "jti"));
	if (!jti || (revoked = access_token_revoked_in_db(jti)) != 0) {
		*db_error = revoked < 0;
		json_decref(claims);
		return NULL;
	}
	return claims;
}

static void bearer_error(struct http_exchange *ex, int status, const char *error, const char *description)
{
	char h[200];
	snprintf(h, sizeof(h), "Bearer error=\"%s\"", error);
	http_reply_header(ex, "WWW-Authenticate", status == 401 && !strcmp(error, "invalid_request") ? "Bearer" : h);
	oidc_reply_error(ex, status, error, description);
}

void handle_oauth_userinfo(struct http_exchange *ex)
{
	const struct http_str *auth = http_request_header(&ex->req, "authorization");
	struct form f = { 0 };
	const char *token = NULL;
	size_t token_len = 0;
	bool db_error;
	json_t *claims;

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
	claims = access_token_claims(token, token_len, &db_error);
	form_free(&f);
	if (!claims) {
		if (db_error)
			oidc_reply_error(ex, 503, "temporarily_unavailable", "the token store is unavailable");
		else
			bearer_error(ex, 401, "invalid_token", "the access token is invalid, expired or revoked");
		return;
	}
	const char *scope = json_string_value(json_object_get(claims, "scope"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *client_id = json_string_value(json_object_get(claims, "client_id"));
	unsigned scopes = 0;
	if (!scope || oidc_scope_parse(scope, strlen(scope), &scopes) < 0 || !(scopes & OIDC_SCOPE_OPENID) || !sub ||
	    (client_id && !strcmp(sub, client_id))) {
		json_decref(claims);
		bearer_error(ex, 403, "insufficient_scope", "the access token does not carry the openid scope");
		return;
	}
	struct oidc_user u;
	int rc = oidc_user_load(sub, &u);
	if (rc <= 0 || u.disabled) {
		json_decref(claims);
		oidc_user_free(&u);
		if (rc < 0)
			oidc_reply_error(ex, 503, "temporarily_unavailable", "the account store is unavailable");
		else
			bearer_error(ex, 401, "invalid_token", "the account is no longer active");
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "sub", json_string(u.id));
	oidc_user_claims(o, &u, scopes);
	oidc_user_free(&u);
	json_decref(claims);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply_header(ex, "Access-Control-Allow-Origin", "*");
	http_reply_json(ex, 200, text ? text : "{}");
	free(text);
}

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

/* Introspection and revocation look an opaque (refresh) token up alike: by
 * the hash of its text, among client_id's tokens ($1 hash, $2 client id).
 * NULL: store error. */
static PGresult *client_refresh_token_query(const char *token, const char *client_id, const char *sql)
{
	char hash[OIDC_HASH_PARAM_LEN];

	oidc_token_hash_param(token, hash);
	const char *params[] = { hash, client_id };
	return db_query(worker->db, sql, 2, params);
}

/* Introspection and revocation start alike: parse the form, authenticate
 * the client. NULL: already answered, tr needs no freeing; otherwise the
 * caller releases the client and frees tr. */
static struct oidc_client *token_request_client(struct http_exchange *ex, enum token_endpoint ep, bool allow_public,
    struct token_request *tr)
{
	struct oidc_client *client;

	if (!oidc_enabled(ex) || oidc_parse_token_request(ex, ep, tr) < 0)
		return NULL;
	client = oidc_authenticate_client(ex, tr, allow_public);
	if (!client)
		token_request_free(tr);
	return client;
}

void handle_oauth_introspect(struct http_exchange *ex)
{
	struct token_request tr;
	struct oidc_client *client;
	bool db_error = false;

	client = token_request_client(ex, TOKEN_EP_INTROSPECT, false, &tr);
	if (!client)
		return;
	json_t *o = json_object();
	if (looks_like_jwt(tr.token)) {
		json_t *claims = access_token_claims(tr.token, strlen(tr.token), &db_error);
		if (claims) {
			static const char *const copy[] = { "scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti",
				"auth_time", NULL };
			json_object_set_new(o, "active", json_true());
			for (const char *const *k = copy; *k; k++)
				if (json_object_get(claims, *k))
					json_object_set(o, *k, json_object_get(claims, *k));
			if (json_object_get(claims, "email"))
				json_object_set(o, "username", json_object_get(claims, "email"));
			json_object_set_new(o, "token_type", json_string("Bearer"));
			json_decref(claims);
		}
	} else {
		/* A refresh token is only described to the client it belongs to. */
		PGresult *r = client_refresh_token_query(tr.token, client->client_id,
		    "SELECT user_id, scope, floor(extract(epoch from expires_at))::bigint, floor(extract(epoch from created_at))::bigint"
		    " FROM oauth_refresh_tokens WHERE token_hash = $1::bytea AND client_id = $2 AND used_at IS NULL"
		    " AND revoked_at IS NULL AND expires_at > now()");
		db_error = r == NULL;
		if (r && PQntuples(r) == 1) {
			json_object_set_new(o, "active", json_true());
			json_object_set_new(o, "client_id", json_string(client->client_id));
			json_object_set_new(o, "sub", json_string(PQgetvalue(r, 0, 0)));
			json_object_set_new(o, "scope", json_string(PQgetvalue(r, 0, 1)));
			json_object_set_new(o, "exp", json_integer(strtoll(PQgetvalue(r, 0, 2), NULL, 10)));
			json_object_set_new(o, "iat", json_integer(strtoll(PQgetvalue(r, 0, 3), NULL, 10)));
			json_object_set_new(o, "iss", json_string(cfg.issuer));
			json_object_set_new(o, "token_type", json_string("refresh_token"));
		}
		if (r)
			PQclear(r);
	}
	oidc_client_release(client);
	token_request_free(&tr);
	if (db_error) {
		json_decref(o);
		oidc_reply_error(ex, 503, "temporarily_unavailable", "the token store is unavailable");
		return;
	}
	if (!json_object_get(o, "active"))
		json_object_set_new(o, "active", json_false());
	reply_json_nostore(ex, o);
}

void handle_oauth_revoke(struct http_exchange *ex)
{
	struct token_request tr;
	struct oidc_client *client;
	bool ok = true;

	client = token_request_client(ex, TOKEN_EP_REVOKE, true, &tr);
	if (!client)
		return;
	if (looks_like_jwt(tr.token)) {
		json_t *claims = jwt_local_verify(tr.token, strlen(tr.token), "at+jwt");
		const char *jti = json_string_value(json_object_get(claims, "jti"));
		const char *owner = json_string_value(json_object_get(claims, "client_id"));
		json_t *exp = json_object_get(claims, "exp");
		/* Only the client the token was issued to may revoke it (RFC 7009 §2.1). */
		if (jti && owner && !strcmp(owner, client->client_id) && json_is_integer(exp)) {
			char exp_text[24];
			snprintf(exp_text, sizeof(exp_text), "%lld", (long long)json_integer_value(exp));
			const char *params[] = { jti, client->client_id, exp_text };
			/* A row comes back when the token is (now or already) revoked;
			 * none when the jti belongs to another client. The trigger of
			 * migrations/003 tells the other instances. */
			PGresult *r = db_query(worker->db,
			    "INSERT INTO oauth_access_tokens (jti, client_id, expires_at, revoked_at)"
			    " VALUES ($1, $2, to_timestamp($3::bigint), now())"
			    " ON CONFLICT (jti) DO UPDATE SET revoked_at = coalesce(oauth_access_tokens.revoked_at, now())"
			    " WHERE oauth_access_tokens.client_id = $2"
			    " RETURNING jti, floor(extract(epoch FROM expires_at))::bigint",
			    3, params);
			ok = r != NULL;
			access_tokens_revoked_rows(r);
			if (r)
				PQclear(r);
		}
		json_decref(claims);
	} else {
		PGresult *r = client_refresh_token_query(tr.token, client->client_id,
		    "SELECT family_id FROM oauth_refresh_tokens WHERE token_hash = $1::bytea AND client_id = $2");
		ok = r != NULL;
		/* RFC 7009 §2.1: revoking a refresh token revokes its grant's access tokens too. */
		if (r && PQntuples(r) == 1)
			oidc_revoke_family(PQgetvalue(r, 0, 0));
		if (r)
			PQclear(r);
	}
	oidc_client_release(client);
	token_request_free(&tr);
	if (!ok) {
		oidc_reply_error(ex, 503, "temporarily_unavailable", "the token store is unavailable");
		return;
	}
	/* Unknown or foreign tokens get the same 200: nothing to learn here. */
	http_reply_header(ex, "Cache-Control", "no-store");
	http_reply(ex, 200, NULL, NULL, 0);
}
