/*
 * The admin API, /api/admin/ (JSON): the dispatch, and users with their
 * sessions, passkeys and roles. Clients, roles and keys are in
 * admin_api_apps.c. Every request is authenticated first
 * (workers/admin_auth.h); every operation goes to the store with the
 * caller's proof, which the store checks again (store/admin_actor.h).
 * README "Administration" lists the paths.
 *
 * Errors: 400 invalid_request (malformed input, named), 401/403 (see
 * admin_auth.h), 404 not_found (unknown id or path), 405 (wrong method),
 * 409 conflict (taken email or client id), 415 (not JSON), 501 (a feature
 * of another branch), 503 (store or kdf unavailable, with Retry-After).
 */
#include "workers/handlers.h"
#include "workers/admin_api.h"
#include "common/config.h"
#include "kdf/kdf.h"
#include "master/user_opts.h"
#include "proto/base64url.h"
#include "proto/email.h"
#include "proto/json_body.h"
#include "workers/admin_call.h"
#include "workers/json_util.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M(m) (ex->req.method == HTTP_METHOD_##m)

static void bad_request(struct admin_call *c, const char *why)
{
	admin_fail(c, 400, "invalid_request", why);
	admin_call_free(c);
}

static void not_found(struct admin_call *c, const char *why)
{
	admin_fail(c, 404, "not_found", why);
}

static void method_not_allowed(struct admin_call *c, const char *allow)
{
	http_reply_header(c->ex, "Allow", allow);
	admin_fail(c, 405, "method_not_allowed", "method not allowed on this path");
	admin_call_free(c);
}

/* ---- JSON of store rows ---- */

json_t *admin_user_json(const struct store_reply *r, unsigned i)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:b,s:o,s:I}", "id", store_text(r, i, ADMIN_USER_ROW_ID), "email",
	    store_text(r, i, ADMIN_USER_ROW_EMAIL), "name", store_text(r, i, ADMIN_USER_ROW_NAME), "admin",
	    store_bool(r, i, ADMIN_USER_ROW_IS_ADMIN), "disabled", store_bool(r, i, ADMIN_USER_ROW_DISABLED), "groups",
	    json_csv_array(store_text(r, i, ADMIN_USER_ROW_GROUPS)), "createdAt",
	    (json_int_t)store_int(r, i, ADMIN_USER_ROW_CREATED_UNIX));
}

static json_t *revoked_json(const struct store_reply *r)
{
	return json_pack("{s:s,s:b,s:{s:I,s:I,s:I}}", "id", store_text(r, 0, ADMIN_USER_REVOKED_ID), "disabled",
	    store_bool(r, 0, ADMIN_USER_REVOKED_DISABLED), "revoked", "sessions",
	    (json_int_t)store_int(r, 0, ADMIN_USER_REVOKED_SESSIONS), "refreshTokens",
	    (json_int_t)store_int(r, 0, ADMIN_USER_REVOKED_REFRESH_TOKENS), "accessTokens",
	    (json_int_t)store_int(r, 0, ADMIN_USER_REVOKED_ACCESS_TOKENS));
}

/* ---- request parts ---- */

/* The JSON body of a change (required for POST/PATCH/PUT with a body). */
static bool parse_body(struct admin_call *c, bool required)
{
	const char *why = NULL;

	if (c->ex->body_len == 0 && !required)
		return true;
	if (!http_exchange_is_json(c->ex)) {
		admin_fail(c, 415, "unsupported_media_type", "send application/json");
		admin_call_free(c);
		return false;
	}
	if (!(c->body = json_body_parse(c->ex->body, c->ex->body_len, &why))) {
		admin_fail(c, 400, "invalid_request", why ? why : "the body is not a JSON object");
		admin_call_free(c);
		return false;
	}
	return true;
}

/* The query string as a form (limit, cursor, q, ...). */
static bool parse_query(struct admin_call *c)
{
	if (form_parse(c->ex->req.query.p, c->ex->req.query.len, 4096, &c->form) != FORM_OK) {
		bad_request(c, "malformed query string");
		return false;
	}
	c->has_form = true;
	const char *l = form_get(&c->form, "limit");
	char *end;
	long v = l ? strtol(l, &end, 10) : 50;
	if (l && (*end || v < 1 || v > 100)) {
		bad_request(c, "limit must be 1..100");
		return false;
	}
	c->limit = (int)v;
	return true;
}

/* A field that must be a string of at most max bytes, or absent. */
static bool opt_string(struct admin_call *c, const char *key, size_t max, const char **out)
{
	bool present = false;
	*out = json_body_string(c->body, key, max, &present);
	if (present && !*out) {
		char why[96];
		snprintf(why, sizeof(why), "%s must be a string of at most %zu bytes", key, max);
		bad_request(c, why);
		return false;
	}
	return true;
}

static bool opt_bool(struct admin_call *c, const char *key, int *out)
{
	bool v = false;
	int rc = json_body_bool(c->body, key, false, &v);
	if (rc < 0) {
		char why[64];
		snprintf(why, sizeof(why), "%s must be true or false", key);
		bad_request(c, why);
		return false;
	}
	*out = json_object_get(c->body, key) ? v : -1;
	return true;
}

/* ---- users ---- */

static void users_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array(), *o;
	char raw[400], cursor[600] = "";

	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, admin_user_json(r, i));
	if (r->n_rows > 0 && (int)r->n_rows == c->limit) {
		unsigned last = r->n_rows - 1;
		int n = snprintf(raw, sizeof(raw), "%s~%s", store_text(r, last, ADMIN_USER_ROW_PAGE_KEY),
		    store_text(r, last, ADMIN_USER_ROW_EMAIL_NORMALIZED));
		if (n > 0 && (size_t)n < sizeof(raw))
			base64url_encode((const uint8_t *)raw, (size_t)n, cursor);
	}
	o = json_pack("{s:o,s:s?}", "users", list, "nextCursor", *cursor ? cursor : NULL);
	admin_reply_json(c->ex, 200, o);
}

static void users_list(struct admin_call *c)
{
	const char *q, *cursor;
	char raw[400], *tilde = NULL;
	long n = 0;

	if (!parse_query(c))
		return;
	q = form_get(&c->form, "q");
	cursor = form_get(&c->form, "cursor");
	if (q && strlen(q) > 254) {
		bad_request(c, "q is longer than 254 bytes");
		return;
	}
	if (cursor && ((n = base64url_decode(cursor, strlen(cursor), (uint8_t *)raw, sizeof(raw) - 1)) <= 0 ||
	                  memchr(raw, '\0', (size_t)n) || !(raw[n] = '\0', tilde = strchr(raw, '~')) ||
	                  tilde - raw != 27)) {
		bad_request(c, "cursor is not one this API gave");
		return;
	}
	if (tilde)
		*tilde++ = '\0';
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USERS_LIST, users_listed, q && *q ? STORE_V_TEXT(q) : STORE_V_NULL,
	    tilde ? STORE_V_TEXT(raw) : STORE_V_NULL, tilde ? STORE_V_TEXT(tilde) : STORE_V_NULL, STORE_V_INT(c->limit));
}

/* One user (or 404), then its roles for the detail. */
static void user_roles_for_detail(struct admin_call *c, const struct store_reply *r)
{
	json_t *roles = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(roles, json_pack("{s:s,s:s}", "clientId", store_text(r, i, USER_APP_ROLE_CLIENT_ID),
		    "role", store_text(r, i, USER_APP_ROLE_ROLE)));
	json_object_set_new(c->kept, "roles", roles);
	admin_reply_json(c->ex, 200, json_incref(c->kept));
}

static void user_one(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1) {
		not_found(c, "no such user");
		return;
	}
	c->kept = admin_user_json(r, 0);
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLES, user_roles_for_detail, STORE_V_TEXT(c->path.seg[1]));
}

static void user_changed(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1)
		not_found(c, "no such user");
	else
		admin_reply_json(c->ex, 200, admin_user_json(r, 0));
}

static void user_created(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1)
		admin_fail(c, 409, "conflict", "an account with this email exists");
	else
		admin_reply_json(c->ex, 201, admin_user_json(r, 0));
}

/* What a create asked for, kept while the kdf hashes the password. */
struct user_create {
	struct admin_call *c;
	char email[EMAIL_MAX_LEN + 1], normalized[EMAIL_MAX_LEN + 1], name[USER_NAME_MAX_BYTES + 1];
	char groups[USER_GROUPS_MAX_BYTES + 1];
	bool admin;
};

static void user_create_store(struct user_create *u, const char *password_hash)
{
	struct admin_call *c = u->c;
	c->chained = false;
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_CREATE, user_created, STORE_V_TEXT(u->email), STORE_V_TEXT(u->normalized),
	    STORE_V_TEXT(u->name), password_hash ? STORE_V_TEXT(password_hash) : STORE_V_NULL, STORE_V_BOOL(u->admin),
	    STORE_V_TEXT(u->groups));
}

static void user_password_hashed(const struct ipc_msg *reply, void *arg)
{
	struct user_create *u = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		admin_fail(u->c, 503, "temporarily_unavailable", "the password hasher is unavailable");
		admin_call_free(u->c);
	} else {
		user_create_store(u, reply->s1);
	}
	free(u);
}

static void user_create(struct admin_call *c)
{
	const char *email, *name, *password;
	int admin;
	struct user_create *u;

	if (!parse_body(c, true) || !opt_string(c, "email", EMAIL_MAX_LEN, &email) ||
	    !opt_string(c, "name", USER_NAME_MAX_BYTES, &name) || !opt_string(c, "password", KDF_MAX_PASSWORD, &password) ||
	    !opt_bool(c, "admin", &admin))
		return;
	if (!(u = calloc(1, sizeof(*u)))) {
		admin_fail(c, 503, "temporarily_unavailable", "out of memory");
		admin_call_free(c);
		return;
	}
	u->c = c;
	u->admin = admin == 1;
	json_t *groups = json_object_get(c->body, "groups");
	const char *why = !email || email_normalize(email, strlen(email), u->normalized, sizeof(u->normalized)) < 0
	    ? "email is missing or not a valid address"
	    : name && !user_name_valid(name) ? "name is not a valid display name"
	    : password && !user_password_acceptable(password, strlen(password)) ? "password must have 8 characters or more"
	    : groups && !admin_groups_from_json(groups, u->groups, sizeof(u->groups)) ? "groups must be an array of names"
	    : NULL;
	if (why) {
		free(u);
		bad_request(c, why);
		return;
	}
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "");
	if (!password) {	/* no password: signs in by passkey, wallet, or a reset */
		user_create_store(u, NULL);
		free(u);
		return;
	}
	struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = (char *)password, .s1_len = strlen(password) };
	if (ipc_client_call(worker->kdf, &req, 30000, user_password_hashed, u) < 0) {
		free(u);
		admin_fail(c, 503, "temporarily_unavailable", "the password hasher is unavailable");
		admin_call_free(c);
	}
}

static void user_update(struct admin_call *c)
{
	const char *name;
	int admin;
	char groups[USER_GROUPS_MAX_BYTES + 1];

	if (!parse_body(c, true) || !opt_string(c, "name", USER_NAME_MAX_BYTES, &name) || !opt_bool(c, "admin", &admin))
		return;
	json_t *g = json_object_get(c->body, "groups");
	if (name && !user_name_valid(name)) {
		bad_request(c, "name is not a valid display name");
		return;
	}
	if (g && !admin_groups_from_json(g, groups, sizeof(groups))) {
		bad_request(c, "groups must be an array of names");
		return;
	}
	/* An admin does not demote themself by accident: another admin must. */
	if (admin == 0 && !strcmp(c->caller.user_id, c->path.seg[1])) {
		admin_fail(c, 409, "conflict", "you cannot remove your own admin rights");
		admin_call_free(c);
		return;
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_UPDATE, user_changed, STORE_V_TEXT(c->path.seg[1]),
	    admin < 0 ? STORE_V_NULL : STORE_V_BOOL(admin), name ? STORE_V_TEXT(name) : STORE_V_NULL,
	    g ? STORE_V_TEXT(groups) : STORE_V_NULL);
}

static void user_revoked(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1)
		not_found(c, "no such user");
	else
		admin_reply_json(c->ex, 200, revoked_json(r));
}

static bool not_self(struct admin_call *c, const char *what)
{
	if (strcmp(c->caller.user_id, c->path.seg[1]) != 0)
		return true;
	char why[96];
	snprintf(why, sizeof(why), "you cannot %s your own account here", what);
	admin_fail(c, 409, "conflict", why);
	admin_call_free(c);
	return false;
}

static void sessions_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:s,s:s}", "id", store_text(r, i, OWN_SESSION_ID),
		    "createdAt", (json_int_t)store_int(r, i, OWN_SESSION_CREATED_AT), "lastSeenAt",
		    (json_int_t)store_int(r, i, OWN_SESSION_LAST_SEEN_AT), "ip", store_text(r, i, OWN_SESSION_IP),
		    "userAgent", store_text(r, i, OWN_SESSION_USER_AGENT)));
	admin_reply_json(c->ex, 200, json_pack("{s:o}", "sessions", list));
}

static void passkeys_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:s,s:I}", "id", store_text(r, i, PASSKEY_ID), "name",
		    store_text(r, i, PASSKEY_NAME), "alg", (json_int_t)store_int(r, i, PASSKEY_ALG), "aaguid",
		    store_text(r, i, PASSKEY_AAGUID), "createdAt", (json_int_t)store_int(r, i, PASSKEY_CREATED_AT)));
	admin_reply_json(c->ex, 200, json_pack("{s:o}", "passkeys", list));
}

static void user_roles_listed(struct admin_call *c, const struct store_reply *r)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < r->n_rows; i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "clientId", store_text(r, i, USER_APP_ROLE_CLIENT_ID),
		    "role", store_text(r, i, USER_APP_ROLE_ROLE)));
	admin_reply_json(c->ex, 200, json_pack("{s:o}", "roles", list));
}

static void counted(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1 || store_int(r, 0, COUNT_N) == 0)
		not_found(c, c->text[0] ? c->text : "nothing to change");
	else
		admin_reply_json(c->ex, 200, json_pack("{s:s}", "status", "ok"));
}

void admin_counted(struct admin_call *c, const struct store_reply *r)
{
	counted(c, r);
}

/* /api/admin/users/<id>/roles/<client_id>/<role>: PUT grants, DELETE takes away. */
static void user_role(struct admin_call *c)
{
	struct http_exchange *ex = c->ex;
	const char *client = c->path.seg[3], *role = c->path.seg[4];

	if (!M(PUT) && !M(DELETE)) {
		method_not_allowed(c, "PUT, DELETE");
		return;
	}
	snprintf(c->text, sizeof(c->text), "%s", M(PUT) ? "no such user or role, or the user has it already"
	                                                : "the user does not have this role");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLE_SET, counted, STORE_V_TEXT(c->path.seg[1]), STORE_V_TEXT(client),
	    STORE_V_TEXT(role), STORE_V_BOOL(M(PUT)));
}

/* The other branches' features, as marked hooks. */
static void not_here(struct admin_call *c, const char *what)
{
	admin_fail(c, 501, "not_implemented", what);
	admin_call_free(c);
}

static void user_sub(struct admin_call *c)
{
	struct http_exchange *ex = c->ex;
	const struct admin_path *p = &c->path;
	const char *id = p->seg[1];
	int leeway = admin_token_leeway();

	if (p->n == 3 && admin_path_is(p, 2, "disable") && M(POST)) {
		if (not_self(c, "disable"))
			ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DISABLE, user_revoked, STORE_V_TEXT(id), STORE_V_BOOL(true),
			    STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "enable") && M(POST)) {
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DISABLE, user_revoked, STORE_V_TEXT(id), STORE_V_BOOL(false),
		    STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "revoke-sessions") && M(POST)) {
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_SIGN_OUT, user_revoked, STORE_V_TEXT(id), STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "sessions") && M(GET)) {
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_SESSIONS, sessions_listed, STORE_V_TEXT(id));
	} else if (p->n == 4 && admin_path_is(p, 2, "sessions") && M(DELETE)) {
		snprintf(c->text, sizeof(c->text), "no such session of this user");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_SESSION_REVOKE, counted, STORE_V_TEXT(id), STORE_V_TEXT(p->seg[3]));
	} else if (p->n == 3 && admin_path_is(p, 2, "passkeys") && M(GET)) {
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_PASSKEYS, passkeys_listed, STORE_V_TEXT(id));
	} else if (p->n == 4 && admin_path_is(p, 2, "passkeys") && M(DELETE)) {
		snprintf(c->text, sizeof(c->text), "no such passkey of this user");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_PASSKEY_DELETE, counted, STORE_V_TEXT(id), STORE_V_TEXT(p->seg[3]));
	} else if (p->n == 3 && admin_path_is(p, 2, "roles") && M(GET)) {
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLES, user_roles_listed, STORE_V_TEXT(id));
	} else if (p->n == 5 && admin_path_is(p, 2, "roles")) {
		user_role(c);
	} else if (p->n == 3 && admin_path_is(p, 2, "second-factor") && M(DELETE)) {
		snprintf(c->text, sizeof(c->text), "this account has no second factor");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_SECOND_FACTOR_OFF, counted, STORE_V_TEXT(id));
	} else if (p->n == 3 && admin_path_is(p, 2, "password-reset") && M(POST)) {
		/* TODO(mail, issue 11): send the password-reset email through the
		 * mail branch's outbox. audit: admin.user.password_reset */
		not_here(c, "password-reset email arrives with the mail branch");
	} else {
		not_found(c, "no such endpoint");
		admin_call_free(c);
	}
}

static void users(struct admin_call *c)
{
	struct http_exchange *ex = c->ex;
	const struct admin_path *p = &c->path;

	if (p->n == 1) {
		if (M(GET))
			users_list(c);
		else if (M(POST))
			user_create(c);
		else
			method_not_allowed(c, "GET, POST");
		return;
	}
	if (p->n == 2) {
		if (M(GET))
			ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_GET, user_one, STORE_V_TEXT(p->seg[1]));
		else if (M(PATCH))
			user_update(c);
		else if (M(DELETE)) {
			if (not_self(c, "delete"))
				ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DELETE, user_revoked, STORE_V_TEXT(p->seg[1]),
				    STORE_V_INT(admin_token_leeway()));
		} else
			method_not_allowed(c, "GET, PATCH, DELETE");
		return;
	}
	user_sub(c);
}

/* ---- dispatch ---- */

static void api_authenticated(struct http_exchange *ex, const struct admin_caller *caller, void *arg)
{
	struct admin_call *c = admin_call_new(ex, caller, false);
	(void)arg;
	if (!c)
		return;
	if (admin_path_split(ex->req.path.p, ex->req.path.len, "/api/admin/", &c->path) < 0) {
		bad_request(c, "malformed path: ids are plain A-Z a-z 0-9 . _ ~ : - (proto/admin_path.h)");
		return;
	}
	if (c->path.n == 0) {
		not_found(c, "no such endpoint");
		admin_call_free(c);
		return;
	}
	if (admin_path_is(&c->path, 0, "users")) {
		users(c);
		return;
	}
	if (admin_api_apps(c)) {	/* not one of theirs either */
		not_found(c, "no such endpoint");
		admin_call_free(c);
	}
}

void handle_admin_api(struct http_exchange *ex)
{
	admin_authenticate(ex, false, api_authenticated, NULL);
}
