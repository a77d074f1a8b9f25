/*
 * The admin console's changes (POST, after admin_console.c checked the
 * caller and the CSRF token): users, applications and their roles, signing
 * keys. A destructive one answers a confirmation page first, whose form
 * repeats it with confirm=yes. Then the same store operation as the JSON
 * API (the store re-checks the caller) and a redirect back with a notice.
 */
#include "workers/admin_console.h"
#include "kdf/kdf.h"
#include "master/user_opts.h"
#include "proto/app_role.h"
#include "proto/email.h"
#include "proto/oidc_clients.h"
#include "workers/ipc_client.h"
#include "workers/oidc_clients.h"
#include "workers/pages.h"
#include "workers/store_client.h"
#include "workers/worker_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- after a change ---- */

static void back_to(struct admin_call *c, const char *path, const char *msg)
{
	char location[1200];
	snprintf(location, sizeof(location), "%.500s?msg=%.500s", path, msg);
	http_reply_redirect(c->ex, location);
}

static void back_to_user(struct admin_call *c, const char *msg)
{
	char path[200];
	snprintf(path, sizeof(path), "/admin/users/%s", c->path.seg[1]);
	back_to(c, path, msg);
}

static void back_to_client(struct admin_call *c, const char *msg)
{
	char path[200];
	snprintf(path, sizeof(path), "/admin/clients/%s", c->path.seg[1]);
	back_to(c, path, msg);
}

static void user_done(struct admin_call *c, const struct store_reply *r)
{
	back_to_user(c, r->n_rows == 1 ? c->text : "none");
}

static void user_count_done(struct admin_call *c, const struct store_reply *r)
{
	back_to_user(c, r->n_rows == 1 && store_int(r, 0, COUNT_N) > 0 ? c->text : "none");
}

static void user_deleted(struct admin_call *c, const struct store_reply *r)
{
	back_to(c, "/admin/users", r->n_rows == 1 ? "deleted" : "none");
}

static void user_created(struct admin_call *c, const struct store_reply *r)
{
	if (r->n_rows != 1) {
		admin_fail(c, 409, "conflict", "An account with this email exists.");
		return;
	}
	char path[200];
	snprintf(path, sizeof(path), "/admin/users/%s", store_text(r, 0, ADMIN_USER_ROW_ID));
	back_to(c, path, "created");
}

static void client_count_done(struct admin_call *c, const struct store_reply *r)
{
	back_to_client(c, r->n_rows == 1 && store_int(r, 0, COUNT_N) > 0 ? c->text : "none");
}

static void client_deleted(struct admin_call *c, const struct store_reply *r)
{
	back_to(c, "/admin/clients", r->n_rows == 1 && store_int(r, 0, COUNT_N) > 0 ? "deleted" : "none");
}

static void client_changed(struct admin_call *c, const struct store_reply *r)
{
	back_to_client(c, r->n_rows == 1 ? "saved" : "none");
}

/* A new secret: shown on this page once, never again. */
static void client_secret_page(struct admin_call *c, const struct store_reply *r)
{
	struct evbuffer *b = evbuffer_new();
	if (r->n_rows != 1) {
		evbuffer_free(b);
		admin_fail(c, 404, "not_found", "No such application (or it is public: no secret).");
		return;
	}
	evbuffer_add_printf(b, "<p>The client secret of <strong>");
	html_text(b, store_text(r, 0, ADMIN_CLIENT_ID));
	evbuffer_add_printf(b, "</strong>. Copy it now: it is stored only as a hash and will not be shown again.</p>"
			       "<p class=\"secret\" id=\"client-secret\">%s</p><p><a href=\"/admin/clients/", c->secret);
	html_text(b, store_text(r, 0, ADMIN_CLIENT_ID));
	evbuffer_add_printf(b, "\">Back to the application</a></p>");
	console_page(c, 200, "Client secret", b);
}

/* ---- confirmation of destructive actions ---- */

/* The page that repeats the POST with confirm=yes (and a fresh CSRF token);
 * extra: hidden fields to carry over (name=value pairs from the form). */
static void confirm_page(struct admin_call *c, const char *what, const char *const *carry)
{
	struct evbuffer *b = evbuffer_new();
	char action[300];

	snprintf(action, sizeof(action), "%.*s", (int)(c->ex->req.path.len < 290 ? c->ex->req.path.len : 290),
	    c->ex->req.path.p);
	evbuffer_add_printf(b, "<p class=\"error\">");
	html_text(b, what);
	evbuffer_add_printf(b, "</p><p>This cannot be undone.</p>");
	html_form(b, c, action, "confirm");
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"confirm\" value=\"yes\">");
	for (; carry && *carry; carry++) {
		const char *v = form_get(&c->form, *carry);
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", *carry);
		html_text(b, v ? v : "");
		evbuffer_add_printf(b, "\">");
	}
	evbuffer_add_printf(b, "<div class=\"actions\"><button type=\"submit\" class=\"danger\">Yes, do it</button>"
			       "<a href=\"/admin\">Cancel</a></div></form>");
	console_page(c, 200, "Please confirm", b);
	admin_call_free(c);
}

static bool confirmed(struct admin_call *c)
{
	const char *v = form_get(&c->form, "confirm");
	return v && !strcmp(v, "yes");
}

/* ---- users ---- */

struct console_create {
	struct admin_call *c;
	char email[EMAIL_MAX_LEN + 1], normalized[EMAIL_MAX_LEN + 1], name[USER_NAME_MAX_BYTES + 1];
	bool admin;
};

static void console_create_store(struct console_create *u, const char *hash)
{
	ADMIN_STORE_CALL(u->c, STORE_OP_ADMIN_USER_CREATE, user_created, STORE_V_TEXT(u->email),
	    STORE_V_TEXT(u->normalized), STORE_V_TEXT(u->name), hash ? STORE_V_TEXT(hash) : STORE_V_NULL,
	    STORE_V_BOOL(u->admin), STORE_V_TEXT(""));
}

static void console_hashed(const struct ipc_msg *reply, void *arg)
{
	struct console_create *u = arg;
	if (!reply || reply->status != 0 || !reply->s1) {
		admin_fail(u->c, 503, "temporarily_unavailable", "The password hasher is unavailable; try again.");
		admin_call_free(u->c);
	} else {
		console_create_store(u, reply->s1);
	}
	free(u);
}

void console_user_create(struct admin_call *c)
{
	const char *email = form_get(&c->form, "email"), *name = form_get(&c->form, "name");
	const char *password = form_get(&c->form, "password"), *admin = form_get(&c->form, "admin");
	struct console_create *u = calloc(1, sizeof(*u));
	const char *why = NULL;

	if (!u) {
		admin_fail(c, 503, "temporarily_unavailable", "Out of memory.");
		admin_call_free(c);
		return;
	}
	if (password && !*password)
		password = NULL;
	if (!email || strlen(email) > EMAIL_MAX_LEN ||
	    email_normalize(email, strlen(email), u->normalized, sizeof(u->normalized)) < 0)
		why = "The email is not a valid address.";
	else if (name && (strlen(name) > USER_NAME_MAX_BYTES || !user_name_valid(name)))
		why = "The name is not a valid display name.";
	else if (password && !user_password_acceptable(password, strlen(password)))
		why = "A password has 8 characters or more.";
	if (why) {
		free(u);
		admin_fail(c, 400, "invalid_request", why);
		admin_call_free(c);
		return;
	}
	u->c = c;
	u->admin = admin != NULL;
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "");
	if (!password) {
		console_create_store(u, NULL);
		free(u);
		return;
	}
	struct ipc_msg req = { .type = IPC_HASH_REQ, .s1 = (char *)password, .s1_len = strlen(password) };
	if (ipc_client_call(worker->kdf, &req, 30000, console_hashed, u) < 0) {
		free(u);
		admin_fail(c, 503, "temporarily_unavailable", "The password hasher is unavailable; try again.");
		admin_call_free(c);
	}
}

static void user_update(struct admin_call *c)
{
	const char *name = form_get(&c->form, "name"), *groups = form_get(&c->form, "groups");
	bool admin = form_get(&c->form, "admin") != NULL;
	char joined[USER_GROUPS_MAX_BYTES + 1] = "";
	size_t o = 0;

	/* groups typed as "a, b c": commas or spaces between names */
	for (const char *p = groups ? groups : ""; *p;) {
		size_t n = strcspn(p, ", \t\r\n");
		if (n && o + n + 2 < sizeof(joined))
			o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%.*s", o ? "," : "", (int)n, p);
		else if (n)
			o = sizeof(joined);	/* too long: refused below */
		p += n;
		p += strspn(p, ", \t\r\n");
	}
	if (!name || strlen(name) > USER_NAME_MAX_BYTES || !user_name_valid(name) || o >= sizeof(joined) ||
	    !user_groups_valid(joined)) {
		admin_fail(c, 400, "invalid_request", "The name or the groups are not valid.");
		admin_call_free(c);
		return;
	}
	if (!admin && !strcmp(c->caller.user_id, c->path.seg[1])) {
		admin_fail(c, 409, "conflict", "You cannot remove your own admin rights.");
		admin_call_free(c);
		return;
	}
	snprintf(c->text, sizeof(c->text), "saved");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_UPDATE, user_done, STORE_V_TEXT(c->path.seg[1]), STORE_V_BOOL(admin),
	    STORE_V_TEXT(name), STORE_V_TEXT(joined));
}

static bool not_self(struct admin_call *c)
{
	if (strcmp(c->caller.user_id, c->path.seg[1]) != 0)
		return true;
	admin_fail(c, 409, "conflict", "You cannot do this to your own account here.");
	admin_call_free(c);
	return false;
}

void console_user_post(struct admin_call *c)
{
	const struct admin_path *p = &c->path;
	const char *id = p->seg[1];
	int64_t leeway = admin_token_leeway();

	if (p->n == 3 && admin_path_is(p, 2, "update")) {
		user_update(c);
	} else if (p->n == 3 && admin_path_is(p, 2, "disable")) {
		if (!not_self(c))
			return;
		if (!confirmed(c)) {
			confirm_page(c, "Disable this account and revoke all its sessions and tokens?", NULL);
			return;
		}
		snprintf(c->text, sizeof(c->text), "disabled");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DISABLE, user_done, STORE_V_TEXT(id), STORE_V_BOOL(true), STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "enable")) {
		snprintf(c->text, sizeof(c->text), "enabled");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DISABLE, user_done, STORE_V_TEXT(id), STORE_V_BOOL(false), STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "revoke-sessions")) {
		if (!confirmed(c)) {
			confirm_page(c, "Sign this account out everywhere (sessions, refresh and access tokens)?", NULL);
			return;
		}
		snprintf(c->text, sizeof(c->text), "signed_out");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_SIGN_OUT, user_done, STORE_V_TEXT(id), STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "delete")) {
		if (!not_self(c))
			return;
		if (!confirmed(c)) {
			confirm_page(c, "Delete this account for good? Its sessions, tokens, passkeys, wallets and roles go with it.", NULL);
			return;
		}
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_DELETE, user_deleted, STORE_V_TEXT(id), STORE_V_INT(leeway));
	} else if (p->n == 3 && admin_path_is(p, 2, "second-factor-off")) {
		if (!confirmed(c)) {
			confirm_page(c, "Turn off this account's second factor? Its password alone will sign in.", NULL);
			return;
		}
		snprintf(c->text, sizeof(c->text), "saved");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_SECOND_FACTOR_OFF, user_count_done, STORE_V_TEXT(id));
	} else if (p->n == 5 && admin_path_is(p, 2, "sessions") && admin_path_is(p, 4, "revoke")) {
		snprintf(c->text, sizeof(c->text), "revoked");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_SESSION_REVOKE, user_count_done, STORE_V_TEXT(id), STORE_V_TEXT(p->seg[3]));
	} else if (p->n == 5 && admin_path_is(p, 2, "passkeys") && admin_path_is(p, 4, "delete")) {
		if (!confirmed(c)) {
			confirm_page(c, "Delete this passkey? The account can no longer sign in with it.", NULL);
			return;
		}
		snprintf(c->text, sizeof(c->text), "deleted");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_PASSKEY_DELETE, user_count_done, STORE_V_TEXT(id), STORE_V_TEXT(p->seg[3]));
	} else if (p->n == 4 && admin_path_is(p, 2, "roles") && admin_path_is(p, 3, "grant")) {
		const char *app = form_get(&c->form, "app"), *role = form_get(&c->form, "role");
		if (!app || !role || !oidc_client_id_valid(app, strlen(app)) || !app_role_name_valid(role, strlen(role))) {
			admin_fail(c, 400, "invalid_request", "Name an application and one of its roles.");
			admin_call_free(c);
			return;
		}
		snprintf(c->text, sizeof(c->text), "granted");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLE_SET, user_count_done, STORE_V_TEXT(id), STORE_V_TEXT(app),
		    STORE_V_TEXT(role), STORE_V_BOOL(true));
	} else if (p->n == 6 && admin_path_is(p, 2, "roles") && admin_path_is(p, 5, "remove")) {
		snprintf(c->text, sizeof(c->text), "removed");
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_USER_ROLE_SET, user_count_done, STORE_V_TEXT(id), STORE_V_TEXT(p->seg[3]),
		    STORE_V_TEXT(p->seg[4]), STORE_V_BOOL(false));
	} else {
		admin_fail(c, 404, "not_found", "No such action.");
		admin_call_free(c);
	}
}

/* ---- applications ---- */

/* Lines or spaces of URIs → space separated, each valid; false if not. */
static bool uri_list(const char *in, char *out, size_t cap, size_t *count)
{
	size_t o = 0;
	*count = 0;
	out[0] = '\0';
	for (const char *p = in ? in : ""; *p;) {
		size_t n = strcspn(p, " \t\r\n");
		if (n) {
			if (!oidc_redirect_uri_valid(p, n) || o + n + 2 > cap || ++*count > OIDC_MAX_URIS)
				return false;
			o += (size_t)snprintf(out + o, cap - o, "%s%.*s", o ? " " : "", (int)n, p);
		}
		p += n;
		p += strspn(p, " \t\r\n");
	}
	return true;
}

static void client_create(struct admin_call *c)
{
	const char *id = form_get(&c->form, "client_id"), *name = form_get(&c->form, "name");
	bool is_public = form_get(&c->form, "public") != NULL, machine = form_get(&c->form, "client_credentials") != NULL;
	bool admin = form_get(&c->form, "admin") != NULL, skip = form_get(&c->form, "skip_consent") != NULL;
	static char uris[OIDC_MAX_URIS * (OIDC_MAX_URI_LEN + 1)];	/* one worker thread: static is fine */
	char hash_hex[2 + 64 + 1] = "\\x";
	size_t n;

	if (!id || !oidc_client_id_valid(id, strlen(id)) || !name || !*name || strlen(name) > 200 ||
	    !uri_list(form_get(&c->form, "redirect_uris"), uris, sizeof(uris), &n) || n == 0 ||
	    (is_public && (machine || admin))) {
		admin_fail(c, 400, "invalid_request",
		    "An application needs an id (A-Z a-z 0-9 . _ ~ -), a name and redirect URIs (https, or http://localhost); "
		    "a public one cannot use client_credentials or be admin.");
		admin_call_free(c);
		return;
	}
	if (oidc_registry_is_config_client(id)) {
		admin_fail(c, 409, "conflict", "This id is configured in OIDC_CLIENTS.");
		admin_call_free(c);
		return;
	}
	if (!is_public) {
		uint8_t h[SHA256_LEN];
		secure_token(c->secret);
		secure_sha256(c->secret, strlen(c->secret), h);
		secure_hex(h, sizeof(h), hash_hex + 2);
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_CREATE, client_secret_page, STORE_V_TEXT(id),
	    is_public ? STORE_V_NULL : STORE_V_TEXT(hash_hex), STORE_V_TEXT(name), STORE_V_TEXT(uris), STORE_V_TEXT(""),
	    STORE_V_TEXT(machine || admin ? "authorization_code,refresh_token,client_credentials" : "authorization_code,refresh_token"),
	    STORE_V_TEXT("openid,profile,email,offline_access,groups,roles"), STORE_V_BOOL(is_public), STORE_V_BOOL(skip),
	    STORE_V_BOOL(true), STORE_V_TEXT(""), STORE_V_BOOL(admin));
}

static void client_update(struct admin_call *c)
{
	const char *name = form_get(&c->form, "name");
	static char uris[OIDC_MAX_URIS * (OIDC_MAX_URI_LEN + 1)];
	size_t n;

	if (!name || !*name || strlen(name) > 200 || !uri_list(form_get(&c->form, "redirect_uris"), uris, sizeof(uris), &n) ||
	    n == 0) {
		admin_fail(c, 400, "invalid_request", "A name and at least one valid redirect URI are needed.");
		admin_call_free(c);
		return;
	}
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_UPDATE, client_changed, STORE_V_TEXT(c->path.seg[1]), STORE_V_TEXT(name),
	    STORE_V_TEXT(uris), STORE_V_NULL, STORE_V_NULL, STORE_V_NULL,
	    STORE_V_BOOL(form_get(&c->form, "skip_consent") != NULL), STORE_V_NULL, STORE_V_NULL,
	    STORE_V_BOOL(form_get(&c->form, "admin") != NULL));
}

static void role_put(struct admin_call *c)
{
	const char *name = form_get(&c->form, "name"), *description = form_get(&c->form, "description");
	const char *perms_in = form_get(&c->form, "permissions");
	char perms[APP_ROLE_MAX_PERMISSIONS * (APP_PERMISSION_MAX + 1)];

	if (!name || !app_role_name_valid(name, strlen(name)) || (description && strlen(description) > APP_ROLE_DESCRIPTION_MAX) ||
	    app_permissions_normalize(perms_in ? perms_in : "", perms_in ? strlen(perms_in) : 0, perms, sizeof(perms)) < 0) {
		admin_fail(c, 400, "invalid_request",
		    "A role name is a-z 0-9 . _ : - (first a letter or digit); permissions are names like posts:write, "
		    "separated by spaces, commas or lines.");
		admin_call_free(c);
		return;
	}
	snprintf(c->text, sizeof(c->text), "saved");
	ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLE_PUT, client_changed, STORE_V_TEXT(c->path.seg[1]), STORE_V_TEXT(name),
	    STORE_V_TEXT(description ? description : ""), STORE_V_TEXT(perms));
}

void console_client_post(struct admin_call *c)
{
	const struct admin_path *p = &c->path;

	if (p->n == 2 && admin_path_is(p, 1, "create")) {
		client_create(c);
		return;
	}
	if (p->n >= 3 && admin_path_is(p, 2, "roles")) {
		if (p->n == 4 && admin_path_is(p, 3, "put")) {
			role_put(c);
		} else if (p->n == 5 && admin_path_is(p, 4, "delete")) {
			if (!confirmed(c)) {
				confirm_page(c, "Delete this role? Every user loses it.", NULL);
				return;
			}
			snprintf(c->text, sizeof(c->text), "deleted");
			ADMIN_STORE_CALL(c, STORE_OP_ADMIN_ROLE_DELETE, client_count_done, STORE_V_TEXT(p->seg[1]),
			    STORE_V_TEXT(p->seg[3]));
		} else {
			admin_fail(c, 404, "not_found", "No such action.");
			admin_call_free(c);
		}
		return;
	}
	if (p->n >= 2 && oidc_registry_is_config_client(p->seg[1])) {
		admin_fail(c, 409, "conflict", "This application is configured in OIDC_CLIENTS: read-only here.");
		admin_call_free(c);
		return;
	}
	if (p->n == 3 && admin_path_is(p, 2, "update")) {
		client_update(c);
	} else if (p->n == 3 && admin_path_is(p, 2, "rotate-secret")) {
		if (!confirmed(c)) {
			confirm_page(c, "Make a new client secret? The current one stops working at once.", NULL);
			return;
		}
		uint8_t h[SHA256_LEN];
		char hash_hex[2 + 64 + 1] = "\\x";
		secure_token(c->secret);
		secure_sha256(c->secret, strlen(c->secret), h);
		secure_hex(h, sizeof(h), hash_hex + 2);
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_SECRET, client_secret_page, STORE_V_TEXT(p->seg[1]),
		    STORE_V_TEXT(hash_hex));
	} else if (p->n == 3 && admin_path_is(p, 2, "delete")) {
		if (!confirmed(c)) {
			confirm_page(c, "Delete this application? Its tokens are revoked and its roles deleted.", NULL);
			return;
		}
		ADMIN_STORE_CALL(c, STORE_OP_ADMIN_CLIENT_DELETE, client_deleted, STORE_V_TEXT(p->seg[1]));
	} else {
		admin_fail(c, 404, "not_found", "No such action.");
		admin_call_free(c);
	}
}

/* ---- keys (the signer, signer/signer_admin.c) ---- */

static void keys_changed(const struct ipc_msg *reply, void *arg)
{
	struct admin_call *c = arg;
	if (!reply || (reply->status != 0 && reply->status != -2 && reply->status != -3 && reply->status != -10))
		admin_fail(c, 503, "temporarily_unavailable", "The key change failed; try again.");
	else if (reply->status == -10)
		admin_fail(c, 403, "forbidden", "You are not an admin (any more).");
	else
		back_to(c, "/admin/keys", reply->status == 0 ? (c->text[0] ? c->text : "rotated") : "none");
	admin_call_free(c);
}

void console_keys_post(struct admin_call *c)
{
	const struct admin_path *p = &c->path;
	int kind;
	const char *arg;

	if (p->n == 2 && admin_path_is(p, 1, "rotate")) {
		static const char *const carry[] = { "alg", NULL };
		arg = form_get(&c->form, "alg");
		if (!arg || (*arg && !oidc_alg_valid(arg))) {
			admin_fail(c, 400, "invalid_request", "Choose RS256, ES256, EdDSA or all.");
			admin_call_free(c);
			return;
		}
		if (!confirmed(c)) {
			confirm_page(c, "Rotate the signing keys? New tokens are signed with a new key; the old one stays "
					"published until its tokens expire.", carry);
			return;
		}
		kind = IPC_KEYS_ROTATE;
		snprintf(c->text, sizeof(c->text), "rotated");
	} else if (p->n == 3 && admin_path_is(p, 2, "revoke")) {
		if (!confirmed(c)) {
			confirm_page(c, "Revoke this key? It leaves the JWKS at once: every token it signed stops verifying.", NULL);
			return;
		}
		kind = IPC_KEYS_REVOKE;
		arg = p->seg[1];
		snprintf(c->text, sizeof(c->text), "revoked");
	} else {
		admin_fail(c, 404, "not_found", "No such action.");
		admin_call_free(c);
		return;
	}
	struct ipc_msg req = { .type = IPC_KEYS_REQ, .kind = kind, .s1 = (char *)arg, .s1_len = strlen(arg),
		.s2 = c->caller.proof, .s2_len = strlen(c->caller.proof) };
	if (ipc_client_call(worker->signer, &req, 20000, keys_changed, c) < 0) {
		admin_fail(c, 503, "temporarily_unavailable", "The signer is unavailable.");
		admin_call_free(c);
	}
}
