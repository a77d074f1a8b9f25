/*
 * The admin API's applications: OIDC clients (/api/admin/clients), their
 * roles (/api/admin/clients/<id>/roles[/<name>]) and the signing keys
 * (/api/admin/keys). Clients from OIDC_CLIENTS / OIDC_CLIENTS_FILE are listed
 * read-only ("configured") and refused for changes (409): their source of
 * truth is the configuration. A new or rotated client secret is in the
 * answer once; only its SHA-256 is stored. Key changes go to the signer
 * (signer/signer_admin.c), which alone holds the key-encryption key.
 */
#include "workers/admin_api.h"
#include "proto/app_role.h"
#include "proto/oidc_clients.h"
#include "proto/json_body.h"
#include "workers/ipc_client.h"
#include "workers/oidc_clients.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M(m) (c->ex->req.method == HTTP_METHOD_##m)

static void fail_free(struct admin_call *c, int status, const char *error, const char *why)
{
	admin_fail(c, status, error, why);
	admin_call_free(c);
}

static void method_not_allowed(struct admin_call *c, const char *allow)
{
	http_reply_header(c->ex, "Allow", allow);
	fail_free(c, 405, "method_not_allowed", "method not allowed on this path");
}

static bool body_json(struct admin_call *c)
{
	const char *why = NULL;
	if (!http_exchange_is_json(c->ex)) {
		fail_free(c, 415, "unsupported_media_type", "send application/json");
		return false;
	}
	if (!(c->body = json_body_parse(c->ex->body, c->ex->body_len, &why))) {
		fail_free(c, 400, "invalid_request", why ? why : "the body is not a JSON object");
		return false;
	}
	return true;
}

/* ---- clients ---- */

static json_t *space_array(const char *s, char sep)
{
	json_t *a = json_array();
	const char *p = s;
	while (p && *p) {
		const char *end = strchr(p, sep);
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p = end ? end + 1 : p + n;
	}
	return a;
}

json_t *admin_client_json(const struct store_reply *r, unsigned i)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:s,s:b,s:I,s:b}", "clientId",
	    store_text(r, i, ADMIN_CLIENT_ID), "name", store_text(r, i, ADMIN_CLIENT_NAME), "redirectUris",
	    space_array(store_text(r, i, ADMIN_CLIENT_REDIRECT_URIS), ' '), "postLogoutRedirectUris",
	    space_array(store_text(r, i, ADMIN_CLIENT_POST_LOGOUT_URIS), ' '), "grantTypes",
	    space_array(store_text(r, i, ADMIN_CLIENT_GRANT_TYPES), ','), "scopes",
	    space_array(store_text(r, i, ADMIN_CLIENT_SCOPES), ','), "public", store_bool(r, i, ADMIN_CLIENT_PUBLIC),
	    "skipConsent", store_bool(r, i, ADMIN_CLIENT_SKIP_CONSENT), "requirePkce",
	    store_bool(r, i, ADMIN_CLIENT_REQUIRE_PKCE), "idTokenAlg", store_text(r, i, ADMIN_CLIENT_ID_TOKEN_ALG),
	    "admin", store_bool(r, i, ADMIN_CLIENT_ADMIN), "createdAt",
	    (json_int_t)store_int(r, i, ADMIN_CLIENT_CREATED_UNIX), "readOnly", 0);
}

static json_t *config_client_json(const struct oidc_client *k)
{
	json_t *uris = json_array(), *logout = json_array();
	char scopes[160];
	for (size_t i = 0; i < k->n_redirect_uris; i++)
		json_array_append_new(uris, json_string(k->redirect_uris[i]));
	for (size_t i = 0; i < k->n_post_logout_uris; i++)
		json_array_append_new(logout, json_string(k->post_logout_uris[i]));
	oidc_scope_string(k->scopes, scopes, sizeof(scopes));
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:b,s:b}", "clientId", k->client_id, "name", k->name ? k->name : "",
	    "redirectUris", uris, "postLogoutRedirectUris", logout, "scopes", space_array(scopes, ' '), "public",
	    !k->has_secret, "skipConsent", k->skip_consent, "readOnly", 1);
}

static void clients_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array(), *configured = json_array();
	const struct oidc_client *k;
	const char *next = NULL;

	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, admin_client_json(r, i));
	if (r->n_rows && (int)r->n_rows == c->limit)
		next = store_text(r, r->n_rows - 1, ADMIN_CLIENT_ID);
	for (size_t i = 0; !c->text[0] && (k = oidc_registry_config_client(i)); i++)
		json_array_append_new(configured, config_client_json(k));
	admin_reply_json(c->ex, 200,
	    json_pack("{s:o,s:o,s:s?}", "clients", list, "configured", configured, "nextCursor", next));
}

static void clients_list(struct admin_call *c)
{
	const char *cursor, *l;
	char *end;
	long limit;

	if (form_parse(c->ex->req.query.p, c->ex->req.query.len, 4096, &c->form) != FORM_OK) {
		fail_free(c, 400, "invalid_request", "malformed query string");
		return;
	}
	c->has_form = true;
	cursor = form_get(&c->form, "cursor");
	l = form_get(&c->form, "limit");
	limit = l ? strtol(l, &end, 10) : 50;
	if ((l && (*end || limit < 1 || limit > 100)) || (cursor && !oidc_client_id_valid(cursor, strlen(cursor)))) {
		fail_free(c, 400, "invalid_request", "limit must be 1..100 and cursor a client id");
		return;
	}
	c->limit = (int)limit;
	snprintf(c->text, sizeof(c->text), "%s", cursor ? "after" : "");	/* configured ones on the first page */
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENTS_LIST, clients_listed, cursor ? STORE_V_TEXT(cursor) : STORE_V_NULL,
	    STORE_V_INT(c->limit));
}

static void client_one(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1) {
		admin_fail(c, 404, "not_found", "no such client");
		return;
	}
	json_t *o = admin_client_json(r, 0);
	if (c->secret[0])	/* shown once: at creation and rotation */
		json_object_set_new(o, "clientSecret", json_string(c->secret));
	admin_reply_json(c->ex, c->limit == 201 ? 201 : 200, o);
}

static void client_created(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1) {
		admin_fail(c, 409, "conflict", "a client with this id exists");
		return;
	}
	c->limit = 201;
	client_one(c, r);
}

/* A JSON array of strings, joined with sep into out after check; absent:
 * def. false with *why set when malformed. */
static bool join_list(const json_t *a, const char *def, char sep, size_t max_items, bool (*ok)(const char *), char *out,
    size_t cap, const char **why, const char *what)
{
	size_t i, o = 0;
	json_t *v;

	if (!a) {
		snprintf(out, cap, "%s", def);
		return true;
	}
	*why = what;
	if (!json_is_array(a) || json_array_size(a) > max_items)
		return false;
	out[0] = '\0';
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (!s || !ok(s) || o + strlen(s) + 2 > cap)
			return false;
		if (o)
			out[o++] = sep;
		o += (size_t)snprintf(out + o, cap - o, "%s", s);
	}
	*why = NULL;
	return true;
}

static bool uri_ok(const char *s)
{
	return oidc_redirect_uri_valid(s, strlen(s));
}

static bool grant_ok(const char *s)
{
	return !strcmp(s, "authorization_code") || !strcmp(s, "refresh_token") || !strcmp(s, "client_credentials");
}

/* Scopes a client may be given here; admin is the client's flag, not a scope. */
static bool scope_ok(const char *s)
{
	unsigned b;
	return oidc_scope_parse(s, strlen(s), &b) == 0 && b && !(b & ~(unsigned)OIDC_SCOPE_ALL) && !strchr(s, ' ');
}

struct client_fields {
	const char *name, *alg;
	char redirects[OIDC_MAX_URIS * (OIDC_MAX_URI_LEN + 1)], logouts[OIDC_MAX_URIS * (OIDC_MAX_URI_LEN + 1)];
	char grants[80], scopes[120];
	int skip_consent, require_pkce, admin, is_public;
	bool has_redirects, has_logouts, has_grants, has_scopes;
};

/* The fields of a create or update; false: answered (400). */
static bool client_fields(struct admin_call *c, struct client_fields *f, bool create)
{
	const json_t *b = c->body;
	const char *why = NULL;
	bool present;

	f->name = json_body_string(b, "name", 200, &present);
	if (present && (!f->name || !*f->name))
		why = "name must be a non-empty string of at most 200 bytes";
	f->alg = json_body_string(b, "idTokenAlg", 8, &present);
	if (!why && present && (!f->alg || (*f->alg && !oidc_alg_valid(f->alg))))
		why = "idTokenAlg must be RS256, ES256 or EdDSA";
	f->has_redirects = json_object_get(b, "redirectUris") != NULL;
	f->has_logouts = json_object_get(b, "postLogoutRedirectUris") != NULL;
	f->has_grants = json_object_get(b, "grantTypes") != NULL;
	f->has_scopes = json_object_get(b, "scopes") != NULL;
	if (!why)
		join_list(json_object_get(b, "redirectUris"), "", ' ', OIDC_MAX_URIS, uri_ok, f->redirects,
		    sizeof(f->redirects), &why, "redirectUris must be an array of https (or http://localhost) URIs");
	if (!why)
		join_list(json_object_get(b, "postLogoutRedirectUris"), "", ' ', OIDC_MAX_URIS, uri_ok, f->logouts,
		    sizeof(f->logouts), &why, "postLogoutRedirectUris must be an array of URIs");
	if (!why)
		join_list(json_object_get(b, "grantTypes"), "authorization_code,refresh_token", ',', 3, grant_ok, f->grants,
		    sizeof(f->grants), &why, "grantTypes: authorization_code, refresh_token, client_credentials");
	if (!why)
		join_list(json_object_get(b, "scopes"), "openid,profile,email,offline_access,groups,roles", ',', 8, scope_ok,
		    f->scopes, sizeof(f->scopes), &why, "scopes: openid, profile, email, offline_access, groups, wallet, roles");
	bool v;
	const char *bools[] = { "skipConsent", "requirePkce", "admin", "public" };
	int *outs[] = { &f->skip_consent, &f->require_pkce, &f->admin, &f->is_public };
	for (int i = 0; i < 4; i++) {
		*outs[i] = -1;
		if (json_body_bool(b, bools[i], false, &v) < 0)
			why = why ? why : "skipConsent, requirePkce, admin and public are true or false";
		else if (json_object_get(b, bools[i]))
			*outs[i] = v;
	}
	if (!why && create && (!f->name || !f->has_redirects))
		why = "name and redirectUris are required";
	if (!why && !create && f->is_public >= 0)
		why = "public cannot change: delete and create the client again";
	if (!why && f->is_public == 1 && (strstr(f->grants, "client_credentials") || f->admin == 1))
		why = "a public client cannot use client_credentials or be admin";
	if (why) {
		fail_free(c, 400, "invalid_request", why);
		return false;
	}
	return true;
}

static void client_create(struct admin_call *c)
{
	struct client_fields *f;
	const char *id;
	char generated[TOKEN_STR_LEN], hash_hex[2 + 64 + 1];
	bool present;

	if (!body_json(c))
		return;
	if (!(f = calloc(1, sizeof(*f)))) {
		fail_free(c, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	id = json_body_string(c->body, "clientId", OIDC_CLIENT_ID_MAX, &present);
	if (present && (!id || !oidc_client_id_valid(id, strlen(id)))) {
		free(f);
		fail_free(c, 400, "invalid_request", "clientId must be 1..128 of A-Z a-z 0-9 . _ ~ -");
		return;
	}
	if (!client_fields(c, f, true)) {
		free(f);
		return;
	}
	if (!id) {
		secure_token(generated);
		generated[22] = '\0';	/* 128 bits is plenty for a name */
		id = generated;
	}
	if (oidc_registry_is_config_client(id)) {
		free(f);
		fail_free(c, 409, "conflict", "this client id is configured in OIDC_CLIENTS");
		return;
	}
	if (f->is_public != 1) {
		secure_token(c->secret);
		secure_sha256_param(c->secret, strlen(c->secret), hash_hex);
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_CREATE, client_created, STORE_V_TEXT(id),
	    f->is_public == 1 ? STORE_V_NULL : STORE_V_TEXT(hash_hex), STORE_V_TEXT(f->name), STORE_V_TEXT(f->redirects),
	    STORE_V_TEXT(f->logouts), STORE_V_TEXT(f->grants), STORE_V_TEXT(f->scopes), STORE_V_BOOL(f->is_public == 1),
	    STORE_V_BOOL(f->skip_consent == 1), STORE_V_BOOL(f->require_pkce != 0), STORE_V_TEXT(f->alg ? f->alg : ""),
	    STORE_V_BOOL(f->admin == 1));
	free(f);
}

static struct store_value opt_bool_value(int v)
{
	return v < 0 ? STORE_V_NULL : STORE_V_BOOL(v);
}

static void client_update(struct admin_call *c)
{
	struct client_fields *f;

	if (!body_json(c))
		return;
	if (!(f = calloc(1, sizeof(*f)))) {
		fail_free(c, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	if (client_fields(c, f, false))
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_UPDATE, client_one, STORE_V_TEXT(c->path.seg[1]),
		    f->name ? STORE_V_TEXT(f->name) : STORE_V_NULL, f->has_redirects ? STORE_V_TEXT(f->redirects) : STORE_V_NULL,
		    f->has_logouts ? STORE_V_TEXT(f->logouts) : STORE_V_NULL, f->has_grants ? STORE_V_TEXT(f->grants) : STORE_V_NULL,
		    f->has_scopes ? STORE_V_TEXT(f->scopes) : STORE_V_NULL, opt_bool_value(f->skip_consent),
		    opt_bool_value(f->require_pkce), f->alg ? STORE_V_TEXT(f->alg) : STORE_V_NULL, opt_bool_value(f->admin));
	free(f);
}

static void client_rotate(struct admin_call *c)
{
	uint8_t h[SHA256_LEN];
	char hash_hex[2 + 64 + 1] = "\\x";

	secure_token(c->secret);
	secure_sha256(c->secret, strlen(c->secret), h);
	secure_hex(h, sizeof(h), hash_hex + 2);
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_SECRET, client_one, STORE_V_TEXT(c->path.seg[1]), STORE_V_TEXT(hash_hex));
}

/* ---- roles of an application ---- */

json_t *admin_role_json(const struct store_reply *r, unsigned i)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:I}", "clientId", store_text(r, i, APP_ROLE_CLIENT_ID), "name",
	    store_text(r, i, APP_ROLE_NAME), "description", store_text(r, i, APP_ROLE_DESCRIPTION), "permissions",
	    space_array(store_text(r, i, APP_ROLE_PERMISSIONS), ','), "members",
	    (json_int_t)store_int(r, i, APP_ROLE_MEMBERS));
}

static void roles_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, admin_role_json(r, i));
	admin_reply_json(c->ex, 200, json_pack("{s:o}", "roles", list));
}

static void role_put_done(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1)
		admin_fail(c, 404, "not_found", "no such role");
	else
		admin_reply_json(c->ex, 200, admin_role_json(r, 0));
}

static void role_put(struct admin_call *c)
{
	const char *name = c->path.seg[3], *description;
	char perms[APP_ROLE_MAX_PERMISSIONS * (APP_PERMISSION_MAX + 1)], joined[sizeof(perms)] = "";
	bool present;
	size_t i, o = 0;
	json_t *a, *v;

	if (!body_json(c))
		return;
	description = json_body_string(c->body, "description", APP_ROLE_DESCRIPTION_MAX, &present);
	a = json_object_get(c->body, "permissions");
	if ((present && !description) || (a && (!json_is_array(a) || json_array_size(a) > APP_ROLE_MAX_PERMISSIONS))) {
		fail_free(c, 400, "invalid_request", "description (<= 200 bytes) and permissions (an array) are malformed");
		return;
	}
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (!s || !app_permission_valid(s, strlen(s))) {
			fail_free(c, 400, "invalid_request", "a permission is 1..128 of A-Z a-z 0-9 . _ : / * - (first a letter or digit)");
			return;
		}
		o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", o ? "," : "", s);
	}
	if (app_permissions_normalize(joined, strlen(joined), perms, sizeof(perms)) < 0) {
		fail_free(c, 400, "invalid_request", "too many permissions");
		return;
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLE_PUT, role_put_done, STORE_V_TEXT(c->path.seg[1]), STORE_V_TEXT(name),
	    STORE_V_TEXT(description ? description : ""), STORE_V_TEXT(perms));
}

static void client_roles(struct admin_call *c)
{
	const struct admin_path *p = &c->path;

	if (p->n == 3) {
		if (M(GET))
			ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLES_LIST, roles_listed, STORE_V_TEXT(p->seg[1]));
		else
			method_not_allowed(c, "GET");
		return;
	}
	if (!app_role_name_valid(p->seg[3], strlen(p->seg[3]))) {
		fail_free(c, 400, "invalid_request", "a role name is 1..64 of a-z 0-9 . _ : - (first a letter or digit)");
		return;
	}
	if (M(PUT))
		role_put(c);
	else if (M(DELETE)) {
		snprintf(c->text, sizeof(c->text), "no such role");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLE_DELETE, admin_counted, STORE_V_TEXT(p->seg[1]), STORE_V_TEXT(p->seg[3]));
	} else
		method_not_allowed(c, "PUT, DELETE");
}

static void clients(struct admin_call *c)
{
	const struct admin_path *p = &c->path;
	bool configured = p->n >= 2 && oidc_registry_is_config_client(p->seg[1]);

	if (p->n == 1) {
		if (M(GET))
			clients_list(c);
		else if (M(POST))
			client_create(c);
		else
			method_not_allowed(c, "GET, POST");
		return;
	}
	if (p->n >= 3 && admin_path_is(p, 2, "roles") && p->n <= 4) {
		client_roles(c);	/* a configured client is an application too */
		return;
	}
	if (configured && !M(GET)) {
		fail_free(c, 409, "conflict", "this client is configured in OIDC_CLIENTS / OIDC_CLIENTS_FILE: read-only here");
		return;
	}
	if (p->n == 2 && M(GET))
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_GET, client_one, STORE_V_TEXT(p->seg[1]));
	else if (p->n == 2 && M(PATCH))
		client_update(c);
	else if (p->n == 2 && M(DELETE)) {
		snprintf(c->text, sizeof(c->text), "no such client");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_DELETE, admin_counted, STORE_V_TEXT(p->seg[1]));
	} else if (p->n == 3 && admin_path_is(p, 2, "rotate-secret") && M(POST))
		client_rotate(c);
	else if (p->n == 2)
		method_not_allowed(c, "GET, PATCH, DELETE");
	else
		fail_free(c, 404, "not_found", "no such endpoint");
}

/* ---- signing keys ---- */

static void keys_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++) {
		json_t *k = json_pack("{s:s,s:s,s:s,s:I}", "kid", store_text(r, i, ADMIN_KEY_KID), "alg",
		    store_text(r, i, ADMIN_KEY_ALG), "state", store_text(r, i, ADMIN_KEY_STATE), "createdAt",
		    (json_int_t)store_int(r, i, ADMIN_KEY_CREATED_UNIX));
		if (!store_is_null(r, i, ADMIN_KEY_PUBLISH_UNTIL))
			json_object_set_new(k, "publishUntil", json_integer(store_int(r, i, ADMIN_KEY_PUBLISH_UNTIL)));
		if (!store_is_null(r, i, ADMIN_KEY_REVOKED_UNIX))
			json_object_set_new(k, "revokedAt", json_integer(store_int(r, i, ADMIN_KEY_REVOKED_UNIX)));
		json_array_append_new(list, k);
	}
	admin_reply_json(c->ex, 200, json_pack("{s:o}", "keys", list));
}

/* signer/signer_admin.h's answers; keystore_result values. */
static void keys_changed(const struct ipc_msg *reply, void *arg)
{
	struct admin_call *c = arg;

	if (!reply)
		admin_fail(c, 503, "temporarily_unavailable", "the signer is unavailable");
	else if (reply->status == 0)
		admin_reply_json(c->ex, 200, json_loads(reply->s1 ? reply->s1 : "{}", 0, NULL));
	else if (reply->status == -10)
		admin_fail(c, 403, "forbidden", "the caller is not an admin (any more)");
	else if (reply->status == -2 || reply->status == -3)
		admin_fail(c, 404, "not_found", "no such published key");
	else if (reply->status == -4)
		admin_fail(c, 409, "conflict", "too many keys published; wait for retiring keys to leave the JWKS");
	else if (reply->status == -11)
		admin_fail(c, 400, "invalid_request", "alg must be RS256, ES256 or EdDSA");
	else
		admin_fail(c, 503, "temporarily_unavailable", "the key change failed; try again");
	admin_call_free(c);
}

static void keys_to_signer(struct admin_call *c, int kind, const char *arg)
{
	struct ipc_msg req = { .type = IPC_KEYS_REQ, .kind = kind, .s1 = (char *)arg, .s1_len = strlen(arg),
		.s2 = c->caller.proof, .s2_len = strlen(c->caller.proof) };
	if (ipc_client_call(worker->signer, &req, 20000, keys_changed, c) < 0)
		fail_free(c, 503, "temporarily_unavailable", "the signer is unavailable");
}

static void keys(struct admin_call *c)
{
	const struct admin_path *p = &c->path;

	if (p->n == 1 && M(GET)) {
		admin_store_call(c, STORE_OP_ADMIN_KEYS_LIST, keys_listed, NULL, 0);
	} else if (p->n == 2 && admin_path_is(p, 1, "rotate") && M(POST)) {
		const char *alg = "";
		bool present;
		if (c->ex->body_len && !body_json(c))
			return;
		if (c->body && ((alg = json_body_string(c->body, "alg", 8, &present)) == NULL ? present : false)) {
			fail_free(c, 400, "invalid_request", "alg must be RS256, ES256 or EdDSA");
			return;
		}
		if (!alg)
			alg = "";
		if (*alg && !oidc_alg_valid(alg)) {
			fail_free(c, 400, "invalid_request", "alg must be RS256, ES256 or EdDSA");
			return;
		}
		keys_to_signer(c, IPC_KEYS_ROTATE, alg);
	} else if (p->n == 3 && admin_path_is(p, 2, "revoke") && M(POST)) {
		keys_to_signer(c, IPC_KEYS_REVOKE, p->seg[1]);
	} else {
		fail_free(c, 404, "not_found", "no such endpoint");
	}
}

bool admin_api_apps(struct admin_call *c)
{
	if (admin_path_is(&c->path, 0, "clients"))
		clients(c);
	else if (admin_path_is(&c->path, 0, "keys"))
		keys(c);
	else
		return true;
	return false;
}
